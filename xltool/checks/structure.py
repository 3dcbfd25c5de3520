"""The template is intact: sheets, labels, total formulas, protection and saved values."""

from __future__ import annotations

import functools
import re

from xltool.checks import protection
from xltool.findings import finding, fmt, shown
from xltool.form import calc
from xltool.form.layout import Item
from xltool.office.cells import a1, parse_ref

_SHEET_PREFIX = re.compile(r"^(?:'((?:[^']|'')+)'|([^!'()+,:]+))!")
_RANGE = re.compile(r"^([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?$")
# Quoted text (a sheet name, a string) kept as it is; elsewhere case, `$` and the _xlfn. prefix do
# not change what a formula computes, nor spaces beside a parenthesis, a comma or the "=".
_PIECES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[^'\"]+|.", re.S)
_SPACE = re.compile(r"\s*([(),=])\s*")
_ARGS = re.compile(r"(?:'(?:[^']|'')*'|[^,'])+")


def _clean(formula: str) -> str:
    out = []
    for piece in _PIECES.findall(formula.strip()):
        if piece[0] in "'\"" and len(piece) > 1:
            out.append(piece)
        else:
            out.append(_SPACE.sub(r"\1", piece.upper().replace("$", "").replace("_XLFN.", "")))
    return "".join(out).strip().removeprefix("=")


def _term(arg: str, home: str) -> tuple[str, int, int, int, int] | None:
    """One argument of SUM(): a cell or a range (on the formula's own sheet unless it says
    another), as the rectangle it covers; None for anything else."""
    sheet = home
    m = _SHEET_PREFIX.match(arg)
    if m:
        sheet = m[1].replace("''", "'") if m[1] is not None else m[2]
        arg = arg[m.end():]
    r = _RANGE.match(arg)
    if not r:
        return None
    try:
        (r0, c0) = parse_ref(r[1] + r[2])
        (r1, c1) = parse_ref((r[3] or r[1]) + (r[4] or r[2]))
    except ValueError:  # off the grid: compared as text, so never equal to ours
        return None
    return sheet.upper(), min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


@functools.lru_cache(maxsize=4096)
def normalise(formula: str, home: str) -> tuple | str:
    """A total's formula as the expression it is: SUM() of its terms, each a cell or a range, in
    any order (what an application may do to it: case, `$`, spaces, a sheet name it spells out, a
    range's corners swapped). Not a set of cells: SUM(D7:I7,D7) counts D7 twice and is not
    SUM(D7:I7); SUM(D7,E7,…) is not SUM(D7:I7) either — no application splits a range. Anything
    else is compared as the cleaned text."""
    text = _clean(formula or "")
    if not (text.startswith("SUM(") and text.endswith(")")):
        return text
    body = text[4:-1]
    args = _ARGS.findall(body)
    if not body or ",".join(args) != body:  # an empty argument (SUM(D7,,E7)) or a stray quote
        return text
    terms = []
    for arg in args:
        term = _term(arg, home.upper())
        if term is None:
            return text
        terms.append(term)
    return tuple(sorted(terms))


def _sheets(ctx):
    book, spec = ctx.ret.book, ctx.spec
    for name in spec.sheet_names():
        if name not in book.sheets:
            yield finding("sheet-missing", f"缺少工作表“{name}”：可能被删除或改名。",
                          sheet=name)


def _shifted(ctx):
    for shift in ctx.shifts.values():
        yield finding("layout-shifted", f"“{shift.sheet}”表的行列被增删：{'；'.join(shift.changes)}。"
                                        "表头、合计公式和填报单元格都已不在下发表格的位置上，本表的数字未经核对，不能采用。",
                      sheet=shift.sheet, cell=shift.ref)


def _labels(ctx):
    for name, wrong in ctx.misplaced.items():
        if name in ctx.shifts:
            continue
        for item, found, expected in wrong:
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


def _manual_calculation(book) -> bool:
    """Saved in manual calculation mode without recalculating before the save: the totals saved
    are what they were when the clerk last pressed F9, not what the figures give."""
    calc_mode = book.calc.get("calcMode", "auto").strip()
    on_save = book.calc.get("calcOnSave", "1").strip()
    return calc_mode == "manual" and on_save in ("0", "false")


def _formulas(ctx):
    ret, spec = ctx.ret, ctx.spec
    if not ret.book.formulas_known:
        return
    contents = {k: _summed(e) for k, e in ret.entries.items() if not spec.cells[k].is_total}
    recomputed = calc.totals(spec, contents)
    stale = []
    for item in _formula_cells(ctx):
        e = ret.entries[item.key]
        if e.sheet is None or e.sheet in ctx.shifts:
            continue
        place = f"“{e.sheet}”表 {e.ref} 单元格（{spec.cells[item.key].label}）"
        if not e.formula or normalise(e.formula, e.sheet) != normalise(item.formula, item.sheet):
            now = (f"现为公式 ={shown(e.formula)}" if e.formula
                   else f"现为数值 {fmt(e.value) if e.value is not None else shown(e.text) or '空白'}")
            yield finding("formula-changed",
                          f"{place}是自动计算的合计，公式被删除或改动（应为 ={item.formula}，{now}）。",
                          sheet=e.sheet, cell=e.ref, key=item.key)
        elif e.saved is not None and e.saved != recomputed[item.key]:
            stale.append(finding("cached-value-mismatch",
                                 f"{place}保存的合计值为 {fmt(e.saved)}，但按各项数字计算应为 {fmt(recomputed[item.key])}。",
                                 sheet=e.sheet, cell=e.ref, key=item.key))
    if stale and _manual_calculation(ret.book):
        first = stale[0]
        many = f" 等 {len(stale)} 个合计单元格" if len(stale) > 1 else " 单元格"
        yield finding("calc-manual", f"工作簿设为“手动计算”，且保存前没有重新计算：“{first.sheet}”表 {first.cell}{many}"
                                     "保存的合计值与各项数字不符（是上次计算时的旧值）。",
                      sheet=first.sheet, cell=first.cell, key=first.key)
    else:
        yield from stale


def _names(ctx):
    """Each defined name of the form points at the spec's cell. Figures are read from the spec's
    cell regardless (returns.from_book); a name moved elsewhere (a hidden copy of a sheet, another
    file, a formula) is reported. A sheet that is gone is sheet-missing's, not every name's; a
    sheet whose rows or columns moved is layout-shifted's (the application moved the names too)."""
    book, spec, layout = ctx.ret.book, ctx.spec, ctx.layout
    for key in spec.cells:
        item = layout.by_key.get(key)
        if item is None or item.sheet not in book.sheets or item.sheet in ctx.shifts:
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
    yield from _shifted(ctx)
    yield from _names(ctx)
    yield from _labels(ctx)
    yield from _formulas(ctx)
    yield from protection.check(ctx)
