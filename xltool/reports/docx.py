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
which `pdffonts` shows in the PDF."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from xltool.form.spec import Table
from xltool.reports.grid import column_weights, shown_rows
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


def _cell_margins(table) -> None:
    tbl_pr = table._tbl.tblPr
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(CELL_MARGIN_TWIPS))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    look = tbl_pr.find(qn("w:tblLook"))  # the schema's order: tblCellMar comes before tblLook
    if look is not None:
        look.addprevious(margins)
    else:
        tbl_pr.append(margins)


def _row_flags(row, header: bool) -> None:
    """Rows never break across pages; header rows repeat on every page (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader") if header else ("w:cantSplit",):
        el = OxmlElement(tag)
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def _table(doc, table: Table, values) -> None:
    weights = column_weights(table)
    widths = [Mm(TEXT_WIDTH_MM * w / sum(weights)) for w in weights]
    style = STYLE_TABLE_WIDE if table.width >= WIDE_FROM_COLUMNS else STYLE_TABLE
    t = doc.add_table(rows=table.height, cols=table.width)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    _cell_margins(t)
    for col, width in zip(t.columns, widths):
        col.width = width
    for row in t.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    for r, row in enumerate(t.rows):
        _row_flags(row, r < table.header_rows)
    for line in shown_rows(table, values):
        for c in line:
            cell = t.cell(c.row, c.col)
            if c.rowspan > 1 or c.colspan > 1:
                cell = cell.merge(t.cell(c.row + c.rowspan - 1, c.col + c.colspan - 1))
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            p = cell.paragraphs[0]
            p.style = doc.styles[style]
            if c.role in ("rowhead", "corner", "block"):
                p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            p.add_run(c.text).bold = c.role == "block"


def render_docx(report: Report) -> bytes:
    doc = Document()
    _styles(doc)
    section = doc.sections[0]
    _page(section)
    _page_numbers(doc, section)
    if report.draft:
        _draft_header(section)
        doc.add_paragraph(DRAFT_NOTE, style=STYLE_DRAFT)
    doc.add_paragraph(report.title, style=STYLE_TITLE)
    doc.add_paragraph("", style=STYLE_TITLE)  # GB/T 9704: a blank line between title and text
    for text in report.preamble:
        doc.add_paragraph(text)
    for s in report.sections:
        doc.add_paragraph(s.heading, style=STYLE_HEADING)
        if s.table:
            _table(doc, s.table, report.values)
        for text in s.paragraphs:
            doc.add_paragraph(text)
    if report.closing:
        doc.add_paragraph("")  # a blank line before the 落款
    for text in report.closing:
        doc.add_paragraph(text, style=STYLE_CLOSING)
    props = doc.core_properties
    props.title = report.title
    props.author = report.data.name
    props.subject = report.data.spec.title
    props.comments = f"{report.data.spec.basis} 格式；由 xltool 生成"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
