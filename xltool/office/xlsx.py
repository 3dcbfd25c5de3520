"""A fast, read-only snapshot of a workbook: one pass over the parts verification needs.

For each sheet: every cell's type, value, formula and style (so its locked flag), and whether
the sheet is protected; for the book: sheet order and visibility, defined names and the saved
time. The hostile-input defences (size limits, entity attacks, file-type sniffing) live in
`container`; this module only reads what a safe container hands it.
"""

from __future__ import annotations

import itertools
import posixpath
import re

from xltool.office.book import Book, Cell, Sheet
from xltool.office.cells import MAX_COLS, MAX_ROWS, parse_name_ref, parse_ref, shift_formula
from xltool.office.container import (
    RETURN_LIMITS,
    Container,
    ContainerError,
    Limits,
    check_xml,
    open_container,
    parse_part,
)
from xltool.office.xls import book_from_xls
from xltool.util import xml_text

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CORE_NS = {"dcterms": "http://purl.org/dc/terms/"}

_SKIP = ("theme", "printerSettings", "drawings", "media", "calcChain", "externalLinks", "customXml",
         "comments", "vbaProject", "docProps/app", "docProps/custom", "ctrlProps", "activeX", "embeddings")


def _wanted(name: str) -> bool:
    return (name.endswith(".xml") or name.endswith(".rels")) and not any(s in name for s in _SKIP)


_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def attributes(text: bytes) -> dict[str, str]:
    """The attributes of one start tag's text, prefixes dropped: {"sheet": "1", "insertRows": "0"}."""
    return {name.split(b":")[-1].decode("ascii", "replace"): (dq if dq is not None else sq).decode("utf-8", "replace")
            for name, dq, sq in _ATTRIBUTE.findall(text)}


class _Budget:
    """The cells read so far from one workbook's sheets, against the limits."""

    def __init__(self, limits: Limits):
        self.limits, self.cells = limits, 0

    def room(self) -> int:
        """How many cells the next sheet may hold."""
        return min(self.limits.max_cells, self.limits.max_book_cells - self.cells)

    def over(self, sheet: str) -> ContainerError:
        return ContainerError("file-too-large", f"工作表“{sheet}”中的单元格数量异常庞大（一个工作表上限 "
                              f"{self.limits.max_cells} 个，整个工作簿上限 {self.limits.max_book_cells} 个），"
                              "远超正常报送表，已拒绝读取。"
                              "请使用下发的报送表填写，在 Excel 或 WPS 中另存为 Excel 工作簿（.xlsx）后再报送。")


def _sheet(name: str, state: str, part: str | None, xml: bytes | None, strings: list[str],
           budget: _Budget) -> Sheet:
    if xml is None:
        return Sheet(name, state, part)
    check_xml(xml)  # hostile parts are refused on loading, parsed or not
    m = _PROTECTION.search(xml)
    return Sheet(name, state, part, protection=attributes(m.group(1)) if m else None,
                 load=lambda: _sheet_cells(parse_part(xml, f"工作表“{name}”", budget.limits), strings, name, budget))


def _rels(part: str, parts: dict[str, bytes], limits: Limits) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (target part, type). A target may be relative to the part
    (`worksheets/sheet1.xml`, `../media/x.png`) or absolute from the package root
    (`/xl/worksheets/sheet1.xml`, as some writers put it)."""
    path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if path not in parts:
        return {}
    base = posixpath.dirname(part)
    out = {}
    for rel in parse_part(parts[path], "关系部件", limits).iter(PKG_REL + "Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id", "")] = (target, rel.get("Type", ""))
    return out


def _related(rels: dict[str, tuple[str, str]], kind: str) -> str | None:
    """The target of the workbook's relationship of one type (".../sharedStrings"), or, for a
    writer that spells the type oddly, of the part whose name starts with `kind`."""
    for target, rel_type in rels.values():
        if rel_type.endswith("/" + kind):
            return target
    return next((t for t, _ in rels.values() if posixpath.basename(t).startswith(kind)), None)


# _xHHHH_: a character XML cannot carry (a control character), as Excel escapes it in a string;
# "_x005F_" is the escape of "_" itself, so "_x005F_x000D_" is the literal text "_x000D_".
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape_char(m: re.Match) -> str:
    code = int(m[1], 16)
    return m[0] if 0xD800 <= code < 0xE000 else chr(code)  # a lone surrogate half stays as written


def unescape(text: str) -> str:
    """A string as the application meant it: `_x000D_` is a carriage return (ECMA-376 ST_Xstring)."""
    return _ESCAPE.sub(_unescape_char, text) if "_x" in text else text


def cell_string(text: str) -> str:
    """Text as a cell or comment holds it: without what XML cannot carry, and a literal `_xHHHH_`
    written as `_x005F_xHHHH_`, so that no reader (ours or Excel) turns it into a character."""
    text = xml_text(text)
    return _ESCAPE.sub(lambda m: "_x005F" + m[0], text) if "_x" in text else text


def _text(item) -> str:
    """The text of a shared string <si> or an inline string <is>: its <t>, or its rich-text runs'
    <t> in order. Phonetic runs (<rPh>, the reading of East Asian text, whether their text sits
    directly in <t> as Excel writes it or in runs <r><t> as LibreOffice does) and <phoneticPr>
    are not part of the value."""
    t_tag, r_tag = NS + "t", NS + "r"
    parts = []
    for child in item:
        tag = child.tag
        if tag == t_tag:
            parts.append(child.text or "")
        elif tag == r_tag:
            parts.extend(t.text or "" for t in child.iterchildren(t_tag))
    return unescape("".join(parts))


def _shared_strings(parts: dict[str, bytes], target: str | None, limits: Limits) -> list[str]:
    if not target or target not in parts:
        return []
    out = []
    t_tag = NS + "t"
    for si in parse_part(parts[target], "共享字符串", limits).iterchildren(NS + "si"):
        first = si[0] if len(si) == 1 else None
        if first is not None and first.tag == t_tag:  # plain text, the usual case
            text = first.text or ""
            out.append(unescape(text) if "_x" in text else text)
        else:
            out.append(_text(si))
    return out


def _locked_styles(parts: dict[str, bytes], target: str | None, limits: Limits) -> list[bool]:
    if not target or target not in parts:
        return [True]
    root = parse_part(parts[target], "样式", limits)
    xfs = root.find(NS + "cellXfs")
    out = []
    for xf in xfs if xfs is not None else ():
        prot = xf.find(NS + "protection")
        out.append(prot is None or prot.get("locked", "1") not in ("0", "false"))
    return out or [True]


MAX_FORMULA = 8192  # characters: Excel's limit. A longer shared master is not moved to its children
_INDEX = re.compile(r"[0-9]{1,5}")  # a column number in <col min max>: at most 16,384


def _style(text: str | None) -> int:
    """A cell's style index; -1 (locked, like any unknown style) when it is not a small number."""
    if not text:
        return 0
    try:
        n = int(text)  # refuses 5,000 digits at once, before converting them
    except ValueError:
        return -1
    return n if 0 <= n < 1_000_000 else -1


def _zero(size: str | None) -> bool:
    """A row height or column width of zero: the row or column is as good as hidden."""
    try:
        return size is not None and len(size) < 40 and float(size) == 0
    except ValueError:
        return False


def _hidden_columns(root) -> bytearray | None:
    """A flag per column of the grid: hidden (or zero width) by a <col> range; None when no
    column is hidden."""
    spans = []
    for cols in root.iterchildren(NS + "cols"):
        for col in cols.iterchildren(NS + "col"):
            if col.get("hidden") in ("1", "true") or _zero(col.get("width")):
                lo, hi = col.get("min", ""), col.get("max", "")
                if _INDEX.fullmatch(lo) and _INDEX.fullmatch(hi):
                    spans.append((max(int(lo), 1) - 1, min(int(hi), MAX_COLS)))
    if not spans:
        return None
    diff = [0] * (MAX_COLS + 1)  # linear in the spans and the grid's width, however many spans overlap
    for a, b in spans:
        if a < b:
            diff[a] += 1
            diff[b] -= 1
    return bytearray(level > 0 for level in itertools.accumulate(diff[:MAX_COLS]))


def _bad_ref(sheet: str, ref: str) -> ContainerError:
    shown = ref[:20].translate({c: None for c in range(32)})
    return ContainerError("file-unreadable", f"工作表“{sheet}”中有无法识别的单元格地址“{shown}”（应为 D7 这样的地址），"
                          "文件可能被其他程序改写或已损坏，无法可靠读取。请在 Excel 或 WPS 中打开后，另存为 Excel 工作簿（.xlsx）再报送。")


def _sheet_cells(root, strings: list[str], name: str, budget: _Budget) -> dict[tuple[int, int], Cell]:
    """Every cell of a sheet. A row or cell without its optional `r` attribute follows the one
    before it (ECMA-376 18.3.1.73 and 18.3.1.4); rows may come in any order. A shared formula's
    children are its master's text moved to their cell, wherever the master sits in the file."""
    shared: dict[str, tuple[int, int, str]] = {}
    orphans: list[tuple[Cell, str]] = []  # shared-formula children met before their master
    row_tag, c_tag, v_tag, f_tag, is_tag = NS + "row", NS + "c", NS + "v", NS + "f", NS + "is"
    cells: dict[tuple[int, int], Cell] = {}
    data = root.find(NS + "sheetData")
    if data is None:
        return cells
    hidden_cols = _hidden_columns(root)
    room = budget.room()
    styles: dict[str | None, int] = {}
    row = -1
    for r in data:  # plain iteration: twice as fast as iterchildren(tag) over a sheet's rows and cells
        if r.tag != row_tag:
            continue
        number = r.get("r")  # a row without one (or with a number we cannot read) follows the one before
        n = int(number) if number is not None and len(number) < 8 and number.isascii() and number.isdigit() else 0
        row = n - 1 if n > 0 else row + 1
        if row >= MAX_ROWS:
            raise _bad_ref(name, str(row + 1))
        ht = r.get("ht")
        row_hidden = r.get("hidden") in ("1", "true") or (ht is not None and ht[:1] in "0." and _zero(ht))
        col = -1
        for c in r:
            if c.tag != c_tag:
                continue
            if len(cells) >= room:
                raise budget.over(name)
            ref = c.get("r")
            if ref is None:
                col += 1
                if col >= MAX_COLS:
                    raise _bad_ref(name, "第 16385 列")
                crow = row
            else:
                try:
                    crow, col = parse_ref(ref)
                except ValueError:
                    raise _bad_ref(name, ref) from None
            t = c.get("t", "n")
            value = formula = None
            child_of = None
            for child in c:
                tag = child.tag
                if tag == v_tag:
                    value = child.text
                elif tag == f_tag:
                    formula = child.text
                    if child.get("t") == "shared":
                        si = child.get("si", "")
                        if formula:
                            shared[si] = (crow, col, formula)
                        elif si in shared:
                            r0, c0, master = shared[si]
                            formula = shift_formula(master, crow - r0, col - c0) if len(master) <= MAX_FORMULA else ""
                        else:
                            child_of, formula = si, ""
                    elif formula is None:
                        formula = ""
                elif tag == is_tag:
                    value = _text(child)
            if t == "s":
                try:
                    index = int(value or "")
                    value = strings[index] if index >= 0 else None
                except (TypeError, ValueError, IndexError):
                    value = None
                kind = "s"
            elif t in ("inlineStr", "str"):
                kind = "s"
                if t == "str" and value and "_x" in value:
                    value = unescape(value)
            elif t in ("b", "e"):
                kind = t
            else:
                kind = "n" if value is not None else ""
            hidden = row_hidden or (hidden_cols is not None and hidden_cols[col] == 1)
            style_text = c.get("s")
            style = styles.get(style_text)
            if style is None:
                style = styles[style_text] = _style(style_text)
            cells[(crow, col)] = cell = Cell(crow, col, kind, value, formula, style, hidden)
            if child_of is not None:
                orphans.append((cell, child_of))
    for cell, si in orphans:  # rows out of order: the master came later in the file
        if si in shared:
            r0, c0, master = shared[si]
            cell.formula = shift_formula(master, cell.row - r0, cell.col - c0) if len(master) <= MAX_FORMULA else ""
    budget.cells += len(cells)
    return cells


def _core_modified(parts: dict[str, bytes], limits: Limits) -> str | None:
    data = parts.get("docProps/core.xml")
    if not data:
        return None
    node = parse_part(data, "文档属性", limits).find("dcterms:modified", CORE_NS)
    return node.text.strip() if node is not None and node.text else None


def book_from_container(box: Container, limits: Limits = RETURN_LIMITS) -> Book:
    if box.kind in ("xls", "et"):
        return book_from_xls(box.data or b"", box.kind)
    parts = box.parts
    wb_part = _main_part(parts, limits)
    if wb_part not in parts:
        raise ContainerError("file-unreadable", "文件缺少工作簿主体（xl/workbook.xml），不是完整的 Excel 工作簿。")
    rels = _rels(wb_part, parts, limits)
    root = parse_part(parts[wb_part], "工作簿主体", limits)
    strings = _shared_strings(parts, _related(rels, "sharedStrings"), limits)
    locked = _locked_styles(parts, _related(rels, "styles"), limits)
    budget = _Budget(limits)
    sheets: dict[str, Sheet] = {}
    for s in root.iter(NS + "sheet"):
        name = s.get("name", "")
        target = rels.get(s.get(REL_NS + "id", ""), (None, ""))[0]
        sheets[name] = _sheet(name, s.get("state", "visible"), target, parts.get(target or ""), strings, budget)
    names: dict[str, tuple[str, int, int]] = {}
    unparsed: dict[str, str] = {}
    for d in root.iter(NS + "definedName"):
        if d.get("localSheetId") is not None:
            continue
        name, text = d.get("name", ""), d.text or ""
        where = parse_name_ref(text) if len(text) < 300 else None
        if where is None or names.get(name, where) != where:  # not one cell, or defined twice, differently
            unparsed[name] = text[:300]
        else:
            names[name] = where
    calc = root.find(NS + "calcPr")
    return Book(box.kind, sheets, names, locked, _core_modified(parts, limits), box.has_macros,
                unparsed_names=unparsed, calc={str(k): str(v) for k, v in calc.attrib.items()} if calc is not None else {})


def _main_part(parts: dict[str, bytes], limits: Limits) -> str:
    """The workbook part named by the package relationships (usually xl/workbook.xml)."""
    rels = parts.get("_rels/.rels")
    if rels:
        for rel in parse_part(rels, "包关系", limits).iter(PKG_REL + "Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                return rel.get("Target", "").lstrip("/")
    return "xl/workbook.xml"


def load_book(source, limits: Limits = RETURN_LIMITS) -> Book:
    """Read a workbook file (path or bytes) within `limits`. Raises ContainerError for anything
    unreadable or over the budgets; a sheet's cells are parsed when first read, and may raise then."""
    return book_from_container(open_container(source, _wanted, limits=limits), limits)
