"""`xltool send`, `collect` and `remind`: the mail commands, a thin layer over xltool.mail.

Exit status: 0 done; 1 some message failed (the rest was done, and a re-run resumes); 2 used
wrongly or a bad roster (raised as UsageError / RosterError and turned into 2 by handle_errors).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from xltool.commands.common import fail, handle_errors, in_round, json_option, key_option, print_json, unset
from xltool.commands.zh import Date
from xltool.errors import UsageError
from xltool.round.roster import load_roster
from xltool.util import read_secret

DATE = Date()


def _outgoing(fn):
    """The options send and remind share: who sends, how, and what the message says."""
    options = [
        click.option("--roster", type=click.Path(exists=True, dir_okay=False),
                     help="单位名单（.csv 或 .xlsx），含邮箱。"),
        click.option("--from", "sender", help='发件人，如 gkb@example.gov.cn 或 "某某区政务公开办 <gkb@example.gov.cn>"。'),
        click.option("--smtp", help="SMTP 服务器：smtp://用户名@服务器:端口（支持时使用 STARTTLS）或 smtps://…；不给则只写到发件箱文件夹供检查。"),
        click.option("--password-file", type=click.Path(dir_okay=False), help="SMTP 密码（授权码）文件；也可用环境变量 XLTOOL_SMTP_PASSWORD。"),
        click.option("--outbox", type=click.Path(file_okay=False), help="发件箱文件夹：试发的 .eml 文件和发送记录（默认为旁边的 outbox/）。"),
        click.option("--deadline", type=DATE, help="报送截止日期，如 2022-01-15（不能早于今天；默认取本轮的截止日期）。"),
        click.option("--new-deadline", type=DATE,
                     help="本轮截止日期已过时，请对方在此日期前报送（不给则请对方尽快报送）。"),
        click.option("--contact", help="联系方式，如“张三 0571-12345678”。"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _outgoing_defaults(rnd, p) -> None:
    unset(p, "roster", rnd.roster)
    unset(p, "sender", rnd.coordinator.sender)
    unset(p, "outbox", rnd.outbox)


def _send_defaults(rnd, p) -> None:
    _outgoing_defaults(rnd, p)
    unset(p, "folder", rnd.dist)


def _remind_defaults(rnd, p) -> None:
    _outgoing_defaults(rnd, p)
    unset(p, "key_file", rnd.key_file)
    unset(p, "year", rnd.year)
    unset(p, "workbooks", rnd.dist)


def _needs(roster: str | None, sender: str | None, what: object = "x") -> None:
    if not (roster and sender and what):
        raise UsageError("请给出 --roster 名单和 --from 发件人（或在 xltool init 建立的本轮文件夹中运行）。")


def _deadline(typed, new_deadline, rnd):
    """The letter's dates: a --deadline typed that is already past is refused (exit 2); the round's
    own deadline is the default, and once it has passed the letter says 已逾期."""
    from xltool.mail.compose import Deadline, refuse_past

    refuse_past(typed, "--deadline")
    return Deadline.resolve(typed or (rnd.deadline if rnd else None), new_deadline)


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False), required=False)
@_outgoing
@handle_errors
@in_round(_send_defaults)
def send(folder: str | None, roster: str | None, sender: str | None, smtp: str | None, password_file: str | None,
         outbox: str | None, deadline, new_deadline, contact: str | None, rnd) -> None:
    """给名单中的每个单位发送它自己的填报工作簿。

    工作簿按其中记录的单位代码（而不是文件名）与名单对应。不给 --smtp 时只把邮件写成
    .eml 文件放到发件箱文件夹，供检查；给出 --smtp 时真正发送，并在发件箱中记录
    sent.jsonl：中途失败后重新运行，会跳过已发送的单位。名单中一个单位有多个邮箱时，
    一封邮件同时发给每个邮箱；没有邮箱的单位列为未发送，其余照常发送（退出码为 1）。

    \b
    例：xltool send dist/ --roster roster.csv --from "某某区政务公开办 <gkb@example.gov.cn>" --deadline 2022-01-15
        XLTOOL_SMTP_PASSWORD=授权码 xltool send dist/ --roster roster.csv --from gkb@163.com \\
            --smtp smtps://gkb%40163.com@smtp.163.com:465
    """
    from xltool.mail.compose import Sender
    from xltool.mail.deliver import transport_for
    from xltool.mail.send import send as send_all

    _needs(roster, sender, folder)
    assert roster and sender and folder
    when = _deadline(deadline, new_deadline, rnd)
    who = Sender.parse(sender)
    agencies = load_roster(roster)
    box = Path(outbox) if outbox else Path(folder).parent / "outbox"
    transport, log = transport_for(smtp, password_file, who, box, "sent.jsonl")
    result = send_all(Path(folder), agencies, who, transport, log, when, contact)
    _report_delivery(result.report, box, log, "发送")
    if result.missing:
        click.echo(f"没有找到工作簿、未发送的单位 {len(result.missing)} 个：" + _agencies(result.missing))
    _list("提示", result.notes)
    if result.missing or not result.report.complete:
        sys.exit(1)


@click.command()
@click.argument("path", type=click.Path(exists=True), required=False)
@_outgoing
@key_option
@click.option("--year", type=int, help="统计年度（默认取报表中的年度）。")
@click.option("--workbooks", type=click.Path(exists=True, file_okay=False),
              help="下发的填报表文件夹（generate 的输出），从中找出各单位的空白填报表附在催报邮件中；"
                   "找不到时新生成一份（在本轮文件夹中默认为“下发”文件夹）。")
@handle_errors
@in_round(_remind_defaults)
def remind(path: str | None, roster: str | None, sender: str | None, smtp: str | None, password_file: str | None,
           outbox: str | None, deadline, new_deadline, contact: str | None, key_file: str | None, year: int | None,
           workbooks: str | None, rnd) -> None:
    """提醒需要催办的单位，告诉对方该做什么。

    \b
    未提交：附上该单位的空白填报表，请其填写报送（已报送的请附上工作簿重新回复）；
    无法使用：说明收到了什么、为什么不能用，附上空白填报表；
    报表错发：向发出的单位和被错发的单位分别说明，各附其自己的空白填报表；
    有错误：列出审核意见，附上标注了问题的报表。

    路径是收取的报表文件夹（collect 的输出，按其记录使用当前版本）或报表文件；在本轮文件夹中
    默认为“收到”文件夹。不给 --smtp 时只写到发件箱文件夹供检查；给出 --smtp 时发送，并记录
    reminded.jsonl：同一天内重新运行会跳过已提醒的单位。没有邮箱的单位列为未提醒，其余照常发送
    （退出码为 1）。本轮截止日期已过仍可催报：邮件写明已逾期，并请对方在 --new-deadline 前
    （不给则尽快）报送。

    \b
    例：xltool remind --roster roster.csv returns/ --from gkb@example.gov.cn --deadline 2022-01-20
        xltool remind --new-deadline 2023-01-25     （在本轮文件夹中）
    """
    from xltool.mail.compose import Sender
    from xltool.mail.deliver import transport_for
    from xltool.mail.remind import remind as remind_all

    paths = [Path(path)] if path else rnd.returns() if rnd else []
    _needs(roster, sender, paths)
    assert roster and sender
    when = _deadline(deadline, new_deadline, rnd)
    who = Sender.parse(sender)
    agencies = load_roster(roster)
    box = Path(outbox) if outbox else paths[0].resolve().parent / "outbox"
    transport, log = transport_for(smtp, password_file, who, box, "reminded.jsonl")
    todo, report = remind_all(paths, agencies, who, transport, log, read_secret(key_file, "XLTOOL_KEY"),
                              year, when, contact, workbooks=Path(workbooks) if workbooks else None,
                              previous=rnd.previous if rnd and rnd.previous and rnd.previous.exists() else None,
                              confirmations=rnd.confirmations if rnd else None)
    _print_chased(todo)
    _report_delivery(report, box, log, "提醒")
    if not report.complete:
        sys.exit(1)


def _print_chased(todo) -> None:
    from xltool.findings import STATE_TEXT
    from xltool.round.status import CHASED

    counts = [f"{STATE_TEXT[s]} {n} 个" for s in CHASED if (n := sum(c.state == s for c in todo))]
    click.echo(f"需要提醒 {len(todo)} 个单位" + ("：" + "，".join(counts) if counts else "") + "。")


def _collect_defaults(rnd, p) -> None:
    unset(p, "output", rnd.received)
    unset(p, "roster", rnd.roster)


@click.command()
@click.argument("source")
@click.option("-o", "--output", type=click.Path(file_okay=False), help="保存报表的文件夹（在本轮文件夹中默认为“收到”文件夹）。")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), help="单位名单：核对发件人，列出尚未报送的单位。")
@click.option("--since", type=DATE, help="只收取此日期（含）以后的邮件，如 2022-01-01。")
@click.option("--password-file", type=click.Path(dir_okay=False), help="IMAP 密码（授权码）文件；也可用环境变量 XLTOOL_IMAP_PASSWORD。")
@json_option
@handle_errors
@in_round(_collect_defaults)
def collect(source: str, output: str | None, roster: str | None, since, password_file: str | None, as_json: bool,
            rnd) -> None:
    """从邮箱或文件夹收取报表，按报表中的单位代码归档。

    来源可以是 mbox 文件、Maildir、.eml 文件夹、普通文件夹（U 盘或聊天工具传来的报表），
    或 imap://用户名@服务器:端口/INBOX（imaps://…）。只读：不会标记、移动或删除邮件。
    每份报表按单位保存全部版本，以最后到达的为当前版本（日期不可信的排在最后）；随附的盖章扫描件等保存在旁边；
    无法识别的附件存入 unidentified/ 并注明原因；一切记录在 manifest.json 中。
    重复运行不会重复保存；中途失败后重新运行会从中断处继续。

    \b
    例：xltool collect ~/mail/inbox.mbox -o returns/ --roster roster.csv
        XLTOOL_IMAP_PASSWORD=授权码 xltool collect imaps://gkb%40163.com@imap.163.com/INBOX -o returns/ --since 2022-01-01
    """
    from xltool.mail.collect import collect as collect_all
    from xltool.mail.sources import open_source

    if not output:
        raise UsageError("请用 -o 给出保存报表的文件夹（或在 xltool init 建立的本轮文件夹中运行）。")
    out = Path(output)
    agencies = load_roster(roster) if roster else None
    src = open_source(source, since=since, password_file=password_file, exclude=out)
    summary = collect_all(src, out, agencies, since)
    if as_json:
        print_json(_summary_json(str(src), summary))
    else:
        _print_summary(str(src), out, summary)
    if not summary.complete:
        if summary.source_error:
            fail(summary.source_error, 1)
        sys.exit(1)


# --- output --------------------------------------------------------------------------------------


def _agencies(agencies) -> str:
    shown = "、".join(f"{a.code} {a.name}" for a in agencies[:20])
    return shown + (" 等" if len(agencies) > 20 else "")


def _list(title: str, lines: list[str]) -> None:
    from xltool.util import no_surrogates

    if lines:
        click.echo(f"{title}：")
        for line in lines:
            click.echo(f"  - {no_surrogates(line)}")


def _report_delivery(report, box: Path, log, verb: str) -> None:
    if log is None:
        click.echo(f"已写出 {len(report.written)} 封邮件到 {box}，请检查后加上 --smtp 正式{verb}。")
    else:
        click.echo(f"已{verb} {len(report.sent)} 封，跳过此前已{verb}的 {len(report.skipped)} 封（记录见 {log.path}）。")
    _list(f"{verb}失败（重新运行会重试）", [f"{a.code} {a.name}：{why}" for a, why in report.failed])
    _list(f"部分邮箱被拒收（其余邮箱已{verb}；请核对名单中的邮箱）", [f"{a.code} {a.name}：{why}" for a, why in report.refused])
    _list(f"未{verb}：名单中没有邮箱（请在名单中补上邮箱后重新运行）", [f"{a.code} {a.name}：{why}" for a, why in report.unmailable])
    if report.stopped:
        click.echo(f"错误：{report.stopped}", err=True)


def _print_summary(source: str, out: Path, s) -> None:
    click.echo(f"来源：{source}")
    click.echo(f"新邮件（或文件）{s.new_messages} 封，此前已收取 {s.known_messages} 封。")
    click.echo(f"新保存报表 {len(s.saved)} 份，重复 {s.duplicates} 份，随附文件 {s.companions} 个；"
               f"现有 {len(s.current)} 个单位的当前报表，记录见 {out / 'manifest.json'}。")
    _list(f"无法识别的附件（已存入 {out / 'unidentified'}）", [_about(u) for u in s.unidentified])
    _list("过大未保存", [_about(u) for u in s.too_large])
    _list("已跳过（不是普通文件，或链接指向来源之外）", [f"{u['origin']}：{u.get('reason')}" for u in s.skipped])
    _list("超大附件链接（需手工下载）", [f"{link['from'] or link['origin']}：{link['url']}" for link in s.links])
    _list("提示", s.notes)
    if s.missing:
        click.echo(f"名单中尚未收到报表的单位 {len(s.missing)} 个：" + _agencies(s.missing))
    _list("未能处理（重新运行会重试）", [f"{origin}：{why}" for origin, why in s.failed])


def _about(entry: dict[str, Any]) -> str:
    name = entry.get("name") or "（无文件名）"
    return f"{name}（{entry.get('from') or entry['origin']}）：{entry.get('reason')}"


def _summary_json(source: str, s) -> dict[str, Any]:
    return {"source": source, "messages": {"new": s.new_messages, "known": s.known_messages},
            "saved": s.saved, "duplicates": s.duplicates, "companions": s.companions,
            "unidentified": s.unidentified, "too_large": s.too_large, "skipped": s.skipped, "links": s.links,
            "notes": s.notes,
            "failed": [{"origin": o, "reason": r} for o, r in s.failed], "error": s.source_error,
            "current": s.current, "missing": [{"code": a.code, "name": a.name, "email": a.email} for a in s.missing]}
