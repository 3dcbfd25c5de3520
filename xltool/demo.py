"""`xltool demo`: the whole round on the bundled samples, no server needed.

A district coordinating office sends its 12 departments their workbooks; 11 come back (some
with typical mistakes) in a mailbox; the demo collects, verifies, annotates, shows who is
missing, merges and writes the reports — each step through the same library as the commands.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Callable

from .fill import fill_bytes
from .generate import generate_roster, workbook_bytes
from .roster import load_roster
from .util import atomic_write, check_writable_dir

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
YEAR = 2021
COORDINATOR = ("11230100", "哈尔滨市阿城区人民政府")


def _sample_returns(roster) -> dict[str, bytes]:
    """What the agencies send back: their workbook, filled in by the clerk."""
    names = {a.code: a.name for a in roster}
    out = {}
    for path in sorted((SAMPLES / "returns").glob("*.json")):
        sample = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        code = sample["agency"]["code"]
        out[code] = fill_bytes(workbook_bytes(YEAR, code, names[code]), sample["values"])
    return out


def run_demo(out: Path, echo: Callable[[str], None]) -> int:
    check_writable_dir(out)
    roster_path = SAMPLES / "roster.csv"
    roster = load_roster(roster_path)
    echo(f"示例：{COORDINATOR[1]}向 {len(roster)} 个部门收集{YEAR}年度政府信息公开工作年度报告。\n")

    dist = out / "1-下发"
    check_writable_dir(dist)
    generate_roster(roster, YEAR, dist, key=None)
    echo(f"① 生成：{len(roster)} 个加锁的填报工作簿 → {dist}")

    returns = _sample_returns(roster)
    inbox = out / "2-收到"
    check_writable_dir(inbox)
    for code, data in returns.items():
        atomic_write(inbox / f"{code}.xlsx", data)
    echo(f"② 各部门填报后报送：收到 {len(returns)} 份（1 个部门未报送）→ {inbox}")

    from .annotate import annotate_results
    from .verify import verify_paths

    results = verify_paths([inbox], show_progress=False)
    annotated = out / "3-批注"
    check_writable_dir(annotated)
    annotate_results(results, annotated)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "warnings", "errors")}
    echo(f"③ 审核：通过 {counts['ok']}，有警告 {counts['warnings']}，有错误 {counts['errors']}；"
         f"批注版（标出问题单元格）→ {annotated}")
    for r in results:
        if r.findings:
            first = r.findings[0]
            echo(f"    {r.agency['name'] if r.agency else r.file}：[{first.code}] {first.message[:70]}…")

    from .merge import merge_paths, write_merged_workbook
    from .status import render_html, status_paths

    report = status_paths(roster, [inbox], show_progress=False)
    atomic_write(out / "4-报送进度.html", render_html(report).encode("utf-8"))
    missing = [a.agency.name for a in report.agencies if a.state == "missing"]
    echo(f"④ 进度：未提交 {len(missing)}（{'、'.join(missing)}）；进度页 → {out / '4-报送进度.html'}")

    merged = merge_paths([inbox], roster=roster, show_progress=False)
    merged_path = out / "5-汇总.xlsx"
    write_merged_workbook(merged, merged_path, YEAR, *COORDINATOR)
    echo(f"⑤ 汇总：计入 {len(merged.included)} 份，未计入 {len(merged.excluded)} 份（有错误），"
         f"未提交 {len(merged.missing)} 个 → {merged_path}")
    echo(f"    全区本年新收政府信息公开申请 {merged.values['requests.new.total']} 件，"
         f"办结 {merged.values['requests.total.total']} 件。")

    from .report import Narrative, plan, write_reports

    reports = out / "6-年度报告"
    check_writable_dir(reports)
    outcome = write_reports(merged_path, plan(reports, "html,md,docx"), Narrative(None))
    echo(f"⑥ 成文：{len(outcome.written)} 个文件（HTML 供网站发布，DOCX 公文格式，Markdown 供审阅）→ {reports}")
    echo("")
    echo(f"完成。全部结果在 {out}")
    return 0
