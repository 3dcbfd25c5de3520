"""A real spreadsheet application opens, recalculates and re-saves our workbooks, and our reader
and verifier accept what it writes (golden returns re-saved by LibreOffice)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from builders import SPEC, consistent
from xltool.form.formulas import ALL_PASS, FAIL, PASS
from xltool.form.generate import workbook_bytes
from xltool.form.layout import layout_for
from xltool.form.returns import read_return
from xltool.round.verify import verify_path

LAYOUT = layout_for(SPEC)
CHECKS = [i for i in LAYOUT.formulas if i.sheet == SPEC.sheets["checks"] and not i.key]


def _checks(result: dict) -> dict[str, str]:
    return {item.ref: cell["string"] for item, cell in zip(CHECKS, result["cells"])}


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lo") / "blank.xlsx"
    path.write_bytes(workbook_bytes(2021, "0420", "哈尔滨市阿城区营商环境建设监督局"))
    return path


def _roundtrip(libreoffice, blank: Path, values: dict, name: str) -> tuple[Path, dict]:
    out = blank.with_name(name)
    result = libreoffice.roundtrip(blank, out, set=values, read_names=SPEC.total_keys,
                                   read_cells=[[i.sheet, i.ref] for i in CHECKS])
    return out, result


def test_recalculated_and_resaved_by_libreoffice(libreoffice, blank):
    values = consistent(4)
    out, result = _roundtrip(libreoffice, blank, values, "clean.xlsx")
    ours = read_return(out)
    for key in SPEC.total_keys:  # LibreOffice's totals are ours
        assert result["names"][key]["value"] == ours.values[key], key
    checks = _checks(result)
    overall = next(i.ref for i in CHECKS if i.check == "overall")
    assert checks[overall] == ALL_PASS
    assert all(v in (PASS, ALL_PASS, "0") for v in checks.values()), checks
    assert all(result["protected"][s] for s in SPEC.sheet_names())
    for key, value in values.items():  # our reader reads LibreOffice's file to the same values
        assert ours.values[key] == value, key
    assert verify_path(out).findings == []
    wb = openpyxl.load_workbook(out)  # names, validation and the very hidden sheet survive
    assert set(SPEC.cells) <= set(wb.defined_names)
    # LibreOffice 7.4 saves a very hidden sheet as merely hidden; the identity is signed anyway
    assert wb["_xltool"].sheet_state in ("hidden", "veryHidden")
    assert sum(len(ws.data_validations.dataValidation) for ws in wb) > 0


def test_unbalanced_column_turns_red_and_planted_mistakes(libreoffice, blank):
    values = consistent(4)
    values["requests.new.research"] += 1  # the 科研机构 column no longer balances
    values["requests.partial.natural_person"] = None
    values["review.reconsideration.other"] = "无"
    out, result = _roundtrip(libreoffice, blank, values, "mistakes.xlsx")
    checks = _checks(result)
    balance = {i.check.at: i.ref for i in CHECKS if getattr(i.check, "code", "") == "rule-balance"}
    assert checks[balance["requests.total.research"]] == FAIL
    assert checks[balance["requests.total.commercial"]] == PASS
    overall = next(i.ref for i in CHECKS if i.check == "overall")
    assert checks[overall].startswith("未完成")
    found = {(f.code, f.key) for f in verify_path(out).findings}
    # the 总计 column is not checked while one of its inputs is blank; the narrative's
    # 共收到申请N件 no longer matches the table
    assert found == {("rule-balance", "requests.total.research"), ("value-blank", "requests.partial.natural_person"),
                     ("value-not-number", "review.reconsideration.other"), ("narrative-number-mismatch", "narrative.overview")}


def test_legacy_xls_saved_by_libreoffice(libreoffice, blank, tmp_path):
    clean, _ = _roundtrip(libreoffice, blank, consistent(2), "for-xls.xlsx")
    xls = libreoffice.convert(clean, tmp_path, "xls:MS Excel 97")
    result = verify_path(xls)
    assert result.findings[0].code == "file-legacy-format"
    assert not [f for f in result.findings if f.severity == "error"], [f.message for f in result.findings]
    assert result.values["requests.new.total"] == read_return(clean).values["requests.new.total"]
