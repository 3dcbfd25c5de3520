"""The official rules of the spec: balance, outcome, row and review totals, and across years
(carry-over, stock continuity) when last year's figures are given."""

from __future__ import annotations

import functools
from typing import Any

from xltool.findings import finding, fmt, where
from xltool.form.formulas import RuleTerms
from xltool.form.spec import Rule, Spec


def effective_figures(ctx) -> dict[str, Any]:
    """What the return says for each key: a total typed over counts as typed, otherwise the sum."""
    out = dict(ctx.ret.values)
    entries = ctx.ret.entries
    for key in ctx.spec.total_keys:
        e = entries[key]
        if not e.formula and e.kind in ("number", "text-number"):
            out[key] = e.value
    return out


@functools.cache
def _rules(spec: Spec) -> tuple[tuple[Rule, RuleTerms], ...]:
    """Each rule of the spec with what evaluating it reads."""
    return tuple((rule, RuleTerms.of(rule)) for rule in spec.rules)


def _short_labels(spec, keys: list[str]) -> dict[str, str]:
    """Name each term by what tells it apart: its row when the terms share a column, and so on."""
    cells = [spec.cells[k] for k in keys]
    if len({c.col_label for c in cells}) == 1:
        return {c.key: c.row_label.split("／")[-1] for c in cells}
    if len({c.row_label for c in cells}) == 1:
        return {c.key: c.col_label.split("／")[-1] for c in cells}
    return {c.key: c.label for c in cells}


def _side(terms, values, labels) -> str:
    parts: list[str] = []
    for t in terms:
        name = ("上年" if t.previous else "") + labels[t.key]
        parts.append(("－" if t.sign < 0 else ("＋" if parts else "")) + f"{name} {fmt(values[t])}")
    total = sum(t.sign * values[t] for t in terms)
    return "".join(parts) + (f" ＝ {fmt(total)}" if len(terms) > 1 else "")


def check(ctx):
    spec = ctx.spec
    shifted = bool(ctx.shifts)
    figures, last = effective_figures(ctx), ctx.previous or {}
    for rule, read in _rules(spec):
        terms = read.terms
        if rule.uses_previous and ctx.previous is None:
            continue
        if shifted and (not all(ctx.trusted(t.key) for t in terms) or not ctx.trusted(rule.at)):
            continue  # figures of a sheet whose rows or columns moved (layout-shifted)
        if rule.uses_previous:
            found = [spec.last_year(last, t.key) if t.previous else figures.get(t.key) for t in terms]
        else:
            found = list(map(figures.get, read.keys))
        if None in found:
            continue
        lhs, rhs = read.sides(found)
        if lhs == rhs:
            continue
        values = dict(zip(terms, found))
        e = ctx.ret.entries[rule.at]
        labels = _short_labels(spec, sorted({t.key for t in rule.left + rule.right}))
        yield finding(
            rule.code,
            f"{where(spec, rule.at, e.sheet, e.ref)}：{rule.name}不成立。规则：{rule.says}。"
            f"现为：{_side(rule.left, values, labels)}，而 {_side(rule.right, values, labels)}。",
            sheet=e.sheet, cell=e.ref, key=rule.at, severity=rule.severity,
        )
