"""Writes values into a workbook's input cells, by canonical key, the way a clerk types them.

It edits the sheet XML in place (styles, validation and protection stay as they are), then
writes the saved values of every total and live check, so the file reads right even in a tool
that does not calculate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from xltool.errors import InputError, UsageError
from xltool.form import calc, returndata
from xltool.form.formulas import LARGEST
from xltool.form.layout import layout_for
from xltool.form.returns import from_book
from xltool.office.book import Book
from xltool.office.container import open_container
from xltool.office.package import Package, find_cell, number_text
from xltool.office.xlsx import NS, book_from_container, cell_string

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class FillError(InputError):
    """Values that cannot be written into the workbook."""


def _check_value(key: str, value: Any) -> None:
    """A value is what a clerk can type: a finite number, a text, or None (blank)."""
    if isinstance(value, returndata.OutOfRange):
        raise FillError(f"指标 {key} 的值 {value} 无效：数字过长或过大（绝对值应小于 10 的 15 次方）。")
    if value is None or isinstance(value, str):
        return
    if not (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and _in_range(value)):
        shown = str(value) if isinstance(value, Decimal) else json.dumps(value, ensure_ascii=False)[:60]
        raise FillError(f"指标 {key} 的值 {shown} 无效：只能是数字（绝对值小于 10 的 15 次方）、文字，或 null（留空）。")


def _in_range(value: int | float | Decimal) -> bool:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number.is_finite() and number.copy_abs() < LARGEST


def _set(cell, value: Any, formula_result: bool = False) -> None:
    """Set a cell's content: a number, a text, or None for blank. Formulas are kept
    only for formula results (their saved value is what changes)."""
    for child in list(cell):
        if child.tag == NS + "f" and formula_result:
            continue
        cell.remove(child)
    cell.attrib.pop("t", None)
    if value is None or value == "":
        return
    if isinstance(value, str):
        value = cell_string(value)  # a control character cannot be typed into a cell, nor saved in one
        if formula_result:
            cell.set("t", "str")
            etree.SubElement(cell, NS + "v").text = value
        else:
            cell.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(cell, NS + "is"), NS + "t")
            t.text = value
            t.set(XML_SPACE, "preserve")
        return
    etree.SubElement(cell, NS + "v").text = number_text(value)


def values_from_payload(payload: Any) -> dict[str, Any]:
    """The values of a data file: a flat {key: value}, or the shape `read --json` prints."""
    document = returndata.parse(payload)
    if document is not None:
        return document.flat()
    if not isinstance(payload, dict):
        raise UsageError("数据文件应为 JSON 对象：{指标键: 值}。")
    return payload


def fill_bytes(data: bytes, values: Mapping[str, Any], *, strict_keys: bool = True) -> bytes:
    """The workbook `data` with `values` (canonical key -> number, text or None) typed in."""
    box = open_container(data)
    book: Book = book_from_container(box)
    package = Package.from_container(box)
    ret = from_book(book)
    spec = ret.spec
    for key, value in values.items():
        _check_value(key, value)
    unknown = [k for k in values if k not in spec.cells]
    if unknown and strict_keys:
        raise FillError("未知的指标键：" + "、".join(unknown[:5]))
    totals = [k for k in values if k in spec.cells and spec.cells[k].is_total]
    contents: dict[str, Any] = {}
    for key, e in ret.entries.items():
        contents[key] = e.value if e.kind in ("number", "text-number") else (e.text or e.value)
    contents.update({k: v for k, v in values.items() if k in spec.cells})

    def tree(sheet: str):
        return package.tree(book.sheets[sheet].part or "")

    layout = layout_for(spec)

    for key, value in values.items():
        if key not in spec.cells:
            continue
        item = layout.by_key.get(key)  # the form's own cell, wherever a defined name was moved to
        if item is None or item.sheet not in book.sheets:
            raise FillError(f"工作簿中找不到指标 {key} 的单元格（工作表可能被删除或改名）。")
        _set(find_cell(tree(item.sheet), item.row, item.col), value, formula_result=False)
    for item, result in calc.formula_values(layout, contents).items():
        if item.key in totals or item.sheet not in book.sheets:
            continue  # a total typed over stays as typed
        cell = find_cell(tree(item.sheet), item.row, item.col, create=False)
        if cell is not None and cell.find(NS + "f") is not None:
            _set(cell, result, formula_result=True)
    return package.save()
