"""A second version of the form costs files, not code: a test-only spec (the 2021 form with one
row renamed and one row added, under version 2025) goes through the whole round — generate,
fill, verify, merge, report — and `--previous` finds last year's figures under the old keys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import consistent
from xltool.cli import cli
from xltool.form import spec as spec_module

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
NEW_ROW = "6.以政府信息公开申请形式进行其他活动（测试）"
RENAMED = {f"active.normative_docs.{c}": f"active.normative_documents.{c}" for c in ("issued", "repealed", "in_force")}


def replaced(text: str, changes: list[tuple[str, str]]) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def form_2025(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The test-only spec and its narrative, in a folder named by XLTOOL_SPEC_PATH."""
    folder = tmp_path / "表单"
    folder.mkdir()
    mapping = "".join(f"\n  {new}: {old}" for new, old in RENAMED.items())
    spec = replaced((TEMPLATES / "gov-info-disclosure-2021.yaml").read_text(encoding="utf-8"), [
        ('version: "2021"', 'version: "2025"'),
        ("years: [2021, 2040]", "years: [2025, 2040]"),
        ("basis: 国办公开办函〔2021〕30号", "basis: 测试办函〔2025〕1号"),
        ("{label: 行政规范性文件, key: normative_documents}", "{label: 行政规范性文件, key: normative_docs}"),
        ("each: {row: [regulations, normative_documents]}", "each: {row: [regulations, normative_docs]}"),
        ("active.normative_documents.issued: 规范性文件", "active.normative_docs.issued: 规范性文件"),
        ("              - {label: 5.要求行政机关确认或重新出具已获取信息, key: rejected_reconfirm}\n",
         "              - {label: 5.要求行政机关确认或重新出具已获取信息, key: rejected_reconfirm}\n"
         f"              - {{label: {NEW_ROW}, key: rejected_disguised}}\n"),
        ("narrative_template: gov-info-disclosure-2021.narrative.j2",
         "narrative_template: gov-info-disclosure-2025.narrative.j2\nprevious_keys:" + mapping),
    ])
    (folder / "gov-info-disclosure-2025.yaml").write_text(spec, encoding="utf-8")
    narrative = (TEMPLATES / "gov-info-disclosure-2021.narrative.j2").read_text(encoding="utf-8")
    (folder / "gov-info-disclosure-2025.narrative.j2").write_text(
        replaced(narrative, [("active.normative_documents.", "active.normative_docs.")]), encoding="utf-8")
    monkeypatch.setenv("XLTOOL_SPEC_PATH", str(folder))
    spec_module.reload_specs()
    yield folder
    spec_module.reload_specs()


def values_2025(seed: int) -> dict:
    """The builders' consistent figures under the 2025 keys; the new row reports nothing."""
    old = consistent(seed)
    out = {new: old.pop(prev) for new, prev in RENAMED.items()}
    out.update(old)
    out.update({k: 0 for k in [f"requests.rejected_disguised.{c}" for c in
                               ("natural_person", "commercial", "research", "public_interest", "legal_services",
                                "other_org")]})
    return out


def run(*args: object) -> object:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return result


def test_a_second_version_goes_through_the_round(form_2025: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name,email\n001,甲局,a@example.gov.cn\n002,乙局,b@example.gov.cn\n", encoding="utf-8")
    dist = tmp_path / "下发"
    assert run("generate", "--year", 2025, "--roster", roster, "-o", dist).exit_code == 0
    returns = tmp_path / "收到"
    returns.mkdir()
    for seed, workbook in enumerate(sorted(dist.glob("*.xlsx")), start=1):
        data = tmp_path / f"{seed}.json"
        data.write_text(json.dumps(values_2025(seed), ensure_ascii=False), encoding="utf-8")
        assert run("fill", workbook, "--data", data, "-o", returns / workbook.name).exit_code == 0

    verified = json.loads(run("verify", returns, "--json").output)
    assert [r["status"] for r in verified["returns"]] == ["ok", "ok"]
    read = json.loads(run("read", next(returns.glob("001_*.xlsx")), "--json").output)
    assert read["form_version"] == "2025" and read["year"] == 2025
    assert read["values"]["requests.rejected_disguised.total"] == 0
    assert read["values"]["active.normative_docs.in_force"] == consistent(1)["active.normative_documents.in_force"]

    merged_json = json.loads(run("merge", returns, "-o", tmp_path / "汇总.xlsx", "--json").output)
    both = values_2025(1), values_2025(2)
    assert merged_json["values"]["active.normative_docs.issued"] == sum(v["active.normative_docs.issued"] for v in both)
    assert "requests.rejected_disguised.natural_person" in merged_json["values"]
    assert json.loads(run("verify", tmp_path / "汇总.xlsx", "--json").output)["summary"]["errors"] == 0

    report = tmp_path / "报告.md"
    assert run("report", tmp_path / "汇总.xlsx", "-o", report).exit_code == 0
    text = report.read_text(encoding="utf-8")
    assert NEW_ROW in text and "测试办函〔2025〕1号" in text and "行政规范性文件" in text
    issued = merged_json["values"]["active.normative_docs.issued"]
    assert f"行政规范性文件{issued}件" in text  # the version's own narrative, with the renamed key


def test_previous_figures_of_the_older_version_are_found_under_the_old_keys(form_2025: Path, tmp_path: Path) -> None:
    from builders import make_return

    last_year = make_return(tmp_path, consistent(1), code="001", name="甲局")  # a 2021 return
    workbook = tmp_path / "2025.xlsx"
    assert run("generate", "--year", 2025, "--agency-code", "001", "--agency-name", "甲局", "-o", workbook).exit_code == 0
    figures = values_2025(1)
    figures["active.normative_docs.in_force"] += 7  # does not follow from last year's stock
    figures["active.regulations.in_force"] = consistent(1)["active.regulations.in_force"] + figures[
        "active.regulations.issued"] - figures["active.regulations.repealed"]  # follows
    data = tmp_path / "v.json"
    data.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")
    filled = tmp_path / "filled.xlsx"
    assert run("fill", workbook, "--data", data, "-o", filled).exit_code == 0
    result = json.loads(run("verify", filled, "--previous", last_year, "--json").output)["returns"][0]
    continuity = [f for f in result["findings"] if f["code"] == "rule-stock-continuity"]
    assert [f["key"] for f in continuity] == ["active.normative_docs.in_force"]
    assert re.search(r"上年现行有效件数[^，]*?\b" + str(consistent(1)["active.normative_documents.in_force"]),
                     continuity[0]["message"]), continuity[0]["message"]


def test_no_code_names_a_form_version() -> None:
    named = [f"{p.relative_to(REPO)}:{n}" for p in (REPO / "xltool").rglob("*.py")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"[\"']20\d\d[\"']|〔20\d\d〕|\d{2,}号", line)]
    assert named == []
