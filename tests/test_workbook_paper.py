"""The workbook on paper (issue 14, Deliver 4 and 5): an agency's filled workbook printed by a real
LibreOffice to PDF, read back with poppler. Every line of 说明 is there whole, the official tables
print before the check list, the signature and seal block shares its page with the last table and
says whose return it is and for which year, and the whole workbook takes at most 8 A4 pages.

One LibreOffice conversion for the module; the checks read its text page by page."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from conftest import require

from builders import SPEC, consistent, make_return

pytestmark = pytest.mark.slow

NAME = "某某市某某区人力资源和社会保障局"  # 16 characters, a usual length
YEAR = 2021
MAX_PAGES = 8


def poppler(*args: str) -> str:
    return subprocess.run(args, capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")


def squeezed(text: str) -> str:
    """Text to compare: NFKC (PDF text layers carry Kangxi radicals), no white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module")
def printed(libreoffice, tmp_path_factory) -> tuple[Path, list[str]]:
    """The PDF of a filled workbook and the text of each of its pages (pdftotext -layout)."""
    require([p for p in ("pdftotext", "pdfinfo") if shutil.which(p) is None], "apt-get install poppler-utils")
    folder = tmp_path_factory.mktemp("paper")
    workbook = make_return(folder, consistent(1), code="0012303", name=NAME, year=YEAR)
    pdf = libreoffice.convert(workbook, folder / "pdf", "pdf")
    pages = poppler("pdftotext", "-layout", str(pdf), "-").split("\f")
    return pdf, [p for p in pages if p.strip()]


def page_of(pages: list[str], text: str) -> int:
    """The index of the first page that holds `text` (compared without spaces)."""
    found = [n for n, p in enumerate(pages) if squeezed(text) in squeezed(p)]
    assert found, f"“{text}” printed nowhere"
    return found[0]


def test_at_most_eight_a4_pages(printed) -> None:
    pdf, pages = printed
    info = poppler("pdfinfo", str(pdf))
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    assert count == len(pages) and count <= MAX_PAGES, info
    assert "(A4)" in info, info


def test_every_line_of_the_instructions_prints_whole_on_one_page(printed) -> None:
    _, pages = printed
    first = squeezed(pages[0])
    assert squeezed(NAME) in first and squeezed(f"{YEAR}年{SPEC.title}（填报用表）") in first
    lines = SPEC.raw["instructions"]
    assert len(lines) >= 7
    for line in lines:
        # whole: from its first character to its last, on the first page (cut sides lose both ends)
        assert squeezed(line) in first, line


def test_the_official_tables_print_first_and_the_check_list_last(printed) -> None:
    _, pages = printed
    tables = [page_of(pages, t.heading) for t in SPEC.tables]
    assert tables == sorted(tables)
    checks = page_of(pages, "校验结果")
    narrative = page_of(pages, SPEC.workbook["narrative_title"])
    assert max(tables) < narrative < checks
    assert page_of(pages, "全部校验通过") >= checks  # consistent figures: every check holds
    assert all("校验结果" not in p for p in pages[:checks])


def test_the_signature_page_says_whose_return_it_is_with_the_last_table(printed) -> None:
    _, pages = printed
    preparer, reviewer, head, seal = SPEC.workbook["signatures"]
    signed = page_of(pages, preparer)
    for text in (reviewer, head, seal):
        assert page_of(pages, text) == signed
    page = squeezed(pages[signed])
    assert squeezed(NAME) in page and f"{YEAR}年度" in page
    # not alone: the processing-fee table (the last of the form's tables) is on the same page
    assert squeezed(SPEC.workbook["fee_heading"]) in page
    assert all(squeezed(c.label) in page for c in SPEC.fields_on("narrative") if c.numeric)
