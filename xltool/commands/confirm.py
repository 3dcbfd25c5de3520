"""`xltool confirm`: the coordinator's confirmation of a doubtful figure (or of a legitimate
mix-up of senders), recorded in the round's 确认记录.json. A thin command over
`xltool.round.confirm.confirm`."""

from __future__ import annotations

import click

from xltool.commands.common import handle_errors, in_round
from xltool.errors import UsageError
from xltool.round.dates import minute


@click.command()
@click.argument("agency_code")
@click.argument("finding")
@click.option("--note", required=True, help="确认的理由，如“已电话核实，金额单位为万元”。")
@click.option("--by", help="确认人（默认为当前登录用户名）。")
@handle_errors
@in_round()
def confirm(agency_code: str, finding: str, note: str, by: str | None, rnd) -> None:
    """确认存疑的数字：记入本轮的“确认记录.json”，汇总时计入该单位的报表。

    \b
    AGENCY_CODE 为单位代码；FINDING_CODE 为问题代码，如 fee-unit-suspect
    （收费金额单位存疑）、rule-stock-continuity（现行有效件数不衔接）；写成
    “问题代码@指标键”只确认一处，不写则确认当前报表中该代码的每一处（逐条
    列出）。确认只对当前这一版报表有效：单位重新报送后须重新确认。错误不能
    确认，须由单位改正后重新报送；但其他单位的邮箱发来本单位的填报表
    （sender-mismatch）确为代为报送的，可以确认，AGENCY_CODE 可写报表所属
    单位或发件单位的代码。

    \b
    例：xltool confirm 0012322 fee-unit-suspect --note "已电话核实，单位为万元"
        xltool confirm 0012321 sender-mismatch --note "由市场监管局代为报送" --by 张三
    """
    from xltool.round.confirm import confirm as record

    if rnd is None:
        raise UsageError("xltool confirm 须在本轮工作文件夹中运行（由 xltool init 建立；或用 --round DIR 指定）："
                         "确认记录保存在本轮的“确认记录.json”中。")
    done = record(rnd, agency_code, finding, note, by)
    entry = done.entries[0]
    click.echo(f"已确认 {agency_code} 的 {entry.finding}（{len(done.instances)} 处），记入 {rnd.confirmations}：")
    for text in done.instances:
        click.echo(f"  {text}")
    click.echo(f"确认人：{entry.by}；时间：{minute(entry.at)}；理由：{entry.note}")
    click.echo("只对当前这一版报表有效；该单位重新报送后须重新确认。")
