"""Each rule and total is written once (xltool/form/formulas.py): the Excel formula and the Python
evaluation agree, signs included, for every rule of the spec."""

from __future__ import annotations

import pytest

from builders import SPEC, consistent
from xltool.form.formulas import FAIL, PASS, PENDING, rule_excel, rule_status, totals
from xltool.form.spec import Rule, Term

RANGES = {"a": "B2", "b": "B3", "c": "B4"}


def ranges(keys: list[str]) -> list[str]:
    return [RANGES[k] for k in keys]


def test_a_term_with_a_minus_sign_is_subtracted_in_both() -> None:
    rule = Rule("rule-balance", "error", "名", "说", (Term("a"), Term("b", -1)), (Term("c"),), "c")
    assert rule_excel(rule, ranges) == 'IF(COUNT(B2,B3,B4)<3,"待填写",IF(SUM(B2)-SUM(B3)=SUM(B4),"通过","不通过"))'
    assert rule_status(rule, {"a": 5, "b": 2, "c": 3}.get) == PASS
    assert rule_status(rule, {"a": 5, "b": 2, "c": 7}.get) == FAIL
    assert rule_status(rule, {"a": 5, "b": None, "c": 3}.get) == PENDING


@pytest.mark.parametrize("bump", [0, 1])
def test_every_live_rule_of_the_spec_passes_on_consistent_figures_and_fails_when_one_moves(bump: int) -> None:
    figures = consistent()
    figures.update(totals(SPEC, figures))
    live = [r for r in SPEC.rules if not r.uses_previous]
    assert live and all(rule_status(r, figures.get) == PASS for r in live)
    if bump:
        rule = live[0]
        figures[rule.left[0].key] += 1
        assert rule_status(rule, figures.get) == FAIL
