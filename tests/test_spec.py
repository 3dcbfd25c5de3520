"""A form spec is proved sound when it is read: every kind of mistake is reported with the file,
the line and how to fix it, and a spec from XLTOOL_SPEC_PATH is used like a shipped one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from xltool.cli import cli
from xltool.form import spec as spec_module
from xltool.form.spec import SpecError, parse_spec

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "gov-info-disclosure-2021.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def mistake(old: str, new: str) -> tuple[str, int]:
    """The shipped spec with one change, and the line of the change."""
    assert TEXT.count(old) >= 1, old
    return TEXT.replace(old, new, 1), line_of(TEXT, old)


def problem(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "坏表单.yaml")
    return caught.value.message


def test_the_shipped_spec_is_sound() -> None:
    spec = parse_spec(TEXT, str(SHIPPED), SHIPPED.parent)
    assert len(spec.cells) == 214 and spec.workbook["signatures"][-1] == "单位盖章："
    assert spec.read_file(spec.narrative_template).lstrip().startswith("{#")


@pytest.mark.parametrize("old, new, says", [
    ("\nrules:", "\nrule:", "不认识的项目“rule”。是否想写：rules"),
    ("code: rule-balance", "code: rule-balanse", "规则代码“rule-balanse”不在发现代码目录（xltool/findings.py）中。是否想写：rule-balance"),
    ("severity: error", "severity: eror", "严重程度“eror”无效，只能是 error 或 warning。是否想写：error"),
    ('left: ["requests.new.{col}"', 'left: ["requests.neww.{col}"', "规则 rule-balance引用了不存在的键“requests.neww.natural_person”"),
    ('at: "requests.total.{col}"', 'at: "requests.totl.{col}"', "规则 rule-balance 的 at引用了不存在的键“requests.totl.natural_person”"),
    ("each: {col: requests.columns}", "each: {col: requests.cols}", "“requests.cols”无效：应为某张表的 columns 或 rows"),
    ('right: ["previous(requests.carried_forward.{col})"]', 'right: ["previous(requests.carried_forward.{col}"]', "的项“previous(requests.carried_forward.{col}”无效"),
    ("fee_unit: {key: active.fees.amount", "fee_unit: {key: active.fee.amount", "检查“fee_unit”的 key 引用了不存在的键“active.fee.amount”。是否想写：active.fees.amount"),
    ("processing_fee: {cases:", "processing_fees: {cases:", "不认识的检查“processing_fees”。是否想写：processing_fee"),
    ("max_plausible: 100000", "max_plausible: 十万", "检查“fee_unit”的 max_plausible 应是一个数"),
    ("contact_required: [contact.address,", "contact_required: [contact.adress,", "检查“contact_required”引用了不存在的键“contact.adress”"),
    ("'行政复议\\s*N\\s*件'", "'行政复议\\s*件'", "pattern“行政复议\\s*件”中没有 N"),
    ("sheet: narrative, type: narrative,\n     hint: 主动公开", "sheet: narrative, type: narative,\n     hint: 主动公开", "类型“narative”无效，只能是 count、amount、text、narrative。是否想写：narrative"),
    ("{key: contact.address, label: 联系地址, sheet: identity,", "{key: contact.address, label: 联系地址, sheet: identiy,", "工作表角色“identiy”无效。是否想写：identity"),
    ("{key: contact.email,", "{key: contact.phone,", "键“contact.phone”重复"),
    ("total: rule-row-total}", "total: rule-row-totl}", "合计规则“rule-row-totl”没有在 sum_rules 中定义。是否想写：rule-row-total"),
    ("{label: 自然人, key: natural_person}", "{label: 自然人, key: Natural-Person}", "键“Natural-Person”无效"),
    ("{label: 商业企业, key: commercial}", "{label: 商业企业, key: commercial, typ: count}", "表头项不认识“typ”。是否想写：type"),
    ("heading: 四、政府信息公开行政复议、行政诉讼情况, table: review}", "heading: 四、政府信息公开行政复议、行政诉讼情况, table: reviews}", "引用的表“reviews”不存在。是否想写：review"),
    ("  checks: 校验\n", "  checks: 校验/审核\n", "工作表名称“校验/审核”无效"),
    ("  meta: _xltool\n", "", "缺少工作表角色“meta”"),
    ("years: [2021, 2040]", "years: [2040, 2021]", "“years”应是适用的第一个和最后一个统计年度"),
    ('version: "2021"', 'version: "2021a"', "版本“2021a”应是四位年份"),
    ("signatures: [填报人（签字）：, 审核人（签字）：, 单位负责人（签字）：, 单位盖章：]", "signatures: [填报人（签字）：]", "“signatures”应是签字盖章栏的四段文字"),
    ("basis: 国办公开办函〔2021〕30号\n", "", "缺少必需的项目“basis”"),
    ("figures_section: other", "figures_section: active", "figures_section 应是一个有正文（narrative）的部分的 id"),
    ("title: '(20\\d\\d)", "title: '((20\\d\\d)", "不是有效的正则表达式"),
])
def test_each_kind_of_mistake_is_located_and_says_how_to_fix_it(old: str, new: str, says: str) -> None:
    text, line = mistake(old, new)
    message = problem(text)
    assert says in message, message
    if new and "\n" not in old:  # a change on one line is reported at that line
        assert f"坏表单.yaml 第{line}行：" in message, message


def test_yaml_syntax_error_names_its_line() -> None:
    text, line = mistake("  - {label: 自然人, key: natural_person}", "  - {label: 自然人, key: natural_person")
    message = problem(text)
    assert "坏表单.yaml 第" in message and "不是有效的 YAML" in message
    assert int(re.search(r"第(\d+)行", message)[1]) >= line


def test_every_mistake_is_listed_in_the_order_of_the_file() -> None:
    text = TEXT.replace("severity: warning", "severity: warn").replace("fee_unit: {key: active.fees.amount",
                                                                          "fee_unit: {key: active.fee.amount")
    message = problem(text)
    assert message.startswith("表单定义有 2 处错误：")
    lines = [int(n) for n in re.findall(r"第(\d+)行", message)]
    assert lines == sorted(lines) and len(lines) == 2


@pytest.fixture
def spec_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    monkeypatch.setenv("XLTOOL_SPEC_PATH", str(folder))
    spec_module.reload_specs()
    yield folder
    monkeypatch.delenv("XLTOOL_SPEC_PATH")
    spec_module.reload_specs()


def test_a_damaged_spec_in_the_spec_path_stops_the_command_with_its_line(spec_path: Path, tmp_path: Path) -> None:
    bad = TEXT.replace('version: "2021"', 'version: "2031"').replace("years: [2021, 2040]", "years: [2031, 2040]")
    bad = bad.replace("severity: error", "severity: fatal", 1)
    (spec_path / "gov-info-disclosure-2031.yaml").write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(cli, ["generate", "--year", "2031", "--agency-code", "1", "--agency-name", "甲",
                                      "-o", str(tmp_path / "a.xlsx")])
    assert result.exit_code == 2
    assert f"gov-info-disclosure-2031.yaml 第{line_of(bad, 'severity: fatal')}行：严重程度“fatal”无效" in result.output
    assert not (tmp_path / "a.xlsx").exists()
