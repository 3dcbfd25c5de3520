"""Cell addresses: A1 references, formulas moved from cell to cell, defined names' targets."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def col_letter(col: int) -> str:
    s = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


@functools.lru_cache(maxsize=65536)
def a1(row: int, col: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"{d}{col_letter(col)}{d}{row + 1}"


def sheet_ref(sheet: str, ref: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + ref


@functools.lru_cache(maxsize=65536)
def parse_ref(ref: str) -> tuple[int, int]:
    """'AB12' -> (11, 27), 0-based."""
    col = 0
    digits = ref.lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for ch in ref[: len(ref) - len(digits)]:
        if ch != "$":
            col = col * 26 + ord(ch) - 64
    return int(digits.replace("$", "")) - 1, col - 1


_REF = re.compile(r"(?<![A-Za-z_.\d])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\d(A-Za-z_])")
# A reference, or a text in quotes that holds none: "B2" in IF(A1="B2",…), a sheet name 'A1'.
_REF_OR_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|' + _REF.pattern)


def shift_formula(formula: str, drow: int, dcol: int) -> str:
    """A shared formula's text as seen from another cell: relative references move."""

    def move(m: re.Match) -> str:
        if m[2] is None:
            return m[0]  # a quoted text or sheet name
        row, col = parse_ref(m[2] + m[4])
        if not m[1]:
            col += dcol
        if not m[3]:
            row += drow
        return f"{m[1]}{col_letter(col)}{m[3]}{row + 1}"

    return _REF_OR_QUOTED.sub(move, formula)


_NAME_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^!']+))!\$?([A-Z]{1,3})\$?(\d+)$")


@functools.lru_cache(maxsize=4096)
def parse_name_ref(text: str) -> tuple[str, int, int] | None:
    m = _NAME_REF.match(text.strip())
    if not m:
        return None
    sheet = m[1].replace("''", "'") if m[1] is not None else m[2]
    row, col = parse_ref(m[3] + m[4])
    return sheet, row, col


