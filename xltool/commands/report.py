"""`xltool report`: the final report of a return, a merged workbook, a `read --json` file or a
folder of returns, as HTML, DOCX, PDF or Markdown. A thin layer over xltool.reports."""

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
@handle_errors
@in_round(_report_defaults)
def report(input_path: str | None, output: str | None, formats: str | None, narrative: str | None, fragment: bool,
           allow_errors: bool, rnd) -> None:
    """生成政府信息公开工作年度报告：HTML（网站发布）、DOCX（公文格式）、PDF、Markdown（审阅）。

    \b
    例：xltool report returns/001_某某局.xlsx -o 某某局年度报告.html
        xltool report returns/ -o reports/ --format html,docx,pdf
        xltool report merged.xlsx -o 汇总报告.docx --narrative 正文.j2
    """
    from xltool.reports import Narrative, plan, write_reports

    if not input_path or not output:
        raise UsageError("请给出输入（报表、汇总表或文件夹）和 -o 输出（或在 xltool init 建立的本轮文件夹中运行）。")
    where = plan(output, formats, fragment)
    outcome = write_reports(input_path, where, Narrative(narrative), allow_errors=allow_errors)
    for line in outcome.notes:
        click.echo(f"提示：{line}", err=True)
    for line in outcome.refused + outcome.failed:
        click.echo(f"错误：{line}", err=True)
    if outcome.drafts:
        click.echo(f"注意：{len(outcome.drafts)} 份报告依据的报表有错误，已标明“草稿”，不得对外公开："
                   f"{'、'.join(outcome.drafts[:5])}{'……' if len(outcome.drafts) > 5 else ''}", err=True)
    if where.single and outcome.written:
        click.echo(f"已生成 {outcome.written[0]}")
    elif not where.single:
        click.echo(f"已生成 {len(outcome.written)} 个文件，保存在 {where.output}")
    sys.exit(outcome.status)
