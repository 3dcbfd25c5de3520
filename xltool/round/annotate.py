"""Annotated copies of returns: each problem cell highlighted with a comment that explains it,
and a summary sheet (审核意见) at the front. The copy stays a valid return: the clerk fixes it
and sends it back, and verify ignores the summary sheet. The original is never touched."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from xltool.findings import Finding
from xltool.util import atomic_write, safe_filename

SUMMARY_SHEET = "审核意见"
ERROR_FILL = "FFF8D7DA"
WARNING_FILL = "FFFFF3CD"


def annotate_bytes(data: bytes, findings: Iterable[Finding], title: str = "") -> bytes:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    findings = list(findings)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    if SUMMARY_SHEET in wb.sheetnames:  # a copy annotated before: replace its summary
        del wb[SUMMARY_SHEET]
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.sheet and f.cell and f.sheet in wb.sheetnames:
            by_cell[(f.sheet, f.cell)].append(f)
    for (sheet, ref), group in by_cell.items():
        cell = wb[sheet][ref]
        worst = "error" if any(f.severity == "error" for f in group) else "warning"
        color = ERROR_FILL if worst == "error" else WARNING_FILL
        cell.fill = PatternFill("solid", start_color=color, end_color=color)
        text = "\n".join(f"【{'错误' if f.severity == 'error' else '警告'}】{f.message}" for f in group)
        comment = Comment(text, "xltool 审核")
        comment.width, comment.height = 360, min(600, 60 + 18 * len(text) // 20)
        cell.comment = comment
    ws = wb.create_sheet(SUMMARY_SHEET, 0)
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 26
    ws.column_dimensions["D"].width = 22
    ws.column_dimensions["E"].width = 90
    errors = sum(f.severity == "error" for f in findings)
    ws["A1"] = f"审核意见{('：' + title) if title else ''}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = (f"共发现 {errors} 个错误、{len(findings) - errors} 个警告。标红的单元格有错误，标黄的有警告，"
                "鼠标移到单元格上可看说明。请在本文件中直接修改后保存，原样报送即可（本页不影响审核）。")
    ws.append([])
    ws.append(["序号", "类别", "位置", "代码", "说明"])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for n, f in enumerate(findings, start=1):
        where = f"{f.sheet} {f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
        ws.append([n, "错误" if f.severity == "error" else "警告", where, f.code, f.message])
        ws.cell(ws.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet.title == SUMMARY_SHEET
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def annotated_name(file: str) -> str:
    return safe_filename(Path(file).stem, 80) + "-审核意见.xlsx"


def annotate_results(results, out_dir: Path) -> list[Path]:
    """Write an annotated copy of every readable return that has findings."""
    written = []
    for r in results:
        if not r.findings or r.agency is None:
            continue
        try:
            data = Path(r.file).read_bytes()
            title = f"{r.agency['name']}（{r.agency['code']}）"
            out = out_dir / annotated_name(r.file)
            atomic_write(out, annotate_bytes(data, r.findings, title))
            written.append(out)
        except Exception:  # a file our reader accepted but openpyxl cannot rewrite: no copy, findings still stand
            continue
    return written
