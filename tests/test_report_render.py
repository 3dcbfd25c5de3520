"""The report as a person sees it: the PDF that LibreOffice makes of the DOCX, and the HTML page
in a real Chromium (on a phone-sized and a desktop window, and printed). Slow: LibreOffice and
Chromium start for seconds each, so there is one test of each.

Both need outside programs (soffice, poppler-utils, chromium, fonts-noto-cjk): skipped on a
developer's machine without them, failed under CI, where .ci/run installs them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require
from test_report import (
    HEADINGS,
    REF_CODE,
    REF_NAME,
    SPEC,
    expected_figures,
    in_order,
    make_return,
    nonzero_values,
    reference_values,
    run,
    table_labels,
)

from support import chromium
from xltool.form.returns import read_return

pytestmark = pytest.mark.slow
POPPLER = ("pdftoppm", "pdffonts", "pdftotext")
MM_PER_INCH = 25.4


def need(*programs: str) -> None:
    missing = [p for p in programs if (chromium.find_chromium() if p == "chromium" else shutil.which(p)) is None]
    require(missing, "apt-get install poppler-utils chromium fonts-noto-cjk")


def poppler(*args: str) -> str:
    return subprocess.run(args, capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def embedded_fonts(pdf: Path) -> list[str]:
    """The PDF's font names, after checking each is embedded and maps its glyphs to text."""
    rows = [line.split() for line in poppler("pdffonts", str(pdf)).splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" and r[-3] == "yes" for r in rows), "every font embedded, with ToUnicode"
    return [r[0] for r in rows]


def page_images(pdf: Path, outdir: Path, dpi: int = 40) -> list[tuple[int, int, bytes]]:
    """Each page as (width, height, grey pixels), via pdftoppm's PGM output."""
    poppler("pdftoppm", "-gray", "-r", str(dpi), str(pdf), str(outdir / "page"))
    images = []
    for path in sorted(outdir.glob("page-*.pgm"), key=lambda p: int(p.stem.split("-")[-1])):
        data = path.read_bytes()
        magic, width, height, depth, pixels = data.split(maxsplit=4)
        assert magic == b"P5" and depth == b"255"
        images.append((int(width), int(height), pixels[: int(width) * int(height)]))
    return images


def ink_columns(image: tuple[int, int, bytes], threshold: int = 200) -> tuple[int, int]:
    """The leftmost and rightmost pixel columns with anything drawn."""
    width, height, pixels = image
    columns = [x for x in range(width) if any(pixels[y * width + x] < threshold for y in range(0, height, 2))]
    return (columns[0], columns[-1]) if columns else (width, -1)


def assert_inside_margins(images, left_mm: float, right_mm: float, dpi: int) -> None:
    """Nothing is drawn in the side margins: no table runs past the text area or off the page."""
    for number, image in enumerate(images, 1):
        first, last = ink_columns(image)
        width_mm = image[0] * MM_PER_INCH / dpi
        assert first * MM_PER_INCH / dpi >= left_mm - 2, f"page {number}: ink at {first}px in the left margin"
        assert last * MM_PER_INCH / dpi <= width_mm - right_mm + 2, f"page {number}: ink in the right margin"


def assert_tables_read_back(text: str, values: dict) -> None:
    """Every heading in order, and every table's labels in the official reading order, then its
    figures, in the text the pages give back (no label lost, none drawn as a box)."""
    flat = squeezed(text)
    assert in_order(flat, [squeezed(h) for h in HEADINGS])
    for table in SPEC.tables:
        assert in_order(flat, [squeezed(label) for label in table_labels(table)]), table.id
    review = " ".join(expected_figures(values, "review"))
    assert re.search(r"\s+".join(expected_figures(values, "review")), text), f"table 3's row {review}"


@pytest.fixture(scope="module")
def nonzero(tmp_path_factory) -> tuple[Path, dict]:
    path = make_return(tmp_path_factory.mktemp("render") / "r.xlsx", nonzero_values())
    return path, read_return(path).values


def test_pdf_pages_show_whole_tables_in_chinese(libreoffice, nonzero, tmp_path: Path) -> None:
    need(*POPPLER)
    ret, values = nonzero
    returns = tmp_path / "returns"
    returns.mkdir()
    shutil.copy(ret, returns / "a.xlsx")
    make_return(returns / "b.xlsx", reference_values(), "002", "乙局")
    result = run(returns, "-o", tmp_path / "out", "--format", "docx,pdf")  # both in one LibreOffice start
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".docx", ".docx", ".pdf", ".pdf"]
    [pdf] = [p for p in (tmp_path / "out").glob("*.pdf") if p.name.startswith(REF_CODE)]
    assert any("CJK" in name for name in embedded_fonts(pdf)), "a CJK font (Noto CJK) is embedded"
    text = poppler("pdftotext", "-raw", str(pdf), "-")
    assert f"{REF_NAME}2021年" in squeezed(text)
    assert_tables_read_back(text, values)
    assert_inside_margins(page_images(pdf, tmp_path), left_mm=28, right_mm=26, dpi=40)
    # the page of table 3: its 15 columns all on the page, in a row of the layout
    pages = poppler("pdftotext", "-layout", str(pdf), "-").split("\f")
    [page] = [p for p in pages if "复议后起诉" in p]
    assert all(label in squeezed(page) for label in ("行政复议", "行政诉讼", "未经复议直接起诉", "复议后起诉"))
    assert re.search(r"\s+".join(expected_figures(values, "review")), page)


MEASURE = """<script>
window.addEventListener('load', () => {
  const wraps = [...document.querySelectorAll('.wrap')].map(w => ({
    client: w.clientWidth, scroll: w.scrollWidth, overflow: getComputedStyle(w).overflowX,
    table: Math.ceil(w.querySelector('table').getBoundingClientRect().width)}));
  // tofu: a character drawn exactly like one no font has (U+10FFFD) is drawn as a box
  const draw = (font, ch) => {
    const c = document.createElement('canvas'); c.width = c.height = 48;
    const g = c.getContext('2d'); g.font = font; g.fillText(ch, 4, 36); return c.toDataURL(); };
  const fonts = [...new Set(['.report', '.title', '.heading', '.table'].map(
    s => getComputedStyle(document.querySelector(s)).font))];
  const chars = [...new Set(document.body.innerText)].filter(ch => ch.codePointAt(0) > 0x2e80);
  const boxes = fonts.flatMap(f => chars.filter(ch => draw(f, ch) === draw(f, String.fromCodePoint(0x10FFFD))));
  const out = document.createElement('pre');
  out.id = 'measure';
  out.textContent = JSON.stringify({viewport: innerWidth, page: document.documentElement.scrollWidth,
                                    wraps, chars: chars.length, boxes});
  document.body.appendChild(out);
});
</script>"""


def probe(page: Path, name: str, extra: str) -> Path:
    """A test copy of the page with something added at the end of its body."""
    copy = page.with_name(f"probe-{name}.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", extra + "</body>"), encoding="utf-8")
    return copy


def measure(page: Path, width: int) -> dict:
    """Layout numbers from inside the page (a test copy with a measuring script)."""
    dom = chromium.dump_dom(probe(page, f"measure-{width}", MEASURE), width)
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)
    assert found, dom[-500:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_html_page_in_chromium_on_a_phone_a_desktop_and_printed(nonzero, tmp_path: Path) -> None:
    need("chromium", *POPPLER)
    ret, values = nonzero
    page = tmp_path / "report.html"
    assert run(ret, "-o", page).exit_code == 0

    phone = measure(page, 400)
    assert phone["chars"] > 300 and phone["boxes"] == [], "every Chinese character has a glyph (no tofu)"
    assert phone["page"] <= phone["viewport"], "the page itself never scrolls sideways"
    for wrap in phone["wraps"]:
        assert wrap["overflow"] == "auto" and wrap["table"] <= wrap["scroll"] + 1, "a wide table scrolls, whole"
    assert phone["wraps"][-1]["scroll"] > phone["wraps"][-1]["client"], "table 3 scrolls rather than squeezes"
    desktop = measure(page, 1280)
    assert all(w["scroll"] <= w["client"] for w in desktop["wraps"]), "on a desktop every table fits"

    # what a person sees of section 四 on a desktop (the other sections hidden in a test copy, since
    # headless Chromium's screenshot ignores scrolling): table 3 drawn whole, inside the page column
    only_review = probe(page, "review", "<style>article>section:not(#report-review),article>p,h1{display:none}</style>")
    shot = chromium.screenshot(only_review, tmp_path / "review.png", 1280, 400)
    width, height, rows = chromium.read_png(shot)
    inked = [x for x in range(width) if any(rows[y][x] < 128 for y in range(0, height, 3))]
    assert inked, "the screenshot shows something"
    assert inked[0] > width * 0.1 and inked[-1] < width * 0.9, "table 3 sits inside the page column"

    printed = chromium.print_to_pdf(page, tmp_path / "printed.pdf")
    embedded_fonts(printed)  # Chromium embeds nameless Type 3 fonts: the text read back shows no boxes
    assert_tables_read_back(poppler("pdftotext", "-raw", str(printed), "-"), values)
    assert_inside_margins(page_images(printed, tmp_path), left_mm=20, right_mm=20, dpi=40)
