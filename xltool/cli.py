"""The command line: a thin layer over the library. Each command parses its options, calls the
library, and turns the library's typed errors into a Chinese message and an exit status."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xltool.commands import zh
from xltool.commands.common import handle_errors, in_round, json_option, key_option, print_json, unset
from xltool.errors import UsageError
from xltool.findings import STATE_TEXT
from xltool.form.returns import read_return
from xltool.published.document import KIND_NAMES
from xltool.round import dates
from xltool.round.roster import load_roster
from xltool.util import atomic_write, check_writable_dir, read_secret, refuse_overlap

zh.install()  # before the commands are declared: click translates some help when it declares them


@click.group(name="xltool", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xltool", prog_name="xltool")
def cli() -> None:
    """xltool：政府信息公开工作年度报告的填报、收集、审核、汇总与成文。

    \b
    一轮工作：generate 生成填报表 → send 发送 → collect 收集 → verify 审核
    → status 进度 → merge 汇总 → report 生成年度报告。先试试：xltool demo
    """


def _generate_defaults(rnd, p) -> None:
    unset(p, "year", rnd.year)
    unset(p, "key_file", rnd.key_file)
    unset(p, "previous", rnd.previous if rnd.previous and rnd.previous.exists() else None)
    if not p.get("agency_code"):
        unset(p, "roster", rnd.roster)
        unset(p, "output", rnd.dist)


@cli.command()
@click.option("--year", type=int, help="统计年度，如 2021（2022 年 1 月发布的报告）；在本轮文件夹中默认取 round.toml。")
@click.option("--agency-code", help="单个单位的代码。")
@click.option("--agency-name", help="单个单位的名称。")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), help="单位名单（.csv 或 .xlsx），每行生成一个工作簿。")
@click.option("--previous", type=click.Path(exists=True), help="上年的报表（文件、文件夹、汇总表或 read --json 输出），用于预填“上年结转”。")
@click.option("-o", "--output", type=click.Path(), help="输出文件（单个单位）或文件夹（名单；在本轮文件夹中默认为“下发”文件夹）。")
@key_option
@handle_errors
@in_round(_generate_defaults)
def generate(year: int | None, agency_code: str | None, agency_name: str | None, roster: str | None,
             previous: str | None, output: str | None, key_file: str | None, rnd) -> None:
    """生成加锁的填报工作簿：单个单位，或名单中每个单位一个。

    \b
    例：xltool generate --year 2021 --agency-code 001 --agency-name 某某局 -o 某某局.xlsx
        xltool generate --year 2021 --roster roster.csv -o dist/
    """
    from xltool.form.generate import agency_workbook, spec_or_error
    from xltool.round.previous import load_previous
    from xltool.round.workbooks import generate_roster

    if year is None:
        raise UsageError("请用 --year 给出统计年度（或在 xltool init 建立的本轮文件夹中运行）。")
    if output is None:
        raise UsageError("请用 -o 给出输出文件或文件夹。")
    spec_or_error(year)
    refuse_overlap(output, [roster, previous], output_is_dir=bool(roster))
    key = read_secret(key_file, "XLTOOL_KEY")
    prev = load_previous(previous) if previous else None
    out = Path(output)
    if roster:
        if agency_code or agency_name:
            raise UsageError("--roster 与 --agency-code/--agency-name 只能选一种。")
        agencies = load_roster(roster)
        check_writable_dir(out)
        files = generate_roster(agencies, year, out, key, prev)
        click.echo(f"已生成 {len(files)} 个工作簿，保存在 {out}")
        return
    if not (agency_code and agency_name):
        raise UsageError("请给出 --agency-code 和 --agency-name，或用 --roster 给出单位名单。")
    data = agency_workbook(year, agency_code, agency_name, key, (prev or {}).get(agency_code.strip()))
    check_writable_dir(out.parent if str(out.parent) else Path("."))
    atomic_write(out, data)
    click.echo(f"已生成 {out}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@handle_errors
def read(file: str, as_json: bool) -> None:
    """显示一份报表的数据：单位、全部数值、正文。

    \b
    例：xltool read returns/001_某某局.xlsx --json
    """
    ret = read_return(file)
    data = ret.to_json()
    if as_json:
        print_json(data)
        return
    spec = ret.spec
    click.echo(f"{data['agency']['name']}（{data['agency']['code']}）{data['year']}年度")
    for key in spec.numeric_keys:
        value = data["values"][key]
        shown = "（空）" if value is None else value
        raw = f"  原文：{data['raw'][key]}" if key in data["raw"] else ""
        click.echo(f"  {spec.cells[key].label}  [{key}]  {shown}{raw}")
    for name, text in data["narrative"].items():
        click.echo(f"  正文 {name}：{(text or '（空）')[:60]}")


def _verify_defaults(rnd, p) -> None:
    unset(p, "paths", rnd.returns())
    unset(p, "previous", rnd.previous if rnd.previous and rnd.previous.exists() else None)
    unset(p, "key_file", rnd.key_file)
    unset(p, "annotate", rnd.annotated)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@click.option("--previous", type=click.Path(exists=True), help="上年的报表（文件、文件夹、汇总表或 read --json 输出），用于跨年度核对。")
@key_option
@click.option("--annotate", type=click.Path(file_okay=False), help="把有问题的报表另存一份批注版到此文件夹（原文件不动）。")
@click.option("--html", "html_file", type=click.Path(dir_okay=False),
              help="另存一个检查结果页面（.html）：每份报表或报告一行，列出问题及位置，可排序、可打印。")
@handle_errors
@in_round(_verify_defaults)
def verify(paths: tuple[str, ...], as_json: bool, previous: str | None, key_file: str | None,
           annotate: str | None, html_file: str | None, rnd) -> None:
    """审核报表：模板是否完整、数值是否有效、勾稽关系是否成立。

    \b
    例：xltool verify returns/
        xltool verify returns/ --previous 2020/汇总.xlsx --annotate 批注/ --json
        xltool verify 年报/ --html 检查结果.html
    """
    from xltool.round.previous import load_previous
    from xltool.round.verify import exit_status, summary, verify_paths

    if not paths:
        raise UsageError("请给出要审核的报表文件或文件夹（或在 xltool init 建立的本轮文件夹中运行）。")
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError("找不到：" + "、".join(missing))
    if annotate:
        refuse_overlap(annotate, [*paths, previous], output_is_dir=True, writes_returns=True)
    if html_file:
        from xltool.commands.merge import _check_output
        _check_output(Path(html_file), [*paths, previous], ".html")
    key = read_secret(key_file, "XLTOOL_KEY")
    prev = load_previous(previous) if previous else None
    results = verify_paths(paths, key=key, previous=prev, show_progress=not as_json,
                           roster=load_roster(rnd.roster) if rnd is not None and rnd.roster else None,
                           confirmations=rnd.confirmations if rnd is not None else None)
    if annotate:
        from xltool.round.annotate import annotate_results
        check_writable_dir(Path(annotate))
        for line in annotate_results(results, Path(annotate), show_progress=not as_json).failed:
            click.echo(f"提示：{line}", err=True)
    counts = summary(results)
    if rnd is not None:  # the round keeps the findings beside the annotated copies
        check_writable_dir(rnd.findings.parent)
        atomic_write(rnd.findings, (json.dumps({"returns": [r.to_json() for r in results], "summary": counts},
                                               ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    if html_file:
        from xltool.round.audit import render_html
        try:
            atomic_write(html_file, render_html(results, checked=paths, previous=previous).encode("utf-8"))
        except OSError as e:
            raise UsageError(f"无法写入 {html_file}：{e.strerror or e}。") from None
    if as_json:
        print_json({"returns": [r.to_json() for r in results], "summary": counts})
    else:
        _print_verify(results, counts)
        if html_file:
            click.echo(f"检查结果页面：{html_file}")
    sys.exit(exit_status(results))


SHOWN_FINDINGS = 8


def _print_verify(results, summary) -> None:
    for r in results:
        who = (f"{r.agency['name']}（{r.agency['code']}）" if r.agency.get("code") else r.agency["name"] or "（未写明单位）") \
            if r.agency else "（无法识别单位）"
        kind = f"  [{KIND_NAMES.get(r.kind, r.kind)}报告{f' {r.year}年度' if r.year else ''}]" if r.document else ""
        click.echo(f"{STATE_TEXT[r.status]}  {who}  {r.file}{kind}")
        for note in [*r.notes, *([r.paired_text] if r.paired_with else [])]:
            click.echo(f"    [说明] {note}")
        blanks = [f for f in r.findings if f.code == "value-blank"]
        shown = [f for f in r.findings if f.code != "value-blank" or len(blanks) <= 3]
        if len(blanks) > 3:
            click.echo(f"    [错误 value-blank] 有 {len(blanks)} 个数字单元格未填写，第一处：{blanks[0].message}")
        for f in shown[:SHOWN_FINDINGS]:
            mark = "错误" if f.severity == "error" else "警告"
            click.echo(f"    [{mark} {f.code}] {f.message}")
        if len(shown) > SHOWN_FINDINGS:
            click.echo(f"    ……另有 {len(shown) - SHOWN_FINDINGS} 条（用 --json 或 --annotate 查看全部）")
    click.echo(f"共 {summary['files']} 份：通过 {summary['ok']}，有警告 {summary['warnings']}，有错误 {summary['errors']}。")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--year", type=int, required=True, help="统计年度，如 2022（2023 年 1 月发布的报告）。")
@click.option("--roster", required=True, type=click.Path(exists=True, dir_okay=False), help="单位名单（.csv 或 .xlsx），复制到本轮文件夹。")
@click.option("--coordinator-code", required=True, help="本单位（汇总单位）的代码。")
@click.option("--coordinator-name", required=True, help="本单位（汇总单位）的名称，如“某某区人民政府”。")
@click.option("--from", "sender", required=True, help='发件人，如 "某某区政务公开办 <gkb@example.gov.cn>"。')
@click.option("--deadline", required=True, type=zh.Date(), help="报送截止日期，如 2023-01-15。")
@click.option("--previous", type=click.Path(exists=True), help="上年的报表或汇总表（用于核对上年结转）。")
@click.option("--issued", type=zh.Date(), help="年度报告落款日期（默认为生成报告当天）。")
@key_option
@handle_errors
def init(folder: str, year: int, roster: str, coordinator_code: str, coordinator_name: str, sender: str,
         deadline, previous: str | None, issued, key_file: str | None) -> None:
    """新建本轮工作文件夹：round.toml、名单副本、签名密钥和各步骤的文件夹。

    \b
    之后在该文件夹中运行的命令都以 round.toml 为默认值，不必重复 --roster、
    --year 等参数：cd 进入该文件夹，依次运行 xltool generate、xltool send、
    xltool collect imaps://…、xltool status、xltool merge、xltool report。

    \b
    例：xltool init 2022年度 --year 2022 --roster 名单.csv \\
          --coordinator-code 001 --coordinator-name 某某区人民政府 \\
          --from "某某区政务公开办 <gkb@example.gov.cn>" --deadline 2023-01-15
    """
    from xltool.form.generate import checked_code, checked_name, spec_or_error
    from xltool.mail.compose import Sender
    from xltool.round.folder import FOLDERS, Coordinator, init_round

    spec_or_error(year)
    Sender.parse(sender)
    today = dates.today()
    if deadline < today:
        raise UsageError(f"截止日期 {deadline.isoformat()} 已经过去（今天是 {today.isoformat()}）。")
    coordinator = Coordinator(checked_code(coordinator_code), checked_name(coordinator_name), sender)
    rnd = init_round(Path(folder), year=year, roster=Path(roster), coordinator=coordinator, deadline=deadline,
                     key_file=Path(key_file) if key_file else None, previous=Path(previous) if previous else None,
                     issued=issued)
    click.echo(f"已新建本轮工作文件夹 {rnd.root}：round.toml、{rnd.roster.name if rnd.roster else ''}、"
               + "、".join(f"{f}/" for f in FOLDERS))
    if not key_file:
        click.echo(f"签名密钥已生成：{rnd.key_file}（请妥善保管，不要随邮件发出；归档时不会打包）。")
    click.echo(f"下一步：cd {folder} 后运行 xltool generate，再运行 xltool send。")


@cli.command()
@click.option("-o", "--output", default="xltool-demo", show_default=True, type=click.Path(file_okay=False),
              help="演示结果的输出文件夹。")
@handle_errors
def demo(output: str) -> None:
    """用自带的示例数据演示一整轮工作（无需邮件服务器）。

    \b
    例：xltool demo -o 演示
    """
    from xltool.commands.demo import run_demo

    sys.exit(run_demo(Path(output), click.echo))


from xltool.commands.mail import collect, remind, send  # noqa: E402
from xltool.commands.merge import merge, status  # noqa: E402  (commands kept beside their library modules)
from xltool.commands.report import report  # noqa: E402

cli.add_command(merge)
cli.add_command(status)
cli.add_command(report)
for command in (send, collect, remind):
    cli.add_command(command)
from xltool.commands.confirm import confirm  # noqa: E402

cli.add_command(confirm)
from xltool.commands.archive import archive  # noqa: E402

cli.add_command(archive)
from xltool.commands.fill import fill  # noqa: E402

cli.add_command(fill)
from xltool.commands.importing import import_  # noqa: E402

cli.add_command(import_)


zh.localize(cli)


def main() -> None:
    cli(prog_name="xltool")


if __name__ == "__main__":
    main()
