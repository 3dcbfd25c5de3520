"""The official rules of the spec: balance, outcome, row and review totals, and across years
(carry-over, stock continuity) when last year's figures are given."""

from __future__ import annotations

from xltool.findings import finding, fmt, where
from xltool.form.formulas import rule_sides


def effective(ctx, key: str, totals: frozenset[str] | None = None):
    """What the return says for a key: a total typed over counts as typed, otherwise the sum."""
    if key in (ctx.spec.total_set if totals is None else totals):
        e = ctx.ret.entries[key]
        if not e.formula and e.kind in ("number", "text-number"):
            return e.value
    return ctx.ret.values.get(key)


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
    totals = spec.total_set
    for rule in spec.rules:
        if rule.uses_previous and ctx.previous is None:
            continue
        terms = rule.left + rule.right
        if shifted and (not all(ctx.trusted(t.key) for t in terms) or not ctx.trusted(rule.at)):
            continue  # figures of a sheet whose rows or columns moved (layout-shifted)
        found = [spec.last_year(ctx.previous or {}, t.key) if t.previous else effective(ctx, t.key, totals)
                 for t in terms]
        if None in found:
            continue
        lhs, rhs = rule_sides(rule, found)
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
