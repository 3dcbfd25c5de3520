"""Findings: typed values with a stable code, a severity, where they point, and a Chinese message
a clerk can act on — where (sheet, cell, the official row and column), which rule, what was
found, how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Code:
    """What a finding code means: one entry of the catalogue."""

    severity: str  # error | warning
    title: str  # a few words, in Chinese, for lists and the annotated copy
    meaning: str  # for the README's table (generated from here: tools/readme.py)
    fix: str = ""  # how to fix it, in Chinese; {names} filled by the check. Empty where the reader's own message says it
    figure_warning: bool = False  # casts doubt on a figure merge adds up (PRODUCT.md, "Confirmed figures")


CATALOGUE: dict[str, Code] = {
    "file-unreadable": Code("error", "文件无法读取",
                            "not a readable workbook: corrupt, truncated, encrypted, another file type renamed"),
    "file-too-large": Code("error", "文件过大", "over the size or expansion limits (a zip bomb)"),
    "file-legacy-format": Code("warning", "旧版 .xls 文件", "an `.xls`: values read, formula integrity could not be checked",
        fix="请用 Excel 或 WPS 另存为 .xlsx 后报送。"),
    "file-has-macros": Code("warning", "含有宏", "an `.xlsm` or a workbook carrying a VBA project: the macros were not run and are ignored",
        fix="请另存为不含宏的 .xlsx 格式后报送。"),
    "form-unknown": Code("error", "不是下发的报表", "not a workbook of a known form and version (including the 2019 trial format)"),
    "signature-invalid": Code("error", "身份或签名被改动", "identity or signature altered, or signed with another key",
        fix="请使用下发给本单位的填报表重新填写。"),
    "sheet-missing": Code("error", "工作表缺失", "a sheet of the form is gone or renamed",
        fix="请使用下发的填报表，不要增删或重命名工作表。"),
    "label-changed": Code("error", "表头被改动", "a locked label was edited",
        fix="表头文字须与{basis}格式一致，请恢复原文字（可从下发的填报表复制）。"),
    "formula-changed": Code("error", "合计公式被改动", "a total's formula was removed or altered",
        fix="请不要手工填写合计，恢复公式或使用下发的填报表重新填写。"),
    "protection-removed": Code("warning", "保护被撤销", "sheet protection was switched off",
        fix="请确认没有改动表头和合计公式；建议使用下发的填报表填写。"),
    "cached-value-mismatch": Code("error", "合计与数字不符", "a total's saved value differs from what its inputs give",
        fix="文件可能被其他工具改动过。请在 Excel/WPS 中打开、确认数字后重新保存。"),
    "value-blank": Code("error", "数字未填写", "a numeric input left empty (a blank is not a zero)",
        fix="空白不等于 0：没有发生的事项请填 0。"),
    "value-not-number": Code("error", "不是数字", "text that is not a number",
        fix="请填写阿拉伯数字，没有请填 0。"),
    "value-text-number": Code("warning", "数字存为文本", "a number typed as text (e.g. full-width １２); it is read as the number",
        fix="请改为直接输入数字。"),
    "value-negative": Code("error", "负数", "below zero",
        fix="数量和金额不能小于 0，请核对。"),
    "value-not-integer": Code("error", "件数有小数", "a count with a fraction",
        fix="请核对。"),
    "rule-balance": Code("error", "勾稽关系不成立", "第一项加第二项之和 ≠ 第三项加第四项之和 in a column",
        fix="请核对相关数字后修改。"),
    "rule-outcome-total": Code("error", "办理结果总计不符", "（七）总计 ≠ the sum of the outcome rows",
        fix="请核对相关数字后修改。"),
    "rule-row-total": Code("error", "总计列不符", "总计 column ≠ the sum of the applicant columns",
        fix="请核对相关数字后修改。"),
    "rule-review-total": Code("error", "复议诉讼总计不符", "a 复议/诉讼 总计 ≠ its four results",
        fix="请核对相关数字后修改。"),
    "rule-carry-over": Code("error", "上年结转不符", "上年结转 ≠ last year's 结转下年度继续办理 (with `--previous`)",
        fix="请核对相关数字后修改。"),
    "rule-stock-continuity": Code("warning", "现行有效件数不衔接",
                                  "现行有效件数 does not follow from last year's (with `--previous`)",
        fix="请核对相关数字后修改。", figure_warning=True),
    "fee-unit-suspect": Code("warning", "收费金额单位存疑",
                             "the fee looks like 元, not 万元 (implausibly large), or is given to more decimals than 万元 needs",
                             figure_warning=True,
        fix="本项单位为“{unit}”（1{unit}＝10000元），请核对。"),
    "processing-fee-missing": Code("warning", "信息处理费缺失", "unpaid-fee cases reported but no fee notices",
        fix="请核对信息处理费情况。"),
    "narrative-empty": Code("warning", "正文未填写", "section 一, 五 or 六 is empty",
        fix="年度报告的这一部分不能为空，没有需要报告的事项也请写明“无”。"),
    "narrative-number-mismatch": Code("warning", "正文数字与表格不符",
                                      "a figure quoted in the narrative (共收到申请N件, 办结N件, 行政复议N件 …) differs from the tables",
        fix="请核对正文或表格，使两者一致。"),
    "contact-missing": Code("warning", "联系方式未填写", "a contact field the report's preamble needs is empty",
        fix="年度报告开头需要写明联系方式，请补充。"),
    "duplicate-return": Code("warning", "重复报送", "two returns of the same agency; the one used is named",
        fix="如需采用本份，请重新报送。"),
    "value-formula-constant": Code("warning", "数字以公式填写",
                                   "an input holds a formula of constants only (`=12+9`); xltool computes its value "
                                   "from the constants and uses that (a saved value that differs is not used)",
        fix="请直接输入计算结果，不要在填报单元格中使用公式。"),
    "value-formula": Code("error", "填报单元格含公式",
                          "an input holds any other formula: a reference, a volatile or web function, an external "
                          "link; no value is used",
        fix="填报单元格只能直接输入数字或文字，不能引用其他单元格、其他文件或网络数据，也不能使用 NOW() 等函数。"
            "请删除公式，直接输入数字。"),
    "name-moved": Code("error", "名称指向被改动", "a defined name of the form points elsewhere than the spec's cell",
        fix="已按下发表格中的单元格读取。请使用下发的填报表填写，不要在“名称管理器”中修改名称。"),
    "hidden-figures": Code("warning", "有隐藏的数字",
                           "sheets or rows holding figures were hidden, or figures appear outside the form's cells",
        fix="只读取下发表格中填报单元格的数字，隐藏处或表格以外的数字不会被读取和汇总。"
            "请取消隐藏并删除多余的数字和工作表，确认表格中的数字无误后重新报送。"),
    "layout-shifted": Code("error", "行列被增删",
                           "rows or columns were inserted or deleted; reported once, with where, in place of the "
                           "cascade of label, formula, value and name findings it would cause",
        fix="填报表的行列不能增删：请恢复被增删的行列，或使用下发的填报表重新填写。"),
    "calc-manual": Code("error", "手动计算未重算",
                        "saved in manual calculation mode without recalculation on save: the saved totals are stale; "
                        "the message says how to recalculate in Excel and WPS",
        fix="Excel：点“公式”→“计算选项”→“自动”（或按 F9 重算），然后保存；"
            "WPS：点“公式”→“重算工作簿”（或按 F9），然后保存。保存后重新报送。"),
    "file-wps-format": Code("warning", "WPS .et 文件",
                            "a WPS `.et` file: values read where possible, the clerk is asked to save as `.xlsx` in WPS",
        fix="请在 WPS 中另存为 .xlsx（“文件”→“另存为”→“Excel 工作簿（*.xlsx）”）后再报送。"),
    "sender-mismatch": Code("error", "发来的是其他单位的报表",
                            "the workbook belongs to another roster agency than the sender's address",
        fix="请使用下发给本单位的填报表填写后重新报送；如确为代为报送，请与汇总单位联系确认。"),
    "tables-missing": Code("error", "表格无法读取",
                           "a published report whose tables are absent, pictures, or a text layer that cannot be read: "
                           "nothing is guessed",
        fix="需要人工录入：请向报送单位索取 Excel 填报表，或对照原文手工填写。"),
    "form-trial-2019": Code("warning", "2019 年试行格式",
                            "a published report in the 2019 trial format, read into this format's keys; keys with no "
                            "counterpart are null and rules over them skipped", figure_warning=True,
        fix="请核对对应关系；该单位今后应使用{basis}格式。"),
    "label-deviates": Code("warning", "标签与官方格式不一致",
                           "a row or column label of a published report differs from the official one but was recognised",
        fix="请核对。"),
    "site-refused": Code("error", "网站拒绝程序访问",
                         "the web site refused a program (e.g. a JavaScript challenge); save the page from a browser "
                         "and import the file",
        fix="请在浏览器中打开该网页，另存为“网页，全部”（.html）或“网页，单个文件”（.mhtml），再导入保存的文件。"),
    "published-late": Code("warning", "公开时间晚于规定",
                           "the page's publication date is after 31 January (a department) or 31 March (a government)",
        fix=""),
}

# Codes whose finding casts doubt on a figure that merge adds up: a return carrying one is
# summed only once the coordinator confirms it (PRODUCT.md, "Confirmed figures").
FIGURE_WARNINGS = frozenset(code for code, c in CATALOGUE.items() if c.figure_warning)


def catalogue_table() -> str:
    """The README's table of finding codes, from the catalogue."""
    rows = ["| code | severity | figure warning | 名称 | meaning |", "|---|---|---|---|---|"]
    rows += [f"| {code} | {c.severity} | {'yes' if c.figure_warning else ''} | {c.title} | {c.meaning} |"
             for code, c in CATALOGUE.items()]
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    key: str | None = None
    location: str | None = None  # where in a published document (null for workbooks)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: d[k] for k in ("code", "severity", "sheet", "cell", "key", "location", "message")}


def finding(code: str, found: str, sheet: str | None = None, cell: str | None = None,
            key: str | None = None, severity: str | None = None, location: str | None = None, **fix: Any) -> Finding:
    """A finding: the check says where, which rule and what it found; the catalogue says how to
    fix it (its `fix`, with the names the check gives)."""
    entry = CATALOGUE[code]
    return Finding(code, severity or entry.severity, found + entry.fix.format(**fix), sheet, cell, key, location)


def fmt(v: Any) -> str:
    """A figure as a clerk would write it: 12, 12.5 (never 12.500000001), or 空白."""
    if v is None:
        return "空白"
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))
    return str(v)


def shown(text: str | None, limit: int = 40) -> str:
    """A cell's text as a message quotes it: on one line, at most `limit` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def where(spec, key: str, sheet: str | None, cell: str | None) -> str:
    """「表二依申请公开」D7（一、本年新收政府信息公开申请数量／自然人）"""
    label = spec.cells[key].label if key in spec.cells else key
    if not sheet and cell:  # a published document: `cell` says where in it (interpret.py)
        return f"文档{cell}（{label}）"
    place = f"“{sheet}”表 {cell} 单元格" if sheet and cell else "工作簿中"
    return f"{place}（{label}）"


# What each state of a return or an agency is called wherever a person reads it.
STATE_TEXT = {"ok": "通过", "warnings": "有警告", "errors": "有错误", "missing": "未提交", "unusable": "无法使用",
              "sender-mismatch": "报表错发", "unconfirmed": "待确认"}


def status_of(findings: list[Finding]) -> str:
    if any(f.severity == "error" for f in findings):
        return "errors"
    return "warnings" if findings else "ok"
