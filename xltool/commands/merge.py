"""`xltool merge` and `xltool status`: thin commands over `xltool.merge` and `xltool.status`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from xltool.commands.common import handle_errors, in_round, json_option, key_option, print_json, unset
from xltool.errors import UsageError
from xltool.findings import STATE_TEXT
from xltool.util import atomic_write, check_writable_dir, output_lock, read_secret, refuse_overlap

NO_ADDRESS = "（名单中没有邮箱）"


def _existing(paths: tuple[str, ...]) -> None:
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError("找不到：" + "、".join(missing))


def _check_output(out: Path, inputs: list[str | None], suffix: str) -> None:
    """The output must not be an input, nor land in an input folder (the next run would read it)."""
    if out.suffix.lower() != suffix:
        raise UsageError(f"输出文件应以 {suffix} 结尾：{out}")
    refuse_overlap(out, inputs, output_is_dir=False)
    if out.exists() and out.is_dir():
        raise UsageError(f"输出位置 {out} 是一个文件夹，请给出文件名，如 汇总.xlsx。")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"无法写入 {out}：{parent} 不是文件夹。")
    check_writable_dir(parent)


def _merge_defaults(rnd, p) -> None:
    unset(p, "paths", rnd.returns())
    unset(p, "output", rnd.merged)
    unset(p, "roster", rnd.roster)
    unset(p, "key_file", rnd.key_file)
    if not p.get("agency_code") and not p.get("agency_name"):
        unset(p, "agency_code", rnd.coordinator.code)
        unset(p, "agency_name", rnd.coordinator.name)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="汇总工作簿（.xlsx；在本轮文件夹中默认为“汇总/汇总.xlsx”）。")
@json_option
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="单位名单：列出未提交的单位；代码不在名单中的报表不计入（not-in-roster）。")
@click.option("--agency-code", help="汇总单位的代码（默认 MERGED；明年用作 --previous 时按此代码对应）。")
@click.option("--agency-name", help="汇总单位的名称（默认“汇总（N个单位）”）。")
@click.option("--allow-errors", is_flag=True, help="有错误或数字待确认的报表也计入汇总（空白、非数字按 0 计），并在“未汇总说明”中列出。")
@click.option("--strict", is_flag=True, help="有报表未计入或有单位未提交时，退出状态为 1（汇总表照常写出）。")
@key_option
@handle_errors
@in_round(_merge_defaults)
def merge(paths: tuple[str, ...], output: str | None, as_json: bool, roster: str | None, agency_code: str | None,
          agency_name: str | None, allow_errors: bool, strict: bool, key_file: str | None, rnd) -> None:
    """汇总报表：按官方表格汇总数字，另附“各单位明细”和“未汇总说明”两张表。

    \b
    计入汇总的是审核无错误（可有警告）的报表；同一单位报送多份时只计最新的一份，
    其余列为重复报送。有错误的、无法读取的、代码不在 --roster 名单中的、由其他
    单位邮箱发来的（sender-mismatch）报表不计入，并说明原因；数字存疑（如收费
    金额单位存疑）的报表须先用 xltool confirm 确认，否则列为 unconfirmed:问题代码
    不计入。名单中没有报送的单位列为未提交。不同年度或格式的报表不能一起汇总。

    \b
    例：xltool merge returns/ -o 汇总.xlsx --roster roster.csv
        xltool merge returns/ -o 汇总.xlsx --agency-code 310000 --agency-name 某某市人民政府办公室 --json
    """
    from xltool.form.generate import checked_code
    from xltool.round.merge import DEFAULT_CODE, default_name, merge_paths, write_merged_workbook
    from xltool.round.roster import load_roster

    if not paths or not output:
        raise UsageError("请给出报表文件夹和 -o 汇总表（或在 xltool init 建立的本轮文件夹中运行）。")
    _existing(paths)
    out = Path(output)
    _check_output(out, [*paths, roster], ".xlsx")
    code = checked_code(agency_code or DEFAULT_CODE)
    if bool(agency_code) != bool(agency_name):
        raise UsageError("--agency-code 和 --agency-name 须同时给出（或都不给，使用默认的 MERGED／汇总（N个单位））。")
    key = read_secret(key_file, "XLTOOL_KEY")
    agencies = load_roster(roster) if roster else None
    confirmations, previous = _round_inputs(rnd)
    with output_lock(out.parent if str(out.parent) else Path("."), "另一个 xltool merge"):
        result = merge_paths(paths, roster=agencies, key=key, allow_errors=allow_errors, show_progress=not as_json,
                             confirmations=confirmations, previous=previous)
        name = (agency_name or "").strip() or default_name(result)
        write_merged_workbook(result, out, result.year, code, name, key)
        if rnd is not None and out == rnd.merged:  # the round keeps the JSON beside the workbook
            atomic_write(rnd.merged_json, (json.dumps(result.to_json(), ensure_ascii=False, indent=1) + "\n").encode())
    if as_json:
        print_json(result.to_json())
    else:
        _print_merge(result, out)
    sys.exit(1 if strict and not result.complete else 0)


def _round_inputs(rnd):
    """In a round: its confirmations (确认记录.json) and last year's figures, for the checks
    across years whose figure warnings must be confirmed too. Outside one: neither."""
    if rnd is None:
        return None, None
    from xltool.round.previous import load_previous

    previous = load_previous(rnd.previous) if rnd.previous and rnd.previous.exists() else None
    return rnd.confirmations, previous


def _print_merge(result, out: Path) -> None:
    click.echo(f"已汇总 {len(result.included)} 个单位，保存为 {out}")
    for e in result.excluded:
        who = f"{e.name}（{e.code}）" if e.code else "（无法识别单位）"
        click.echo(f"  未计入  {who}  {e.file}  [{'、'.join(e.codes)}] {e.reason[:160]}")
    for i in result.included:
        if i.unconfirmed:
            click.echo(f"  待确认，已按 --allow-errors 计入  {i.name}（{i.code}）  {i.file}  "
                       f"[{'、'.join('unconfirmed:' + f for f in i.unconfirmed)}]")
        for c in i.confirmations:
            click.echo(f"  已确认  {i.name}（{i.code}）  {c.text}")
    for d in result.duplicates:
        for f, note in zip(d.superseded, d.notes):
            click.echo(f"  重复报送  {d.name}（{d.code}）未采用 {Path(f).name}：{note}")
    for a in result.missing:
        state, reason = result.missing_state(a)
        click.echo(f"  {STATE_TEXT[state]}  {a.name}（{a.code}）{a.email or NO_ADDRESS}" + (f"  {reason}" if reason else ""))
    states = Counter(result.missing_state(a)[0] for a in result.missing)
    without = "、".join(f"{STATE_TEXT[s]} {n}" for s, n in states.items())
    click.echo(f"计入 {len(result.included)} 份，未计入 {len(result.excluded)} 份，没有可用报表的单位 {len(result.missing)} 个"
               + (f"（{without}）" if without else "") + f"，重复报送 {len(result.duplicates)} 个单位。")


def _status_defaults(rnd, p) -> None:
    unset(p, "roster", rnd.roster)
    unset(p, "paths", rnd.returns())
    unset(p, "key_file", rnd.key_file)


@click.command()
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), help="单位名单（.csv 或 .xlsx）。")
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="另存一个可在浏览器中打开的进度页面（.html）。")
@key_option
@handle_errors
@in_round(_status_defaults)
def status(roster: str | None, paths: tuple[str, ...], as_json: bool, html_file: str | None, key_file: str | None,
           rnd) -> None:
    """报送进度：名单中每个单位的状态，附原因、主要问题和催报邮箱。

    \b
    状态：未提交、无法使用（来信中没有可用的填报表，如 .ods、Word 文档）、
    报表错发（本单位邮箱发来其他单位的填报表，或反之）、有错误、待确认
    （数字存疑，待 xltool confirm 确认）、有警告、通过；截止日期次日起
    仍无可用报表的单位标为逾期。每个单位最多列出前 5 条问题（错误在前）；
    完整内容请用 xltool verify。同一单位报送多份时按最新的一份判断。

    \b
    例：xltool status --roster roster.csv returns/
        xltool status --roster roster.csv returns/ --html 进度.html --json
    """
    from xltool.round.roster import load_roster
    from xltool.round.status import STATES, in_order, render_html, status_paths

    if not roster or not paths:
        raise UsageError("请给出 --roster 名单和报表文件夹（或在 xltool init 建立的本轮文件夹中运行）。")
    _existing(paths)
    if html_file:
        _check_output(Path(html_file), [*paths, roster], ".html")
    key = read_secret(key_file, "XLTOOL_KEY")
    confirmations, previous = _round_inputs(rnd)
    report = status_paths(load_roster(roster), paths, key=key, show_progress=not as_json, confirmations=confirmations,
                          previous=previous, deadline=rnd.deadline if rnd is not None else None)
    if html_file:
        try:
            page = render_html(report, year=rnd.year if rnd is not None else None,
                               coordinator=rnd.coordinator.name if rnd is not None else None)
            atomic_write(html_file, page.encode("utf-8"))
        except OSError as e:
            raise UsageError(f"无法写入 {html_file}：{e.strerror or e}。") from None
    if as_json:
        print_json(report.to_json())
        return
    for a in in_order(report.agencies):
        click.echo(f"{STATE_TEXT[a.state]}{'（逾期）' if a.overdue else ''}  {a.agency.name}（{a.agency.code}）  "
                   f"{a.agency.email or NO_ADDRESS}  {a.file or ''}" + (f"  附件：{'、'.join(a.attachments)}" if a.attachments else ""))
        if a.reason:
            click.echo(f"    原因：{a.reason}")
        for f in a.findings[:3]:
            click.echo(f"    [{'错误' if f.severity == 'error' else '警告'} {f.code}] {f.message}")
        for n in a.notes:
            click.echo(f"    注：{n}")
    for s in report.unmatched:
        who = f"{s.agency['name']}（{s.agency['code']}）代码不在名单中" if s.agency else "无法识别单位"
        click.echo(f"名单外  {s.file}  {who}")
    c = report.counts
    click.echo(f"共 {len(report.agencies)} 个单位：" + "，".join(f"{STATE_TEXT[s]} {c[s]}" for s in STATES)
               + f"；逾期 {c['overdue']}。")
    emails = [a.agency.email for a in report.chase() if a.agency.email]
    if emails:
        click.echo("催报邮箱：" + "; ".join(emails))
    if html_file:
        click.echo(f"进度页面：{html_file}")
