"""Every numeric input: present, a number, not negative, a whole number for counts; the fee's unit."""

from __future__ import annotations

import functools
from decimal import Decimal

from xltool.findings import finding, fmt, shown, where
from xltool.form.returns import LARGEST_TEXT, out_of_range
from xltool.form.spec import Spec


def _value_findings(ctx, key: str):
    """What is wrong with a figure not as it should be (check tells which are)."""
    spec, e = ctx.spec, ctx.ret.entries[key]
    cell = spec.cells[key]
    at = where(spec, key, e.sheet, e.ref)
    kw = {"sheet": e.sheet, "cell": e.ref, "key": key}
    if e.kind == "blank":
        yield finding("value-blank", f"{at}未填写。", **kw)
        return
    if e.kind == "formula":
        yield _formula_finding(at, e, kw)
        return
    if e.kind in ("text", "other"):
        if e.text is not None and out_of_range(e.text):
            yield finding("value-not-number", f"{at}填写的“{shown(e.text)}”超出了可填写的数值范围"
                                              f"（绝对值应小于{LARGEST_TEXT}），不能作为数字读取。", **kw)
        else:
            yield finding("value-not-number", f"{at}填写的“{shown(e.text)}”不是数字。", **kw)
        return
    if e.kind == "formula-constant":
        saved = f"（文件中保存的结果 {shown(e.text)} 未采用）" if e.saved is not None and e.saved != e.value else ""
        yield finding("value-formula-constant", f"{at}填写的是公式“={shown(e.formula)}”，已按公式中的数字计算为 "
                                                f"{fmt(e.value)} 读取{saved}。", **kw)
    if e.kind == "text-number":
        yield finding("value-text-number", f"{at}的“{shown(e.text)}”是以文本形式输入的数字（如全角数字或带空格），"
                                           f"已按 {fmt(e.value)} 读取。", **kw)
    value = e.value
    if value < 0:
        yield finding("value-negative", f"{at}填写了负数 {fmt(value)}。", **kw)
    if cell.type == "count" and isinstance(value, Decimal):
        yield finding("value-not-integer", f"{at}填写了 {fmt(value)}，件数应为整数。", **kw)


def _formula_finding(at: str, e, kw):
    return finding("value-formula", f"{at}填写的是公式“={shown(e.formula)}”，不是直接输入的数字或文字，"
                                    "其结果未被采用。", **kw)


@functools.cache
def _numeric_inputs(spec: Spec) -> tuple[tuple[str, bool], ...]:
    """Each numeric input with whether it is a count (a whole number)."""
    return tuple((k, spec.cells[k].type == "count") for k in spec.numeric_input_keys)


def _text_formulas(ctx):
    """Text inputs (narrative, contacts) holding a formula: its result is not used either."""
    spec = ctx.spec
    for key in spec.text_keys:  # every text key is an input: a total is a figure
        e = ctx.ret.entries[key]
        if e.kind == "formula" and ctx.trusted(key):
            yield _formula_finding(where(spec, key, e.sheet, e.ref), e, {"sheet": e.sheet, "cell": e.ref, "key": key})


def _fee_unit(ctx):
    conf = ctx.spec.checks.get("fee_unit")
    if not conf or not ctx.trusted(conf["key"]):
        return
    key = conf["key"]
    value = ctx.ret.values.get(key)
    if value is None or value < 0:
        return
    e = ctx.ret.entries[key]
    decimals = -Decimal(value).normalize().as_tuple().exponent
    unit = ctx.spec.cells[key].unit
    if value > conf["max_plausible"] or decimals > conf["max_decimals"]:
        reason = (f"数额 {fmt(value)} 过大" if value > conf["max_plausible"] else f"小数位数（{decimals}位）超过了{unit}所需")
        yield finding("fee-unit-suspect", f"{where(ctx.spec, key, e.sheet, e.ref)}：{reason}，像是按“元”填写的。",
                      sheet=e.sheet, cell=e.ref, key=key, unit=unit)


def _processing_fee(ctx):
    conf = ctx.spec.checks.get("processing_fee")
    if not conf or not (ctx.trusted(conf["cases"]) and ctx.trusted(conf["notices"])):
        return
    cases, notices = ctx.ret.values.get(conf["cases"]), ctx.ret.values.get(conf["notices"])
    if cases and cases > 0 and notices is not None and notices == 0:
        e, c = ctx.ret.entries[conf["notices"]], ctx.ret.entries[conf["cases"]]
        yield finding("processing-fee-missing",
                      f"{where(ctx.spec, conf['cases'], c.sheet, c.ref)}有 {fmt(cases)} 件，说明发出过收费通知，"
                      f"但{where(ctx.spec, conf['notices'], e.sheet, e.ref)}为 0。",
                      sheet=e.sheet, cell=e.ref, key=conf["notices"])


def check(ctx):
    spec = ctx.spec
    # a workbook made from a published report (import --to-workbook): the figures the report
    # does not state (a 2019-format row, a processing fee it does not mention) stay blank, no finding
    unstated = set(ctx.ret.meta.get("imported_unstated", "").split())
    shifted = bool(ctx.shifts)
    entries = ctx.ret.entries
    for key, count in _numeric_inputs(spec):
        if shifted and not ctx.trusted(key):
            continue  # on a sheet whose rows or columns moved (layout-shifted)
        e = entries[key]
        if e.kind == "missing" or (e.kind == "number" and e.value >= 0 and not (count and isinstance(e.value, Decimal))):
            continue  # the common case, said nothing about: a figure as it should be
        if not (key in unstated and e.kind == "blank"):
            yield from _value_findings(ctx, key)
    yield from _text_formulas(ctx)
    yield from _fee_unit(ctx)
    yield from _processing_fee(ctx)
