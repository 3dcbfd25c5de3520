"""`xltool demo`: the whole round on the bundled samples, no server needed.

A district coordinating office mails its 12 departments their workbooks; 11 reply (a forward,
a zip, a corrected second version, a wrong attachment, a message without one, …), some with
typical mistakes. The demo collects the replies from the mailbox, verifies, annotates, shows
who is missing, drafts the reminders, merges and writes the report — each step through the same
library as the commands. Nothing is sent: messages go to outbox folders as .eml files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.resources import SAMPLES, folder, read_bytes
from xltool.round.roster import load_roster
from xltool.round.workbooks import generate_roster
from xltool.util import atomic_write, check_writable_dir

YEAR = 2021
COORDINATOR = ("11230100", "哈尔滨市阿城区人民政府")
SENDER = "阿城区政务公开办 <gkb@ac.example.gov.cn>"


def _sample_returns(roster) -> dict[str, bytes]:
    """What the agencies send back: their workbook, filled in by the clerk."""
    names = {a.code: a.name for a in roster}
    out = {}
    for entry in sorted(folder(SAMPLES, "returns").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        sample = json.loads(entry.read_text(encoding="utf-8"), parse_float=Decimal)
        code = sample["agency"]["code"]
        out[code] = fill_bytes(workbook_bytes(YEAR, code, names[code]), sample["values"])
    return out


def _folder(path: Path) -> Path:
    check_writable_dir(path)
    return path


def run_demo(out: Path, echo: Callable[[str], None]) -> int:
    from xltool.mail.collect import collect
    from xltool.mail.compose import Sender
    from xltool.mail.deliver import Outbox
    from xltool.mail.remind import remind
    from xltool.mail.samplebox import build_sample_mailbox
    from xltool.mail.send import send
    from xltool.mail.sources import open_source
    from xltool.reports import Narrative, plan, write_reports
    from xltool.round.annotate import annotate_results
    from xltool.round.merge import merge_paths, write_merged_workbook
    from xltool.round.status import render_html, status_paths
    from xltool.round.verify import summary as verify_summary
    from xltool.round.verify import verify_paths

    check_writable_dir(out)
    roster_path = out / "0-名单.csv"  # the coordinator's roster, to try the commands on afterwards
    atomic_write(roster_path, read_bytes(SAMPLES, "roster.csv"))
    roster = load_roster(roster_path)
    sender = Sender.parse(SENDER)
    echo(f"示例：{COORDINATOR[1]}向 {len(roster)} 个部门收集{YEAR}年度政府信息公开工作年度报告。\n")

    dist = _folder(out / "1-下发")
    generate_roster(roster, YEAR, dist, key=None)
    sent = send(dist, roster, sender, Outbox(_folder(out / "1-发件箱")), None, None, None)
    echo(f"① 生成并发送：{len(roster)} 个加锁的填报工作簿 → {dist}；"
         f"{len(sent.report.sent)} 封邮件（演示只写成 .eml）→ {out / '1-发件箱'}")

    mbox = out / "2-收件箱.mbox"
    fresh = out / ".2-收件箱.mbox.new"
    notes = build_sample_mailbox(_sample_returns(roster), roster, fresh)
    if mbox.exists():  # a second run: the replies came on the first; the same mailbox, collected again
        fresh.unlink()
    else:
        fresh.replace(mbox)
    echo(f"② 各部门回复：{len(notes)} 封邮件 → {mbox}")
    for note in notes:
        echo(f"    {note}")

    collected = out / "3-收集"
    summary = collect(open_source(str(mbox)), collected, roster)
    echo(f"③ 收集：新邮件 {summary.new_messages} 封（此前已收 {summary.known_messages} 封），"
         f"按报表中的单位代码归档，{len(summary.current)} 个单位有当前报表；本次无法识别的附件 "
         f"{len(summary.unidentified)} 个，超大附件链接 {len(summary.links)} 个 → {collected}")

    results = verify_paths([collected], show_progress=False)
    annotated = _folder(out / "4-批注")
    annotate_results(results, annotated)
    counts = verify_summary(results)
    echo(f"④ 审核：通过 {counts['ok']}，有警告 {counts['warnings']}，有错误 {counts['errors']}；"
         f"批注版（标出问题单元格）→ {annotated}")
    for r in results:
        if r.findings:
            first = r.findings[0]
            echo(f"    {r.agency['name'] if r.agency else r.file}：[{first.code}] {first.message[:70]}…")

    report = status_paths(roster, [collected], show_progress=False)
    atomic_write(out / "5-报送进度.html", render_html(report).encode("utf-8"))
    missing = [a.agency.name for a in report.agencies if a.state == "missing"]
    todo, _ = remind(collected, roster, sender, Outbox(_folder(out / "5-催报邮件")), None, year=YEAR)
    echo(f"⑤ 进度：未提交 {len(missing)}（{'、'.join(missing)}）；进度页 → {out / '5-报送进度.html'}；"
         f"催报邮件 {len(todo)} 封（附批注版）→ {out / '5-催报邮件'}")

    merged = merge_paths([collected], roster=roster, show_progress=False)
    merged_path = out / "6-汇总.xlsx"
    write_merged_workbook(merged, merged_path, YEAR, *COORDINATOR)
    echo(f"⑥ 汇总：计入 {len(merged.included)} 份，未计入 {len(merged.excluded)} 份（有错误），"
         f"未提交 {len(merged.missing)} 个 → {merged_path}")
    echo(f"    全区本年新收政府信息公开申请 {merged.values['requests.new.total']} 件，"
         f"办结 {merged.values['requests.total.total']} 件。")

    reports = _folder(out / "7-年度报告")
    outcome = write_reports(merged_path, plan(reports, "html,md,docx"), Narrative(None))
    echo(f"⑦ 成文：{len(outcome.written)} 个文件（HTML 供网站发布，DOCX 公文格式，Markdown 供审阅）→ {reports}")
    echo("")
    echo(f"完成。全部结果在 {out}")
    return 0
