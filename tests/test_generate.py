"""`xltool generate`, `fill` and `read`: the workbook contract of PRODUCT.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from builders import SPEC, consistent, make_return
from xltool.cli import cli
from xltool.form.layout import layout_for

FORMAT = Path(__file__).resolve().parents[2] / "shared" / "FORMAT-2021.md"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "a.xlsx"
    result = run("generate", "--year", "2021", "--agency-code", "0010", "--agency-name", "=某某局", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def _names(wb):
    return {n: d.attr_text for n, d in wb.defined_names.items()}


def test_every_canonical_key_is_a_name_of_one_cell(workbook):
    wb = openpyxl.load_workbook(workbook)
    names = _names(wb)
    assert len(SPEC.numeric_keys) == 203
    for key in SPEC.cells:
        assert key in names, key
        assert re.fullmatch(r"'[^']+'!\$[A-Z]+\$\d+", names[key]), names[key]
    targets = [names[k] for k in SPEC.cells]
    assert len(set(targets)) == len(targets)


def _official_labels() -> set[str]:
    """Labels transcribed from FORMAT-2021.md itself (not from our spec)."""
    text = FORMAT.read_text(encoding="utf-8")
    labels = set(re.findall(r"^\| (?:[^|]*\| )?([^|]+?) \| (?:new|carried_over|granted|partial|denied_\w+|unable_\w+|rejected_\w+|other_no_correction|other_unpaid_fee|other_other|total|carried_forward) \|$", text, re.M))
    labels |= set(re.findall(r"^\| (?:法人或其他组织 / )?([^|/]+?) \| (?:natural_person|commercial|research|public_interest|legal_services|other_org|total) \|$", text, re.M))
    labels |= set(re.findall(r"\| (第二十条第（[一五六八]）项) \|", text))
    labels |= set(re.findall(r"\| (?:第二十条第（.）项) \| ([^|]+?) \|", text))
    labels |= {"信息内容", "申请人情况", "法人或其他组织", "行政复议", "行政诉讼", "未经复议直接起诉", "复议后起诉",
               "结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "本年制发件数", "本年废止件数", "现行有效件数",
               "本年处理决定数量", "本年收费金额（单位：万元）",
               "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"}
    labels |= set(re.findall(r"^\| [一二三四五六] \| ([一二三四五六]、[^|]+?) \|", text, re.M))
    return {x.strip() for x in labels}


@pytest.mark.skipif(not FORMAT.exists(), reason="shared/FORMAT-2021.md not beside the checkout")
def test_every_official_label_appears_verbatim(workbook):
    wb = openpyxl.load_workbook(workbook)
    texts = {c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    expected = _official_labels()
    assert len(expected) > 60
    missing = sorted(expected - texts)
    assert not missing, missing
    assert not any("\n" in t for t in texts if t in expected)


def test_protection_locks_and_formulas(workbook):
    wb = openpyxl.load_workbook(workbook)
    layout = layout_for(SPEC)
    inputs = {(i.sheet, i.row + 1, i.col + 1) for i in layout.input_items()}
    spans = {(i.sheet, r + 1, c + 1) for i in layout.input_items()
             for r in range(i.row, i.row + i.rowspan) for c in range(i.col, i.col + i.colspan)}
    for ws in wb:
        assert ws.protection.sheet, ws.title
        for row in ws.iter_rows():
            for c in row:
                if c.protection.locked is False:
                    assert (ws.title, c.row, c.column) in spans, (ws.title, c.coordinate)
    for sheet, r, c in inputs:
        assert wb[sheet].cell(r, c).protection.locked is False
    for key in SPEC.total_keys:
        sheet, ref = _names(wb)[key].split("!")
        value = wb[sheet.strip("'")][ref.replace("$", "")].value
        assert isinstance(value, str) and value.startswith("=SUM("), (key, value)
    assert wb["_xltool"].sheet_state == "veryHidden"


def test_validation_on_every_input(workbook):
    wb = openpyxl.load_workbook(workbook)
    layout = layout_for(SPEC)
    for item in layout.input_items():
        ws = wb[item.sheet]
        dvs = [dv for dv in ws.data_validations.dataValidation if item.ref in dv.sqref]
        assert dvs, item.key
        kind = SPEC.cells[item.key].type
        expected = {"count": "whole", "amount": "decimal"}.get(kind)
        if expected:
            assert dvs[0].type == expected and dvs[0].operator == "greaterThanOrEqual"
        assert dvs[0].prompt


def test_outside_text_is_written_as_text(workbook):
    wb = openpyxl.load_workbook(workbook)
    assert wb["_xltool"]["B5"].value == "=某某局"
    assert wb["_xltool"]["B5"].data_type == "s"
    data = json.loads(run("read", str(workbook), "--json").output)
    assert data["agency"] == {"code": "0010", "name": "=某某局"}
    assert all(v is None for v in data["values"].values())  # numeric inputs ship blank


def test_fill_then_read_gives_back_what_was_filled(tmp_path):
    values = consistent(3)
    values["requests.partial.research"] = None  # a blank stays a blank
    values["narrative.other"] = "=不是公式"
    path = make_return(tmp_path, values)
    data = json.loads(run("read", str(path), "--json").output)
    for key, v in values.items():
        section, _, name = key.partition(".")
        got = data[section][name] if section in ("narrative", "contact") else data["values"][key]
        assert got == v, key
    assert data["values"]["requests.partial.total"] is None
    assert data["values"]["requests.new.total"] == sum(values[f"requests.new.{c}"] for c in
                                                       ("natural_person", "commercial", "research", "public_interest", "legal_services", "other_org"))
    assert re.fullmatch(r"[0-9a-f]{64}", data["source"]["sha256"])


def test_fill_command(tmp_path, workbook):
    values = tmp_path / "v.json"
    values.write_text(json.dumps({"requests.new.natural_person": 5, "active.fees.amount": 1.25}), encoding="utf-8")
    out = tmp_path / "filled.xlsx"
    before = workbook.read_bytes()
    assert run("fill", str(workbook), "--data", str(values), "-o", str(out)).exit_code == 0
    assert workbook.read_bytes() == before
    data = json.loads(run("read", str(out), "--json").output)
    assert data["values"]["requests.new.natural_person"] == 5 and data["values"]["active.fees.amount"] == 1.25
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"no.such.key": 1}), encoding="utf-8")
    result = run("fill", str(workbook), "--data", str(bad), "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1 and "no.such.key" in result.output


@pytest.mark.parametrize("value, shown", [(True, "true"), ([1, 2], "[1, 2]"), ({"a": 1}, '{"a": 1}'),
                                          (float("nan"), "NaN"), ("1e400", "1e400")])
def test_fill_refuses_a_value_no_clerk_can_type(tmp_path, workbook, value, shown):
    data = tmp_path / "v.json"
    text = json.dumps({"requests.new.natural_person": value})
    data.write_text(text.replace('"1e400"', "1e400"), encoding="utf-8")
    result = run("fill", str(workbook), "--data", str(data), "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert f"指标 requests.new.natural_person 的值 {shown} 无效" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_signature(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOL_KEY", "secret")
    out = tmp_path / "s.xlsx"
    assert run("generate", "--year", "2022", "--agency-code", "A1", "--agency-name", "甲局", "-o", str(out)).exit_code == 0
    import hashlib
    import hmac
    expected = hmac.new(b"secret", "gov-info-disclosure|2021|2022|A1|甲局".encode(), hashlib.sha256).hexdigest()
    assert openpyxl.load_workbook(out)["_xltool"]["B6"].value == expected


ROSTER = "code,name,email\n{rows}"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_roster_encodings_and_chinese_headers(tmp_path, encoding):
    roster = tmp_path / "r.csv"
    roster.write_bytes("单位代码,单位名称,邮箱\n001,甲局,a@x.gov.cn\n002,乙局,b@x.gov.cn\n".encode(encoding))
    out = tmp_path / "dist"
    result = run("generate", "--year", "2021", "--roster", str(roster), "-o", str(out))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["001_甲局_2021.xlsx", "002_乙局_2021.xlsx"]


def test_roster_xlsx_with_numeric_code_is_reported(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["code", "name", "email"])
    wb.active.append(["001", "甲局", "a@x.cn"])
    wb.active.append([910000000000000000, "乙局", "b@x.cn"])
    wb.save(tmp_path / "r.xlsx")
    result = run("generate", "--year", "2021", "--roster", str(tmp_path / "r.xlsx"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "名单第3行" in result.output and "数字" in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("rows,message", [
    ("001,甲局,a@x.cn\n001,乙局,b@x.cn\n", "重复"),
    ("001,,a@x.cn\n", "单位名称为空"),
    ("9.1E+17,甲局,a@x.cn\n", "科学计数法"),
    ("001,=HYPERLINK(\"x\"),a@x.cn\n", "公式"),
    ("123456,甲局,a@x.cn\n123457,乙局,b@x.cn\n23458,丙局,c@x.cn\n", "前导零"),
])
def test_bad_roster(tmp_path, rows, message):
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER.format(rows=rows), encoding="utf-8")
    out = tmp_path / "out"
    result = run("generate", "--year", "2021", "--roster", str(roster), "-o", str(out))
    assert result.exit_code == 2
    assert message in result.output and "名单第" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not list(out.iterdir())


def test_missing_columns_unknown_year_unwritable(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("编号,名字\n1,甲\n", encoding="utf-8")
    result = run("generate", "--year", "2021", "--roster", str(roster), "-o", str(tmp_path / "o"))
    assert result.exit_code == 2 and "缺少列" in result.output
    result = run("generate", "--year", "2019", "--agency-code", "1", "--agency-name", "甲", "-o", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 2 and "2019" in result.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("generate", "--year", "2021", "--agency-code", "1", "--agency-name", "甲", "-o", str(blocker / "a.xlsx"))
    assert result.exit_code == 2 and "无法写入" in result.output


def test_previous_prefills_carry_over(tmp_path):
    last = make_return(tmp_path, consistent(5), code="001", filename="last.xlsx")
    out = tmp_path / "this.xlsx"
    result = run("generate", "--year", "2022", "--agency-code", "001", "--agency-name", "某某区营商环境建设监督局",
                 "--previous", str(last), "-o", str(out))
    assert result.exit_code == 0, result.output
    now = json.loads(run("read", str(out), "--json").output)["values"]
    before = json.loads(run("read", str(last), "--json").output)["values"]
    for col in ("natural_person", "commercial", "other_org", "total"):
        assert now[f"requests.carried_over.{col}"] == before[f"requests.carried_forward.{col}"]
    wb = openpyxl.load_workbook(out)
    sheet, ref = _names(wb)["requests.carried_over.natural_person"].split("!")
    assert wb[sheet.strip("'")][ref.replace("$", "")].protection.locked is False


def test_large_roster_uses_worker_processes(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("code,name,email\n" + "".join(f"A{i:04d},单位{i},u{i}@x.cn\n" for i in range(60)), encoding="utf-8")
    out = tmp_path / "dist"
    assert run("generate", "--year", "2021", "--roster", str(roster), "-o", str(out)).exit_code == 0
    files = sorted(out.iterdir())
    assert len(files) == 60 and not any(p.name.startswith(".") for p in files)
    data = json.loads(run("read", str(files[59]), "--json").output)
    assert data["agency"] == {"code": "A0059", "name": "单位59"}


# -- the workbook on paper (issue 14): what LibreOffice's print is checked against in test_workbook_paper

PAGE_UNITS = {False: 98, True: 145}  # Excel's column units across an A4 page less half-inch margins


def test_every_sheet_fits_the_page_width_on_a4(workbook):
    wb = openpyxl.load_workbook(workbook)
    for ws in wb:
        if ws.sheet_state != "visible":
            continue
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight, setup.paperSize) == (1, 0, 9), ws.title
        widths = [d.width for d in ws.column_dimensions.values() if d.width]
        landscape = setup.orientation == "landscape"
        # no single column wider than the page: LibreOffice never shrinks one column to fit
        assert widths and max(widths) <= PAGE_UNITS[landscape], ws.title
    assert sum(d.width for d in wb[SPEC.sheets["instructions"]].column_dimensions.values()) <= PAGE_UNITS[False]


def test_the_official_tables_come_first_and_the_check_sheet_last(workbook):
    wb = openpyxl.load_workbook(workbook)
    visible = [ws.title for ws in wb if ws.sheet_state == "visible"]
    assert visible == SPEC.sheet_names()
    assert visible[-1] == SPEC.sheets["checks"]
    assert visible.index(SPEC.sheets["checks"]) > max(visible.index(t.sheet) for t in SPEC.tables)
    assert wb.active.title == SPEC.sheets["instructions"]
    # print titles stay with their sheets after the reordering
    titles = {ws.title: ws.print_title_rows for ws in wb if ws.print_title_rows}
    assert titles[SPEC.table("requests").sheet] == "$4:$6" and titles[SPEC.sheets["narrative"]] == "$1:$2"
    assert titles[SPEC.sheets["checks"]] == "$6:$6"


def test_the_signature_block_names_the_agency_and_the_year(workbook):
    wb = openpyxl.load_workbook(workbook)
    ws = wb[SPEC.sheets["narrative"]]
    texts = [(c.row, c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    signed = next(r for r, v in texts if v == SPEC.workbook["signatures"][0])
    assert (signed - 1, "填报单位：=某某局（2021年度）") in texts
