"""The book model every reader produces: sheets of cells with their formulas and styles, the
defined names, which styles are locked. Readers: xlsx.py (fast, lazy), xls.py (legacy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Cell:
    row: int
    col: int
    type: str  # n (number), s (text), b (boolean), e (error), "" (blank)
    value: str | None  # the raw text: a number's digits, a string, a formula's saved value
    formula: str | None = None
    style: int = 0  # an index into the book's styles; -1 when the file's index was not a number
    hidden: bool = False  # its row or column is hidden (or has zero height or width)


class Sheet:
    """A worksheet. A reader may hand its cells over lazily (`load`), so a check that needs some
    sheets (or a merged workbook's large per-agency sheet) does not pay for the others."""

    def __init__(self, name: str, state: str, part: str | None = None, protection: dict[str, str] | None = None,
                 load: Callable[[], dict[tuple[int, int], Cell]] | None = None):
        self.name = name
        self.state = state  # visible | hidden | veryHidden
        self.part = part  # the zip member holding the sheet
        # the attributes of <sheetProtection>, as written (None: no protection element at all).
        # Beware: they are inverted, insertRows="0" means inserting rows is ALLOWED.
        self.protection = protection
        self._load = load
        self._cells: dict[tuple[int, int], Cell] | None = None if load else {}

    @property
    def protected(self) -> bool:
        return self.protection is not None and self.protection.get("sheet", "0") in ("1", "true")

    @property
    def cells(self) -> dict[tuple[int, int], Cell]:
        if self._cells is None:
            assert self._load is not None
            self._cells, self._load = self._load(), None
        return self._cells

    def get(self, row: int, col: int) -> Cell | None:
        return self.cells.get((row, col))


@dataclass
class Book:
    kind: str  # xlsx | xlsm | xls
    sheets: dict[str, Sheet]
    names: dict[str, tuple[str, int, int]]  # defined name -> (sheet, row, col)
    locked_styles: list[bool]  # per cell style index: is a cell of this style locked?
    modified: str | None = None
    has_macros: bool = False
    formulas_known: bool = True  # False for a legacy .xls, whose formulas we cannot see
    unparsed_names: dict[str, str] = field(default_factory=dict)  # defined name -> its text, when not one cell
    calc: dict[str, str] = field(default_factory=dict)  # the attributes of <calcPr> (calcMode, calcOnSave, …)

    def cell(self, name: str) -> Cell | None:
        where = self.names.get(name)
        if where is None or where[0] not in self.sheets:
            return None
        return self.sheets[where[0]].get(where[1], where[2])

    def is_locked(self, cell: Cell | None) -> bool:
        if cell is None:
            return True
        return self.locked_styles[cell.style] if 0 <= cell.style < len(self.locked_styles) else True
