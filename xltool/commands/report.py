"""`xltool report`: the final report of a return, a merged workbook, a `read --json` file or a
folder of returns, as HTML, DOCX, PDF or Markdown. A thin layer over xltool.reports.

In a round, the coordinator's own report (the merged workbook) takes its narrative, contact
details and date of issue from round.toml; every report's parts printed as 未填报 are listed
on standard error, and --strict makes them exit status 1."""

from __future__ import annotations

import sys

import click

from xltool.commands.common import handle_errors, in_round, unset
from xltool.errors import UsageError


def _report_defaults(rnd, p) -> None:
    unset(p, "input_path", rnd.merged)
    unset(p, "output", rnd.reports)


@click.command("report")
@click.argument("input_path", metavar="INPUT", type=click.Path(), required=False)
@click.option("-o", "--output", type=click.Path(),
              help="输出文件（格式由扩展名决定：.html .docx .md .pdf），或输出文件夹（每个单位一份，名为“代码_名称.格式”）。")
@click.option("--format", "formats", help="输出到文件夹时的格式，逗号分隔：html,docx,md,pdf（默认 html,docx,md）。")
@click.option("--narrative", type=click.Path(dir_okay=False),
              help="叙述模板文件（Jinja2，{% block overview %}…{% endblock %}），覆盖报表中的文字与默认文字；"
                   "可用 {{ requests.new.total }} 等引用数字。")
@click.option("--fragment", is_flag=True, help="HTML 只输出正文片段（样式写在行内），便于粘贴到网站内容管理系统。")
@click.option("--allow-errors", is_flag=True, help="报表有错误时仍生成报告，并标明“草稿”。")
@click.option("--strict", is_flag=True, help="有部分只能印成“未填报”（如联系方式、公开网址、某一部分正文）时，退出状态为 1。")
@handle_errors
@in_round(_report_defaults)
def report(input_path: str | None, output: str | None, formats: str | None, narrative: str | None, fragment: bool,
           allow_errors: bool, strict: bool, rnd) -> None:
    """生成政府信息公开工作年度报告：HTML（网站发布）、DOCX（公文格式）、PDF、Markdown（审阅）。

    \b
    例：xltool report returns/001_某某局.xlsx -o 某某局年度报告.html
        xltool report returns/ -o reports/ --format html,docx,pdf
        xltool report merged.xlsx -o 汇总报告.docx --narrative 正文.j2
        xltool report --strict        （在本轮文件夹中：本单位的年度报告，写入“报告/”）
    """
    from xltool.reports import Narrative, plan, write_reports

    if not input_path or not output:
        raise UsageError("请给出输入（报表、汇总表或文件夹）和 -o 输出（或在 xltool init 建立的本轮文件夹中运行）。")
    where = plan(output, formats, fragment)
    words = Narrative(narrative)
    outcome = write_reports(input_path, where, words, allow_errors=allow_errors, own=_own(rnd, narrative, words))
    for line in outcome.notes:
        click.echo(f"提示：{line}", err=True)
    for line in outcome.refused + outcome.failed:
        click.echo(f"错误：{line}", err=True)
    if outcome.drafts:
        click.echo(f"注意：{len(outcome.drafts)} 份报告依据的报表有错误，已标明“草稿”，不得对外公开："
                   f"{'、'.join(outcome.drafts[:5])}{'……' if len(outcome.drafts) > 5 else ''}", err=True)
    _say_unfilled(outcome.unfilled, rnd, strict)
    if where.single and outcome.written:
        click.echo(f"已生成 {outcome.written[0]}")
    elif not where.single:
        click.echo(f"已生成 {len(outcome.written)} 个文件，保存在 {where.output}")
    sys.exit(outcome.status or (1 if strict and outcome.unfilled else 0))


def _own(rnd, narrative: str | None, words):
    """The coordinator's own report in a round: its narrative (round.toml's, unless --narrative
    names one), contact details and date of issue."""
    from xltool.reports import Narrative, Own

    if rnd is None:
        return None
    own_words = words if narrative or rnd.narrative is None else Narrative(rnd.narrative)
    return Own(rnd.coordinator.code, own_words, rnd.contact, rnd.issued, rnd.merged)


def _say_unfilled(unfilled: list[tuple[str, tuple[str, ...]]], rnd, strict: bool) -> None:
    if not unfilled:
        return
    click.echo(f"未填报：{len(unfilled)} 份报告有部分只能印成“未填报”：", err=True)
    for who, parts in unfilled:
        click.echo(f"    {who}：{'；'.join(parts)}", err=True)
    where = "本单位的报告请在 round.toml 的 [report] 中填写 contact（address、postcode、phone、website）和 narrative；" \
        if rnd is not None else ""
    click.echo(f"    {where}各单位的报告请该单位在报表中补填后重新报送"
               f"{'（--strict：退出状态为 1）' if strict else '；加 --strict 时退出状态为 1'}。", err=True)
