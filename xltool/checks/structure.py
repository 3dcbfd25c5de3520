"""The template is intact: sheets, labels, total formulas, protection and saved values."""

from __future__ import annotations

import functools
import re

from xltool.findings import finding, fmt
from xltool.form import calc
from xltool.form.layout import Item
from xltool.office.cells import a1, parse_ref

_SHEET_PREFIX = re.compile(r"^(?:'(?:[^']|'')+'|[^!'()+,]+)!")
_RANGE = re.compile(r"^([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$")
_SUM_LIKE = re.compile(r"^(?:SUM\((.*)\)|(.*))$")


def _cells_of(arg: str, home: str) -> set[tuple[str, str]] | None:
    sheet = home
    m = _SHEET_PREFIX.match(arg)
    if m:
        sheet = m.group(0)[:-1].strip("'").replace("''", "'")
        arg = arg[m.end():]
    r = _RANGE.match(arg)
    if not r:
        return None
    (r0, c0) = parse_ref(r[1] + r[2])
    (r1, c1) = parse_ref((r[3] or r[1]) + (r[4] or r[2]))
    return {(sheet, a1(row, col)) for row in range(min(r0, r1), max(r0, r1) + 1)
            for col in range(min(c0, c1), max(c0, c1) + 1)}


@functools.lru_cache(maxsize=4096)
def normalise(formula: str, home: str) -> frozenset | str:
    """A formula as what it computes: a sum becomes the set of cells it adds up, whether it is
    written SUM(D7:I7), =sum($D$7:$I$7) or D7+E7+…; anything else is compared as cleaned text."""
    text = re.sub(r"\s+", "", formula or "").lstrip("=").replace("$", "").replace("_xlfn.", "")
    upper = re.sub(r"('(?:[^']|'')*')|([^']+)", lambda m: m[1] or m[2].upper(), text)
    m = _SUM_LIKE.match(upper)
    assert m is not None  # the pattern's second branch matches anything
    body = m[1] if m[1] is not None else m[2]
    parts = re.split(r"[,+]", body) if body else []
    cells: set = set()
    for p in parts:
        got = _cells_of(p, home)
        if got is None:
            return upper
        cells |= got
    return frozenset(cells)


def _sheets(ctx):
    book, spec = ctx.ret.book, ctx.spec
    for name in spec.sheet_names():
        if name not in book.sheets:
            yield finding("sheet-missing", f"缺少工作表“{name}”：可能被删除或改名。",
                          sheet=name)


def _labels(ctx):
    book = ctx.ret.book
    year = str(ctx.ret.year)
    for item in ctx.layout.labels:
        sheet = book.sheets.get(item.sheet)
        if sheet is None:
            continue
        cell = sheet.get(item.row, item.col)
        found = (cell.value or "") if cell else ""
        expected = item.text.replace("{year}", year)
        if found.strip() != expected:
            yield finding("label-changed",
                          f"“{item.sheet}”表 {item.ref} 单元格的表头文字被改动：应为“{expected}”，现为“{found or '空白'}”。",
                          sheet=item.sheet, cell=item.ref, basis=ctx.spec.basis)


def _formula_cells(ctx) -> list[Item]:
    return [i for i in ctx.layout.formulas if i.key]


def _formulas(ctx):
    ret, spec = ctx.ret, ctx.spec
    if not ret.book.formulas_known:
        return
    contents = {k: (e.value if e.kind == "number" else e.text) for k, e in ret.entries.items()
                if not spec.cells[k].is_total}
    recomputed = calc.totals(spec, contents)
    for item in _formula_cells(ctx):
        e = ret.entries[item.key]
        if e.sheet is None:
            continue
        place = f"“{e.sheet}”表 {e.ref} 单元格（{spec.cells[item.key].label}）"
        if not e.formula or normalise(e.formula, e.sheet) != normalise(item.formula, item.sheet):
            now = f"现为公式 ={e.formula}" if e.formula else f"现为数值 {fmt(e.value) if e.value is not None else e.text or '空白'}"
            yield finding("formula-changed",
                          f"{place}是自动计算的合计，公式被删除或改动（应为 ={item.formula}，{now}）。",
                          sheet=e.sheet, cell=e.ref, key=item.key)
        elif e.saved is not None and e.saved != recomputed[item.key]:
            yield finding("cached-value-mismatch",
                          f"{place}保存的合计值为 {fmt(e.saved)}，但按各项数字计算应为 {fmt(recomputed[item.key])}。",
                          sheet=e.sheet, cell=e.ref, key=item.key)


def _protection(ctx):
    book = ctx.ret.book
    if not book.formulas_known:
        return
    for name in ctx.spec.sheet_names():
        sheet = book.sheets.get(name)
        if sheet is not None and not sheet.protected:
            yield finding("protection-removed", f"“{name}”表的工作表保护被取消。", sheet=name)


def check(ctx):
    yield from _sheets(ctx)
    yield from _labels(ctx)
    yield from _formulas(ctx)
    yield from _protection(ctx)
