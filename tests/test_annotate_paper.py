"""The annotated copy on paper and by name: its 审核意见 sheet printed by LibreOffice fits the page
width and shows every message whole, and the copy is named 代码_名称_审核意见.xlsx (_2, _3 for
further versions, safe and bounded to 255 bytes)."""

from __future__ import annotations

import csv
import io
import math
import subprocess
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from builders import consistent, make_return
from xltool.findings import Finding, finding
from xltool.round.annotate import SUMMARY_SHEET, annotate_bytes, annotated_name, row_height, wrapped_lines
from xltool.round.verify import verify_path
from xltool.util import MAX_NAME_BYTES

AGENCY = "某某市某某区人民政府办公室（某某区大数据和政务服务管理局）"
LONG = ("请核对本表中申请人类型与办理结果的对应关系：按照《中华人民共和国政府信息公开条例》第三十三条的规定，"
        "requests.granted.natural_person 等指标之和应等于本年新收与上年结转之和减去结转下年度继续办理的件数，"
        "差额 12 件（1,234.5 万元）。")


def plain(text: str) -> str:
    """Text as compared with a PDF's text layer: NFKC (Kangxi radicals, full-width forms), no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def return_with_many_findings(folder: Path) -> tuple[Path, list[Finding]]:
    values = consistent()
    for key in [k for k in values if k.startswith("requests.")][:40]:
        values[key] = None  # forty real value-blank findings, each naming a long cell label
    path = make_return(folder, values, code="007", name=AGENCY)
    findings = verify_path(path).findings
    blank = [f for f in findings if f.cell]  # long findings on cells that hold others: notes join them
    findings += [finding("fee-unit-suspect", f"第{n}处：" + LONG * n, sheet=blank[n].sheet, cell=blank[n].cell,
                         unit="万元") for n in range(1, 4)]
    findings.append(finding("narrative-number-mismatch", "正文说“收到申请 3 件”，\n表二为 5 件：请核对。",
                            sheet=blank[0].sheet, cell=blank[0].cell))
    return path, findings


# -- fast: the sheet as written ------------------------------------------------------------------

def test_the_summary_is_set_up_for_a4_within_the_page_width_with_rows_tall_enough(tmp_path: Path) -> None:
    path, findings = return_with_many_findings(tmp_path)
    ws = openpyxl.load_workbook(io.BytesIO(annotate_bytes(path.read_bytes(), findings, AGENCY)))[SUMMARY_SHEET]
    setup = ws.page_setup
    assert ws.sheet_properties.pageSetUpPr.fitToPage and (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert setup.paperSize == 9 and setup.orientation == "portrait"
    widths = [ws.column_dimensions[c].width for c in "ABCDE"]
    margins = ws.page_margins.left + ws.page_margins.right
    assert sum(w * 7 + 5 for w in widths) <= (8.27 - margins) * 96  # A4 in pixels, at Excel's 7 px a unit
    assert ws.print_title_rows == "$4:$4"
    for row in range(5, 5 + len(findings)):
        message = ws.cell(row, 5)
        assert message.alignment.wrap_text
        lines = wrapped_lines(message.value, widths[4])
        assert ws.row_dimensions[row].height >= lines * 15, (row, message.value)


def test_row_heights_count_chinese_as_two_columns() -> None:
    assert wrapped_lines("中" * 8, 12) == 2 and wrapped_lines("a" * 8, 12) == 1
    assert wrapped_lines("中" * 40, 45) == 3 and wrapped_lines("中" * 40 + "\n" + "中", 45) == 4
    assert wrapped_lines("x" * 200, 10) >= 200 // 10  # a word longer than a line still breaks
    assert row_height([("短", 45), ("中" * 60, 45)]) > row_height([("短", 45)])


# -- fast: names -----------------------------------------------------------------------------------

def test_copies_are_named_code_name_with_a_number_for_further_versions() -> None:
    taken: set[str] = set()
    names = [annotated_name("001", "某某局", taken) for _ in range(3)]
    assert names == ["001_某某局_审核意见.xlsx", "001_某某局_审核意见_2.xlsx", "001_某某局_审核意见_3.xlsx"]
    assert annotated_name("ABC", "x", taken) != annotated_name("abc", "X", taken)  # one name on Windows or macOS


@pytest.mark.parametrize("code, name", [
    ("001", "局" * 300),
    ("0" * 300, "某某局"),
    ("../../001", "../某局/\\:*?\"<>|\x00\x07"),
    ("001", "\u202e某某局\u200b\u2028"),
    ("001", ""),
])
def test_names_are_safe_and_bounded(code: str, name: str) -> None:
    taken: set[str] = set()
    for version in ("", "_2"):
        made = annotated_name(code, name, taken)
        assert len(made.encode("utf-8")) <= MAX_NAME_BYTES and made.endswith(f"_审核意见{version}.xlsx")
        assert not any(ch in made for ch in '/\\:*?"<>|\x00\x07\u202e\u200b\u2028') and not made.startswith(".")


def test_verify_names_the_copy_after_the_agency_in_the_return(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from xltool.cli import cli

    bad = consistent()
    bad["requests.granted.commercial"] += 1
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        make_return(tmp_path / folder, bad, code="007", name=AGENCY, filename="报表.xlsx")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "a"), str(tmp_path / "b"),
                                      "--annotate", str(tmp_path / "批注")])
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "批注").iterdir()) == [f"007_{AGENCY}_审核意见.xlsx",
                                                                   f"007_{AGENCY}_审核意见_2.xlsx"]


# -- slow: printed by LibreOffice ----------------------------------------------------------------

@pytest.fixture(scope="module")
def printed(libreoffice, tmp_path_factory) -> tuple[list[Finding], dict[int, list[dict]], openpyxl.Workbook]:
    """The copy of a return with many findings, long ones among them, converted to PDF once;
    the PDF's words by page (pdftotext -tsv)."""
    folder = tmp_path_factory.mktemp("paper")
    path, findings = return_with_many_findings(folder)
    copy = folder / "copy.xlsx"
    copy.write_bytes(annotate_bytes(path.read_bytes(), findings, AGENCY))
    pdf = libreoffice.convert(copy, folder / "pdf", "pdf")
    tsv = subprocess.run(["pdftotext", "-tsv", str(pdf), "-"], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    pages: dict[int, list[dict]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row["level"] == "5":
            pages.setdefault(int(row["page_num"]), []).append(
                {"text": row["text"], "x": float(row["left"]), "y": float(row["top"])})
    return findings, pages, openpyxl.load_workbook(copy)


def summary_pages(pages: dict[int, list[dict]]) -> list[int]:
    """The summary's pages: the first, and each next one that starts with the repeated headings."""
    out = [1]
    while out[-1] + 1 in pages:
        top = sorted(pages[out[-1] + 1], key=lambda w: (round(w["y"]), w["x"]))[:5]
        if [w["text"] for w in top] != ["序号", "类别", "位置", "代码", "说明"]:
            break
        out.append(out[-1] + 1)
    return out


def column_text(words: list[dict], left: float, right: float = math.inf) -> str:
    """The words of a page between two x positions, in reading order, as one plain text."""
    inside = [w for w in words if left - 1 <= w["x"] < right - 1]
    return plain("".join(w["text"] for w in sorted(inside, key=lambda w: (round(w["y"]), w["x"]))))


@pytest.mark.slow
def test_every_message_prints_whole_beside_its_row(printed) -> None:
    findings, pages, _ = printed
    on_pages = summary_pages(pages)
    texts = []
    for page in on_pages:
        words = pages[page]
        heading = {w["text"]: w["x"] for w in words if w["text"] in ("代码", "说明")}
        assert set(heading) == {"代码", "说明"}, page  # the 说明 column on the page of its rows
        texts.append((column_text(words, heading["代码"], heading["说明"]), column_text(words, heading["说明"])))
    for f in findings:
        assert any(plain(f.message) in messages and plain(f.code) in codes for codes, messages in texts), f.message
    first = plain(" ".join(w["text"] for w in pages[1]))
    assert plain(f"审核意见：{AGENCY}") in first and plain("原样报送即可（本页不影响审核）。") in first


@pytest.mark.slow
def test_the_summary_takes_the_pages_its_rows_need(printed) -> None:
    """Fitted to the width only: its pages run down the rows (never a second column of pages), as
    many as the rows' heights fill at most."""
    findings, pages, book = printed
    ws = book[SUMMARY_SHEET]
    usable = 841.9 - 72 * (ws.page_margins.top + ws.page_margins.bottom)
    heights = [ws.row_dimensions[r].height or 15 for r in range(1, 5 + len(findings))]
    assert 2 <= len(summary_pages(pages)) <= math.ceil(sum(heights) / (usable - max(heights)))
