"""The template is intact: sheets, labels, total formulas, protection and saved values."""

from __future__ import annotations

import functools
import re

from xltool.findings import finding, fmt, shown
from xltool.form import calc
from xltool.form.layout import Item
from xltool.office.cells import a1, parse_ref

_SHEET_PREFIX = re.compile(r"^(?:'(?:[^']|'')+'|[^!'()+,]+)!")
_RANGE = re.compile(r"^([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?$")
MAX_RANGE = 10_000  # cells in one range of a total's formula: the form's own span a few dozen
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
    try:
        (r0, c0) = parse_ref(r[1] + r[2])
        (r1, c1) = parse_ref((r[3] or r[1]) + (r[4] or r[2]))
    except ValueError:  # off the grid: compared as text, so never equal to ours
        return None
    if (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1) > MAX_RANGE:
        return None
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


def _summed(e):
    """What a total's SUM() takes from an input: a number, our value of a formula of constants,
    the saved value of another formula (what the application summed); text counts as nothing."""
    if e.kind in ("number", "formula-constant"):
        return e.value
    return e.saved if e.kind == "formula" else e.text


def _formula_cells(ctx) -> list[Item]:
    return [i for i in ctx.layout.formulas if i.key]


def _formulas(ctx):
    ret, spec = ctx.ret, ctx.spec
    if not ret.book.formulas_known:
        return
    contents = {k: _summed(e) for k, e in ret.entries.items() if not spec.cells[k].is_total}
    recomputed = calc.totals(spec, contents)
    for item in _formula_cells(ctx):
        e = ret.entries[item.key]
        if e.sheet is None:
            continue
        place = f"“{e.sheet}”表 {e.ref} 单元格（{spec.cells[item.key].label}）"
        if not e.formula or normalise(e.formula, e.sheet) != normalise(item.formula, item.sheet):
            now = (f"现为公式 ={shown(e.formula)}" if e.formula
                   else f"现为数值 {fmt(e.value) if e.value is not None else shown(e.text) or '空白'}")
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


def _names(ctx):
    """Each defined name of the form points at the spec's cell. Figures are read from the spec's
    cell regardless (returns.from_book); a name moved elsewhere (a hidden copy of a sheet, another
    file, a formula) is reported. A sheet that is gone is sheet-missing's, not every name's."""
    book, spec, layout = ctx.ret.book, ctx.spec, ctx.layout
    for key in spec.cells:
        item = layout.by_key.get(key)
        if item is None or item.sheet not in book.sheets:
            continue
        if key in book.unparsed_names:
            now = f"现为“{shown(book.unparsed_names[key])}”"
        elif key in book.names and book.names[key] != (item.sheet, item.row, item.col):
            sheet, row, col = book.names[key]
            now = f"现指向“{shown(sheet)}”表 {a1(row, col)} 单元格"
        else:
            continue
        yield finding("name-moved", f"名称 {key}（{spec.cells[key].label}）应指向“{item.sheet}”表 {item.ref} 单元格，"
                                    f"{now}。", sheet=item.sheet, cell=item.ref, key=key)


def check(ctx):
    yield from _sheets(ctx)
    yield from _names(ctx)
    yield from _labels(ctx)
    yield from _formulas(ctx)
    yield from _protection(ctx)
