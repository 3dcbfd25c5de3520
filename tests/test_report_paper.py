"""The report on paper and on a phone (issue 14, points 3 and 5): the title breaks between the
agency name and 「2021年政府信息公开工作年度报告」, never inside a word; the report ends with its
落款 (who issues it and when), right-aligned; the HTML tables scroll inside their own box.

The slow test converts the coordinator's own report of a merged workbook to PDF through the
product (one LibreOffice conversion, shared by the module) and reads it back with poppler
(pdftotext -layout, -bbox-layout, -raw). The fast tests read the DOCX, HTML and Markdown, and
check that the DOCX says what the Report model says, in the reports that worker processes write
for a folder too."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import docx
import lxml.html
import pytest
from conftest import require

from builders import SPEC, consistent, in_order, make_return, table_labels
from xltool.form.returns import read_return
from xltool.reports import Narrative, Own, compose, from_return, plan, write_reports
from xltool.reports import run as report_run
from xltool.reports.docx import render_docx
from xltool.reports.grid import shown_rows
from xltool.reports.model import DRAFT_NOTE, Report
from xltool.round.merge import merge_paths, write_merged_workbook
from xltool.util import find_soffice

COORDINATOR = ("C001", "某某市某某区人民政府")
ISSUED = date(2022, 1, 20)
CLOSING = (COORDINATOR[1], "2022年1月20日")
REST_OF_TITLE = "2021年政府信息公开工作年度报告"
PT_PER_MM = 72 / 25.4
RIGHT_MARGIN_MM, CLOSING_INDENT_PT = 26, 4 * 16  # GB/T 9704: the 落款 four characters in from the right


def squeezed(text: str) -> str:
    """As read back from a PDF: Kangxi radicals and full-width forms folded (NFKC), no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def poppler(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8", "replace")


def merged_report(base: Path, formats: str) -> Path:
    """The coordinator's own report of a merged workbook of two agencies, with its date of issue,
    written through the product into base/out."""
    returns = base / "returns"
    returns.mkdir()
    for i in (1, 2):
        make_return(returns, consistent(i), code=f"00{i}", name=f"某某区第{i}局")
    merged = base / "汇总.xlsx"
    write_merged_workbook(merge_paths([returns], show_progress=False, workers=1), merged, 2021, *COORDINATOR)
    own = Own(COORDINATOR[0], Narrative(), {}, ISSUED, merged)
    outcome = write_reports(merged, plan(base / "out", formats), Narrative(), own=own)
    assert not outcome.failed and not outcome.refused and len(outcome.written) == len(formats.split(","))
    return base / "out" / f"{COORDINATOR[0]}_{COORDINATOR[1]}"


# -- on paper: the PDF LibreOffice makes of the DOCX ----------------------------------------------

@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    missing = [p for p in ("pdftotext", "pdfinfo") if shutil.which(p) is None]
    require(missing + ([] if find_soffice() else ["soffice"]),
            "apt-get install libreoffice-writer poppler-utils fonts-noto-cjk")
    stem = merged_report(tmp_path_factory.mktemp("paper"), "docx,pdf")
    return stem.with_suffix(".pdf")


def layout_lines(page: str) -> list[str]:
    return [squeezed(line) for line in page.splitlines() if squeezed(line)]


@pytest.mark.slow
def test_the_pdf_title_is_whole_on_two_lines_and_the_closing_ends_the_last_page(pdf: Path) -> None:
    pages = poppler("pdftotext", "-layout", pdf, "-").split("\f")
    pages = [p for p in pages if p.strip()]
    assert int(re.search(r"Pages:\s+(\d+)", poppler("pdfinfo", pdf))[1]) == len(pages)
    first = layout_lines(pages[0])
    assert first[:2] == [COORDINATOR[1], REST_OF_TITLE], "the agency name on one line, the rest whole on the next"
    assert all(REST_OF_TITLE not in line or line == REST_OF_TITLE for line in first)

    last = [line for line in layout_lines(pages[-1]) if not re.fullmatch(r"—\d+—", line)]  # the page number
    assert tuple(last[-2:]) == CLOSING, "the 落款 ends the last page: the agency name, then the date of issue"
    assert not any(CLOSING[1] in p for p in map(squeezed, pages[:-1]))

    # right-aligned, four characters in from the right margin, both lines ending at the same place
    box = poppler("pdftotext", "-bbox-layout", "-f", len(pages), "-l", len(pages), pdf, "-")
    page_width = float(re.search(r'<page width="([\d.]+)"', box)[1])
    lines = {squeezed(re.sub(r"<[^>]+>", "", m[2])): float(m[1])
             for m in re.finditer(r'<line xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>(.*?)</line>', box, re.S)}
    right_edge = page_width - RIGHT_MARGIN_MM * PT_PER_MM
    ends = [lines[text] for text in CLOSING]
    assert abs(ends[0] - ends[1]) < 2, f"the 落款's lines end together: {ends}"
    assert abs(right_edge - CLOSING_INDENT_PT - ends[0]) < 8, f"four characters in from the right margin: {ends}"


@pytest.mark.slow
def test_the_pdf_shows_every_table_label(pdf: Path) -> None:
    text = squeezed(poppler("pdftotext", "-raw", pdf, "-"))
    for table in SPEC.tables:
        labels = table_labels(table)
        missing = [label for label in labels if squeezed(label) not in text]
        assert not missing, f"{table.id}: {missing}"
        assert in_order(text, [squeezed(label) for label in labels]), table.id


# -- on screen and in the files themselves --------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return merged_report(tmp_path_factory.mktemp("files"), "docx,html,md")


def test_the_html_title_breaks_only_between_name_and_year_and_tables_scroll_in_a_box(files: Path) -> None:
    page = files.with_suffix(".html").read_text(encoding="utf-8")
    assert f"<h1 class=\"title\">{COORDINATOR[1]}<wbr>{REST_OF_TITLE}</h1>" in page
    title_rules = re.search(r"\.title\{([^}]*)\}", page)[1]
    assert "word-break:keep-all" in title_rules, "no break inside a word of the title"
    wrap_rules = re.search(r"\.wrap\{([^}]*)\}", page)[1]
    assert "overflow-x:auto" in wrap_rules and "max-width:100%" in wrap_rules
    tree = lxml.html.fromstring(page)
    tables = tree.xpath("//table")
    assert len(tables) == len(SPEC.tables) and all(t.getparent().get("class") == "wrap" for t in tables)
    closing = tree.xpath("//article/footer/p")
    assert [p.text_content() for p in closing] == list(CLOSING), "the report ends with its 落款"
    assert all(p.get("class") == "closing" for p in closing)
    assert "text-align:right" in re.search(r"\.closing\{([^}]*)\}", page)[1]
    assert "".join(tree.xpath("//article")[0].text_content().split()).endswith("".join(CLOSING))


def test_the_html_fragment_carries_the_same_rules_inline(files: Path, tmp_path: Path) -> None:
    merged = files.parent.parent / "汇总.xlsx"
    out = tmp_path / "片段.html"
    own = Own(COORDINATOR[0], Narrative(), {}, ISSUED, merged)
    write_reports(merged, plan(out, fragment=True), Narrative(), own=own)
    fragment = out.read_text(encoding="utf-8")
    assert f">{COORDINATOR[1]}<wbr>{REST_OF_TITLE}</h1>" in fragment
    tree = lxml.html.fromstring(fragment)
    [h1] = tree.xpath("//h1")
    assert "word-break:keep-all" in h1.get("style")
    assert all("overflow-x:auto" in t.getparent().get("style") for t in tree.xpath("//table"))
    assert all("text-align:right" in p.get("style") for p in tree.xpath("//footer/p"))


def test_docx_and_markdown_end_with_the_closing(files: Path) -> None:
    doc = docx.Document(str(files.with_suffix(".docx")))
    assert doc.paragraphs[0].text == f"{COORDINATOR[1]}\n{REST_OF_TITLE}"  # a manual line break (w:br)
    assert doc.paragraphs[0]._p.xml.count("<w:br/>") == 1
    tail = doc.paragraphs[-2:]
    assert tuple(p.text for p in tail) == CLOSING
    assert all(p.style.name == "落款" and p.style.paragraph_format.alignment == 2 for p in tail)  # RIGHT
    assert round(tail[0].style.paragraph_format.right_indent.pt) == CLOSING_INDENT_PT
    md = files.with_suffix(".md").read_text(encoding="utf-8").rstrip().splitlines()
    assert md[-3:] == [CLOSING[0], "", CLOSING[1]]


# -- the DOCX says what the report says ------------------------------------------------------------

def expected_paragraphs(report: Report) -> list[str]:
    """The DOCX's body paragraphs as the report model gives them (tables apart)."""
    out = [DRAFT_NOTE] if report.draft else []
    out += ["\n".join(report.title_lines), "", *report.preamble]
    for s in report.sections:
        out += [s.heading, *s.paragraphs]
    return out + (["", *report.closing] if report.closing else [])


def expected_cells(report: Report) -> list[list[list[str]]]:
    """Each table's rows, one text per grid column: a merged cell's text in every column and row
    it spans (as python-docx reads a merge)."""
    tables = []
    for table in (s.table for s in report.sections if s.table):
        grid = [[""] * table.width for _ in range(table.height)]
        for row in shown_rows(table, report.values):
            for c in row:
                for r in range(c.row, c.row + c.rowspan):
                    grid[r][c.col:c.col + c.colspan] = [c.text] * c.colspan
        tables.append(grid)
    return tables


def docx_text(data: bytes, where: Path) -> tuple[list[str], list[list[list[str]]]]:
    where.write_bytes(data)
    doc = docx.Document(str(where))
    return [p.text for p in doc.paragraphs], [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def test_render_docx_says_what_the_report_says(tmp_path: Path) -> None:
    data = from_return(read_return(make_return(tmp_path, consistent(3))))
    plain = compose(data, Narrative())
    draft_closed = compose(replace(data, problems=["有错误"], issued=ISSUED), Narrative())
    assert draft_closed.draft and draft_closed.closing
    for report in (plain, draft_closed, plain):  # the second plain one: nothing left over from before
        paragraphs, tables = docx_text(render_docx(report), tmp_path / "r.docx")
        assert paragraphs == expected_paragraphs(report)
        assert tables == expected_cells(report)
    assert [figure for row in tables[2] for figure in row][-5:] == ["2", "1", "0", "1", "4"]  # a figure, filled in


def test_worker_processes_write_the_same_reports(tmp_path: Path, monkeypatch) -> None:
    returns = tmp_path / "returns"
    returns.mkdir()
    for i in range(3):
        values = consistent(i + 1)
        if i == 2:
            values["narrative.problems"] = ""
        make_return(returns, values, code=f"00{i}", name=f"某某区第{i}局")
    one = write_reports(returns, plan(tmp_path / "one", "docx,md"), Narrative())
    monkeypatch.setattr(report_run, "PARALLEL_FROM", 2)
    many = write_reports(returns, plan(tmp_path / "many", "docx,md"), Narrative())
    assert [p.name for p in many.written] == [p.name for p in one.written] and len(one.written) == 6
    assert many.unfilled == one.unfilled and many.unfilled and many.drafts == one.drafts
    for a, b in zip(one.written, many.written):
        if a.suffix == ".md":
            assert a.read_bytes() == b.read_bytes()
        else:
            assert docx_text(a.read_bytes(), tmp_path / "a.docx") == docx_text(b.read_bytes(), tmp_path / "b.docx")
