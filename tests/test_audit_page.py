"""`xltool verify FOLDER --html 检查结果.html` (issue 15, Deliver 3): one row per report or
workbook — the real published PDFs, the reference text, an HTML report and a workbook made by the
product — with the agency, year, source, counts and every finding at its location; hostile text
escaped; the default order errors first; sortable in a real headless Chromium; printable on A4
with the table header on every page; written only where it may be, the exit status unchanged."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from click.testing import CliRunner
from conftest import require

from builders import SPEC, consistent, make_return
from support import chromium
from xltool.cli import cli
from xltool.findings import finding
from xltool.form.returns import read_return
from xltool.reports.html import render_html as render_report
from xltool.reports.model import Narrative, compose, from_return
from xltool.round.audit import render_html
from xltool.round.verify import FileResult

DATA = Path(__file__).parent / "data" / "published"
HOSTILE = '哈尔滨市<script>alert("x")</script>&amp;局'
LAPTOP = 1366


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """年报/: the three real PDFs, the reference text, the reference text under a hostile agency
    name, an HTML report xltool wrote, and a workbook with two blank cells."""
    root = tmp_path_factory.mktemp("audit")
    reports = root / "年报"
    reports.mkdir()
    for pdf in sorted((DATA / "real").glob("*.pdf")):
        shutil.copy(pdf, reports / pdf.name)
    shutil.copy(DATA / "text" / "acheng-2021.txt", reports / "acheng-2021.txt")
    text = (DATA / "text" / "acheng-2021.txt").read_text(encoding="utf-8").split("\n", 1)
    (reports / "hostile.txt").write_text(HOSTILE + "\n" + text[1], encoding="utf-8")
    made = root / "made"
    made.mkdir()
    ret = read_return(make_return(made, code="002", name="某某区教育局"))
    (reports / "jiaoyu-2021.html").write_bytes(render_report(compose(from_return(ret), Narrative())))
    values = consistent()
    values["requests.new.natural_person"] = None
    values["active.regulations.issued"] = None
    make_return(reports, values, code="003", name="某某区卫生健康委员会", filename="003_某某区卫生健康委员会.xlsx")
    return reports


@pytest.fixture(scope="module")
def audit(folder: Path) -> dict:
    """verify --json --html, run once: the exit status, the JSON, the page and its parsed rows."""
    page = folder.parent / "检查结果.html"
    result = run("verify", str(folder), "--json", "--html", str(page))
    html = page.read_text(encoding="utf-8")
    tree = lxml.html.fromstring(html)
    return {"exit": result.exit_code, "json": json.loads(result.output), "page": page, "html": html, "tree": tree,
            "rows": rows_of(tree)}


def rows_of(tree: Any) -> dict[str, Any]:
    """The page's rows by file name, in the page's order."""
    trs: list[Any] = tree.xpath('//table[@id="results"]/tbody/tr')
    return {tr.get("data-file"): tr for tr in trs}


def text(el) -> str:
    return " ".join(el.text_content().split())


def cell(row, name: str):
    return row.xpath(f'./td[contains(concat(" ", @class, " "), " {name} ")]')[0]


def test_every_report_and_workbook_has_its_row(audit: dict) -> None:
    rows = audit["rows"]
    assert set(rows) == {"hongze-2023.pdf", "hongze-2024.pdf", "huaian-2024.pdf", "acheng-2021.txt", "hostile.txt",
                         "jiaoyu-2021.html", "003_某某区卫生健康委员会.xlsx"}
    expect = {"hongze-2023.pdf": ("洪泽区人民政府", "2023年度", "PDF"),
              "huaian-2024.pdf": ("淮安市人民政府", "2024年度", "PDF"),
              "acheng-2021.txt": ("哈尔滨市阿城区营商环境建设监督局", "2021年度", "文本"),
              "jiaoyu-2021.html": ("某某区教育局", "2021年度", "网页"),
              "003_某某区卫生健康委员会.xlsx": ("某某区卫生健康委员会", "2021年度", "Excel")}
    for file, (name, year, kind) in expect.items():
        row = rows[file]
        assert text(cell(row, "agency")).startswith(name), file
        assert text(cell(row, "year")) == year, file
        assert cell(row, "source").xpath('.//span[@class="kind"]')[0].text == kind, file
    # a workbook has a code; a published report has none
    assert "代码 003" in text(cell(rows["003_某某区卫生健康委员会.xlsx"], "agency"))
    assert "代码" not in text(cell(rows["huaian-2024.pdf"], "agency"))


def test_counts_per_row_and_the_summary_match_verify(audit: dict) -> None:
    by_file = {Path(r["file"]).name: r for r in audit["json"]["returns"]}
    for file, row in audit["rows"].items():
        findings = by_file[file]["findings"]
        errors = sum(f["severity"] == "error" for f in findings)
        assert text(cell(row, "errors")) == str(errors), file
        assert text(cell(row, "warnings")) == str(len(findings) - errors), file
        assert len(row.xpath('.//li[contains(@class, "finding")]')) == len(findings), file
        assert row.get("data-status") == by_file[file]["status"]
    s = audit["json"]["summary"]
    tree = audit["tree"]
    assert text(tree.get_element_by_id("count-total")) == f"共 {s['files']} 份"
    assert text(tree.get_element_by_id("count-ok")) == f"通过 {s['ok']}"
    assert text(tree.get_element_by_id("count-warnings")) == f"有警告 {s['warnings']}"
    assert text(tree.get_element_by_id("count-errors")) == f"有错误 {s['errors']}"
    assert s == {"files": 7, "ok": 4, "warnings": 1, "errors": 2}


def test_hongze_2023_shows_its_two_review_total_errors_at_their_location(audit: dict) -> None:
    row = audit["rows"]["hongze-2023.pdf"]
    assert text(cell(row, "state")) == "有错误" and text(cell(row, "errors")) == "2"
    found = row.xpath('.//li[@data-code="rule-review-total"]')
    assert len(found) == 2
    where = [text(li.find_class("where")[0]) for li in found]
    assert where == ["位置：第4页第2个表格第4行第5格", "位置：第4页第2个表格第4行第15格"]
    assert all("error" in li.get("class") and "复议诉讼总计不符" in text(li) for li in found)
    assert "总计 0，而 结果维持 10＋结果纠正 1" in text(found[0])
    # the errors come before the warnings
    codes = [li.get("data-code") for li in row.xpath('.//li[contains(@class, "finding")]')]
    assert codes[:2] == ["rule-review-total", "rule-review-total"] and set(codes[2:]) == {"label-deviates"}


def test_a_workbooks_findings_point_at_sheet_and_cell(audit: dict) -> None:
    row = audit["rows"]["003_某某区卫生健康委员会.xlsx"]
    blanks = row.xpath('.//li[@data-code="value-blank"]')
    assert len(blanks) == 2
    for li in blanks:
        assert re.fullmatch(r"位置：“[^”]+”表 [A-Z]+[0-9]+", text(li.find_class("where")[0])), text(li)
    assert SPEC.cells["requests.new.natural_person"].label in text(row)


def test_the_cross_year_pair_is_named_on_the_later_report(audit: dict) -> None:
    paired = audit["rows"]["hongze-2024.pdf"].find_class("paired")
    assert len(paired) == 1 and "2023年度报告（hongze-2023.pdf）" in text(paired[0])
    assert not audit["rows"]["hongze-2023.pdf"].find_class("paired")


def test_hostile_text_is_escaped(audit: dict) -> None:
    html = audit["html"]
    assert html.count("<script") == 1  # the page's own sorting script, nothing from a report
    assert '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;amp;局' in html
    name = audit["rows"]["hostile.txt"].find_class("name")[0]
    assert name.text_content() == HOSTILE


def test_the_default_order_is_errors_first(audit: dict) -> None:
    statuses = [tr.get("data-status") for tr in audit["tree"].xpath('//table[@id="results"]/tbody/tr')]
    assert statuses == sorted(statuses, key=["errors", "warnings", "ok"].index)
    assert statuses[0] == "errors"


def test_html_leaves_the_exit_status_and_the_json_unchanged(folder: Path, audit: dict) -> None:
    plain = run("verify", str(folder), "--json")
    assert audit["exit"] == plain.exit_code == 1
    assert audit["json"] == json.loads(plain.output)


def test_the_page_is_self_contained(audit: dict) -> None:
    tree = audit["tree"]
    assert not tree.xpath("//link | //img | //iframe | //script[@src] | //*[@style and contains(@style, 'url(')]")
    assert "url(" not in audit["html"] and "@import" not in audit["html"]
    assert tree.xpath("//html/@lang") == ["zh-CN"]


def test_it_refuses_to_write_over_an_input_or_into_an_input_folder(folder: Path, tmp_path: Path) -> None:
    report = folder / "jiaoyu-2021.html"
    before = report.read_bytes()
    result = run("verify", str(report), "--html", str(report))
    assert result.exit_code == 2 and "输入文件不能被覆盖" in result.output
    assert report.read_bytes() == before
    inside = folder / "检查结果.html"
    result = run("verify", str(folder), "--html", str(inside))
    assert result.exit_code == 2 and "在输入文件夹" in result.output and not inside.exists()
    result = run("verify", str(report), "--html", str(tmp_path / "检查结果.txt"))
    assert result.exit_code == 2 and ".html" in result.output
    # the page lands beside a single input file, written whole; the exit status is verify's own
    page = tmp_path / "单份.html"
    result = run("verify", str(folder / "huaian-2024.pdf"), "--html", str(page))
    assert result.exit_code == 0 and f"检查结果页面：{page}" in result.output
    assert "淮安市人民政府" in page.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["单份.html"]  # no temporary file left


def test_notes_publication_date_and_unreadable_files() -> None:
    imported = FileResult("某某局.xlsx", {"code": "009", "name": "某某局"}, [], year=2021,
                          source={"kind": "xlsx", "imported_from": {"kind": "pdf", "file": "某某局.pdf"}},
                          notes=["本表由已发布的报告导入（PDF，某某局.pdf），不是该单位填报并签章的报表。"])
    dated = FileResult("某某区.html", {"code": "", "name": "某某区人民政府"}, [finding("published-late", "发布日期晚于规定。")],
                       year=2021, kind="html", source={"file": "某某区.html", "kind": "html", "published": "2022-04-02"})
    broken = FileResult("坏.pdf", None, [finding("tables-missing", "表格是图片。")], kind="pdf")
    tree = lxml.html.fromstring(render_html([imported, dated, broken]))
    rows = rows_of(tree)
    assert "注：本表由已发布的报告导入" in text(cell(rows["某某局.xlsx"], "source"))
    assert "发布日期：2022-04-02" in text(cell(rows["某某区.html"], "source"))
    assert text(cell(rows["坏.pdf"], "agency")) == "（无法识别单位）" and text(cell(rows["坏.pdf"], "year")) == "—"
    assert "需要人工录入" in text(cell(rows["坏.pdf"], "findings"))
    assert list(rows) == ["坏.pdf", "某某区.html", "某某局.xlsx"]
    assert "没有找到" in render_html([]) and "<table" not in render_html([])


# -- in a real browser -------------------------------------------------------------------------------------

SORT = """<script>
addEventListener('load', () => {
  const order = () => [...document.querySelectorAll('#results tbody tr')].map(tr => tr.dataset.file);
  const head = col => document.querySelector(`#results th[data-col="${col}"]`);
  const out = {initial: order()};
  head('year').click(); out.year_up = order(); out.year_sort = head('year').getAttribute('aria-sort');
  head('year').click(); out.year_down = order();
  head('errors').click(); out.errors = order();
  head('agency').click(); out.agency = order();
  out.page = document.documentElement.scrollWidth; out.viewport = innerWidth;
  const pre = document.createElement('pre');
  pre.id = 'sorted';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def need_chromium() -> None:
    require([] if chromium.find_chromium() else ["chromium"], "apt-get install chromium")


@pytest.mark.slow
def test_headers_sort_in_a_browser_and_the_page_fits_a_laptop(audit: dict, tmp_path: Path) -> None:
    need_chromium()
    page = tmp_path / "sort.html"
    page.write_text(audit["html"].replace("</body>", SORT + "</body>"), encoding="utf-8")
    dom = chromium.dump_dom(page, LAPTOP)
    found = re.search(r'<pre id="sorted">(.*?)</pre>', dom, re.S)
    assert found, dom[-500:]
    got = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    rows = audit["rows"]
    year = {f: int(text(cell(r, "year"))[:4]) for f, r in rows.items()}
    errors = {f: int(text(cell(r, "errors"))) for f, r in rows.items()}
    assert got["initial"] == list(rows)
    assert [year[f] for f in got["year_up"]] == sorted(year.values()) and got["year_sort"] == "ascending"
    assert [year[f] for f in got["year_down"]] == sorted(year.values(), reverse=True)
    assert [errors[f] for f in got["errors"]] == sorted(errors.values(), reverse=True)  # most errors first
    assert set(got["agency"]) == set(rows) and got["agency"] != got["errors"]
    assert got["page"] <= got["viewport"], "the page scrolls sideways at a laptop's width"


@pytest.mark.slow
def test_it_prints_on_a4_with_the_header_on_every_page(audit: dict, tmp_path: Path) -> None:
    need_chromium()
    import pdfplumber

    pdf = chromium.print_to_pdf(audit["page"], tmp_path / "检查结果.pdf")
    png = chromium.screenshot(audit["page"], tmp_path / "检查结果.png", LAPTOP, 900)
    width, height, _ = chromium.read_png(png)
    assert (width, height) == (LAPTOP, 900)
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) >= 2, "expected the findings to run over more than one page"
        for page in doc.pages:
            assert (round(page.width), round(page.height)) == (842, 595)  # A4 landscape
            words = "".join(w["text"] for w in page.extract_words())
            assert "状态" in words and "问题及位置" in words, words[:200]  # the header, repeated
        # Chromium's text layer carries Kangxi radicals (⼯ for 工): compared after NFKC
        everything = unicodedata.normalize("NFKC", "".join(w["text"] for p in doc.pages for w in p.extract_words()))
    # (页 may come out as the radical ⻚, which NFKC leaves alone)
    assert "个表格第4行第15格" in everything and '<script>alert("x"' in everything
    assert "⇅" not in everything  # the sorting cues stay on screen
