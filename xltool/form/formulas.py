"""Each total and each rule of the form, written once: the Excel formula the workbook shows and
the Python evaluation that verify, fill and merge use, side by side, so the two cannot drift.

A total is SUM() of its parts: blanks and text count as nothing. A rule is a live check: 待填写
until every term is a number, then 通过 when the signed sums of its two sides are equal.
"""

from __future__ import annotations

import decimal
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xltool.form.spec import Rule, Spec, Term

Number = int | Decimal
NUMBER_TYPES = (int, Decimal, float)

PASS, FAIL, PENDING = "通过", "不通过", "待填写"
ALL_PASS = "全部校验通过"


def is_number(v: Any) -> bool:
    return type(v) in NUMBER_TYPES  # not bool, which is an int to isinstance


# -- numbers a clerk can type --------------------------------------------------------------------

LARGEST = Decimal(10) ** 15  # a spreadsheet keeps 15 significant digits; fill refuses more too
SIGNIFICANT = 15  # digits a spreadsheet shows and computes with
SMALLEST_EXPONENT = -30  # below 1E-30 nothing a return holds is meant (a fee is in 万元)
# Digits and exponent bounded before any Decimal work: "1e99999999" or a 100,000-digit run is
# refused by the pattern, never handed to Decimal or int.
_NUMBER = re.compile(r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,4})?", re.ASCII)


def bounded_decimal(text: str) -> Decimal | None:
    """A plain number (ASCII digits, a sign, a point, an exponent) within what a return can hold:
    |x| < 10^15, and zero or at least 1E-30. None for anything else.

    A number with more than 15 significant digits is the double it names, rounded to 15
    significant digits: what Excel shows. Excel saves a typed 2.3 as `2.2999999999999998` (17
    digits, the double's shortest exact round trip); WPS and LibreOffice write `2.3`. Both read 2.3."""
    if len(text) > 80 or not _NUMBER.fullmatch(text):
        return None
    d = Decimal(text)
    if not d:
        return Decimal(0)
    if len(d.as_tuple().digits) > SIGNIFICANT:
        d = Decimal(format(float(text), ".15g"))
    return d if SMALLEST_EXPONENT <= d.adjusted() < 15 else None


# -- a formula of constants ----------------------------------------------------------------------

MAX_FORMULA = 200  # characters: =12+9, =(3+4)*2 — what a clerk types as arithmetic
MAX_NESTING = 20  # parentheses and signs, one inside another
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([-+*/^%()]))", re.ASCII)


def constant_value(formula: str) -> Decimal | None:
    """The value of a formula made of constants only (numbers, + - * / ^ %, parentheses, signs),
    computed as a spreadsheet does (Excel's precedence: sign, then %, then ^ left to right, then
    * /, then + -) and kept to 15 significant digits. None when the formula holds anything else
    (a reference, a function, a name, text) or cannot be computed within bounds."""
    text = formula.strip()
    text = text[1:] if text.startswith("=") else text
    if not text or len(text) > MAX_FORMULA:
        return None
    tokens: list[Decimal | str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip():
                return None
            break
        if m[1] is not None:
            number = bounded_decimal(m[1])
            if number is None:
                return None
            tokens.append(number)
        else:
            tokens.append(m[2])
        pos = m.end()
    try:
        with decimal.localcontext() as ctx:
            ctx.prec, ctx.Emax, ctx.Emin = 28, 60, -60
            ctx.traps.update({decimal.Overflow: True, decimal.Underflow: True, decimal.InvalidOperation: True,
                              decimal.DivisionByZero: True})
            value = _Parser(tokens).run()
            ctx.prec = 15
            value = +value
    except (ValueError, decimal.DecimalException):  # the parser's "not arithmetic of constants"
        return None
    if value and not SMALLEST_EXPONENT <= value.adjusted() < 15:
        return None
    return value if value else Decimal(0)


class _Parser:
    """Recursive descent over the tokens; depth bounded by MAX_NESTING."""

    def __init__(self, tokens: list[Decimal | str]):
        self.tokens, self.i, self.depth = tokens, 0, 0

    def run(self) -> Decimal:
        value = self.sum()
        if self.i != len(self.tokens):
            raise ValueError("not a formula of constants")
        return value

    def _peek(self) -> Decimal | str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> Decimal | str | None:
        token = self._peek()
        self.i += 1
        return token

    def sum(self) -> Decimal:
        value = self.product()
        while self._peek() in ("+", "-"):
            op, right = self._take(), self.product()
            value = value + right if op == "+" else value - right
        return value

    def product(self) -> Decimal:
        value = self.power()
        while self._peek() in ("*", "/"):
            op, right = self._take(), self.power()
            value = value * right if op == "*" else value / right
        return value

    def power(self) -> Decimal:
        value = self.signed()
        while self._peek() == "^":
            self._take()
            exponent = self.signed()
            if abs(exponent) > 60:
                raise ValueError("not a formula of constants")
            value = value ** exponent
        return value

    def signed(self) -> Decimal:
        if self._peek() in ("+", "-"):
            op = self._take()
            self._enter()
            value = self.signed()
            self.depth -= 1
            return -value if op == "-" else value
        value = self.primary()
        while self._peek() == "%":
            self._take()
            value = value / 100
        return value

    def primary(self) -> Decimal:
        token = self._take()
        if isinstance(token, Decimal):
            return token
        if token != "(":
            raise ValueError("not a formula of constants")
        self._enter()
        value = self.sum()
        self.depth -= 1
        if self._take() != ")":
            raise ValueError("not a formula of constants")
        return value

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ValueError("not a formula of constants")


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


@dataclass(frozen=True)
class RuleTerms:
    """What evaluating a rule reads: its terms' keys and signs, left then right. Worked out once
    per rule where many returns are checked (checks/rules.py)."""

    terms: tuple[Term, ...]
    keys: tuple[str, ...]
    signs: tuple[int, ...]
    n_left: int  # how many of the terms are on the left
    plain: bool  # every sign is +, as in most rules: each side is the plain sum of its figures

    @classmethod
    def of(cls, rule: Rule) -> RuleTerms:
        terms = (*rule.left, *rule.right)
        signs = tuple(t.sign for t in terms)
        return cls(terms, tuple(t.key for t in terms), signs, len(rule.left), signs.count(1) == len(signs))

    def sides(self, found: Sequence[Any]) -> tuple[Any, Any]:
        """The signed sums of the two sides, given each term's figure in left-then-right order."""
        n = self.n_left
        signed = found if self.plain else list(map(operator.mul, self.signs, found))
        return sum(signed[:n]), sum(signed[n:])


def rule_status(rule: Rule, value_of: Callable[[str], Any]) -> str:
    """What the rule's live check shows, given this year's figures."""
    terms = RuleTerms.of(rule)
    found = [value_of(k) for k in terms.keys]
    if not all(is_number(v) for v in found):
        return PENDING
    lhs, rhs = terms.sides(found)
    return PASS if lhs == rhs else FAIL
