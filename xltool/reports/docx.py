"""The report as DOCX in the official-document style of GB/T 9704-2012.

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; title 二号 (22 pt) 方正小标宋简体;
body 三号 (16 pt) 仿宋_GB2312, 22 lines a page; headings 一、二、… 三号 黑体; page numbers
「— 1 —」 in 四号 宋体 at the outer edge of the footer. The tables are set smaller (10.5 pt, and
9 pt for a table as wide as table 3's 15 columns) with narrow cell margins so they fit the
156 mm text width; merged headers are real merges and header rows repeat on every page.

The official fonts are commercial. They are named here (the East Asian slot, w:eastAsia, is
what Chinese text uses; python-docx's font.name sets only the Latin slots), so the document
uses them where they are installed. Elsewhere the application substitutes: LibreOffice on
this machine renders with Noto Serif CJK SC / Noto Sans CJK SC (package fonts-noto-cjk),
which `pdffonts` shows in the PDF.

Speed: python-docx's table.cell() rebuilds a table's cell list on every call (quadratic). Here
the document (styles, page, page numbers) and each table's XML with its labels and merges are
built once per process; a report deep-copies the tables, fills in its figures and writes its
paragraphs as XML, and python-docx saves the package: tens of milliseconds a report."""

from __future__ import annotations

import copy
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from xltool.form.spec import GridCell, Table
from xltool.reports.grid import column_weights, figure
from xltool.reports.model import DRAFT, DRAFT_NOTE, Report

# The official fonts; templates/report/fonts.conf maps them to free ones for LibreOffice.
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

PAGE = dict(width=Mm(210), height=Mm(297), top=Mm(37), bottom=Mm(35), left=Mm(28), right=Mm(26))
TEXT_WIDTH_MM = 210 - 28 - 26
BODY_PT, TITLE_PT, PAGE_NUMBER_PT = 16, 22, 14
LINE_PT = 28.9  # 22 lines in the 225 mm text height
TABLE_PT, WIDE_TABLE_PT, WIDE_FROM_COLUMNS = 10.5, 9, 12
CELL_MARGIN_TWIPS = 57  # 1 mm left and right: the narrow columns of table 3 keep their figures

STYLE_TITLE, STYLE_HEADING, STYLE_TABLE, STYLE_TABLE_WIDE, STYLE_DRAFT, STYLE_CLOSING = (
    "报告标题", "一级标题", "表格文字", "表格文字（小）", "草稿提示", "落款")
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_T = f"{{{W_NS}}}t"
_BREAKS = re.compile(r"([\t\n\r])")
TITLE_BREAK = "\n"  # the title's manual line break (w:br) between the agency name and the rest
CLOSING_RIGHT_PT = 4 * BODY_PT  # GB/T 9704 7.3.5: the 落款 right-aligned, four characters in from the margin


def _set_fonts(rpr, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Name a font in every slot: w:eastAsia for Chinese text, the others for Latin."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):  # theme fonts would override the names below
        if attr.endswith("Theme"):
            del fonts.attrib[attr]
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _paragraph_style(doc, name: str, font: str, size: float, *, align=None, indent: bool = False,
                     line: float | None = None, bold: bool = False, outline: int | None = None):
    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"] if name != "Normal" else None
    style.font.size = Pt(size)
    style.font.bold = bold
    _set_fonts(style.element.get_or_add_rPr(), font)
    fmt = style.paragraph_format
    fmt.first_line_indent = Pt(2 * size) if indent else Pt(0)
    fmt.space_before = fmt.space_after = Pt(0)
    if line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if align is not None:
        fmt.alignment = align
    if outline is not None:
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        style.element.get_or_add_pPr().append(level)
    return style


def _styles(doc) -> None:
    # Chinese text is zh-CN; Latin text (figures, URLs) en-US, so that LibreOffice breaks lines
    # between words and never inside a number (with zh-CN there it splits 2021 into 20 / 21).
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    doc.styles["Normal"].element.get_or_add_rPr().append(lang)
    _paragraph_style(doc, "Normal", BODY_FONT, BODY_PT, indent=True, line=LINE_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _paragraph_style(doc, STYLE_TITLE, TITLE_FONT, TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, line=36)
    _paragraph_style(doc, STYLE_HEADING, HEADING_FONT, BODY_PT, indent=True, line=LINE_PT, outline=0)
    _paragraph_style(doc, STYLE_TABLE, BODY_FONT, TABLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(doc, STYLE_TABLE_WIDE, BODY_FONT, WIDE_TABLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(doc, STYLE_CLOSING, BODY_FONT, BODY_PT, line=LINE_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)
    doc.styles[STYLE_CLOSING].paragraph_format.right_indent = Pt(CLOSING_RIGHT_PT)
    draft = _paragraph_style(doc, STYLE_DRAFT, HEADING_FONT, BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    draft.font.color.rgb = RGBColor(0xB0, 0, 0)
    doc.styles[STYLE_HEADING].paragraph_format.keep_with_next = True


def _page(section) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE["width"], PAGE["height"]
    section.top_margin, section.bottom_margin = PAGE["top"], PAGE["bottom"]
    section.left_margin, section.right_margin = PAGE["left"], PAGE["right"]
    section.header_distance = Mm(15)
    section.footer_distance = Mm(18)  # GB/T 9704: the page number sits 7 mm below the text block


def _field(paragraph, instruction: str, shown: str) -> None:
    """A Word field (PAGE): begin, instruction, separate, the text shown until updated, end."""
    def char(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run(shown)
    char("end")


def _page_numbers(doc, section) -> None:
    """「— 1 —」 at the outer edge: right on odd pages, left on even ones (GB/T 9704 7.5)."""
    doc.settings.odd_and_even_pages_header_footer = True
    sides = ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT))
    for footer, align in sides:
        p = footer.paragraphs[0]
        p.alignment = align
        fmt = p.paragraph_format
        fmt.first_line_indent = Pt(0)
        fmt.left_indent = fmt.right_indent = Pt(PAGE_NUMBER_PT)
        p.add_run("— ")
        _field(p, "PAGE", "1")
        p.add_run(" —")
        for run in p.runs:
            run.font.size = Pt(PAGE_NUMBER_PT)
            _set_fonts(run._r.get_or_add_rPr(), PAGE_NUMBER_FONT)


def _draft_header(section) -> None:
    for header in (section.header, section.even_page_header):
        p = header.paragraphs[0]
        p.style = STYLE_DRAFT
        p.text = DRAFT


def _el(parent, tag: str, **attrs: str):
    """A child element w:tag with w:attributes, appended to parent."""
    el = etree.SubElement(parent, qn(f"w:{tag}"))
    for name, value in attrs.items():
        el.set(qn(f"w:{name}"), value)
    return el


def _tc(tr, width: int, *, colspan: int = 1, vmerge: str | None = None, center: bool = False):
    tc = _el(tr, "tc")
    tc_pr = _el(tc, "tcPr")
    _el(tc_pr, "tcW", type="dxa", w=str(width))
    if colspan > 1:
        _el(tc_pr, "gridSpan", val=str(colspan))
    if vmerge is not None:
        vm = _el(tc_pr, "vMerge")
        if vmerge:
            vm.set(qn("w:val"), vmerge)
    if center:
        _el(tc_pr, "vAlign", val="center")
    return tc


def _text(run, text: str) -> None:
    """Text into a run as python-docx writes it: a tab is w:tab, a line end a w:br."""
    for piece in _BREAKS.split(text):
        if piece in ("\t", "\n", "\r"):
            _el(run, "tab" if piece == "\t" else "br")
        elif piece:
            t = _el(run, "t")
            t.text = piece
            if piece != piece.strip():
                t.set(qn("xml:space"), "preserve")


@dataclass(frozen=True)
class _Skeleton:
    """A table drawn once per process, labels and all; each figure's w:t is found by its place
    in document order (`keys`: the key of every w:t, None for a label)."""

    tbl: Any
    keys: tuple[str | None, ...]

    def filled(self, values) -> Any:
        tbl = copy.deepcopy(self.tbl)
        for t, key in zip(tbl.iter(W_T), self.keys):
            if key is not None:
                t.text = figure(values.get(key))
        return tbl


def _skeleton(table: Table, styles: dict[str, str]) -> _Skeleton:
    """The table's XML in one pass over its grid, as python-docx would make it cell by cell:
    fixed column widths, narrow cell margins, real merges (w:gridSpan, w:vMerge), rows that never
    break across pages, header rows repeated on every page (w:tblHeader)."""
    weights = column_weights(table)
    widths = [Mm(TEXT_WIDTH_MM * w / sum(weights)).twips for w in weights]
    style = styles[STYLE_TABLE_WIDE if table.width >= WIDE_FROM_COLUMNS else STYLE_TABLE]
    tbl = etree.Element(qn("w:tbl"), nsmap={"w": W_NS})
    tbl_pr = _el(tbl, "tblPr")
    _el(tbl_pr, "tblStyle", val=styles["Table Grid"])
    _el(tbl_pr, "tblW", type="auto", w="0")
    _el(tbl_pr, "jc", val="center")
    _el(tbl_pr, "tblLayout", type="fixed")
    margins = _el(tbl_pr, "tblCellMar")
    for side in ("left", "right"):
        _el(margins, side, w=str(CELL_MARGIN_TWIPS), type="dxa")
    _el(tbl_pr, "tblLook", firstColumn="1", firstRow="1", lastColumn="0", lastRow="0", noHBand="0",
        noVBand="1", val="04A0")
    grid = _el(tbl, "tblGrid")
    for width in widths:
        _el(grid, "gridCol", w=str(width))
    starts = {(g.row, g.col): g for g in table.grid}
    below: dict[tuple[int, int], GridCell] = {}  # (row, col) covered by a vertical merge from above -> its cell
    for spanned in table.grid:
        for r in range(spanned.row + 1, spanned.row + spanned.rowspan):
            below[(r, spanned.col)] = spanned
    keys: list[str | None] = []
    for r in range(table.height):
        tr = _el(tbl, "tr")
        tr_pr = _el(tr, "trPr")
        _el(tr_pr, "cantSplit", val="true")
        if r < table.header_rows:
            _el(tr_pr, "tblHeader", val="true")
        c = 0
        while c < table.width:
            g = starts.get((r, c)) or below.get((r, c))
            span = g.colspan if g is not None else 1
            width = sum(widths[c:c + span])
            if g is None:
                _el(_tc(tr, width), "p")
            elif g.row != r:  # the continuation of a vertical merge
                _el(_tc(tr, width, colspan=span, vmerge=""), "p")
            else:
                tc = _tc(tr, width, colspan=span, vmerge="restart" if g.rowspan > 1 else None, center=True)
                p = _el(tc, "p")
                p_pr = _el(p, "pPr")
                _el(p_pr, "pStyle", val=style)
                if g.role in ("rowhead", "corner", "block"):
                    _el(p_pr, "jc", val="left")
                run = _el(p, "r")
                bold = _el(_el(run, "rPr"), "b")
                if g.role != "block":
                    bold.set(qn("w:val"), "0")
                text = "0" if g.key else g.text
                if text:
                    _text(run, text)
                    keys.append(g.key or None)
            c += span
    return _Skeleton(tbl, tuple(keys))


class _Base:
    """What is the same in every report, built once per process: the document with its styles,
    page, page numbers (and the draft header), and each official table with its labels."""

    def __init__(self, draft: bool):
        doc = Document()
        _styles(doc)
        section = doc.sections[0]
        _page(section)
        _page_numbers(doc, section)
        if draft:
            _draft_header(section)
        self.doc = doc
        self.styles = {s.name: s.style_id for s in doc.styles}
        self.tables: dict[int, tuple[Table, _Skeleton]] = {}

    def table(self, table: Table, values) -> Any:
        known = self.tables.get(id(table))
        if known is None or known[0] is not table:
            known = self.tables[id(table)] = (table, _skeleton(table, self.styles))
        return known[1].filled(values)

    def paragraph(self, text: str, style: str | None = None) -> Any:
        p = etree.Element(qn("w:p"), nsmap={"w": W_NS})
        if style is not None:
            _el(_el(p, "pPr"), "pStyle", val=self.styles[style])
        if text:
            _text(_el(p, "r"), text)
        return p


@functools.cache
def _base(draft: bool) -> _Base:
    return _Base(draft)


def _blocks(report: Report, base: _Base) -> Iterator[Any]:
    """The report's paragraphs and tables, in order."""
    if report.draft:
        yield base.paragraph(DRAFT_NOTE, STYLE_DRAFT)
    yield base.paragraph(TITLE_BREAK.join(report.title_lines), STYLE_TITLE)
    yield base.paragraph("", STYLE_TITLE)  # GB/T 9704: a blank line between title and text
    for text in report.preamble:
        yield base.paragraph(text)
    for s in report.sections:
        yield base.paragraph(s.heading, STYLE_HEADING)
        if s.table:
            yield base.table(s.table, report.values)
        for text in s.paragraphs:
            yield base.paragraph(text)
    if report.closing:
        yield base.paragraph("")  # a blank line before the 落款
    for text in report.closing:
        yield base.paragraph(text, STYLE_CLOSING)


def render_docx(report: Report) -> bytes:
    """The report as DOCX, in time linear in its cells: the document and the tables' labels are
    built once per process, the body is written as XML, python-docx saves the package."""
    base = _base(report.draft)
    doc = base.doc
    body = doc.element.body
    end = body.sectPr
    for child in list(body):
        if child is not end:
            body.remove(child)
    for block in _blocks(report, base):
        end.addprevious(block)
    props = doc.core_properties
    props.title = report.title
    props.author = report.data.name
    props.subject = report.data.spec.title
    props.comments = f"{report.data.spec.basis} 格式；由 xltool 生成"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
