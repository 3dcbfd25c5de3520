"""Writes values into a workbook's input cells, by canonical key, the way a clerk types them.

It edits the sheet XML in place (styles, validation and protection stay as they are), then
writes the saved values of every total and live check, so the file reads right even in a tool
that does not calculate.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from xltool.errors import InputError, UsageError, XltoolError
from xltool.form import calc, returndata
from xltool.form.formulas import LARGEST
from xltool.form.layout import layout_for
from xltool.form.returns import META_SHEET, Return, from_book, read_bounded
from xltool.office.book import Book
from xltool.office.container import Container, open_container
from xltool.office.package import Package, SheetCells, number_text
from xltool.office.xlsx import NS, book_from_container, cell_string
from xltool.util import atomic_write, check_writable_dir, output_lock, parallel_map, refuse_overlap

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


def fill_bytes(data: bytes, values: Mapping[str, Any], *, strict_keys: bool = True,
               meta: Mapping[str, str] | None = None) -> bytes:
    """The workbook `data` with `values` (canonical key -> number, text or None) typed in, and
    `meta` (name -> text) added to its hidden identity sheet (import records its document there)."""
    box = open_container(data)
    book = book_from_container(box)
    return _fill(box, book, from_book(book), values, strict_keys, meta)


def _fill(box: Container, book: Book, ret: Return, values: Mapping[str, Any], strict_keys: bool,
          meta: Mapping[str, str] | None = None) -> bytes:
    package = Package.from_container(box)
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

    sheets: dict[str, SheetCells] = {}

    def cells(sheet: str) -> SheetCells:
        if sheet not in sheets:
            sheets[sheet] = SheetCells(package.tree(book.sheets[sheet].part or ""))
        return sheets[sheet]

    layout = layout_for(spec)

    for key, value in values.items():
        if key not in spec.cells:
            continue
        item = layout.by_key.get(key)  # the form's own cell, wherever a defined name was moved to
        if item is None or item.sheet not in book.sheets:
            raise FillError(f"工作簿中找不到指标 {key} 的单元格（工作表可能被删除或改名）。")
        _set(cells(item.sheet).get(item.row, item.col), value, formula_result=False)
    for item, result in calc.formula_values(layout, contents).items():
        if item.key in totals or item.sheet not in book.sheets:
            continue  # a total typed over stays as typed
        cell = cells(item.sheet).get(item.row, item.col, create=False)
        if cell is not None and cell.find(NS + "f") is not None:
            _set(cell, result, formula_result=True)
    if meta:
        hidden = book.sheets[META_SHEET]
        row = 1 + max((r for r, _ in hidden.cells), default=-1)
        for n, (name, text) in enumerate(meta.items()):
            _set(cells(META_SHEET).get(row + n, 0), name)
            _set(cells(META_SHEET).get(row + n, 1), text)
    return package.save()


# -- many workbooks in one call ------------------------------------------------------------------

FILLABLE = (".xlsx", ".xlsm")  # packages fill can edit (an .xls or .et is read, never rewritten)
CODE_FIELDS = ("code", "agency_code")
PARALLEL_FROM = 8


@dataclass
class Data:
    """One agency's values and where they were read (a file, a line of a JSON lines file)."""

    code: str
    values: dict[str, Any]
    where: str


def _data_entry(document: Any, where: str) -> Data:
    """The code and values of a read --json document (agency.code) or a flat {key: value} with a
    "code" or "agency_code" field."""
    parsed = returndata.parse(document)
    if parsed is not None:
        code = (parsed.agency or {}).get("code")
        values = parsed.flat()
    elif isinstance(document, dict):
        code = next((document[f] for f in CODE_FIELDS if f in document), None)
        values = {k: v for k, v in document.items() if k not in CODE_FIELDS}
    else:
        raise UsageError(f"{where} 应为 JSON 对象：xltool read --json 的输出，或带 \"code\" 的 {{指标键: 值}}。")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or not code.strip():
        raise UsageError(f"{where} 没有单位代码：read --json 的输出应有 agency.code，"
                         "其他数据应有 \"code\" 或 \"agency_code\" 字段。工作簿按单位代码对应数据。")
    return Data(code.strip(), values, where)


def load_data(source: str | os.PathLike) -> dict[str, Data]:
    """Values by agency code, from a folder of JSON files (read --json output or flat values with
    a code), a JSON lines file (one such object a line; blank lines skipped) or a .json file
    holding one or a list of them. A code given twice, or data without a code, is refused
    (UsageError) before anything is written."""
    source = Path(source)
    entries: list[Data] = []
    if source.is_dir():
        files = sorted(f for f in source.iterdir() if f.suffix.lower() == ".json" and f.is_file()
                       and not f.name.startswith("."))
        if not files:
            raise UsageError(f"数据文件夹 {source} 中没有 .json 文件。")
        entries = [_data_entry(returndata.load_json(f), f.name) for f in files]
    elif source.suffix.lower() == ".json":  # one JSON document: one agency's data, or a list of them
        document = returndata.load_json(source)
        items = document if isinstance(document, list) else [document]
        entries = [_data_entry(item, f"{source.name} 第 {n} 项" if len(items) > 1 else source.name)
                   for n, item in enumerate(items, start=1)]
    else:
        try:
            with source.open("rb") as f:
                for n, line in enumerate(f, start=1):
                    if line.strip():
                        where = f"{source.name} 第 {n} 行"
                        entries.append(_data_entry(returndata.loads(line, where), where))
        except OSError as e:
            raise UsageError(f"无法读取 {source}：{e.strerror or e}。") from None
        if not entries:
            raise UsageError(f"{source} 是空的：每行应有一个单位的数据（JSON 对象）。")
    by_code: dict[str, Data] = {}
    for entry in entries:
        if entry.code in by_code:
            raise UsageError(f"单位代码 {entry.code} 的数据出现了两次（{by_code[entry.code].where}、{entry.where}），"
                             "无法确定用哪一份。")
        by_code[entry.code] = entry
    return by_code


@functools.lru_cache(maxsize=1)
def _cached_data(source: str, stamp: tuple[int, int]) -> dict[str, Data]:
    return load_data(source)


def _stamp(source: str) -> tuple[int, int]:
    st = os.stat(source)
    return st.st_mtime_ns, st.st_size


@dataclass
class FillOutcome:
    """One workbook of a bulk fill: written to `output`, or why not."""

    file: str
    code: str | None = None
    output: str | None = None
    count: int = 0
    problem: str | None = None


def _fill_one(job: tuple[str, str, str]) -> FillOutcome:
    """Fill one workbook with the data of the agency code inside it (the data loaded once per
    process, so jobs carry only names)."""
    file, out_dir, source = job
    outcome = FillOutcome(file)
    try:
        box = open_container(read_bounded(Path(file)))
        book = book_from_container(box)
        ret = from_book(book)
        outcome.code = ret.agency_code.strip()
        entry = _cached_data(source, _stamp(source)).get(outcome.code)
        if entry is None:
            return outcome
        out = Path(out_dir) / Path(file).name
        atomic_write(out, _fill(box, book, ret, values_from_payload(entry.values), strict_keys=True))
        outcome.output, outcome.count = str(out), len(entry.values)
    except XltoolError as e:
        outcome.problem = e.message
    except OSError as e:
        outcome.problem = f"无法写入：{e.strerror or e}"
    except Exception:  # a file our reader accepted but that cannot be rewritten
        outcome.problem = "文件结构无法改写，未填写"
    return outcome


@dataclass
class Filled:
    """A bulk fill: the workbooks written, those without data, the data no workbook had."""

    written: list[FillOutcome] = field(default_factory=list)
    without_data: list[FillOutcome] = field(default_factory=list)  # code read, no data for it
    failed: list[FillOutcome] = field(default_factory=list)  # unreadable, not a return, values refused
    unused: list[Data] = field(default_factory=list)  # data for a code no workbook has

    @property
    def exit_status(self) -> int:
        """1 when some workbook got no data (or could not be filled), else 0."""
        return 1 if self.without_data or self.failed else 0


def workbooks_in(folder: str | os.PathLike) -> list[Path]:
    """The workbooks fill edits in a folder (not its subfolders): .xlsx and .xlsm, hidden files
    and Office's ~$ lock files left out."""
    folder = Path(folder)
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in FILLABLE and f.is_file()
                  and not f.name.startswith((".", "~$")))


def fill_folder(folder: str | os.PathLike, source: str | os.PathLike, out_dir: str | os.PathLike, *,
                show_progress: bool = True, workers: int | None = None) -> Filled:
    """Fill every workbook of `folder` with the data (`load_data(source)`) of the agency code
    inside it, on both cores, each written atomically to `out_dir` under its own name. The
    output may be neither an input nor inside or around the input folders (UsageError)."""
    refuse_overlap(out_dir, [folder, source], output_is_dir=True, writes_returns=True)
    source_key = str(Path(source).resolve())
    _cached_data.cache_clear()
    by_code = _cached_data(source_key, _stamp(source_key))  # loaded once here; forked workers inherit it
    files = workbooks_in(folder)
    if not files:
        raise UsageError(f"文件夹 {folder} 中没有可填写的工作簿（.xlsx）。")
    check_writable_dir(Path(out_dir))
    jobs = [(str(f), str(out_dir), source_key) for f in files]
    with output_lock(out_dir, "另一个 xltool fill"):
        outcomes = parallel_map(_fill_one, jobs, "填写", parallel_from=PARALLEL_FROM, workers=workers,
                                chunksize=4, show_progress=show_progress)
    done = Filled()
    for o in outcomes:
        (done.failed if o.problem else done.written if o.output else done.without_data).append(o)
    seen = {o.code for o in outcomes}
    done.unused = [d for code, d in by_code.items() if code not in seen]
    return done
