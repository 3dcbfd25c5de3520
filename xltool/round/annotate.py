"""Annotated copies of returns: each problem cell highlighted with a comment that explains it,
and a summary sheet (审核意见) at the front. The copy stays a valid return — everything else in
the file is kept as it was, formulas, saved values, validation and protection included — so the
clerk fixes it and sends it back, and verify ignores the summary sheet. The original is never
touched. Edited through the one package editor (office/package.py)."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from xltool.findings import Finding
from xltool.office.cells import parse_ref
from xltool.office.package import MAIN, REL, Package, find_cell
from xltool.office.xlsx import cell_string
from xltool.util import atomic_write, bounded_filename, output_lock

SUMMARY_SHEET = "审核意见"
ERROR_FILL = "FFF8D7DA"
WARNING_FILL = "FFFFF3CD"
AUTHOR = "xltool 审核"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
# Elements a sheet may hold after <legacyDrawing> (ECMA-376 order): it goes before the first of them.
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")


def _m(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


def _text(value: Any) -> str:
    return escape(cell_string(str(value)))


class _Styles:
    """Styles added to the workbook: the marked copies of cell styles, and the summary's."""

    def __init__(self, root: etree._Element):
        self.root = root
        self.xfs = self._child("cellXfs")
        self.fills = {color: self._fill(color) for color in (ERROR_FILL, WARNING_FILL)}
        self.marked: dict[tuple[int, str], int] = {}

    def _child(self, tag: str) -> etree._Element:
        found = self.root.find(_m(tag))
        assert found is not None, tag  # every workbook's styles have fonts, fills and cellXfs
        return found

    def _add(self, parent: etree._Element, element: etree._Element) -> int:
        parent.append(element)
        parent.set("count", str(len(parent)))
        return len(parent) - 1

    def _fill(self, color: str) -> int:
        fill = etree.Element(_m("fill"))
        pattern = etree.SubElement(fill, _m("patternFill"), patternType="solid")
        etree.SubElement(pattern, _m("fgColor"), rgb=color)
        etree.SubElement(pattern, _m("bgColor"), indexed="64")
        return self._add(self._child("fills"), fill)

    def mark(self, style: int, color: str) -> int:
        """The cell's own style (lock, number format, borders) with the mark's fill."""
        if (style, color) not in self.marked:
            base = self.xfs[style] if style < len(self.xfs) else self.xfs[0]
            xf = copy.deepcopy(base)
            xf.set("fillId", str(self.fills[color]))
            xf.set("applyFill", "1")
            self.marked[(style, color)] = self._add(self.xfs, xf)
        return self.marked[(style, color)]

    def plain(self, bold: bool = False, size: int = 11, wrap: bool = False) -> int:
        font = etree.Element(_m("font"))
        if bold:
            etree.SubElement(font, _m("b"))
        etree.SubElement(font, _m("sz"), val=str(size))
        etree.SubElement(font, _m("name"), val="宋体")
        font_id = self._add(self._child("fonts"), font)
        xf = etree.Element(_m("xf"), numFmtId="0", fontId=str(font_id), fillId="0", borderId="0", xfId="0",
                           applyFont="1")
        if wrap:
            xf.set("applyAlignment", "1")
            etree.SubElement(xf, _m("alignment"), wrapText="1", vertical="top")
        return self._add(self.xfs, xf)


def _comments_xml(notes: list[tuple[str, int, int, str]]) -> bytes:
    items = "".join(f'<comment ref="{ref}" authorId="0"><text><r><t xml:space="preserve">{_text(text)}</t></r>'
                    "</text></comment>" for ref, _, _, text in notes)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}"><authors>'
            f"<author>{_text(AUTHOR)}</author></authors><commentList>{items}</commentList></comments>").encode()


def _vml(notes: list[tuple[str, int, int, str]], block: int) -> bytes:
    """The legacy drawing that shows the notes (hidden until the mouse is over the cell)."""
    shapes = []
    for n, (_, row, col, text) in enumerate(notes):
        lines = min(30, 3 + len(text) // 24)
        shapes.append(
            f'<v:shape id="_x0000_s{block * 1024 + n + 1}" type="#_x0000_t202" style="position:absolute;'
            f'margin-left:80pt;margin-top:2pt;width:300pt;height:{14 * lines}pt;z-index:{n + 1};visibility:hidden" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            f'<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{col + 1}, 15, {row}, 2, {col + 5}, 15, {row + lines}, 2</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>").encode()


def _free(package: Package, pattern: str) -> tuple[int, str]:
    n = next(k for k in range(1, 10_000) if pattern.format(k) not in package)
    return n, pattern.format(n)


def _set_comments(package: Package, part: str, root: etree._Element, notes: list[tuple[str, int, int, str]]) -> None:
    """The sheet's notes, in place of any it had (from an earlier annotation)."""
    for kind in ("comments", "vmlDrawing"):
        for rid, target in package.related(part, kind).items():
            package.remove(target)
            package.unrelate(part, rid)
    for old in root.findall(_m("legacyDrawing")):
        root.remove(old)
    _, comments = _free(package, "xl/comments{}.xml")
    package.write(comments, _comments_xml(notes), COMMENTS_TYPE)
    package.relate(part, comments, REL + "/comments")
    block, drawing = _free(package, "xl/drawings/vmlDrawing{}.vml")
    package.write(drawing, _vml(notes, block))
    package.default_type("vml", VML_TYPE)
    rid = package.relate(part, drawing, REL + "/vmlDrawing")
    legacy = etree.Element(_m("legacyDrawing"))
    legacy.set(f"{{{REL}}}id", rid)
    after = next((c for c in root if etree.QName(c).localname in _AFTER_LEGACY), None)
    if after is not None:
        after.addprevious(legacy)
    else:
        root.append(legacy)


def _summary_xml(findings: list[Finding], title: str, styles: _Styles) -> bytes:
    heading, bold, wrap = styles.plain(bold=True, size=14), styles.plain(bold=True), styles.plain(wrap=True)
    errors = sum(f.severity == "error" for f in findings)
    rows: list[tuple[list[Any], int]] = [
        ([f"审核意见{('：' + title) if title else ''}"], heading),
        ([f"共发现 {errors} 个错误、{len(findings) - errors} 个警告。标红的单元格有错误，标黄的有警告，"
          "鼠标移到单元格上可看说明。请在本文件中直接修改后保存，原样报送即可（本页不影响审核）。"], 0),
        ([], 0),
        (["序号", "类别", "位置", "代码", "说明"], bold),
    ]
    for n, f in enumerate(findings, start=1):
        where = f"{f.sheet} {f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
        rows.append(([n, "错误" if f.severity == "error" else "警告", where, f.code, f.message], wrap))
    body = []
    for r, (values, style) in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values):
            ref = f"{'ABCDE'[c]}{r}"
            s = f' s="{style}"' if style else ""
            if isinstance(value, int):
                cells.append(f'<c r="{ref}"{s}><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    widths = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in
                     enumerate((6, 8, 26, 22, 90), start=1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>{"".join(body)}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>").encode()


def _select_first_sheet(package: Package) -> None:
    """The summary opens first: the first tab active and selected, no other selected."""
    views = package.tree(package.workbook).find(_m("bookViews"))
    for view in views if views is not None else ():
        view.set("activeTab", "0")
        view.set("firstSheet", "0")
    for part in list(package.sheets().values())[1:]:
        for view in package.tree(part).iter(_m("sheetView")):
            if "tabSelected" in view.attrib:
                del view.attrib["tabSelected"]


def annotate_bytes(data: bytes, findings: Iterable[Finding], title: str = "") -> bytes:
    findings = list(findings)
    package = Package.open(data)
    if SUMMARY_SHEET in package.sheets():  # a copy annotated before: replace its summary
        package.remove_sheet(SUMMARY_SHEET)
    sheets = package.sheets()
    styles = _Styles(package.styles())
    by_sheet: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in findings:
        if f.sheet and f.cell and f.sheet in sheets:
            by_sheet[f.sheet][f.cell].append(f)
    for sheet, cells in by_sheet.items():
        root = package.tree(sheets[sheet])
        notes = []
        for ref, group in cells.items():
            row, col = parse_ref(ref)
            cell = find_cell(root, row, col)
            color = ERROR_FILL if any(f.severity == "error" for f in group) else WARNING_FILL
            cell.set("s", str(styles.mark(int(cell.get("s", "0") or 0), color)))
            text = "\n".join(f"【{'错误' if f.severity == 'error' else '警告'}】{f.message}" for f in group)
            notes.append((ref, row, col, text))
        _set_comments(package, sheets[sheet], root, notes)
    package.add_sheet(SUMMARY_SHEET, _summary_xml(findings, title, styles), position=0)
    _select_first_sheet(package)
    return package.save()


SUFFIX = "-审核意见.xlsx"


def annotated_name(file: str, code: str, taken: set[str] | None = None) -> str:
    """The copy's name: the input's name with the agency code first (kept whole), bounded to 255
    bytes; a name already `taken` in this run (same-named inputs in two folders) gets -2, -3, …"""
    stem = Path(file).stem
    keep, rest = (code, stem[len(code):]) if stem.startswith(code) else (f"{code}_", stem)
    taken = taken if taken is not None else set()
    for n in range(1, len(taken) + 2):
        name = bounded_filename(rest, SUFFIX if n == 1 else f"-{n}{SUFFIX}", keep=keep)
        if name.casefold() not in taken:  # case-insensitive file systems (Windows, macOS)
            taken.add(name.casefold())
            return name
    raise AssertionError("unreachable: one of len(taken) + 1 names is free")


@dataclass
class Annotated:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # why a return that has findings got no copy


def annotate_results(results, out_dir: Path) -> Annotated:
    """Write an annotated copy of every readable return that has findings, holding the folder
    against a concurrent run; a copy that cannot be written is said, not skipped silently."""
    done = Annotated()
    taken: set[str] = set()
    with output_lock(out_dir, "另一个 xltool verify --annotate"):
        for r in results:
            if not r.findings or r.agency is None:
                continue
            out = out_dir / annotated_name(r.file, r.agency["code"], taken)
            try:
                data = Path(r.file).read_bytes()
                title = f"{r.agency['name']}（{r.agency['code']}）"
                atomic_write(out, annotate_bytes(data, r.findings, title))
            except OSError as e:
                done.failed.append(f"{r.file}：无法写入批注版 {out.name}（{e.strerror or e}）")
                continue
            except Exception:  # a file our reader accepted but that cannot be rewritten: the findings still stand
                done.failed.append(f"{r.file}：文件结构无法改写，未生成批注版；问题见审核结果")
                continue
            done.written.append(out)
    return done
