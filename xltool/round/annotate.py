"""Annotated copies of returns: each problem cell highlighted with a comment that explains it,
and a summary sheet (审核意见) at the front. The copy stays a valid return — everything else in
the file is kept as it was, formulas, saved values, validation and protection included — so the
clerk fixes it and sends it back, and verify ignores the summary sheet. The original is never
touched. Edited through the one package editor (office/package.py)."""

from __future__ import annotations

import copy
import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from xltool.findings import Finding
from xltool.office.cells import a1, parse_ref, sheet_ref
from xltool.office.package import MAIN, REL, Package, SheetCells
from xltool.office.xlsx import cell_string
from xltool.util import atomic_write, bounded_filename, output_lock, parallel_map, safe_filename

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


# The summary on paper: A4 portrait, its five columns within the page width (fit to width as a
# safety net, never to height), the column headings repeated on every page, every text wrapped
# in a row tall enough to show it whole. Widths are Excel's unit, the default font's digit.
COLUMNS = (("序号", 6), ("类别", 6), ("位置", 18), ("代码", 16), ("说明", 45))
HEADING_ROW = 4
DIGIT_PX = 7.0  # a width unit in pixels (Calibri 11, the workbook's default font)
CELL_PAD_PX = 6.0  # a cell's inner margins
LINE_PT = 16.0  # a line of text, per point of font size 11: CJK fonts' line spacing is about 1.45 em
ROW_PAD_PT = 3.0


# Characters two columns wide: East Asian wide and full-width ones, and the punctuation a Chinese
# font draws as wide (quotation marks, dashes, ellipsis, middle dot).
_WIDE = ("\u00b7\u1100-\u115f\u2010-\u2027\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
         "\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\U0001f300-\U0001f64f"
         "\U0001f900-\U0001f9ff\U00020000-\U0003fffd")
_PIECE = re.compile(rf"(\s+)|([{_WIDE}]+)|([^\s{_WIDE}]+)")
_WIDE_RUN = re.compile(f"[{_WIDE}]+")


def display_width(text: str) -> int:
    """Display columns: a wide (CJK, full-width) character is two, any other one."""
    return len(text) + sum(map(len, _WIDE_RUN.findall(text)))


@functools.lru_cache(maxsize=8192)  # the same messages recur from return to return
def wrapped_lines(text: str, width: float, size: float = 11) -> int:
    """The lines `text` takes wrapped in a cell `width` units wide in a `size`-point font: CJK
    characters break anywhere, a run of other characters (a number, a key) only where it is
    longer than a line; each line of the text starts a new one. Estimated on the generous side
    (a tenth of the line kept free for fonts whose Latin letters are wider than half a CJK one)."""
    half_em_px = size * 96 / 72 / 2
    per_line = max(2, int((width * DIGIT_PX - CELL_PAD_PX) / half_em_px * 0.9))
    if 2 * len(text) <= per_line and "\n" not in text:
        return 1
    total = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0
        for space, wide, word in _PIECE.findall(paragraph):
            if space:
                used = min(per_line, used + len(space))  # a space at the end of a line is not carried over
            elif wide:  # wide characters, each a place to break
                chars, room = len(wide), (per_line - used) // 2
                if chars > room:
                    more = -(-(chars - room) // (per_line // 2))
                    lines, used = lines + more, 2 * (chars - room - (more - 1) * (per_line // 2))
                else:
                    used += 2 * chars
            else:
                w = len(word)
                if used + w > per_line and used:
                    lines, used = lines + 1, 0
                while used + w > per_line:  # a word longer than a line breaks between characters
                    lines, w, used = lines + 1, w - (per_line - used), 0
                used += w
        total += lines
    return total


def row_height(texts: Iterable[tuple[str, float]], size: float = 11) -> float:
    """Points for a row whose wrapped cells hold `texts` (text, column width): the tallest one."""
    lines = max((wrapped_lines(text, width, size) for text, width in texts), default=1)
    return round(lines * LINE_PT * size / 11 + ROW_PAD_PT, 1)


def _summary_xml(findings: list[Finding], title: str, styles: _Styles) -> bytes:
    heading, bold = styles.plain(bold=True, size=14, wrap=True), styles.plain(bold=True, wrap=True)
    wrap = styles.plain(wrap=True)
    errors = sum(f.severity == "error" for f in findings)
    page = sum(width for _, width in COLUMNS)  # merged across the page
    intro = (f"共发现 {errors} 个错误、{len(findings) - errors} 个警告。标红的单元格有错误，标黄的有警告，"
             "鼠标移到单元格上可看说明。请在本文件中直接修改后保存，原样报送即可（本页不影响审核）。")
    heading_text = f"审核意见{('：' + title) if title else ''}"
    rows: list[tuple[list[Any], int, float | None]] = [
        ([heading_text], heading, row_height([(heading_text, page)], 14)),
        ([intro], wrap, row_height([(intro, page)])),
        ([], 0, None),
        ([name for name, _ in COLUMNS], bold, None),
    ]
    for n, f in enumerate(findings, start=1):
        where = f"{f.sheet} {f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
        texts = [where, f.code, f.message]  # 序号 and 类别 always fit one line
        rows.append(([n, "错误" if f.severity == "error" else "警告", *texts], wrap,
                     row_height(zip(texts, [width for _, width in COLUMNS[2:]]))))
    body = []
    for r, (values, style, points) in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values):
            s = f' s="{style}"' if style else ""
            if isinstance(value, int):
                cells.append(f'<c r="{a1(r - 1, c)}"{s}><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{a1(r - 1, c)}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t>'
                             "</is></c>")
        tall = f' ht="{points}" customHeight="1"' if points else ""
        body.append(f'<row r="{r}"{tall}>{"".join(cells)}</row>')
    widths = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, (_, w) in
                     enumerate(COLUMNS, start=1))
    last = a1(0, len(COLUMNS) - 1)[:-1]
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
            f'<pane ySplit="{HEADING_ROW}" topLeftCell="A{HEADING_ROW + 1}" activePane="bottomLeft" state="frozen"/>'
            '</sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>{"".join(body)}</sheetData>'
            f'<mergeCells count="2"><mergeCell ref="A1:{last}1"/><mergeCell ref="A2:{last}2"/></mergeCells>'
            '<printOptions horizontalCentered="1"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="portrait" fitToWidth="1" fitToHeight="0"/>'
            "</worksheet>").encode()


def _select_first_sheet(package: Package, edited: dict[str, etree._Element]) -> None:
    """The summary opens first: the first tab active and selected, no other selected. A sheet
    neither annotated nor selected is left as it is, unparsed."""
    views = package.tree(package.workbook).find(_m("bookViews"))
    for view in views if views is not None else ():
        view.set("activeTab", "0")
        view.set("firstSheet", "0")
    for part in list(package.sheets().values())[1:]:
        if part not in edited and (part not in package or b"tabSelected" not in package.read(part)):
            continue
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
    edited: dict[str, etree._Element] = {}
    for sheet, by_cell in by_sheet.items():
        root = edited[sheets[sheet]] = package.tree(sheets[sheet])
        cells = SheetCells(root)
        notes = []
        for ref, group in by_cell.items():
            row, col = parse_ref(ref)
            cell = cells.get(row, col)
            color = ERROR_FILL if any(f.severity == "error" for f in group) else WARNING_FILL
            cell.set("s", str(styles.mark(int(cell.get("s", "0") or 0), color)))
            text = "\n".join(f"【{'错误' if f.severity == 'error' else '警告'}】{f.message}" for f in group)
            notes.append((ref, row, col, text))
        _set_comments(package, sheets[sheet], root, notes)
    package.add_sheet(SUMMARY_SHEET, _summary_xml(findings, title, styles), position=0)
    package.define_name("_xlnm.Print_Titles", sheet_ref(SUMMARY_SHEET, f"${HEADING_ROW}:${HEADING_ROW}"), local_sheet=0)
    _select_first_sheet(package, edited)
    return package.save()


SUFFIX = "_审核意见"
EXTENSION = ".xlsx"
NAME_CHARS, CODE_CHARS = 60, 40  # of the agency name and code in the copy's name, as the reports'


def annotated_name(code: str, name: str, taken: set[str] | None = None) -> str:
    """The copy's name, 代码_名称_审核意见.xlsx (the agency's code and name as the return gives
    them, made safe, bounded to 255 bytes); a name already `taken` in this run (an agency's
    second version, two copies of one return) gets _2, _3, …"""
    taken = taken if taken is not None else set()
    keep = f"{safe_filename(code, CODE_CHARS)}_"
    for n in range(1, len(taken) + 2):
        version = SUFFIX + (f"_{n}" if n > 1 else "") + EXTENSION
        candidate = bounded_filename(name[:NAME_CHARS], version, keep=keep)
        if candidate.casefold() not in taken:  # case-insensitive file systems (Windows, macOS)
            taken.add(candidate.casefold())
            return candidate
    raise AssertionError("unreachable: one of len(taken) + 1 names is free")


@dataclass
class Annotated:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # why a return that has findings got no copy


PARALLEL_FROM = 16  # copies: below this, worker processes cost more than they save


def _write_copy(job: tuple[str, list[Finding], str, Path]) -> str | None:
    """Write one annotated copy; None when written, else why not (said, not raised)."""
    file, findings, title, out = job
    try:
        atomic_write(out, annotate_bytes(Path(file).read_bytes(), findings, title))
    except OSError as e:
        return f"{file}：无法写入批注版 {out.name}（{e.strerror or e}）"
    except Exception:  # a file our reader accepted but that cannot be rewritten: the findings still stand
        return f"{file}：文件结构无法改写，未生成批注版；问题见审核结果"
    return None


def annotate_results(results, out_dir: Path, *, show_progress: bool = True, workers: int | None = None) -> Annotated:
    """Write an annotated copy of every readable return that has findings, on both cores, holding
    the folder against a concurrent run; a copy that cannot be written is said, not skipped
    silently. Named in the order of `results`: an agency's later version gets _2."""
    done = Annotated()
    taken: set[str] = set()
    jobs = [(r.file, r.findings, f"{r.agency['name']}（{r.agency['code']}）",
             out_dir / annotated_name(r.agency["code"], r.agency["name"], taken))
            for r in results if r.findings and r.agency is not None]
    with output_lock(out_dir, "另一个 xltool verify --annotate"):
        failures = parallel_map(_write_copy, jobs, "批注", parallel_from=PARALLEL_FROM, workers=workers,
                                chunksize=4, show_progress=show_progress)
    for (_, _, _, out), failure in zip(jobs, failures):
        if failure is None:
            done.written.append(out)
        else:
            done.failed.append(failure)
    return done
