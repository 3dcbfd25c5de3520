"""What the workbook's formulas compute, computed in Python.

A spreadsheet application computes the totals and live checks as the clerk types; we compute
the same values to write correct saved values (generate, fill) and to recompute totals from
the inputs when reading a return (a saved value is only a cross-check).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xltool.form.formulas import ALL_PASS, FAIL, Number, is_number, rule_status, totals
from xltool.form.layout import Item, Layout
from xltool.form.spec import Rule

__all__ = ["Number", "formula_values", "is_number", "totals"]

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
            status = rule_status(check, full.get)
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
