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


MAX_ROWS = 1 << 20  # 1,048,576 rows and 16,384 columns (XFD): a spreadsheet's grid
MAX_COLS = 1 << 14
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


@functools.lru_cache(maxsize=65536)
def parse_ref(ref: str) -> tuple[int, int]:
    """'AB12' -> (11, 27), 0-based; lower-case letters are read as upper-case. ValueError for
    anything that is not one cell of the grid ('D', 'A0', 'AAAAA1', a row past 1,048,576)."""
    m = _CELL.fullmatch(ref)
    if m is None:
        raise ValueError(f"not a cell reference: {ref[:40]!r}")
    col = 0
    for ch in m[1].upper():
        col = col * 26 + ord(ch) - 64
    row = int(m[2])
    if not (1 <= row <= MAX_ROWS and col <= MAX_COLS):
        raise ValueError(f"cell reference outside the grid: {ref!r}")
    return row - 1, col - 1


def in_grid(row: int, col: int) -> bool:
    return 0 <= row < MAX_ROWS and 0 <= col < MAX_COLS


_REF = re.compile(r"(?<![A-Za-z_.\d])(\$?)([A-Z]{1,3})(\$?)(\d{1,7})(?![\d(A-Za-z_])")
# A reference, or a text in quotes that holds none: "B2" in IF(A1="B2",…), a sheet name 'A1'.
_REF_OR_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|' + _REF.pattern)


def shift_formula(formula: str, drow: int, dcol: int) -> str:
    """A shared formula's text as seen from another cell: relative references move."""

    def move(m: re.Match) -> str:
        if m[2] is None:
            return m[0]  # a quoted text or sheet name
        try:
            row, col = parse_ref(m[2] + m[4])
        except ValueError:  # past the grid: not a reference after all
            return m[0]
        if not m[1]:
            col += dcol
        if not m[3]:
            row += drow
        if not in_grid(row, col):
            return m[0]  # moved off the grid: the spreadsheet shows #REF!; the text stays as it was
        return f"{m[1]}{col_letter(col)}{m[3]}{row + 1}"

    return _REF_OR_QUOTED.sub(move, formula)


_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
_NAME_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^!']+))!\$?([A-Z]{1,3})\$?(\d{1,7})$")


@functools.lru_cache(maxsize=4096)
def parse_name_ref(text: str) -> tuple[str, int, int] | None:
    """A defined name's target when it is one cell ('表二'!$D$7), else None."""
    m = _NAME_REF.match(text.strip())
    if not m:
        return None
    sheet = m[1].replace("''", "'") if m[1] is not None else m[2]
    if _NOT_IN_SHEET_NAMES.search(sheet):  # [1]Sheet1: another workbook (an external link)
        return None
    try:
        row, col = parse_ref(m[3] + m[4])
    except ValueError:
        return None
    return sheet, row, col


