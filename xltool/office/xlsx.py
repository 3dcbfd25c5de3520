"""A fast, read-only snapshot of a workbook: one pass over the parts verification needs.

For each sheet: every cell's type, value, formula and style (so its locked flag), and whether
the sheet is protected; for the book: sheet order and visibility, defined names and the saved
time. The hostile-input defences (size limits, entity attacks, file-type sniffing) live in
`container`; this module only reads what a safe container hands it.
"""

from __future__ import annotations

import posixpath
import re

from xltool.office.book import Book, Cell, Sheet
from xltool.office.cells import parse_name_ref, parse_ref, shift_formula
from xltool.office.container import Container, ContainerError, check_xml, open_container, parse_xml
from xltool.office.xls import book_from_xls

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CORE_NS = {"dcterms": "http://purl.org/dc/terms/"}

_SKIP = ("theme", "printerSettings", "drawings", "media", "calcChain", "externalLinks", "customXml",
         "comments", "vbaProject", "docProps/app", "docProps/custom", "ctrlProps", "activeX", "embeddings")


def _wanted(name: str) -> bool:
    return (name.endswith(".xml") or name.endswith(".rels")) and not any(s in name for s in _SKIP)


_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")
_PROTECTED = re.compile(rb"""\bsheet\s*=\s*["'](?:1|true)["']""")


def _sheet(name: str, state: str, part: str | None, xml: bytes | None, strings: list[str]) -> Sheet:
    if xml is None:
        return Sheet(name, state, part)
    check_xml(xml)  # hostile parts are refused on loading, parsed or not
    m = _PROTECTION.search(xml)
    return Sheet(name, state, part, protected=bool(m and _PROTECTED.search(m.group(1))),
                 load=lambda: _sheet_cells(parse_xml(xml), strings))


def _rels(part: str, parts: dict[str, bytes]) -> dict[str, str]:
    path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if path not in parts:
        return {}
    base = posixpath.dirname(part)
    out = {}
    for rel in parse_xml(parts[path]).iter(PKG_REL + "Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id", "")] = target
    return out


def _shared_strings(parts: dict[str, bytes], target: str | None) -> list[str]:
    if not target or target not in parts:
        return []
    out = []
    t_tag, rph_tag = NS + "t", NS + "rPh"
    for si in parse_xml(parts[target]).iter(NS + "si"):
        first = si[0] if len(si) == 1 else None
        if first is not None and first.tag == t_tag:  # plain text, the usual case
            out.append(first.text or "")
        else:  # rich text runs: concatenate their <t>, skip phonetic runs (<rPh>)
            out.append("".join(t.text or "" for t in si.iter(t_tag) if getattr(t.getparent(), "tag", None) != rph_tag))
    return out


def _locked_styles(parts: dict[str, bytes], target: str | None) -> list[bool]:
    if not target or target not in parts:
        return [True]
    root = parse_xml(parts[target])
    xfs = root.find(NS + "cellXfs")
    out = []
    for xf in xfs if xfs is not None else ():
        prot = xf.find(NS + "protection")
        out.append(prot is None or prot.get("locked", "1") not in ("0", "false"))
    return out or [True]


def _sheet_cells(root, strings: list[str]) -> dict[tuple[int, int], Cell]:
    shared: dict[str, tuple[int, int, str]] = {}
    c_tag, v_tag, f_tag, is_tag, t_tag = NS + "c", NS + "v", NS + "f", NS + "is", NS + "t"
    cells: dict[tuple[int, int], Cell] = {}
    for c in root.iter(c_tag):
        ref = c.get("r")
        if ref is None:
            continue
        row, col = parse_ref(ref)
        t = c.get("t", "n")
        value = formula = None
        for child in c:
            tag = child.tag
            if tag == v_tag:
                value = child.text
            elif tag == f_tag:
                formula = child.text
                if child.get("t") == "shared":
                    si = child.get("si")
                    if formula:
                        shared[si] = (row, col, formula)
                    elif si in shared:
                        r0, c0, master = shared[si]
                        formula = shift_formula(master, row - r0, col - c0)
                elif formula is None:
                    formula = ""
            elif tag == is_tag:
                value = "".join(x.text or "" for x in child.iter(t_tag))
        if t == "s":
            try:
                value = strings[int(value or "")]
            except (TypeError, ValueError, IndexError):
                value = None
            kind = "s"
        elif t in ("inlineStr", "str"):
            kind = "s"
        elif t in ("b", "e"):
            kind = t
        else:
            kind = "n" if value is not None else ""
        cells[(row, col)] = Cell(row, col, kind, value, formula, int(c.get("s", 0) or 0))
    return cells


def _core_modified(parts: dict[str, bytes]) -> str | None:
    data = parts.get("docProps/core.xml")
    if not data:
        return None
    node = parse_xml(data).find("dcterms:modified", CORE_NS)
    return node.text.strip() if node is not None and node.text else None


def book_from_container(box: Container) -> Book:
    if box.kind == "xls":
        return book_from_xls(box.data or b"")
    parts = box.parts
    wb_part = _main_part(parts)
    if wb_part not in parts:
        raise ContainerError("file-unreadable", "文件缺少工作簿主体（xl/workbook.xml），不是完整的 Excel 工作簿。")
    rels = _rels(wb_part, parts)
    root = parse_xml(parts[wb_part])
    targets = {posixpath.basename(t): t for t in rels.values()}
    strings = _shared_strings(parts, next((t for n, t in targets.items() if n.startswith("sharedStrings")), None))
    locked = _locked_styles(parts, next((t for n, t in targets.items() if n.startswith("styles")), None))
    sheets: dict[str, Sheet] = {}
    for s in root.iter(NS + "sheet"):
        name = s.get("name", "")
        target = rels.get(s.get(REL_NS + "id", ""))
        sheets[name] = _sheet(name, s.get("state", "visible"), target, parts.get(target or ""), strings)
    names: dict[str, tuple[str, int, int]] = {}
    for d in root.iter(NS + "definedName"):
        if d.get("localSheetId") is None and d.text:
            where = parse_name_ref(d.text)
            if where:
                names[d.get("name", "")] = where
    return Book(box.kind, sheets, names, locked, _core_modified(parts), box.has_macros)


def _main_part(parts: dict[str, bytes]) -> str:
    """The workbook part named by the package relationships (usually xl/workbook.xml)."""
    rels = parts.get("_rels/.rels")
    if rels:
        for rel in parse_xml(rels).iter(PKG_REL + "Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                return rel.get("Target", "").lstrip("/")
    return "xl/workbook.xml"


def load_book(source) -> Book:
    """Read a workbook file (path or bytes). Raises ContainerError for anything unreadable."""
    return book_from_container(open_container(source, _wanted))
