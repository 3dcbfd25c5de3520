"""Each total and each rule of the form, written once: the Excel formula the workbook shows and
the Python evaluation that verify, fill and merge use, side by side, so the two cannot drift.

A total is SUM() of its parts: blanks and text count as nothing. A rule is a live check: 待填写
until every term is a number, then 通过 when the signed sums of its two sides are equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from xltool.form.spec import Rule, Spec, Term

Number = int | Decimal
NUMBER_TYPES = (int, Decimal, float)

PASS, FAIL, PENDING = "通过", "不通过", "待填写"
ALL_PASS = "全部校验通过"


def is_number(v: Any) -> bool:
    return type(v) in NUMBER_TYPES  # not bool, which is an int to isinstance


# -- totals ------------------------------------------------------------------------------------

def sum_excel(ranges: Sequence[str]) -> str:
    return "SUM(" + ",".join(ranges) + ")"


def totals(spec: Spec, cells: Mapping[str, Any]) -> dict[str, Number]:
    """Every total from the inputs, as its SUM() gives it: blanks and text count as nothing."""
    out: dict[str, Number] = {}
    for key, parts in spec.total_order:  # on the verify path: kept to plain loops
        total: Number = 0
        for part in parts:
            v: Any = out[part] if part in out else cells.get(part)
            if type(v) in NUMBER_TYPES:
                total += v
        out[key] = total
    return out


# -- rules -------------------------------------------------------------------------------------

Ranges = Callable[[list[str]], list[str]]  # keys -> the A1 ranges that cover their cells


def _side_excel(terms: Sequence[Term], ranges: Ranges) -> str:
    plus = [t.key for t in terms if t.sign > 0]
    minus = [t.key for t in terms if t.sign < 0]
    text = sum_excel(ranges(plus)) if plus else "0"
    return text + (f"-{sum_excel(ranges(minus))}" if minus else "")


def rule_excel(rule: Rule, ranges: Ranges) -> str:
    """The live check of a rule (this year's terms only) as an Excel formula."""
    terms = [*rule.left, *rule.right]
    every = ",".join(ranges([t.key for t in terms]))
    return (f'IF(COUNT({every})<{len(terms)},"{PENDING}",'
            f'IF({_side_excel(rule.left, ranges)}={_side_excel(rule.right, ranges)},"{PASS}","{FAIL}"))')


def rule_sides(rule: Rule, found: Sequence[Any]) -> tuple[Any, Any]:
    """The signed sums of the two sides, given each term's figure in left-then-right order."""
    n = len(rule.left)
    signed = [t.sign * v for t, v in zip([*rule.left, *rule.right], found)]
    return sum(signed[:n]), sum(signed[n:])


def rule_status(rule: Rule, value_of: Callable[[str], Any]) -> str:
    """What the rule's live check shows, given this year's figures."""
    found = [value_of(t.key) for t in (*rule.left, *rule.right)]
    if not all(is_number(v) for v in found):
        return PENDING
    lhs, rhs = rule_sides(rule, found)
    return PASS if lhs == rhs else FAIL
