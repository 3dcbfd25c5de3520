"""Text as copied from a web page or saved as .txt. Two shapes are read:

- one cell per line, as a browser copies a table: a line that starts with a tab begins a cell,
  a line without one continues it (labels broken over lines), a blank line before a tab line
  ends the row, two blank lines end the table (`../shared/reference/` is such a text);
- one row per line, cells separated by tabs, as Excel and WPS copy a table;
- Markdown (`xltool report` writes it): pipe tables, headings, escaped characters.

Merged cells are not visible in text: a row holds only the cells the page printed
(`Table.spans_known` is False)."""

from __future__ import annotations

import hashlib
import re

from xltool.published.document import MAX_CELLS, MAX_TEXT, Cell, Document, DocumentError, Paragraph, Table
from xltool.published.encoding import decode


def _row_per_line(lines: list[str]) -> bool:
    """Tab-separated rows: several lines hold a tab after some text."""
    inner = sum(1 for line in lines if "\t" in line.strip("\t") and line.strip())
    return inner >= 5


def read_text(data: bytes, file: str) -> Document:
    text, _ = decode(data)
    if len(text) > MAX_TEXT:
        raise DocumentError("file-too-large", f"文本过长（超过 {MAX_TEXT // 10000} 万字），不像是一份年度报告。")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = text.split("\n")
    doc = Document(file, "text", hashlib.sha256(data).hexdigest())
    if file.lower().endswith((".md", ".markdown")) or sum(line.startswith("|") for line in lines) >= 5:
        doc.blocks = _markdown(lines)
    else:
        doc.blocks = _tab_rows(lines) if _row_per_line(lines) else _cell_lines(lines)
    if sum(len(r) for t in doc.tables for r in t.rows) > MAX_CELLS:
        raise DocumentError("file-too-large", "表格单元格过多，不像是一份年度报告。")
    return doc


def _tab_rows(lines: list[str]) -> list:
    blocks: list = []
    table: Table | None = None
    for n, line in enumerate(lines, 1):
        if "\t" in line.strip("\t") or (table is not None and line.startswith("\t") and line.strip()):
            if table is None:
                table = Table([], f"第{n}行起的表格", spans_known=False)
                blocks.append(table)
            table.rows.append([Cell(c.strip(), f"第{n}行第{i}格") for i, c in enumerate(line.split("\t"), 1)])
        else:
            table = None
            if line.strip():
                blocks.append(Paragraph(line.strip(), f"第{n}行"))
    return blocks


def _cell_lines(lines: list[str]) -> list:
    blocks: list = []
    table: Table | None = None
    row: list[Cell] | None = None
    blank = 0
    for n, line in enumerate(lines, 1):
        if not line.strip() and not line.startswith("\t"):
            blank += 1
            if blank >= 2:
                table = row = None
            continue
        if line.startswith("\t"):
            if table is None:
                table = Table([], f"第{n}行起的表格", spans_known=False)
                blocks.append(table)
                row = None
            if row is None or blank:
                row = []
                table.rows.append(row)
            row.append(Cell(line.strip(), f"第{n}行"))
        elif table is not None and row and blank <= 1 and not _heading_like(line):
            row[-1].text += line.strip()  # a label broken over lines
        else:
            table = row = None
            blocks.append(Paragraph(line.strip(), f"第{n}行"))
        blank = 0
    return blocks


def _heading_like(line: str) -> bool:
    """A narrative line right after a table, not the rest of a cell: indented, or long."""
    return line.startswith((" ", "\u3000")) or len(line.strip()) > 12


_ESCAPED = re.compile(r"\\([\\`*_\[\]|#>+\-=.)!])")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _md_text(text: str) -> str:
    """Markdown source shown as its reader sees it: escapes undone, entities read, emphasis dropped."""
    text = _ESCAPED.sub(r"\1", text.replace("**", ""))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _md_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [_md_text(c) for c in re.split(r"(?<!\\)\|", body)]


def _markdown(lines: list[str]) -> list:
    blocks: list = []
    table: Table | None = None
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("|"):
            if _RULE.match(line.strip()):
                continue
            if table is None:
                table = Table([], f"第{n}行起的表格")
                blocks.append(table)
            table.rows.append([Cell(c, f"第{n}行第{i}格") for i, c in enumerate(_md_cells(line), 1)])
            continue
        table = None
        text = _md_text(re.sub(r"^\s{0,3}(#{1,6}|>)\s*", "", line))
        if text:
            blocks.append(Paragraph(text, f"第{n}行"))
    return blocks
