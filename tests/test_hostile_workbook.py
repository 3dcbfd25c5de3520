"""Hostile content inside a workbook (issue 11): numbers no clerk can type, broken cell references
and styles, formulas in input cells, defined names moved to a hidden copy of a sheet, hidden
figures, and sheets far larger than a return can honestly be. Each poison costs its own file a
finding; every good return beside it gives its normal result, and the run finishes.

The poisons are made the way an attacker would: a generated, filled return whose XML is then
rewritten (tests/builders.py builds the return; `_rewrite` edits its zip)."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from builders import SPEC, consistent, make_return, said_once
from support.limited import run_limited, snapshot
from xltool.findings import CATALOGUE
from xltool.form.formulas import constant_value
from xltool.form.layout import layout_for
from xltool.form.returns import parse_number, read_return
from xltool.office.cells import parse_ref
from xltool.office.container import RETURN_LIMITS
from xltool.office.xlsx import load_book
from xltool.round.verify import verify_path

LAYOUT = layout_for(SPEC)
T2 = SPEC.table("requests").sheet  # 表二依申请公开
KEY = "requests.new.natural_person"  # 表二 D7, 21 in consistent()
FEE = "active.fees.amount"
GOOD = [f"1{i:02d}" for i in range(6)]

Edit = Callable[[bytes], bytes]


def _ref(key: str) -> str:
    return LAYOUT.by_key[key].ref


def _part(path: Path, sheet: str) -> str:
    part = load_book(path.read_bytes()).sheets[sheet].part
    assert part
    return part


def _rewrite(path: Path, edits: dict[str, Edit], add: dict[str, bytes] | None = None) -> Path:
    """Rewrite members of the xlsx at `path` in place, as another program would save it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zin, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info.filename, edits[info.filename](body) if info.filename in edits else body)
        for name, body in (add or {}).items():
            zout.writestr(name, body)
    path.write_bytes(buf.getvalue())
    return path


def _cell(ref: str) -> re.Pattern[bytes]:
    return re.compile(rb'<c r="' + ref.encode() + rb'"(?: [^>]*)?(?:/>|>.*?</c>)', re.S)


def _replace_cell(ref: str, new: str) -> Edit:
    def edit(xml: bytes) -> bytes:
        out, n = _cell(ref).subn(lambda _: new.encode(), xml, count=1)
        assert n == 1, ref
        return out
    return edit


def _poison(folder: Path, code: str, sheet: str, edit: Edit) -> Path:
    path = make_return(folder, code=code, name=f"单位{code}")
    return _rewrite(path, {_part(path, sheet): edit})


def _input(code: str, inner: str, ref: str | None = None) -> tuple[str, Edit]:
    """表二 D7 (or `ref`) rewritten to hold `inner` (its attributes and children)."""
    ref = ref or _ref(KEY)
    return code, _replace_cell(ref, f'<c r="{ref}" s="14"{inner}</c>')


def _set_attr(ref: str, old: bytes, new: bytes) -> Edit:
    def edit(xml: bytes) -> bytes:
        m = _cell(ref).search(xml)
        assert m
        return xml[:m.start()] + m[0].replace(old, new, 1) + xml[m.end():]
    return edit


def _hide_rows(xml: bytes) -> bytes:
    return xml.replace(b"<row ", b'<row hidden="1" ')


def _stray(xml: bytes) -> bytes:
    j7 = _cell("J7").search(xml)
    assert j7
    return xml[:j7.end()] + b'<c r="L7"><v>5</v></c>' + xml[j7.end():]


def _many_cells(xml: bytes) -> bytes:
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"/>' for c in "ABCDEFGHIJ") + "</row>"
                   for r in range(100, 100 + RETURN_LIMITS.max_cells // 10 + 10))
    return xml.replace(b"</sheetData>", rows.encode() + b"</sheetData>")


def _many_tags(xml: bytes) -> bytes:
    digits = random.Random(3).choices("0123456789", k=RETURN_LIMITS.max_tags + 10)
    return xml.replace(b"</sheetData>", b"</sheetData>" + "".join(f"<x/>{d}" for d in digits).join(("<y>", "</y>")).encode())


def _deep(xml: bytes) -> bytes:
    return xml.replace(b"</sheetData>", b"</sheetData>" + b"<x>" * 5000 + b"</x>" * 5000)


def _bulky(xml: bytes) -> bytes:
    """Past the budget for one sheet, in text that compresses as badly as real figures do."""
    noise = random.Random(5).randbytes(RETURN_LIMITS.max_part_bytes // 2 + 4096).hex()
    return xml.replace(b"</sheetData>", b"</sheetData><!--" + noise.encode() + b"-->")


# code -> (sheet to edit, edit, expected finding code or None for "no finding beyond the usual")
POISONS: dict[str, tuple[str, Edit, str | None]] = {}


def _add(code: str, edit: Edit, expected: str | None, sheet: str = T2) -> None:
    POISONS[code] = (sheet, edit, expected)


# row 1: numbers beyond what a clerk can type, as numbers and as text
_add(*_input("201", "><v>1e5000</v>"), "value-not-number")
_add(*_input("202", ' t="inlineStr"><is><t>1e99999999</t></is>'), "value-not-number")
_add(*_input("203", "><v>" + "9" * 100_000 + "</v>"), "value-not-number")
_add(*_input("204", ' t="inlineStr"><is><t>' + "9" * 100_000 + "</t></is>"), "value-not-number")
_add(*_input("205", "><v>1E-99999999</v>"), "value-not-number")
_add("206", _replace_cell("J7", '<c r="J7" s="16"><f>SUM(D7:I7)</f><v>1e99999999</v></c>'), None)
# row 2: cell references and styles
_add("211", _set_attr(_ref(KEY), b'r="D7"', b'r="d7"'), None)
_add("212", _set_attr(_ref(KEY), b'r="D7"', b'r="D"'), "file-unreadable")
_add("213", _set_attr(_ref(KEY), b'r="D7"', b'r="AAAAA1"'), "file-unreadable")
_add("214", _set_attr(_ref(KEY), b'r="D7"', b'r="A0"'), "file-unreadable")
_add("215", _set_attr(_ref(KEY), b'r="D7"', b'r="D' + b"9" * 5000 + b'"'), "file-unreadable")
_add("220", _set_attr(_ref(KEY), b' r="D7"', b""), None)  # `r` is optional: the cell is read by its place
_add("216", _set_attr(_ref(KEY), b's="14"', b's="x"'), None)
_add("217", _set_attr(_ref(KEY), b's="14"', b's="-1"'), None)
_add("218", _set_attr(_ref(KEY), b's="14"', b's="99999"'), None)
_add("219", _set_attr(_ref(KEY), b's="14"', b's="' + b"9" * 5000 + b'"'), None)
# row 3: formulas typed into an input cell
_add(*_input("221", "><f>NOW()</f><v>21</v>"), "value-formula")
_add(*_input("222", "><f>[1]Sheet1!A1</f><v>21</v>"), "value-formula")
_add(*_input("223", "><f>'C:\\x\\[a.xlsx]S'!A1</f><v>21</v>"), "value-formula")
_add(*_input("224", '><f>WEBSERVICE("http://example.com/n")</f><v>21</v>'), "value-formula")
_add(*_input("225", "><f>D8</f><v>21</v>"), "value-formula")
_add(*_input("226", "><f>12+9</f><v>21</v>"), "value-formula-constant")
_add(*_input("227", "><f>1+1</f><v>21</v>"), "value-formula-constant")
# row 4: hidden rows, figures outside the form's cells
_add("231", _hide_rows, "hidden-figures")
_add("232", _stray, "hidden-figures")
_add("233", lambda xml: xml.replace(b'<col min="4" max="4"', b'<col min="4" max="4" hidden="1"', 1), "hidden-figures")
# row 5: budgets
_add("241", _many_cells, "file-too-large")
_add("242", _many_tags, "file-too-large")
_add("243", _bulky, "file-too-large")
_add("244", _deep, "file-too-large")


def _redirected(folder: Path, code: str) -> Path:
    """Every input name of 表二 redirected to a very hidden copy of the sheet, whose D7 says 999."""
    path = make_return(folder, code=code, name=f"单位{code}")
    part = _part(path, T2)
    with zipfile.ZipFile(path) as z:
        copy = _replace_cell("D7", '<c r="D7" s="14"><v>999</v></c>')(z.read(part))
    inputs = [k for k in SPEC.input_keys if LAYOUT.by_key[k].sheet == T2]

    def workbook(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheets>", '<sheet name="表二副本" sheetId="99" state="veryHidden" r:id="rId99"/></sheets>'.encode())
        for key in inputs:
            xml = xml.replace(f'<definedName name="{key}">\'{T2}\'!'.encode(), f'<definedName name="{key}">\'表二副本\'!'.encode())
        return re.sub(rf'<definedName name="{TOTAL}">[^<]*<'.encode(), f'<definedName name="{TOTAL}">[1]Sheet1!$A$1<'.encode(), xml)

    def rels(xml: bytes) -> bytes:
        return xml.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                           b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet99.xml"/></Relationships>')

    def types(xml: bytes) -> bytes:
        return xml.replace(b"</Types>", b'<Override PartName="/xl/worksheets/sheet99.xml" ContentType="application/'
                           b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')

    return _rewrite(path, {"xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
                    add={"xl/worksheets/sheet99.xml": copy})


NAMES_MOVED = "251"
TOTAL = "requests.new.total"  # 表二 J7: its name points into another file


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    returns = root / "returns"
    returns.mkdir()
    for seed, code in enumerate(GOOD, start=1):
        make_return(returns, consistent(seed), code=code, name=f"单位{code}")
    for code, (sheet, edit, _) in POISONS.items():
        _poison(returns, code, sheet, edit)
    _redirected(returns, NAMES_MOVED)
    roster = root / "roster.csv"
    roster.write_text("code,name,email\n" + "".join(f"{p.stem},单位{p.stem},\n" for p in sorted(returns.iterdir())),
                      encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def verified(folder) -> dict[str, dict]:
    before = snapshot(folder)
    done = run_limited("verify", folder / "returns", "--json", cwd=folder)
    assert done.returncode == 1  # the poisons have errors
    assert snapshot(folder) == before
    return {Path(r["file"]).stem: r for r in json.loads(done.stdout)["returns"]}


def _codes(result: dict) -> set[str]:
    return {f["code"] for f in result["findings"]}


def test_every_good_return_beside_the_poisons_verifies_clean(verified) -> None:
    assert len(verified) == len(GOOD) + len(POISONS) + 1
    for code in GOOD:
        assert verified[code]["status"] == "ok", verified[code]["findings"]


@pytest.mark.parametrize("code", sorted(POISONS))
def test_each_poison_costs_its_own_file_a_finding(verified, code: str) -> None:
    expected = POISONS[code][2]
    result = verified[code]
    if expected is None:  # read as an ordinary return: nothing to say
        assert result["status"] == "ok", result["findings"]
        return
    assert expected in _codes(result), result["findings"]
    found = next(f for f in result["findings"] if f["code"] == expected)
    assert found["severity"] == CATALOGUE[expected].severity
    assert len(found["message"]) < 600  # a 100,000-digit cell is quoted short
    assert all(said_once(f["message"]) for f in result["findings"]), result["findings"]
    if expected.startswith("value-"):
        assert (found["sheet"], found["cell"], found["key"]) == (T2, "D7", KEY)
    if expected.startswith("file-"):
        assert result["agency"] is None and len(result["findings"]) == 1


def test_a_formula_of_constants_is_a_warning_and_its_value_is_computed(verified, folder) -> None:
    assert _codes(verified["226"]) == {"value-formula-constant"}  # =12+9 saved as 21: only the warning
    assert verified["226"]["status"] == "warnings"
    assert not CATALOGUE["value-formula-constant"].figure_warning  # never blocks merge
    one_plus_one = read_return(folder / "returns" / "227.xlsx")
    assert one_plus_one.values[KEY] == 2  # the saved 21 is not used
    assert "21" in next(f["message"] for f in verified["227"]["findings"] if f["code"] == "value-formula-constant")


def test_any_other_formula_in_an_input_is_an_error_and_gives_no_value(folder) -> None:
    for code in ("221", "222", "223", "224", "225"):
        ret = read_return(folder / "returns" / f"{code}.xlsx")
        assert ret.values[KEY] is None
        assert ret.raw[KEY].startswith("=")
        assert ret.values["requests.new.total"] is None  # a total over an unknown input is unknown


def test_names_moved_to_a_very_hidden_copy_are_errors_and_the_visible_cells_count(verified, folder) -> None:
    result = verified[NAMES_MOVED]
    moved = [f for f in result["findings"] if f["code"] == "name-moved"]
    inputs = [k for k in SPEC.input_keys if LAYOUT.by_key[k].sheet == T2]
    assert {f["key"] for f in moved} == {*inputs, TOTAL}
    assert all(f["sheet"] == T2 and "表二副本" in f["message"] for f in moved if f["key"] != TOTAL)
    assert "[1]Sheet1!$A$1" in next(f["message"] for f in moved if f["key"] == TOTAL)
    hidden = [f for f in result["findings"] if f["code"] == "hidden-figures"]
    assert len(hidden) == 1 and "表二副本" in hidden[0]["message"] and "深度隐藏" in hidden[0]["message"]
    assert read_return(folder / "returns" / f"{NAMES_MOVED}.xlsx").values[KEY] == 21  # not the copy's 999


def test_hidden_rows_and_stray_figures_are_named(verified) -> None:
    rows = next(f for f in verified["231"]["findings"] if f["code"] == "hidden-figures")
    assert rows["sheet"] == T2 and "隐藏" in rows["message"]
    stray = next(f for f in verified["232"]["findings"] if f["code"] == "hidden-figures")
    assert stray["cell"] == "L7" and "表格以外" in stray["message"]
    columns = next(f for f in verified["233"]["findings"] if f["code"] == "hidden-figures")
    assert columns["cell"] == "D7"
    assert {verified[c]["status"] for c in ("231", "232", "233")} == {"warnings"}


def test_merge_status_and_report_finish_over_the_poisoned_folder(folder, verified) -> None:
    before = snapshot(folder / "returns")
    out = folder / "out"
    out.mkdir()
    merged = out / "汇总.xlsx"
    done = run_limited("merge", folder / "returns", "-o", merged, "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    included = {i["code"] for i in result["included"]}
    # the good ones, and the poisons whose only findings are warnings or nothing at all
    clean = {code for code, r in verified.items() if r["status"] != "errors"}
    assert set(GOOD) <= included and included == clean
    assert merged.is_file()
    good_sum = sum(consistent(seed)[KEY] for seed in range(1, len(GOOD) + 1))
    others = {code: read_return(folder / "returns" / f"{code}.xlsx").values[KEY] for code in included - set(GOOD)}
    assert result["values"][KEY] == good_sum + sum(others.values())
    assert others["226"] == 21  # =12+9, computed

    status = run_limited("status", "--roster", folder / "roster.csv", folder / "returns", "--json", cwd=folder)
    assert status.returncode == 0, status.stderr
    states = {a["code"]: a["state"] for a in json.loads(status.stdout)["agencies"]}
    assert all(states[c] == "ok" for c in GOOD)
    assert states["201"] == "errors" and states[NAMES_MOVED] == "errors"
    assert states["241"] == "missing"  # unreadable: whose it is cannot be told from the file

    reports = out / "reports"
    report = run_limited("report", folder / "returns", "-o", reports, "--format", "md", cwd=folder)
    assert report.returncode in (0, 1), report.stderr
    written = {p.name.split("_")[0] for p in reports.iterdir()}
    assert set(GOOD) <= written
    assert snapshot(folder / "returns") == before


def test_annotated_copies_of_every_poison_are_written(folder, verified) -> None:
    """The annotated copy edits the poisoned XML itself (cells without `r`, odd references)."""
    out = folder / "批注"
    done = run_limited("verify", folder / "returns", "--annotate", out, cwd=folder)
    assert done.returncode == 1, done.stderr
    copies = {p.name.split("_")[0] for p in out.iterdir() if p.suffix == ".xlsx"}
    flagged = {code for code, r in verified.items() if r["findings"]}
    unreadable = {code for code, r in verified.items() if r["agency"] is None}
    assert flagged - unreadable <= copies
    assert "提示" not in done.stdout + done.stderr or "220" not in done.stdout + done.stderr


def test_read_json_of_an_out_of_range_number_prints_null_with_the_text_in_raw(folder) -> None:
    done = run_limited("read", folder / "returns" / "201.xlsx", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["values"][KEY] is None
    assert data["raw"][KEY] == "1e5000"


def test_a_return_whose_sheet_expands_to_61_mb_is_refused_within_bounds(tmp_path) -> None:
    path = make_return(tmp_path, code="301")
    part = _part(path, T2)
    noise = random.Random(11).randbytes(61 * (1 << 20) // 2).hex().encode()
    _rewrite(path, {part: lambda xml: xml.replace(b"</sheetData>", b"</sheetData><!--" + noise + b"-->")})
    assert path.stat().st_size < 50 * (1 << 20)  # under the file cap: the expansion is what is refused
    before = snapshot(tmp_path)
    done = run_limited("verify", path, "--json", cwd=tmp_path)
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)["returns"]
    assert _codes(result) == {"file-too-large"}
    assert snapshot(tmp_path) == before


def test_the_number_parser_is_bounded_before_any_decimal_work() -> None:
    for text in ("1e5000", "1e99999999", "9" * 100_000, "1E-99999999", "1" * 16, "1000000000000000", "nan", "inf",
                 "١٢", "0x10", "1e", "--1"):
        assert parse_number(text) is None, text
    assert parse_number("９９９,９９９,９９９,９９９,９９９") == 999_999_999_999_999
    assert parse_number("－5") == -5
    assert parse_number("2.2999999999999998") is not None  # Excel's 17 digits
    assert parse_number("0e5000") == 0


def test_constant_formulas_are_computed_within_bounds() -> None:
    cases = {"1+1": 2, "=12+9": 21, "-2^2": 4, "2^3^2": 64, "50%": 0.5, "(1+2)*3": 9, "2^-1": 0.5, " 3 * 4 ": 12,
             "1.5E+3": 1500}
    for text, value in cases.items():
        assert constant_value(text) == value, text
    assert str(constant_value("1/3")) == "0.333333333333333"  # 15 significant digits, as a spreadsheet keeps
    for text in ("NOW()", "D8", "[1]Sheet1!A1", "1/0", "0^0", "9^9^9", "1e20/1e10", "(" * 30 + "1" + ")" * 30,
                 "-" * 30 + "1", "1+", "()", "1" * 300, "SUM(1,2)", '"1"+1', "1>0", ""):
        assert constant_value(text) is None, text


def test_cell_references_are_one_cell_of_the_grid() -> None:
    assert parse_ref("d7") == parse_ref("D7") == (6, 3)
    assert parse_ref("$XFD$1048576") == (1048575, 16383)
    for ref in ("D", "7", "A0", "AAAAA1", "XFE1", "A1048577", "D" + "9" * 5000, "", "D7 "):
        with pytest.raises(ValueError):
            parse_ref(ref)


def test_a_hostile_sheet_in_a_file_verified_alone_gives_one_finding(tmp_path) -> None:
    path = _poison(tmp_path, "401", T2, _set_attr(_ref(KEY), b'r="D7"', b'r="D"'))
    (finding,) = verify_path(path).findings
    assert finding.code == "file-unreadable" and T2 in finding.message and "“D”" in finding.message


def test_a_formula_in_a_text_input_is_an_error_and_its_text_is_not_used(tmp_path) -> None:
    item = LAYOUT.by_key["narrative.overview"]
    formula = f'<c r="{item.ref}" t="str"><f>WEBSERVICE("http://example.com/text")</f><v>本年共收到申请1件。</v></c>'
    path = _poison(tmp_path, "402", item.sheet, _replace_cell(item.ref, formula))
    found = {f.code: f for f in verify_path(path).findings}
    assert found["value-formula"].key == "narrative.overview" and found["value-formula"].cell == item.ref
    assert read_return(path).values["narrative.overview"] == ""


def test_a_fifo_or_a_link_to_a_device_named_to_verify_is_not_read(tmp_path) -> None:
    import os
    fifo = tmp_path / "return.xlsx"
    os.mkfifo(fifo)
    (tmp_path / "zero.xlsx").symlink_to("/dev/zero")
    good = make_return(tmp_path, code="101", name="单位101")
    done = run_limited("verify", fifo, tmp_path / "zero.xlsx", good, "--json", cwd=tmp_path)
    results = {Path(r["file"]).name: r for r in json.loads(done.stdout)["returns"]}
    for name in ("return.xlsx", "zero.xlsx"):
        assert _codes(results[name]) == {"file-unreadable"}
        assert "不是普通文件" in results[name]["findings"][0]["message"]
    assert results[good.name]["status"] == "ok"


def test_a_defect_met_in_one_file_costs_only_that_file(tmp_path, monkeypatch) -> None:
    """An error xltool has not foreseen, raised while checking one return, becomes that return's
    finding; the next file is verified as usual."""
    from xltool.checks import values

    bad = make_return(tmp_path, code="102", name="单位102")
    good = make_return(tmp_path, code="103", name="单位103")
    real = values.check

    def check(ctx):
        if ctx.ret.agency_code == "102":
            raise ValueError("unforeseen")
        return real(ctx)

    monkeypatch.setattr(values, "check", check)
    assert _codes(verify_path(bad).to_json()) == {"file-unreadable"}
    assert verify_path(good).status == "ok"
