"""The report as Markdown, for review and diffing.

Tables are pipe tables with the hierarchical labels flattened (申请人情况／法人或其他组织／商业企业),
not HTML with rowspan: a reviewer reading a diff then sees each changed figure on a line that
names its row, and each column's full name is in the header, without counting merged cells.
A table whose only row has no label (table 3: one row of 15 figures) is written one line per
column, so a changed figure is a one-line diff that names its column.

Text from the return is escaped so that a Markdown viewer shows it as written (no HTML, links
or emphasis smuggled in)."""

from __future__ import annotations

import re

from xltool.reports.grid import Segment, segments
from xltool.reports.model import DRAFT_NOTE, Report

_INLINE = re.compile(r"([\\`*_\[\]|])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")


def md_text(text: str, line_start: bool = True) -> str:
    """Plain text, shown literally by a Markdown viewer. At the start of a line (not in a table
    cell) a list or heading marker is escaped too."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: m[1] + "\\" + m[2], text) if line_start else text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(md_text(c, line_start=False) for c in cells) + " |"


def _pipe_table(header: list[str], rows: list[list[str]], label_columns: int) -> list[str]:
    rule = ["---"] * label_columns + ["---:"] * (len(header) - label_columns)
    return [_row(header), "| " + " | ".join(rule) + " |", *(_row(r) for r in rows)]


def segment_lines(seg: Segment) -> list[str]:
    lines = [f"**{md_text(seg.caption)}**", ""] if seg.caption else []
    if len(seg.rows) == 1 and not seg.rows[0][0]:  # one unlabelled row: one line per column
        return lines + _pipe_table(["栏目", "数值"], [[c, f] for c, f in zip(seg.columns, seg.rows[0][1])], 1)
    return lines + _pipe_table([seg.corner, *seg.columns], [[label, *figures] for label, figures in seg.rows], 1)


def render_markdown(report: Report) -> bytes:
    lines = [f"# {md_text(report.title)}", ""]
    if report.draft:
        lines += [f"> **{md_text(DRAFT_NOTE)}**", ""]
    for p in report.preamble:
        lines += [md_text(p), ""]
    for section in report.sections:
        lines += [f"## {md_text(section.heading)}", ""]
        if section.table:
            for seg in segments(section.table, report.values):
                lines += segment_lines(seg) + [""]
        for p in section.paragraphs:
            lines += [md_text(p), ""]
    lines += [line for text in report.closing for line in (md_text(text), "")]
    return ("\n".join(lines).rstrip() + "\n").encode("utf-8")
