"""xltool merge: exact sums of the included returns, nothing double-counted or silently dropped,
and a merged workbook that is itself a valid return.

Every return is built through the product: `workbook_bytes`, then `fill_bytes` with realistic
figures that satisfy the rules (per column of table 2: new + carried_over = outcomes + carried_forward).
"""

from __future__ import annotations

import json
import os
import random
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xltool.commands.merge import merge as merge_command
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.form.returns import read_return
from xltool.form.spec import get_spec
from xltool.round.merge import DETAIL_SHEET, NOTES_SHEET, merge_paths, write_merged_workbook
from xltool.round.roster import Agency
from xltool.round.verify import verify_path

SPEC = get_spec("gov-info-disclosure", "2021")
TABLE2 = SPEC.table("requests")
COLUMNS = [c.key for c in TABLE2.columns if c.key != "total"]
OUTCOMES = [r.key for r in TABLE2.rows if r.key not in ("new", "carried_over", "total", "carried_forward")]
INPUTS = [k for k in SPEC.numeric_keys if not SPEC.cells[k].is_total]
TEXT = {
    "narrative.overview": "本机关认真贯彻落实政府信息公开条例，主动公开工作稳步推进。",
    "narrative.problems": "公开内容的规范性仍需加强，下一步将完善工作机制。",
    "narrative.other": "依据《政府信息公开信息处理费管理办法》收取信息处理费。",
    "contact.address": "某某市某某路一号", "contact.postcode": "100000", "contact.phone": "010-12345678",
    "contact.website": "http://www.example.gov.cn", "contact.email": "gk@example.gov.cn",
    "contact.preparer": "张三", "contact.reviewer": "李四", "contact.head": "王五",
}


def figures(seed: int) -> dict[str, int | Decimal]:
    """A consistent set of input figures: every rule holds, most cells nonzero."""
    rnd = random.Random(seed)
    v: dict[str, int | Decimal] = {}
    for col in COLUMNS:
        outcomes = sum(v.setdefault(f"requests.{row}.{col}", rnd.randint(0, 6)) for row in OUTCOMES)
        forward = v.setdefault(f"requests.carried_forward.{col}", rnd.randint(0, 4))
        over = v.setdefault(f"requests.carried_over.{col}", rnd.randint(0, min(4, outcomes + forward)))
        v[f"requests.new.{col}"] = outcomes + forward - over
    for key in INPUTS:
        if key.startswith(("active.", "review.")):
            v[key] = rnd.randint(0, 300)
    v["active.fees.amount"] = Decimal(rnd.randint(1, 99999)) / 100
    v["processing_fee.notices"] = rnd.randint(1, 3)
    v["processing_fee.notice_amount"] = Decimal(rnd.randint(100, 999999)) / 100
    v["processing_fee.collected"] = Decimal(rnd.randint(0, 10000)) / 100
    assert set(v) == set(INPUTS)
    return v


def make_return(folder: Path, code: str, name: str, seed: int, *, year: int = 2021, key: bytes | None = None,
                change: dict | None = None, file: str | None = None) -> tuple[Path, dict]:
    values = figures(seed) | (change or {})
    data = fill_bytes(workbook_bytes(year, code, name, key), {**values, **TEXT})
    path = folder / (file or f"{code}_{year}.xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, values


def expected_sums(*value_sets: dict) -> dict[str, int | Decimal]:
    from xltool.form import calc

    sums = {k: sum((vs[k] for vs in value_sets), Decimal(0) if SPEC.cells[k].type == "amount" else 0) for k in INPUTS}
    return sums | calc.totals(SPEC, sums)


def roster_file(folder: Path, agencies: list[tuple[str, str, str]]) -> Path:
    path = folder / "roster.csv"
    path.write_text("code,name,email\n" + "".join(f"{c},{n},{e}\n" for c, n, e in agencies), encoding="utf-8")
    return path


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click 8.2 keeps stderr apart by itself


def run(*args: str) -> tuple[int, str, str]:
    result = runner().invoke(merge_command, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def round_(tmp_path: Path):
    """Three good returns, one with a rule error, one unreadable file, one older duplicate,
    and a roster with one agency that sent nothing."""
    returns = tmp_path / "returns"
    good = {}
    for i, (code, name) in enumerate([("001", "某某市教育局"), ("002", "某某市公安局"), ("003", "某某市财政局")]):
        good[code] = make_return(returns, code, name, seed=i + 1)[1]
    bad, _ = make_return(returns, "004", "某某市民政局", seed=9,
                         change={"requests.granted.natural_person": figures(9)["requests.granted.natural_person"] + 1})
    old, _ = make_return(returns, "001", "某某市教育局", seed=42, file="001_old.xlsx")
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    (returns / "scan.xlsx").write_bytes(b"this is not a workbook")
    roster = roster_file(tmp_path, [("001", "某某市教育局", "a@x.gov.cn"), ("002", "某某市公安局", "b@x.gov.cn"),
                                    ("003", "某某市财政局", "c@x.gov.cn"), ("004", "某某市民政局", "d@x.gov.cn"),
                                    ("005", "某某市司法局", "e@x.gov.cn")])
    return returns, roster, good, bad, old


# --- the library -------------------------------------------------------------------------------


def test_sums_exactly_the_included_returns_and_names_everything_left_out(round_):
    returns, roster, good, _bad, _old = round_
    from xltool.round.roster import load_roster

    result = merge_paths([returns], roster=load_roster(roster), show_progress=False)
    want = expected_sums(*good.values())
    assert result.values == want
    assert all(isinstance(v, int) for k, v in result.values.items() if SPEC.cells[k].type == "count")
    assert isinstance(result.values["active.fees.amount"], Decimal)
    assert sorted(i.code for i in result.included) == ["001", "002", "003"]
    by_file = {Path(e.file).name: e for e in result.excluded}
    assert by_file["004_2021.xlsx"].codes == ["rule-balance"]
    assert by_file["scan.xlsx"].codes == ["file-unreadable"] and by_file["scan.xlsx"].code is None
    assert [a.code for a in result.missing] == ["005"]
    [dup] = result.duplicates
    assert (dup.code, Path(dup.used).name, [Path(f).name for f in dup.superseded]) == ("001", "001_2021.xlsx", ["001_old.xlsx"])
    # every input file appears exactly once: included, excluded, or superseded
    placed = [i.file for i in result.included] + [e.file for e in result.excluded] + dup.superseded
    assert sorted(placed) == sorted(str(p) for p in returns.iterdir())


def test_allow_errors_sums_the_return_with_errors(round_):
    returns, _roster, good, _bad, _old = round_
    result = merge_paths([returns], allow_errors=True, show_progress=False)
    bad_values = figures(9)
    bad_values["requests.granted.natural_person"] += 1
    assert result.values == expected_sums(*good.values(), bad_values)
    assert [Path(e.file).name for e in result.excluded] == ["scan.xlsx"]


def test_fee_sums_are_exact_decimals(tmp_path):
    fees = [Decimal("0.1"), Decimal("0.2"), Decimal("1234.5678"), Decimal("0.0001")]
    for i, fee in enumerate(fees):
        make_return(tmp_path, f"1{i:02d}", f"单位{i}", seed=i, change={"active.fees.amount": fee})
    result = merge_paths([tmp_path], show_progress=False)
    assert result.values["active.fees.amount"] == Decimal("1234.8679")
    assert result.to_json()["values"]["active.fees.amount"] == 1234.8679


def test_the_merged_workbook_is_a_valid_return_with_the_sums(round_, tmp_path):
    returns, roster, good, _bad, _old = round_
    from xltool.round.roster import load_roster

    result = merge_paths([returns], roster=load_roster(roster), show_progress=False)
    out = tmp_path / "out" / "汇总.xlsx"
    out.parent.mkdir()
    write_merged_workbook(result, out, 2021, "310000", "某某市人民政府办公室", key=b"secret")
    checked = verify_path(out, key=b"secret")
    assert checked.agency == {"code": "310000", "name": "某某市人民政府办公室"}
    assert [f for f in checked.findings if f.severity == "error"] == []
    ret = read_return(out)
    assert {k: ret.values[k] for k in SPEC.numeric_keys} == result.values
    from xltool.round.previous import load_previous  # next year's --previous matches the merged identity

    assert load_previous(out)["310000"]["requests.carried_forward.total"] == result.values["requests.carried_forward.total"]
    # the extra sheets: one row per included agency, and what was left out
    import openpyxl

    wb = openpyxl.load_workbook(out, read_only=False)
    detail = wb[DETAIL_SHEET]
    assert detail.freeze_panes == "C3" and detail.auto_filter.ref
    header = [c.value for c in detail[1]]
    keys = [c.value for c in detail[2]]
    assert header[4] == SPEC.cells[SPEC.numeric_keys[0]].label and keys[4:] == [*SPEC.numeric_keys, "confirmations"]
    rows = {r[0]: r for r in detail.iter_rows(min_row=3, values_only=True)}
    assert sorted(rows) == ["001", "002", "003"]
    col = keys.index("requests.new.total")
    assert rows["002"][col] == expected_sums(good["002"])["requests.new.total"]
    notes = [r for r in wb[NOTES_SHEET].iter_rows(min_row=2, values_only=True)]
    kinds = {(r[0], r[1] or Path(r[3]).name) for r in notes}
    assert ("有错误，未汇总", "004") in kinds and ("无法读取", "scan.xlsx") in kinds
    assert ("重复报送，未采用", "001") in kinds and ("未提交", "005") in kinds


# --- the command line --------------------------------------------------------------------------


def test_cli_json_shape_and_exit_status(round_, tmp_path):
    returns, roster, good, _bad, _old = round_
    out = tmp_path / "merged.xlsx"
    code, stdout, stderr = run(str(returns), "-o", str(out), "--json", "--roster", str(roster),
                               "--agency-code", "310000", "--agency-name", "某某市")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert set(data) == {"values", "included", "excluded", "missing", "duplicates"}
    assert set(data["values"]) == set(SPEC.numeric_keys)
    assert data["values"]["requests.total.total"] == expected_sums(*good.values())["requests.total.total"]
    assert data["missing"] == [{"code": "005", "name": "某某市司法局", "email": "e@x.gov.cn", "state": "missing",
                                "reason": None}]
    assert {tuple(sorted(e)) for e in data["excluded"]} == {("code", "codes", "file", "name")}
    assert data["duplicates"][0]["code"] == "001" and data["duplicates"][0]["superseded"][0].endswith("001_old.xlsx")
    assert set(data["included"][0]) == {"code", "name", "file"}
    assert out.exists()
    code, _, _ = run(str(returns), "-o", str(out), "--roster", str(roster), "--strict")
    assert code == 1
    assert out.exists()  # --strict still writes; the status says something is left out


def test_cli_default_identity_and_strict_passes_when_complete(tmp_path):
    returns = tmp_path / "returns"
    sets = [make_return(returns, f"00{i}", f"单位{i}", seed=i)[1] for i in (1, 2)]
    out = tmp_path / "merged.xlsx"
    code, stdout, stderr = run(str(returns), "-o", str(out), "--strict")
    assert code == 0, stderr
    ret = read_return(out)
    assert (ret.agency_code, ret.agency_name) == ("MERGED", "汇总（2个单位）")
    assert ret.values["requests.new.total"] == expected_sums(*sets)["requests.new.total"]
    assert "已汇总 2 个单位" in stdout


@pytest.mark.parametrize("case", ["empty", "missing-path", "inside-input", "mixed-years", "only-bad",
                                  "not-xlsx", "unwritable", "one-identity"])
def test_cli_bad_inputs_exit_2_without_output(tmp_path, case):
    returns = tmp_path / "returns"
    returns.mkdir()
    out = tmp_path / "merged.xlsx"
    args = [str(returns), "-o", str(out)]
    if case == "empty":
        expect = "没有可汇总的报表"
    elif case == "missing-path":
        args = [str(tmp_path / "nope"), "-o", str(out)]
        expect = "找不到"
    elif case == "inside-input":
        make_return(returns, "001", "单位", seed=1)
        out = returns / "merged.xlsx"
        args = [str(returns), "-o", str(out)]
        expect = "输入"
    elif case == "mixed-years":
        make_return(returns, "001", "单位", seed=1)
        make_return(returns, "002", "单位二", seed=2, year=2022)
        expect = "不同年度"
    elif case == "only-bad":
        make_return(returns, "001", "单位", seed=1, change={"requests.new.natural_person": None})
        expect = "value-blank"
    elif case == "not-xlsx":
        make_return(returns, "001", "单位", seed=1)
        out = tmp_path / "merged.csv"
        args = [str(returns), "-o", str(out)]
        expect = ".xlsx"
    elif case == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere")
        make_return(returns, "001", "单位", seed=1)
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "merged.xlsx"
        args = [str(returns), "-o", str(out)]
        expect = "无法写入"
    else:
        make_return(returns, "001", "单位", seed=1)
        args += ["--agency-code", "310000"]
        expect = "--agency-name"
    code, stdout, stderr = run(*args)
    assert code == 2, (stdout, stderr)
    assert expect in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".xltool-")]


def test_output_directory_target_that_is_a_file_is_refused(tmp_path):
    returns = tmp_path / "returns"
    make_return(returns, "001", "单位", seed=1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, stderr = run(str(returns), "-o", str(blocker / "merged.xlsx"))
    assert code == 2 and "无法写入" in stderr


def test_not_in_roster_is_excluded(tmp_path):
    returns = tmp_path / "returns"
    make_return(returns, "001", "单位一", seed=1)
    make_return(returns, "999", "外区单位", seed=2)
    roster = roster_file(tmp_path, [("001", "单位一", "a@x.gov.cn")])
    result = merge_paths([returns], roster=[Agency("001", "单位一", "a@x.gov.cn")], show_progress=False)
    assert [i.code for i in result.included] == ["001"]
    assert [(e.code, e.codes) for e in result.excluded] == [("999", ["not-in-roster"])]
    code, stdout, _ = run(str(returns), "-o", str(tmp_path / "m.xlsx"), "--roster", str(roster), "--json")
    assert code == 0 and json.loads(stdout)["excluded"][0]["codes"] == ["not-in-roster"]


def test_merge_uses_both_cores_and_matches_the_serial_sum(tmp_path):
    """Enough returns to go parallel: the same result as merging one by one."""
    sets = [make_return(tmp_path, f"{i:03d}", f"单位{i}", seed=i)[1] for i in range(30)]
    parallel = merge_paths([tmp_path], workers=2, show_progress=False)
    serial = merge_paths([tmp_path], workers=1, show_progress=False)
    assert parallel.values == serial.values == expected_sums(*sets)
    assert len(parallel.included) == 30


def test_a_locked_output_file_is_a_usage_error(round_, tmp_path, monkeypatch):
    """Excel on Windows holds the file open: replacing it fails, and the user is told why."""
    import xltool.round.merge

    returns, _roster, _good, _bad, _old = round_
    result = merge_paths([returns], show_progress=False)

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(xltool.round.merge, "atomic_write", refuse)
    from xltool.errors import UsageError

    with pytest.raises(UsageError, match="正在 Excel"):
        write_merged_workbook(result, tmp_path / "m.xlsx", 2021, "MERGED", "汇总")


def test_libreoffice_opens_the_merged_workbook(round_, tmp_path, libreoffice):
    returns, _roster, _good, _bad, _old = round_
    out = tmp_path / "merged.xlsx"
    result = merge_paths([returns], show_progress=False)
    write_merged_workbook(result, out, 2021, "310000", "某某市")
    saved = tmp_path / "lo.xlsx"
    got = libreoffice.roundtrip(out, saved, read_names=["requests.total.total"],
                                read_cells=[(DETAIL_SHEET, "A3"), (NOTES_SHEET, "A1")])
    assert got["sheets"][-2:] == [DETAIL_SHEET, NOTES_SHEET]
    assert got["names"]["requests.total.total"]["value"] == result.values["requests.total.total"]
    assert got["cells"][0]["string"] == "001" and got["cells"][1]["string"] == "类别"
    again = verify_path(saved)
    assert [f for f in again.findings if f.severity == "error"] == []
    assert {k: read_return(saved).values[k] for k in SPEC.numeric_keys} == result.values
