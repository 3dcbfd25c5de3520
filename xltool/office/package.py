"""One editor for every change xltool makes to an xlsx package: the writer's per-agency identity,
fill's typed values, merge's added sheets and annotate's marks, comments and summary sheet.

A package is its parts, in order; a part is edited as bytes or as a parsed XML tree (parsed once,
through the safe parser, and serialised on save). Relationships, content types and the
workbook's sheet list are kept consistent by the methods that add or remove parts, so a caller
never writes `[Content_Types].xml` or a `.rels` file by hand. Parts not touched are copied as
they are.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from xltool.office.cells import a1, parse_ref
from xltool.office.container import Container, open_container, parse_xml, transitional

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET = REL + "/worksheet"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CONTENT_TYPES = "[Content_Types].xml"

Writer = Callable[[IO[bytes]], None]  # streams a part's bytes into the zip


def _ns(uri: str, tag: str) -> str:
    return f"{{{uri}}}{tag}"


def rels_name(part: str) -> str:
    """The relationships part of a part: xl/workbook.xml -> xl/_rels/workbook.xml.rels."""
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


_M = f"{{{MAIN}}}"


def number_text(v: Any) -> str:
    """A number as a cell's <v> holds it: 12, 12.5, never 1.25E+1 or 12.500000001."""
    if isinstance(v, float):
        v = Decimal(repr(v))
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))
    return str(int(v))


def find_cell(sheet_root: etree._Element, row: int, col: int, create: bool = True) -> Any:
    """The <c> element of a cell in a sheet's XML, created in row and column order if absent.
    Rows and cells without `r` (optional in the standard) are first given the one their place
    implies, as the reader reads them; rows and cells in any order are found where they are.
    Rows and cells whose `r` is unreadable (hostile) are passed over."""
    data = sheet_root.find(_M + "sheetData")
    assert data is not None  # every worksheet has its sheetData
    _number_positions(data)
    ref = a1(row, col)
    rows = [(r, _row_number(r.get("r"))) for r in data.iterfind(_M + "row")]
    target_row = next((r for r, n in rows if n == row + 1), None)
    if target_row is None:
        if not create:
            return None
        target_row = etree.Element(_M + "row", r=str(row + 1))
        _insert(data, target_row, next((r for r, n in rows if n is not None and n > row + 1), None))
    cells = [(c, _column(c.get("r"))) for c in target_row.iterfind(_M + "c")]
    found = next((c for c, cc in cells if cc == col), None)
    if found is not None or not create:
        return found
    new = etree.Element(_M + "c", r=ref)
    _insert(target_row, new, next((c for c, cc in cells if cc is not None and cc > col), None))
    return new


class SheetCells:
    """A sheet's cells by (row, column), indexed in one pass: for an editor that touches many
    cells (fill, annotate), one lookup per cell instead of find_cell's pass over the sheet. The
    cell found is the one find_cell finds (the first row and cell of a number); a cell the sheet
    does not hold is made in its place by find_cell. Edit the sheet's cells only through it."""

    def __init__(self, sheet_root: etree._Element):
        self.root = sheet_root
        data = sheet_root.find(_M + "sheetData")
        assert data is not None  # every worksheet has its sheetData
        _number_positions(data)
        self.index: dict[tuple[int, int], etree._Element] = {}
        rows: set[int] = set()
        for r in data.iterfind(_M + "row"):
            n = _row_number(r.get("r"))
            if n is None or n in rows:
                continue
            rows.add(n)
            for c in r.iterfind(_M + "c"):
                col = _column(c.get("r"))
                if col is not None:
                    self.index.setdefault((n - 1, col), c)

    def get(self, row: int, col: int, create: bool = True) -> Any:
        found = self.index.get((row, col))
        if found is None and create:
            found = self.index[(row, col)] = find_cell(self.root, row, col)
        return found


def _insert(parent: etree._Element, new: etree._Element, before: etree._Element | None) -> None:
    if before is not None:
        before.addprevious(new)
    else:
        parent.append(new)


def _column(ref: str | None) -> int | None:
    try:
        return parse_ref(ref or "")[1]
    except ValueError:
        return None


_WITHOUT_R = etree.XPath("boolean(m:row[not(@r)] | m:row/m:c[not(@r)])", namespaces={"m": MAIN})


def _number_positions(data: etree._Element) -> None:
    """Write the `r` a row or cell without one has by its place: a row follows the row before it,
    a cell the cell before it in its row (ECMA-376 18.3.1.73, 18.3.1.4; the reader's rule)."""
    if not _WITHOUT_R(data):
        return
    row = 0
    for r in data.iterfind(_M + "row"):
        n = _row_number(r.get("r"))
        row = n if n is not None and n >= 1 else row + 1
        if r.get("r") is None:
            r.set("r", str(row))
        col = -1
        for c in r.iterfind(_M + "c"):
            cc = _column(c.get("r"))
            col = cc if cc is not None else col + 1
            if c.get("r") is None and col < 1 << 14 and row <= 1 << 20:
                c.set("r", a1(row - 1, col))


def _row_number(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 7:
        return None
    return int(text)


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class Package:
    def __init__(self, parts: dict[str, bytes]):
        self._parts: dict[str, bytes | Writer] = dict(parts)
        self._trees: dict[str, etree._Element] = {}

    @classmethod
    def open(cls, data: bytes) -> Package:
        """A workbook opened through the safe container (size caps, no DTDs)."""
        return cls.from_container(open_container(data))

    @classmethod
    def from_container(cls, box: Container) -> Package:
        """The package of an opened workbook. A Strict Open XML workbook is edited, and saved, as
        the transitional workbook it is equivalent to: the editor knows the transitional names."""
        parts = {name: box.parts[name] for name in box.names}
        for name, body in parts.items():
            if name.endswith((".xml", ".rels")) and (plain := transitional(body)) is not body:
                parts[name] = plain.replace(b'conformance="strict"', b'conformance="transitional"')
        return cls(parts)

    # -- parts -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._parts)

    def __contains__(self, name: str) -> bool:
        return name in self._parts

    def read(self, name: str) -> bytes:
        if name in self._trees:
            return serialise(self._trees[name])
        data = self._parts[name]
        assert isinstance(data, bytes), f"{name} is streamed, not readable"
        return data

    def tree(self, name: str) -> etree._Element:
        """A part as XML to edit in place; written back on save."""
        if name not in self._trees:
            self._trees[name] = parse_xml(self.read(name))
        return self._trees[name]

    def write(self, name: str, data: bytes | Writer, content_type: str | None = None) -> None:
        self._trees.pop(name, None)
        self._parts[name] = data
        if content_type:
            self._override(name, content_type)

    def remove(self, name: str) -> None:
        self._parts.pop(name, None)
        self._trees.pop(name, None)
        types = self.tree(CONTENT_TYPES)
        for o in types.findall(_ns(CT, "Override")):
            if o.get("PartName") == "/" + name:
                types.remove(o)

    def save(self, compresslevel: int = 6) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as z:
            for name, data in self._parts.items():
                if name in self._trees:
                    z.writestr(name, serialise(self._trees[name]))
                elif isinstance(data, bytes):
                    z.writestr(name, data)
                else:
                    with z.open(name, "w") as stream:
                        data(stream)
        return out.getvalue()

    # -- content types and relationships ------------------------------------------------------
    def _override(self, name: str, content_type: str) -> None:
        types = self.tree(CONTENT_TYPES)
        for o in types.findall(_ns(CT, "Override")):
            if o.get("PartName") == "/" + name:
                o.set("ContentType", content_type)
                return
        etree.SubElement(types, _ns(CT, "Override"), PartName="/" + name, ContentType=content_type)

    def default_type(self, extension: str, content_type: str) -> None:
        types = self.tree(CONTENT_TYPES)
        if not any(d.get("Extension", "").lower() == extension for d in types.findall(_ns(CT, "Default"))):
            types.insert(0, etree.Element(_ns(CT, "Default"), Extension=extension, ContentType=content_type))

    def relationships(self, source: str) -> etree._Element:
        name = rels_name(source)
        if name not in self._parts:
            self._parts[name] = serialise(etree.fromstring(f'<Relationships xmlns="{PKG_REL}"/>'.encode()))
        return self.tree(name)

    def relate(self, source: str, target: str, rel_type: str) -> str:
        """A new relationship from `source` to `target` (a part name); its id."""
        rels = self.relationships(source)
        taken = {r.get("Id") for r in rels}
        rid = next(f"rId{k}" for k in range(1, len(taken) + 2) if f"rId{k}" not in taken)
        relative = posixpath.relpath(target, posixpath.dirname(source) or ".")
        etree.SubElement(rels, _ns(PKG_REL, "Relationship"), Id=rid, Type=rel_type, Target=relative)
        return rid

    def related(self, source: str, rel_type: str) -> dict[str, str]:
        """rId -> part name of `source`'s relationships of a type (the type's last word)."""
        if rels_name(source) not in self._parts:
            return {}
        base = posixpath.dirname(source)
        out = {}
        for r in self.relationships(source):
            if r.get("Type", "").rsplit("/", 1)[-1] == rel_type and r.get("TargetMode") != "External":
                target = r.get("Target", "")
                out[r.get("Id", "")] = (target.lstrip("/") if target.startswith("/")
                                        else posixpath.normpath(posixpath.join(base, target)))
        return out

    def unrelate(self, source: str, rid: str) -> None:
        rels = self.relationships(source)
        for r in rels.findall(_ns(PKG_REL, "Relationship")):
            if r.get("Id") == rid:
                rels.remove(r)

    # -- the workbook -------------------------------------------------------------------------
    @property
    def workbook(self) -> str:
        for rel in self.relationships("").findall(_ns(PKG_REL, "Relationship")):
            if rel.get("Type", "").endswith("/officeDocument"):
                return rel.get("Target", "").lstrip("/")
        return "xl/workbook.xml"

    def sheets(self) -> dict[str, str]:
        """Sheet name -> its part, in workbook order."""
        targets = self.related(self.workbook, "worksheet")
        sheets = self.tree(self.workbook).find(_ns(MAIN, "sheets"))
        return {s.get("name", ""): targets.get(s.get(_ns(REL, "id"), ""), "")
                for s in (sheets if sheets is not None else ())}

    def styles(self) -> etree._Element:
        part = next(iter(self.related(self.workbook, "styles").values()), "xl/styles.xml")
        return self.tree(part)

    def add_sheet(self, name: str, data: bytes | Writer, position: int | None = None) -> str:
        """A worksheet added under `name`, last or at `position`; sheet-local names follow it."""
        wb = self.tree(self.workbook)
        sheets = wb.find(_ns(MAIN, "sheets"))
        assert sheets is not None
        taken = set(self._parts)
        part = next(f"xl/worksheets/sheet{k}.xml" for k in range(1, len(taken) + 2)
                    if f"xl/worksheets/sheet{k}.xml" not in taken)
        self.write(part, data, WORKSHEET_TYPE)
        rid = self.relate(self.workbook, part, WORKSHEET)
        ids = [int(s.get("sheetId", "0")) for s in sheets]
        entry = etree.Element(_ns(MAIN, "sheet"), name=name, sheetId=str(max(ids, default=0) + 1))
        entry.set(_ns(REL, "id"), rid)
        index = len(sheets) if position is None else position
        sheets.insert(index, entry)
        self._shift_local_names(index, +1)
        return part

    def remove_sheet(self, name: str) -> None:
        wb = self.tree(self.workbook)
        sheets = wb.find(_ns(MAIN, "sheets"))
        assert sheets is not None
        for index, s in enumerate(sheets):
            if s.get("name") == name:
                rid = s.get(_ns(REL, "id"), "")
                part = self.related(self.workbook, "worksheet").get(rid)
                sheets.remove(s)
                self.unrelate(self.workbook, rid)
                if part:
                    for extra in [*self.related(part, "comments").values(), *self.related(part, "vmlDrawing").values()]:
                        self.remove(extra)
                    self.remove(rels_name(part))
                    self.remove(part)
                names = wb.find(_ns(MAIN, "definedNames"))
                for d in list(names if names is not None else ()):
                    if d.get("localSheetId") == str(index):
                        names.remove(d)  # type: ignore[union-attr]
                self._shift_local_names(index, -1)
                return

    def define_name(self, name: str, ref: str, local_sheet: int | None = None, hidden: bool = False) -> None:
        """A defined name, workbook-wide or local to the sheet at `local_sheet`."""
        wb = self.tree(self.workbook)
        names = wb.find(_ns(MAIN, "definedNames"))
        if names is None:
            names = etree.Element(_ns(MAIN, "definedNames"))
            sheets = wb.find(_ns(MAIN, "sheets"))
            assert sheets is not None
            sheets.addnext(names)  # definedNames follow sheets (and come before calcPr)
        entry = etree.SubElement(names, _ns(MAIN, "definedName"), name=name)
        if local_sheet is not None:
            entry.set("localSheetId", str(local_sheet))
        if hidden:
            entry.set("hidden", "1")
        entry.text = ref

    def _shift_local_names(self, index: int, by: int) -> None:
        names = self.tree(self.workbook).find(_ns(MAIN, "definedNames"))
        for d in names if names is not None else ():
            local = d.get("localSheetId")
            if local is not None and local.isdigit() and int(local) >= index + (0 if by > 0 else 1):
                d.set("localSheetId", str(int(local) + by))
