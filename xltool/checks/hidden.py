"""Figures the form does not show: in hidden sheets, in hidden rows or columns of the form's
sheets, or outside the form's cells. They are never read (figures come from the form's cells
only); the finding says they are there, so nobody signs off a return whose screen and paper
differ from what was sent. Our own very hidden identity sheet is not a finding."""

from __future__ import annotations

import functools

from xltool.findings import finding
from xltool.form.layout import layout_for
from xltool.form.returns import META_SHEET
from xltool.form.spec import Spec
from xltool.office.book import Cell, Sheet
from xltool.office.cells import a1

SHOWN = 5  # cells named in a message; the count says how many there are


@functools.cache
def _placed(spec: Spec) -> frozenset[tuple[str, int, int]]:
    """Every cell the form writes something in (its labels, inputs, totals and checks)."""
    return frozenset((i.sheet, i.row, i.col) for i in layout_for(spec).items)


@functools.cache
def _data_sheets(spec: Spec) -> tuple[str, ...]:
    """The sheets that hold the form's figures and text, as a reader sees and prints them (not
    the instructions or the check sheet, whose numbers are never the return's)."""
    layout = layout_for(spec)
    return tuple(dict.fromkeys(layout.by_key[k].sheet for k in spec.cells if k in layout.by_key))


def _figures(sheet: Sheet) -> list[Cell]:
    return sorted((c for c in sheet.cells.values() if c.type == "n" and c.value not in (None, "")),
                  key=lambda c: (c.row, c.col))


def _refs(cells: list[Cell]) -> str:
    refs = "、".join(a1(c.row, c.col) for c in cells[:SHOWN])
    return refs + ("等" if len(cells) > SHOWN else "")


def check(ctx):
    book, spec = ctx.ret.book, ctx.spec
    for name, sheet in book.sheets.items():
        if name == META_SHEET or sheet.state == "visible":
            continue
        figures = _figures(sheet)
        if figures:
            how = "深度隐藏（在 Excel 中无法直接取消隐藏）" if sheet.state == "veryHidden" else "隐藏"
            yield finding("hidden-figures", f"工作表“{name}”被{how}，其中有 {len(figures)} 个数字（{_refs(figures)}）。",
                          sheet=name)
    placed = _placed(spec)
    for name in _data_sheets(spec):
        sheet = book.sheets.get(name)
        if sheet is None or name in ctx.shifts:  # its figures moved with the rows: layout-shifted says so
            continue
        figures = _figures(sheet)
        hidden = [c for c in figures if c.hidden]
        if hidden:
            yield finding("hidden-figures", f"“{name}”表中有 {len(hidden)} 个数字所在的行或列被隐藏（{_refs(hidden)}）。",
                          sheet=name, cell=a1(hidden[0].row, hidden[0].col))
        outside = [c for c in figures if not c.hidden and (name, c.row, c.col) not in placed]
        if outside:
            yield finding("hidden-figures", f"“{name}”表中表格以外的单元格有 {len(outside)} 个数字（{_refs(outside)}），"
                                            "可能被遮挡或不在打印范围内。",
                          sheet=name, cell=a1(outside[0].row, outside[0].col))
