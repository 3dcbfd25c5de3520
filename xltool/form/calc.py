"""What the workbook's formulas compute, computed in Python.

A spreadsheet application computes the totals and live checks as the clerk types; we compute
the same values to write correct saved values (generate, fill) and to recompute totals from
the inputs when reading a return (a saved value is only a cross-check).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from xltool.form.layout import ALL_PASS, FAIL, PASS, PENDING, Item, Layout
from xltool.form.spec import Rule, Spec

Number = int | Decimal


NUMBER_TYPES = (int, Decimal, float)


def is_number(v: Any) -> bool:
    return type(v) in NUMBER_TYPES  # not bool, which is an int to isinstance


def totals(spec: Spec, cells: Mapping[str, Any]) -> dict[str, Number]:
    """Every total from the inputs, as SUM() would: blanks and text count as nothing."""
    out: dict[str, Number] = {}
    for key, parts in spec.total_order:  # on the verify path: kept to plain loops
        total: Number = 0
        for part in parts:
            v: Any = out[part] if part in out else cells.get(part)
            if type(v) in NUMBER_TYPES:
                total += v
        out[key] = total
    return out


def formula_values(layout: Layout, cells: Mapping[str, Any]) -> dict[Item, Any]:
    """The value of every formula cell of the layout, given the input cells' contents
    (numbers, text, or None for blank)."""
    spec = layout.spec
    full = dict(cells)
    full.update(totals(spec, cells))
    numeric_inputs = [k for k in spec.input_keys if spec.cells[k].numeric]
    blank = sum(1 for k in numeric_inputs if full.get(k) in (None, ""))
    text = sum(1 for k in numeric_inputs if full.get(k) not in (None, "") and not is_number(full.get(k)))
    out: dict[Item, Any] = {}
    statuses = []
    for item in layout.formulas:
        check = item.check
        if item.key:
            out[item] = full[item.key]
        elif check == "blank":
            out[item] = blank
        elif check == "text":
            out[item] = text
        elif isinstance(check, Rule):
            terms = check.left + check.right
            if not all(is_number(full.get(t.key)) for t in terms):
                status = PENDING
            else:
                lhs = sum((full[t.key] for t in check.left), 0)
                rhs = sum((full[t.key] for t in check.right), 0)
                status = PASS if lhs == rhs else FAIL
            statuses.append(status)
            out[item] = status
    fails = statuses.count(FAIL)
    for item in layout.formulas:
        if item.check == "overall":
            if blank + text:
                out[item] = f"未完成：尚有{blank + text}项未填写或不是数字"
            elif fails:
                out[item] = f"有{fails}项校验不通过，请核对"
            else:
                out[item] = ALL_PASS
    return out
