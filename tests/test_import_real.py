"""Real published annual reports (tests/data/published/real/, sources in its README.md) import with
every figure as printed: each `<name>.expected.json` was written by reading the document by hand,
never through xltool's importer, so these tests hold the importer to the page."""

from __future__ import annotations

import functools
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from builders import said_once
from xltool.form.spec import latest_spec
from xltool.published.importing import check, import_source

REFERENCE = Path(__file__).parent / "data" / "published" / "text" / "acheng-2021.txt"
REAL = Path(__file__).parent / "data" / "published" / "real"
EXPECTED = sorted(REAL.glob("*.expected.json"))
NAMES = [p.name.removesuffix(".expected.json") for p in EXPECTED]

# The SHA-256 of each document as found in its archive (README.md): the files are kept unchanged.
SHA256 = {
    "huaian-2024.pdf": "fed22baafaab82a239ca15020fc37f819e7cb62bc96659bf8f3f81c6421e0a92",
    "hongze-2023.pdf": "94a211353fb046b7c869cbb236078deb4d1f7085bd0c2b0dbf85051ec831698c",
    "hongze-2024.pdf": "82ba40ade55a93100236c9d5c9d89416a5a4d3fd3affc4c5d80994917179b83a",
    "pingtan-2024.html": "b4a3df832f212c8c5d9e21851f0a49f9eed892f3ab68147ce2e7ba2602103830",
}


def expected(name: str) -> dict[str, Any]:
    with open(REAL / f"{name}.expected.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f, parse_float=Decimal)
    return data


def document(name: str) -> Path:
    found = [p for p in REAL.glob(f"{name}.*") if not p.name.endswith(".json")]
    assert len(found) == 1, found
    return found[0]


@functools.cache
def imported(name: str) -> Any:
    """import_source on the document, its findings those of verify (reading, then every rule on
    the figures as printed)."""
    result = import_source(str(document(name)))
    result.findings = check(result)
    return result


def broken_rules(values: dict[str, Any]) -> set[str]:
    """The codes of the format's rules (within one year) the figures break; a rule touching a
    figure the report does not print is not judged."""
    broken = set()
    for rule in latest_spec().rules:
        terms = rule.left + rule.right
        if any(t.previous for t in terms) or any(values[t.key] is None for t in terms):
            continue
        side = [sum(t.sign * values[t.key] for t in part) for part in (rule.left, rule.right)]
        if side[0] != side[1]:
            broken.add(rule.code)
    return broken


def test_at_least_three_real_reports_with_one_that_breaks_a_rule() -> None:
    assert len(NAMES) >= 3
    assert any(expected(n)["errors"] for n in NAMES)
    assert (REAL / "README.md").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_the_document_is_kept_as_found(name: str) -> None:
    path = document(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path.name]
    assert path.stat().st_size < 1 << 20
    assert path.name in (REAL / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_the_expectation_covers_every_figure_and_its_rules(name: str) -> None:
    """Every key of the format's three tables and of section 六 is stated (a figure, or null where
    the report prints none), and the rules the hand-read figures break are exactly the ones the
    expectation names: a slip in transcription shows here, before any importer is involved."""
    exp = expected(name)
    assert set(exp["values"]) == set(latest_spec().numeric_keys)
    assert isinstance(exp["agency"], str) and exp["agency"] and 2021 <= exp["year"] <= 2025
    for key, value in exp["values"].items():
        assert value is None or (isinstance(value, int | Decimal) and value >= 0), key
    assert broken_rules(exp["values"]) == set(exp["errors"])


def test_the_two_years_of_one_agency_carry_over() -> None:
    """hongze-2023 and hongze-2024 are one agency's consecutive reports: this year's 上年结转 is last
    year's 结转下年度继续办理, and the stock of normative documents follows on."""
    last, this = expected("hongze-2023")["values"], expected("hongze-2024")["values"]
    assert expected("hongze-2024")["agency"].endswith(expected("hongze-2023")["agency"])  # 淮安市 added in 2024
    for col in ("natural_person", "commercial", "research", "public_interest", "legal_services", "other_org", "total"):
        assert this[f"requests.carried_over.{col}"] == last[f"requests.carried_forward.{col}"]
    stock = last["active.normative_documents.in_force"] + this["active.normative_documents.issued"]
    assert stock - this["active.normative_documents.repealed"] == this["active.normative_documents.in_force"]


@pytest.mark.parametrize("name", NAMES)
def test_the_report_imports_with_every_figure_as_printed(name: str) -> None:
    exp = expected(name)
    result = imported(name)
    got = {k: result.values.get(k) for k in exp["values"]}
    wrong = {k: (got[k], v) for k, v in exp["values"].items() if got[k] != v}
    findings = [(f.code, f.key, f.message) for f in result.findings][:10]
    assert not wrong, f"{name}: {len(wrong)} figures differ, (imported, printed): {dict(list(wrong.items())[:12])}; findings {findings}"
    assert result.agency_name == exp["agency"]
    assert result.year == exp["year"]
    errors = {f.code for f in result.findings if f.severity == "error"}
    assert {c for c in errors if c.startswith("rule-")} == set(exp["errors"])


@pytest.mark.parametrize("name", NAMES)
def test_every_broken_rule_is_found_where_the_page_prints_it(name: str) -> None:
    exp = expected(name)
    for finding in imported(name).findings:
        assert said_once(finding.message), finding.message
        if finding.code in exp["errors"]:
            assert finding.key and finding.location, finding
            assert finding.sheet is None and finding.cell is None


def test_the_label_typo_of_hongze_is_read_with_a_warning() -> None:
    """洪泽区 prints 2.其他法律行政止公开 for 2.其他法律行政法规禁止公开: the row is read, with label-deviates."""
    for name in ("hongze-2023", "hongze-2024"):
        result = imported(name)
        deviates = [f for f in result.findings if f.code == "label-deviates"]
        assert any("其他法律行政法规禁止公开" in f.message for f in deviates), name
        assert result.values["requests.denied_prohibited_by_law.total"] == 0


def test_the_pair_in_one_folder_is_checked_across_years(tmp_path: Path) -> None:
    """verify on a folder holding both 洪泽区 reports checks 2024 against 2023, matching
    淮安市洪泽区人民政府 to 洪泽区人民政府: the pair agrees. With 2023 given as a text report whose
    结转下年度 differs, the 2024 PDF gets rule-carry-over at its row and column, in a folder and with
    --previous alike."""
    from xltool.round.previous import load_previous
    from xltool.round.verify import verify_paths

    for name in ("hongze-2023", "hongze-2024"):
        (tmp_path / f"{name}.pdf").write_bytes(document(name).read_bytes())
    results = {Path(r.file).stem: r for r in verify_paths([tmp_path], show_progress=False)}
    codes = {name: {f.code for f in r.findings} for name, r in results.items()}
    assert "rule-carry-over" not in codes["hongze-2024"] and "rule-stock-continuity" not in codes["hongze-2024"]
    assert Path(results["hongze-2024"].paired_with["file"]).name == "hongze-2023.pdf"  # type: ignore[index]
    assert results["hongze-2024"].agency == {"code": "", "name": "淮安市洪泽区人民政府"}
    from xltool.round.roster import Agency

    coded = {Path(r.file).stem: r for r in verify_paths([tmp_path], roster=[Agency("0517", "洪泽区人民政府")],
                                                         show_progress=False)}
    assert {n: r.agency for n, r in coded.items()} == {n: {"code": "0517", "name": "洪泽区人民政府"} for n in coded}
    assert coded["hongze-2024"].paired_with is not None  # checked against 2023, its roster code kept
    assert codes["hongze-2023"] >= {"rule-review-total"}

    other = tmp_path / "other"
    other.mkdir()
    (other / "hongze-2024.pdf").write_bytes(document("hongze-2024").read_bytes())
    lines = REFERENCE.read_text(encoding="utf-8").split("\n")
    lines[0], lines[2] = "洪泽区人民政府", "2023年政府信息公开工作年度报告"
    at = next(i for i, line in enumerate(lines) if line.strip() == "四、结转下年度继续办理")
    lines[at + 1] = "\t3"  # 自然人: 3 carried forward into 2024, which carries over 0
    (other / "洪泽区2023年报.txt").write_text("\n".join(lines), encoding="utf-8")
    for found in (verify_paths([other], show_progress=False),
                  verify_paths([other / "hongze-2024.pdf"], previous=load_previous(other / "洪泽区2023年报.txt"),
                               show_progress=False)):
        later = next(r for r in found if r.file.endswith("hongze-2024.pdf"))
        carry = [f for f in later.findings if f.code == "rule-carry-over"]
        assert [f.key for f in carry] == ["requests.carried_over.natural_person"], later.findings
        assert carry[0].location and carry[0].location.startswith("第") and "上年" in carry[0].message


def test_the_web_page_is_read_as_a_page_with_its_merged_cells_and_split_labels() -> None:
    """pingtan-2024.html is the government's page as served: the reader takes it as HTML with the date the
    page shows, finds its three tables, keeps a rowspan cell as one Cell over every row it covers, and joins
    a label split over several <p> (with &nbsp; runs after them) into the label as printed."""
    from datetime import date

    from xltool.published.document import Table
    from xltool.published.read import read_document

    doc = read_document(str(document("pingtan-2024")))
    assert doc.kind == "html" and doc.published == date(2025, 3, 10)
    assert doc.title == "平潭综合实验区2024年度政府信息公开工作年度报告"
    tables = [b for b in doc.blocks if isinstance(b, Table)]
    assert [(len(t.rows), len(t.rows[0])) for t in tables] == [(14, 4), (28, 10), (4, 15)]
    requests = tables[1]
    outcome = requests.rows[5][0]
    assert outcome.text == "三、本年度办理结果"
    assert sum(1 for row in requests.rows if row[0] is outcome) == 22  # rowspan="22"
    assert [c.text for c in requests.rows[2][3:]] == ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert requests.rows[23][2].text == "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"


def test_the_web_page_figures_are_located_in_its_tables() -> None:
    """Each figure's location names the page's table, row and cell (counting merged cells as the grid does);
    the fee is the decimal as printed; section 六's 无收取信息处理费情况 states no figure: null, no finding."""
    result = imported("pingtan-2024")
    assert result.locations["requests.new.natural_person"] == "第2个表格第4行第4格"
    assert result.locations["requests.other_no_correction.natural_person"] == "第2个表格第24行第4格"
    assert result.locations["active.fees.amount"] == "第1个表格第14行第2格"
    assert result.locations["review.litigation_after_reconsideration.total"] == "第3个表格第4行第15格"
    assert result.values["active.fees.amount"] == Decimal("18651.06")
    assert all(result.values[f"processing_fee.{k}"] is None for k in ("notices", "notice_amount", "collected"))
    assert not [f for f in result.findings if (f.key or "").startswith("processing_fee.")]


def test_section_six_of_the_web_page_ends_with_the_article() -> None:
    """Section 六 of the page is one sentence; what follows the article on the page (附件下载, the site's link
    lists, 版权所有, 主办单位, browser advice) is the site's frame, not the report's text."""
    other = imported("pingtan-2024").values["narrative.other"]
    assert other.strip() == "2024年，无收取信息处理费情况。"


def test_the_regions_own_report_is_not_late_on_10_march() -> None:
    """平潭综合实验区's report is the region's own (its 管委会 governs the region), due by 31 March
    (条例第四十九条), not a department's report due by 31 January: published 2025-03-10, it is on time."""
    assert "published-late" not in {f.code for f in imported("pingtan-2024").findings}
