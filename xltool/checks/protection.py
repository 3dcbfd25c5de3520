"""The form's protection is still in force: each sheet protected with at least the restrictions the
form sets (a password or hash algorithm of the clerk's own is fine), and every label, total formula
and identity cell still locked.

`<sheetProtection>`'s attributes are inverted: most name a restriction and say "1" when it holds,
so insertRows="0" means inserting rows is ALLOWED; absent, each takes ECMA-376's default (most
restrictions hold; objects and scenarios are not protected; selecting cells is allowed)."""

from __future__ import annotations

import functools

from xltool.findings import finding
from xltool.form.layout import Item, layout_for
from xltool.form.spec import Spec
from xltool.form.writer import PROTECT_OPTIONS
from xltool.office.cells import a1

SHOWN = 5  # cells named in a message; the count says how many there are

# attribute -> (XlsxWriter's protect() option, its default when absent: True = restricted, what
# the clerk may do when it is not)
RESTRICTIONS: dict[str, tuple[str, bool, str]] = {
    "objects": ("objects", False, "编辑对象"),
    "scenarios": ("scenarios", False, "编辑方案"),
    "formatCells": ("format_cells", True, "设置单元格格式"),
    "formatColumns": ("format_columns", True, "设置列格式"),
    "formatRows": ("format_rows", True, "设置行格式"),
    "insertColumns": ("insert_columns", True, "插入列"),
    "insertRows": ("insert_rows", True, "插入行"),
    "insertHyperlinks": ("insert_hyperlinks", True, "插入超链接"),
    "deleteColumns": ("delete_columns", True, "删除列"),
    "deleteRows": ("delete_rows", True, "删除行"),
    "sort": ("sort", True, "排序"),
    "autoFilter": ("autofilter", True, "使用自动筛选"),
    "pivotTables": ("pivot_tables", True, "使用数据透视表"),
}
# What the form's protection restricts: every restriction but the ones the writer lets the clerk
# do (PROTECT_OPTIONS, e.g. format_rows: a clerk may make a row taller). XlsxWriter protects
# objects and scenarios too (objects="1" scenarios="1").
REQUIRED = tuple(attr for attr, (option, _, _) in RESTRICTIONS.items() if not PROTECT_OPTIONS.get(option, False))


def _holds(protection: dict[str, str], attr: str) -> bool:
    value = protection.get(attr)
    if value is None:
        return RESTRICTIONS[attr][1]
    return value.strip() in ("1", "true")


def _sheet_protection(ctx):
    book = ctx.ret.book
    for name in ctx.spec.sheet_names():
        sheet = book.sheets.get(name)
        if sheet is None:
            continue
        if not sheet.protected:
            yield finding("protection-removed", f"“{name}”表的工作表保护被取消。", sheet=name)
            continue
        assert sheet.protection is not None  # protected
        allowed = [RESTRICTIONS[attr][2] for attr in REQUIRED if not _holds(sheet.protection, attr)]
        if allowed:
            yield finding("protection-removed", f"“{name}”表的工作表保护被放宽：允许{'、允许'.join(allowed)}。"
                                                "填报表只允许在填报单元格中输入。", sheet=name)


@functools.cache
def _locked_items(spec: Spec) -> dict[str, tuple[Item, ...]]:
    """Per sheet, the cells that must stay locked: labels, totals, the identity (and ours). Not
    the check sheet's formulas: help recomputed from the figures, never read (nor is the sheet)."""
    layout = layout_for(spec)
    labels = {id(i) for i in layout.labels}
    out: dict[str, list[Item]] = {}
    for item in layout.items:
        if (item.formula and item.key) or id(item) in labels or item.style in ("identity", "meta"):
            out.setdefault(item.sheet, []).append(item)
    return {sheet: tuple(items) for sheet, items in out.items()}


def _locks(ctx):
    book = ctx.ret.book
    for name, items in _locked_items(ctx.spec).items():
        sheet = book.sheets.get(name)
        if sheet is None or name in ctx.shifts:
            continue
        unlocked = [i for i in items if not book.is_locked(sheet.get(i.row, i.col))]
        if not unlocked:
            continue
        refs = "、".join(i.ref for i in unlocked[:SHOWN]) + ("等" if len(unlocked) > SHOWN else "")
        what = "、".join(dict.fromkeys(_kind(i) for i in unlocked))
        first = unlocked[0]
        count = f" {len(unlocked)} 个单元格" if len(unlocked) > 1 else " 单元格"
        yield finding("protection-removed", f"“{name}”表 {refs}{count}（{what}）被改为“未锁定”，"
                                            "工作表保护对它们不再起作用。",
                      sheet=name, cell=a1(first.row, first.col), key=first.key)


def _kind(item: Item) -> str:
    if item.formula:
        return "合计公式"
    return "单位信息" if item.style in ("identity", "meta") else "表头"


def check(ctx):
    if not ctx.ret.book.formulas_known:
        return
    yield from _sheet_protection(ctx)
    yield from _locks(ctx)
