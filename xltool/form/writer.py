"""Renders the form's `Layout` as a locked workbook with XlsxWriter.

What is the same for every agency (all of it but the identity and the signature) is built once
per year into a template with placeholders; each agency's workbook is the template with its
shared strings patched, which costs a fraction of a build.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import re
import zipfile
from xml.sax.saxutils import escape

import xlsxwriter

from xltool.form import calc
from xltool.form.formulas import FAIL, PASS, PENDING
from xltool.form.layout import AGENCY_CODE, AGENCY_NAME, SIGNATURE, Item, Layout, layout_for
from xltool.form.spec import Spec
from xltool.office.cells import a1, sheet_ref
from xltool.office.package import Package

FONT = "宋体"
BASE = {"font_name": FONT, "font_size": 11, "valign": "vcenter", "text_wrap": True}
BOX = {"border": 1}
INPUT_FILL = "#FFF9D6"
TOTAL_FILL = "#E8E8E8"

# A style's number in the workbook (a cell's s="…") follows this order, pinned before any sheet is
# written: the numbers stay as the first workbooks had them, whichever sheet uses a style first.
STYLES: dict[str, dict] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "text_wrap": False},
    "note_bold": {"bold": True, "font_size": 14},
    "note": {},
    "overall": {**BOX, "align": "center", "bold": True, "font_size": 14},
    "label": {"bold": True},
    "count_cell": {**BOX, "align": "center"},
    "header": {**BOX, "bold": True, "align": "center"},
    "check_text": {**BOX, "font_size": 9},  # the check list is small print: two pages at most
    "field_label": {**BOX, "bold": True},
    "input_text": {**BOX, "locked": False, "bg_color": INPUT_FILL},
    "agency": {"align": "left"},
    "agency_right": {"align": "right"},
    "rowhead": {**BOX, "align": "left"},
    "input_count": {**BOX, "locked": False, "bg_color": INPUT_FILL, "num_format": "0", "align": "center"},
    "input_amount": {**BOX, "locked": False, "bg_color": INPUT_FILL, "num_format": "General", "align": "center"},
    "total": {**BOX, "bg_color": TOTAL_FILL, "num_format": "0", "align": "center"},
    "hint": {"font_color": "#666666", "italic": True},
    "input_narrative": {**BOX, "locked": False, "bg_color": INPUT_FILL, "valign": "top"},
    "block": {**BOX, "bold": True, "align": "center"},
    "corner": {**BOX, "align": "center"},
    "identity": {**BOX},
    "status": {**BOX, "align": "center", "bold": True},
    "meta": {},
    "title_name": {"bold": True, "font_size": 16, "align": "center"},  # the agency's name heading 说明
    "subtitle": {"bold": True, "font_size": 14, "align": "center"},
    "signed_by": {"bold": True, "align": "left"},  # the agency and year above the signatures
}

PROTECT_OPTIONS = {"select_locked_cells": True, "select_unlocked_cells": True, "format_rows": True}


def signature(key: bytes | None, spec: Spec, year: int, code: str, name: str) -> str:
    """HMAC-SHA256 over form|form_version|year|agency_code|agency_name, lowercase hex."""
    if not key:
        return ""
    text = f"{spec.form}|{spec.version}|{year}|{code}|{name}"
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _validation(spec: Spec, item: Item) -> dict:
    cell = spec.cells[item.key or ""]
    title = (cell.col_label.split("／")[-1] or cell.label)[:32]
    where = cell.row_label or cell.label
    if cell.type == "count":
        return {"validate": "integer", "criteria": ">=", "value": 0, "input_title": title,
                "input_message": f"{where}：请填写非负整数；没有请填0，不要留空。"[:255],
                "error_title": "输入有误", "error_message": "这里只能填写大于或等于0的整数（件数）。"}
    if cell.type == "amount":
        places = f"，最多保留{cell.decimals}位小数" if cell.decimals else ""
        return {"validate": "decimal", "criteria": ">=", "value": 0, "input_title": title,
                "input_message": f"{where}：请填写非负数，单位：{cell.unit}{places}；没有请填0。"[:255],
                "error_title": "输入有误", "error_message": f"这里只能填写大于或等于0的数（单位：{cell.unit}）。"}
    return {"validate": "any", "input_title": cell.label[:32],
            "input_message": (cell.hint or f"请填写{cell.label}。")[:255]}


def _write_item(ws, fmt, layout: Layout, item: Item, values: dict[Item, object], year: int) -> None:
    last_row, last_col = item.row + item.rowspan - 1, item.col + item.colspan - 1
    merged = (last_row, last_col) != (item.row, item.col)
    if merged:
        ws.merge_range(item.row, item.col, last_row, last_col, "", fmt)
    if item.formula:
        ws.write_formula(item.row, item.col, "=" + item.formula, fmt, values.get(item, 0))
        return
    text = (item.text or "").replace("{year}", str(year))
    if text:
        ws.write_string(item.row, item.col, text, fmt)
    elif not merged:
        ws.write_blank(item.row, item.col, None, fmt)
    if item.key and item.style.startswith("input"):
        ws.data_validation(item.row, item.col, item.row, item.col, _validation(layout.spec, item))


def _conditional(ws, layout: Layout, sheet: str, wb) -> None:
    red = wb.add_format({"bg_color": "#F8D7DA", "font_color": "#9C0006"})
    green = wb.add_format({"bg_color": "#D4EDDA", "font_color": "#155724"})
    amber = wb.add_format({"bg_color": "#FFF3CD", "font_color": "#7A5B00"})
    for item in layout.formulas:
        if item.sheet != sheet or item.key or item.check in ("blank", "text"):
            continue
        ref = item.ref if item.colspan == 1 else f"{item.ref}:{a1(item.row, item.col + item.colspan - 1)}"
        for text, f in ((FAIL, red), ("未完成", amber), (PENDING, amber), ("有", red), (PASS, green)):
            ws.conditional_format(ref, {"type": "text", "criteria": "begins with", "value": text, "format": f})


def _sheet(wb, fmts, layout: Layout, setup, year: int, values: dict[Item, object]) -> None:
    ws = wb.add_worksheet(setup.name)
    for col, width in setup.widths.items():
        ws.set_column(col, col, width)
    for row, height in setup.heights.items():
        ws.set_row(row, height)
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.5, right=0.5, top=0.45, bottom=0.45)
    ws.set_header("", {"margin": 0.2})
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页", {"margin": 0.2})
    if setup.landscape:
        ws.set_landscape()
    if setup.repeat_rows:
        ws.repeat_rows(*setup.repeat_rows)
    for item in layout.items:
        if item.sheet == setup.name:
            _write_item(ws, fmts[item.style], layout, item, values, year)
    _conditional(ws, layout, setup.name, wb)
    ws.protect("", PROTECT_OPTIONS)
    if setup.hidden == "very":
        ws.very_hidden()


def build_template(spec: Spec, year: int) -> bytes:
    """The workbook of a year with placeholders for the agency's identity and signature."""
    layout = layout_for(spec)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_numbers": False, "strings_to_urls": False})
    wb.set_properties({"title": f"{year}年{spec.title}", "subject": spec.basis, "author": "xltool",
                       "keywords": f"{spec.form} {spec.version} {year}"})
    fmts = {name: wb.add_format({**BASE, **style}) for name, style in STYLES.items()}
    for f in fmts.values():  # XlsxWriter numbers a style where a sheet first uses it; number them now
        f._get_xf_index()
    values = calc.formula_values(layout, {})
    for setup in layout.sheets:
        _sheet(wb, fmts, layout, setup, year, values)
    for key, item in layout.by_key.items():
        if not key.startswith("meta."):
            wb.define_name(key, "=" + sheet_ref(item.sheet, a1(item.row, item.col, absolute=True)))
    wb.worksheets()[0].activate()
    wb.close()
    return _in_print_order(buf.getvalue(), layout)


_SHEET_ENTRY = re.compile(rb"<sheet [^>]*?/>")
_LOCAL = re.compile(rb'localSheetId="(\d+)"')


def _in_print_order(data: bytes, layout: Layout) -> bytes:
    """The workbook's sheets listed in the order they print in (the layout's `order`), each in the
    part it was written to; names local to a sheet (print titles) follow their sheet."""
    written = [s.name for s in layout.sheets]
    wanted = layout.order
    if written == wanted:
        return data
    moved = {written.index(name): at for at, name in enumerate(wanted)}
    package = Package.open(data)
    text = package.read("xl/workbook.xml")
    entries = _SHEET_ENTRY.findall(text)
    assert len(entries) == len(written), "the workbook lists another number of sheets than the layout"
    first, last = text.index(entries[0]), text.index(entries[-1]) + len(entries[-1])
    text = text[:first] + b"".join(entries[written.index(name)] for name in wanted) + text[last:]
    text = _LOCAL.sub(lambda m: b'localSheetId="%d"' % moved[int(m[1])], text)
    package.write("xl/workbook.xml", text)
    return package.save()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


SHARED_STRINGS = "xl/sharedStrings.xml"  # where the identity placeholders are


# XlsxWriter leaves out fitToWidth="1" (the file format's default); say it, for every reader.
FIT_DEFAULTED = b'<pageSetup paperSize="9" fitToHeight="0"'
FIT_SAID = b'<pageSetup paperSize="9" fitToWidth="1" fitToHeight="0"'


@functools.lru_cache(maxsize=8)
def template(spec: Spec, year: int) -> dict[str, bytes]:
    """The template's zip members, built once per process and year."""
    members = _members(build_template(spec, year))
    for name, data in members.items():
        if name.startswith("xl/worksheets/sheet"):
            members[name] = data.replace(FIT_DEFAULTED, FIT_SAID, 1)
    return members


def render(spec: Spec, year: int, code: str, name: str, key: bytes | None = None) -> bytes:
    """One agency's workbook: the year's template with the identity filled in."""
    package = Package(template(spec, year))
    subst = {AGENCY_NAME: name, AGENCY_CODE: code, SIGNATURE: signature(key, spec, year, code, name)}
    text = package.read(SHARED_STRINGS).decode("utf-8")
    for placeholder, value in subst.items():
        text = text.replace(escape(placeholder), escape(value))
    package.write(SHARED_STRINGS, text.encode("utf-8"))
    return package.save()
