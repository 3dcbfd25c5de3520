"""A return as data: identity, every canonical key's value, the narrative and the contacts.

Cells are found by their defined names (the workbook contract), falling back to the form's
layout when a name is gone. Totals are recomputed from the inputs; what the file says for a
total (its saved value, or a number typed over the formula) is kept for the checks.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.errors import InputError
from xltool.form import calc
from xltool.form.formulas import bounded_decimal, constant_value
from xltool.form.layout import layout_for
from xltool.form.spec import FormNotFound, Spec, all_specs, get_spec, latest_spec
from xltool.office.book import Book, Cell
from xltool.office.cells import a1
from xltool.office.container import DEFAULT_LIMITS, ContainerError
from xltool.office.xlsx import load_book
from xltool.util import NotRegularFile, read_regular

# What a return may be saved as: Excel's workbooks and templates, macro-enabled or not, the old
# .xls, and WPS's .et.
RETURN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xltx", ".xltm", ".et")

META_SHEET = "_xltool"


class FormError(InputError):
    """A readable workbook that is not a return of a form we know."""

    code = "form-unknown"


@dataclass
class Entry:
    """What the file holds for one canonical key."""

    key: str
    sheet: str | None
    ref: str | None
    # blank | number | text-number | text | missing | other; for an input holding a formula:
    # formula-constant (arithmetic of constants, computed by us) | formula (anything else, not used)
    kind: str
    value: Any = None  # int | Decimal | str (text fields) | None
    text: str | None = None  # the cell's text, when it is text
    formula: str | None = None
    saved: Decimal | None = None  # a formula's saved value (a number within range, else None)
    locked: bool = True


@dataclass
class Return:
    spec: Spec
    file: str
    sha256: str
    book: Book
    meta: dict[str, str]
    year: int
    entries: dict[str, Entry]
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def agency_code(self) -> str:
        return self.meta.get("agency_code", "")

    @property
    def agency_name(self) -> str:
        return self.meta.get("agency_name", "")

    @property
    def saved_at(self) -> str | None:
        return self.book.modified

    def field(self, key: str) -> str:
        v = self.values.get(key)
        return v if isinstance(v, str) else ""

    def to_json(self) -> dict[str, Any]:
        return return_json(self.spec, self.year, self.agency_code, self.agency_name, self.values, self.raw, self.source)

    @property
    def source(self) -> dict[str, Any]:
        """Where the return came from: the workbook, and the published report it was imported
        from (import --to-workbook records it in the hidden sheet)."""
        out: dict[str, Any] = {"file": self.file, "sha256": self.sha256, "saved_at": self.saved_at, "kind": "xlsx"}
        if self.meta.get("imported_kind"):
            out["imported_from"] = {"kind": self.meta["imported_kind"], "sha256": self.meta.get("imported_sha256", ""),
                                    "file": self.meta.get("imported_file", "")}
        return out


def return_json(spec: Spec, year: int | None, code: str, name: str, values: dict[str, Any], raw: dict[str, str],
                source: dict[str, Any]) -> dict[str, Any]:
    """A return in the shape `read --json` prints (PRODUCT.md, "The return as data"): a workbook's,
    or a published report's as import reads it."""
    def text(key: str) -> str:
        v = values.get(key)
        return v if isinstance(v, str) else ""

    return {
        "form": spec.form, "form_version": spec.version, "year": year, "agency": {"code": code, "name": name},
        "contact": {k.split(".", 1)[1]: text(k) for k in spec.text_keys if k.startswith("contact.")},
        "values": {k: json_number(values.get(k)) for k in spec.numeric_keys},
        "raw": dict(raw),
        "narrative": {k.split(".", 1)[1]: text(k) for k in spec.text_keys if k.startswith("narrative.")},
        "source": source,
    }


def json_number(v: Any) -> int | float | None:
    if v is None:
        return None
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


MAX_TYPED = 100  # characters: a number typed with spaces and separators is never longer
LARGEST_TEXT = " 10 的 15 次方"  # formulas.LARGEST, as a message says it


def parse_number(text: str) -> Decimal | None:
    """A number typed as text: full-width digits and signs, spaces and thousands separators.
    Bounded before any Decimal work (length, digits, exponent): |x| < 10^15, what fill accepts
    too; None for anything else, "1e5000" and a 100,000-digit run included."""
    if len(text) > MAX_TYPED:
        return None
    return _parse_number(text)


@functools.lru_cache(maxsize=8192)
def _parse_number(text: str) -> Decimal | None:
    return bounded_decimal(unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", ""))


_NUMBER_LIKE = re.compile(r"[+\-]?[0-9.,\s]+(?:[eE][+\-]?[0-9]+)?")  # linear: no nested repeats


def out_of_range(text: str) -> bool:
    """Text written like a number but beyond what a return can hold (1e5000, 20 digits)."""
    s = unicodedata.normalize("NFKC", text[:200_000]).strip()
    return (parse_number(text) is None and _NUMBER_LIKE.fullmatch(s) is not None
            and any("0" <= ch <= "9" for ch in s))


def normalise(d: Decimal) -> int | Decimal:
    if d == d.to_integral_value():
        return int(d)
    return d


def _entry(spec: Spec, book: Book, key: str, where: tuple[str, int, int] | None) -> Entry:
    cell_spec = spec.cells[key]
    if where is None or where[0] not in book.sheets:
        return Entry(key, None, None, "missing")
    sheet, row, col = where
    cell: Cell | None = book.sheets[sheet].get(row, col)
    e = Entry(key, sheet, a1(row, col), "blank", locked=book.is_locked(cell))
    if cell is None:
        return e
    e.formula = cell.formula
    raw = cell.value
    if cell.formula is not None and not cell_spec.is_total:
        return _input_formula(e, cell, cell_spec.numeric)
    if not cell_spec.numeric:
        e.kind, e.value = ("text", raw) if raw not in (None, "") else ("blank", None)
        if cell.type == "n" and raw is not None:
            e.value = _plain_number(raw)
        return e
    if cell.type == "n" and raw not in (None, ""):
        num = parse_number(raw)
        if cell.formula is not None:
            e.saved = num
            e.kind = "number"
            e.value = normalise(num) if num is not None else None
        elif num is not None:
            e.kind, e.value = "number", normalise(num)
        else:
            e.kind, e.text = "text", raw
    elif cell.type == "s" and raw not in (None, ""):
        e.text = raw
        if cell.formula is not None:  # a formula that gives text: treat as a broken total
            e.kind = "text"
            return e
        num = parse_number(raw)
        if num is None:
            e.kind = "text" if raw.strip() else "blank"
        else:
            e.kind, e.value = "text-number", normalise(num)
    elif cell.type in ("b", "e"):
        e.kind, e.text = "other", raw
    return e


def _input_formula(e: Entry, cell: Cell, numeric: bool) -> Entry:
    """An input cell holding a formula. Arithmetic of constants (=12+9) is computed here, from
    the constants, whatever value the file saved; any other formula (a reference, NOW(), an
    external link, WEBSERVICE) gives no value at all."""
    e.text = cell.value
    if cell.type == "n" and cell.value:
        e.saved = parse_number(cell.value)
    value = constant_value(cell.formula or "") if numeric else None
    if value is None:
        e.kind = "formula"
    else:
        e.kind, e.value = "formula-constant", normalise(value)
    return e


def _plain_number(raw: str) -> str:
    """A number in a text field (a postcode typed as a number): its plain digits."""
    num = parse_number(raw)
    if num is None:
        return raw
    return str(normalise(num))


def read_meta(book: Book) -> dict[str, str]:
    sheet = book.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    out = {}
    for (row, col), cell in sheet.cells.items():
        if col == 0 and cell.value:
            value = sheet.get(row, 1)
            v = value.value if value is not None and value.value is not None else ""
            out[cell.value] = _plain_number(v) if value is not None and value.type == "n" else v
    return out


def spec_of(book: Book) -> tuple[Spec, dict[str, str], int]:
    """The form spec a workbook claims, or FormError saying why it is not one of ours."""
    meta = read_meta(book)
    if not meta:
        latest = latest_spec()
        older = "".join(f"或{f.name}" for f in latest.superseded)
        raise FormError(f"这不是 xltool 生成的{latest.title}填报表（缺少表单标识），"
                        f"可能是自制表格、其他报表{older}。请使用下发的填报表重新填写。")
    try:
        spec = get_spec(meta.get("form", ""), meta.get("form_version", ""))
    except FormNotFound:
        known = "、".join(sorted({s.basis for s in all_specs()}))
        raise FormError(f"表单“{meta.get('form')}”版本“{meta.get('form_version')}”不是本工具支持的格式"
                        f"（支持{known}格式）。请使用下发的填报表重新填写。") from None
    try:
        year = int(str(meta.get("year", "")).split(".")[0])
    except ValueError:
        year = 0
    if not spec.supports_year(year):
        raise FormError(f"表单标识中的统计年度“{meta.get('year')}”无效。请使用下发的填报表重新填写。")
    return spec, meta, year


def from_book(book: Book, file: str = "", sha256: str = "") -> Return:
    spec, meta, year = spec_of(book)
    layout = layout_for(spec)
    entries = {}
    for key in spec.cells:
        # the spec's cell, the one the clerk sees: a defined name pointing elsewhere (a hidden
        # copy of the sheet) is a finding (name-moved), never where figures are read from
        item = layout.by_key.get(key)
        where = (item.sheet, item.row, item.col) if item is not None else book.names.get(key)
        entries[key] = _entry(spec, book, key, where)
    ret = Return(spec, file, sha256, book, meta, year, entries)
    inputs = {}
    for key, e in entries.items():
        cell = spec.cells[key]
        if cell.is_total:
            continue
        if cell.numeric:
            ret.values[key] = e.value if e.kind in NUMBER_KINDS else None
            if e.kind in ("text", "other") and e.text is not None:
                ret.raw[key] = e.text
            elif e.kind == "formula":
                ret.raw[key] = "=" + (e.formula or "")
            inputs[key] = ret.values[key]
        else:
            ret.values[key] = e.value if e.value is not None and e.kind != "formula" else ""
    ret.values.update(calc.totals(spec, inputs))
    # a total is None while any of its inputs is unknown: a blank is not a zero
    for key in spec.total_keys:
        if any(ret.values.get(k) is None for k in _leaf_inputs(spec, key)):
            ret.values[key] = None
    return ret


NUMBER_KINDS = ("number", "text-number", "formula-constant")  # an input whose figure is used


@functools.cache
def _leaf_inputs(spec: Spec, key: str) -> tuple[str, ...]:
    """The inputs a total adds up, through the totals it sums."""
    out: list[str] = []
    for k in spec.cells[key].total_of:
        out.extend(_leaf_inputs(spec, k) if spec.cells[k].is_total else [k])
    return tuple(out)


def read_return(source: str | os.PathLike) -> Return:
    """Read one return. Raises ContainerError (unreadable) or FormError (not our form)."""
    path = Path(source)
    data = read_bounded(path)
    book = load_book(data)
    return from_book(book, str(path), hashlib.sha256(data).hexdigest())




def read_bounded(path: Path) -> bytes:
    """A file's bytes, if it is a regular file within the size cap. A FIFO, a device or a link to
    one is refused without reading (a read would block or never end)."""
    return read_capped(path, DEFAULT_LIMITS.max_file_bytes, ContainerError, "一份填报表")


def read_capped(path: str | os.PathLike, limit: int, error: Any, what: str) -> bytes:
    """read_bounded for any input: `error(code, message)` is raised, `what` the file should be."""
    try:
        data, st = read_regular(path, limit)
    except NotRegularFile:
        raise error("file-unreadable", "这不是普通文件（可能是管道、设备或指向它们的链接），未读取。") from None
    except OSError as e:
        raise error("file-unreadable", f"无法打开文件：{e.strerror or e}。") from None
    if data is None:
        size = f"{st.st_size // 1048576} MB，" if st.st_size > limit else ""
        raise error("file-too-large", f"文件过大（{size}超过了 {limit // 1048576} MB 的上限），不像是{what}。")
    return data
