"""`xltool import`: published reports (web pages, Word, PDF, text, web addresses) read into
returns. A thin command over `xltool.round.imports`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xltool.commands.common import handle_errors, in_round, json_option, key_option, print_json, unset
from xltool.errors import UsageError
from xltool.findings import STATE_TEXT
from xltool.published.document import KIND_NAMES
from xltool.util import check_writable_dir, output_lock, read_secret, refuse_overlap

SHOWN = 6


def _defaults(rnd, p) -> None:
    unset(p, "output", rnd.imported)
    unset(p, "key_file", rnd.key_file)
    unset(p, "to_workbook", True)  # the round counts workbooks: an imported report joins as one


@click.command("import")
@click.argument("documents", nargs=-1)
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="输出文件夹（在本轮文件夹中默认为“导入/”）：每份报告一个 JSON，加 --to-workbook 时另有填报表。")
@json_option
@click.option("--to-workbook/--no-workbook", "to_workbook", default=None,
              help="同时生成填有报告数字的填报表（本轮文件夹中默认生成），记录来源文件的类型和 SHA-256。")
@click.option("--url-list", type=click.Path(exists=True, dir_okay=False), help="网址清单：每行一个网址（# 开头为注释）。")
@click.option("--agency-code", help="单位代码（导入一份报告时用；默认按名单中的同名单位）。")
@click.option("--agency-name", help="单位名称（默认取报告标题中的名称）。")
@click.option("--timeout", type=click.FloatRange(1, 120), default=20.0, show_default=True, help="读取网址的超时（秒）。")
@key_option
@handle_errors
@in_round(_defaults)
def import_(documents: tuple[str, ...], output: str | None, as_json: bool, to_workbook: bool | None,
            url_list: str | None, agency_code: str | None, agency_name: str | None, timeout: float,
            key_file: str | None, rnd) -> None:
    """导入已发布的年度报告：网页（.html/.mhtml 或网址）、Word（.docx/.doc/.wps）、PDF、文本。

    \b
    按官方表格的行列标签（而不是位置）找到三张表格中的数字和六个部分的正文，
    每份报告写出一个 JSON（与 xltool read --json 相同，另记每个数字在原文中的
    位置和审核意见）；表格是图片或无法读取时报 tables-missing，不作任何推测。
    加 --to-workbook 时另外生成填好数字的填报表，使只报送了报告的单位也能
    参加汇总（单位代码取自名单中的同名单位，或 --agency-code）。

    \b
    例：xltool import 年报/ -o 导入结果/
        xltool import 某某局2023年报.pdf -o 导入/ --to-workbook --agency-code 0012
        xltool import --url-list 网址.txt -o 导入结果/ --json
    """
    from xltool.published.fetch import urls_from_file
    from xltool.round import imports
    from xltool.round.roster import load_roster

    sources = list(documents)
    if url_list:
        sources += urls_from_file(url_list)
    if not sources:
        raise UsageError("请给出要导入的报告文件、文件夹或网址（或用 --url-list 给出网址清单）。")
    missing = [s for s in sources if not s.lower().startswith(("http://", "https://")) and not Path(s).exists()]
    if missing:
        raise UsageError("找不到：" + "、".join(missing))
    if not output:
        raise UsageError("请用 -o 给出输出文件夹（在 xltool init 建立的本轮文件夹中默认为“导入/”）。")
    out = Path(output)
    refuse_overlap(out, [s for s in sources if "://" not in s], output_is_dir=True)
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出位置 {out} 不是文件夹。")
    out.mkdir(parents=True, exist_ok=True)
    check_writable_dir(out)
    jobs = imports.plan(sources, out, to_workbook=bool(to_workbook), key=read_secret(key_file, "XLTOOL_KEY"),
                        roster=load_roster(rnd.roster) if rnd is not None and rnd.roster else None,
                        code=agency_code, name=agency_name, year=rnd.year if rnd is not None else None,
                        timeout=timeout)
    if not jobs:
        raise UsageError("给出的文件夹中没有可导入的报告（.html .htm .mhtml .docx .doc .wps .pdf .txt）。")
    if (agency_code or agency_name) and len(jobs) > 1:
        raise UsageError(f"--agency-code/--agency-name 只能用于导入一份报告（现有 {len(jobs)} 份）。")
    with output_lock(out, "另一个 xltool import"):
        results = imports.run(jobs, show_progress=not as_json)
    counts = imports.summary(results)
    if as_json:
        print_json({"documents": [r.to_json() for r in results], "summary": counts})
    else:
        _print(results, counts)
    sys.exit(1 if counts["unreadable"] or any(r.problem for r in results) else 0)


def _print(results, counts) -> None:
    for r in results:
        who = r.agency.get("name") or "（未写明单位）"
        code = f"（{r.agency['code']}）" if r.agency.get("code") else ""
        year = f" {r.year}年度" if r.year else ""
        head = "已导入" if r.readable else "未能导入"
        state = f"，{STATE_TEXT[r.status]}" if r.readable else ""
        click.echo(f"{head}{state}  {who}{code}{year}  {r.source}  [{KIND_NAMES.get(r.kind, r.kind)}，读到 {r.figures} 个数字]")
        for f in r.findings[:SHOWN]:
            mark = "错误" if f.severity == "error" else "警告"
            click.echo(f"    [{mark} {f.code}] {f.message}")
        if len(r.findings) > SHOWN:
            click.echo(f"    ……另有 {len(r.findings) - SHOWN} 条（见 {Path(r.output or '').name} 或用 --json 查看）")
        if r.workbook:
            click.echo(f"    填报表：{r.workbook}")
        if r.problem:
            click.echo(f"    未生成填报表：{r.problem}")
    click.echo(f"共 {counts['documents']} 份：导入 {counts['imported']}，未能导入 {counts['unreadable']}，"
               f"生成填报表 {counts['workbooks']}。")
