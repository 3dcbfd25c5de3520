"""Rows or columns inserted into or deleted from a sheet of the form, found from where the form's
labels are now.

A label is compared at its own cell first (checks/structure.py); only a sheet where some label is
not where the form puts it is looked at here. Each row of the form is known by its labels read
left to right (whatever their columns), each column by its labels read top to bottom (whatever
their rows): a row inserted above moves a row's labels down but keeps them together, a column
inserted to the left moves them right. Matching the form's rows, in order, to the sheet's rows
gives each row's offset; where the offset changes, rows were inserted (it grows) or deleted (it
shrinks). A shift is believed only when it explains more of the form's rows than no shift does, so
an edited label (label-changed) never passes for one."""

from __future__ import annotations

from dataclasses import dataclass

from xltool.form.layout import Item
from xltool.office.book import Sheet
from xltool.office.cells import a1, col_letter

MAX_SHIFT = 40  # rows or columns a line of labels is looked for away from its place


@dataclass(frozen=True)
class Shift:
    """What happened to one sheet: each change in words, and the first changed cell as it is now."""

    sheet: str
    changes: tuple[str, ...]
    row: int
    col: int

    @property
    def ref(self) -> str:
        return a1(self.row, self.col)


def _lines(items: list[tuple[int, int, str]]) -> dict[int, tuple[str, ...]]:
    """(line, position, text) -> each line's texts in order of position."""
    out: dict[int, list[tuple[int, str]]] = {}
    for line, pos, text in items:
        out.setdefault(line, []).append((pos, text))
    return {line: tuple(t for _, t in sorted(texts)) for line, texts in out.items()}


def _offsets(expected: dict[int, tuple[str, ...]], found: dict[int, tuple[str, ...]]) -> list[tuple[int, int]]:
    """Each line of the form matched, in order, to a line of the sheet with the same labels: the
    offset that was in force is tried first, then no offset, then the nearest ones."""
    out: list[tuple[int, int]] = []
    last, current = -1, 0
    for line in sorted(expected):
        texts = expected[line]
        tries = [current, 0] + [d for k in range(1, MAX_SHIFT + 1) for d in (k, -k)]
        for d in tries:
            if line + d > last and found.get(line + d) == texts:
                out.append((line, d))
                last, current = line + d, d
                break
    return out


def _changes(offsets: list[tuple[int, int]], name: str, label) -> tuple[list[str], int | None]:
    """The changes in words, and the first changed line as it is in the sheet now."""
    words: list[str] = []
    first: int | None = None
    prev_line, prev_d = -1, 0
    for line, d in offsets:
        if d != prev_d:
            delta = d - prev_d
            between = line - prev_line - 1  # the form's lines between the two matched ones
            count = "一" if abs(delta) == 1 else str(abs(delta))
            if delta > 0:
                start = prev_line + prev_d + 1  # the first line (as now) where the new ones can be
                at = start if between == 0 else None
                if at is not None:
                    words.append(f"在第{label(at)}{name}插入了{count}{name}")
                elif prev_line < 0:
                    words.append(f"在第{label(line + d)}{name}之前插入了{count}{name}")
                else:
                    words.append(f"在第{label(start - 1)}{name}与第{label(line + d)}{name}之间插入了{count}{name}")
                spot = start
            else:
                gone = -delta
                if between == gone:
                    words.append(f"删除了原表第{label(prev_line + 1)}{name}" if gone == 1
                                 else f"删除了原表第{label(prev_line + 1)}至第{label(line - 1)}{name}")
                elif prev_line < 0:
                    words.append(f"在原表第{label(line)}{name}之前删除了{count}{name}")
                else:
                    words.append(f"在原表第{label(prev_line)}{name}与第{label(line)}{name}之间删除了{count}{name}")
                spot = prev_line + prev_d + 1
            first = spot if first is None else first
        prev_line, prev_d = line, d
    return words, first


def find_shift(sheet: Sheet, labels: list[Item], year: str) -> Shift | None:
    """The rows and columns inserted or deleted in `sheet`, judged from the form's `labels` on it;
    None when the labels are where the form puts them, or edited in place."""
    expected = [(i.row, i.col, i.text.replace("{year}", year)) for i in labels if i.text]
    texts = {t for _, _, t in expected}
    found = []
    for cell in sheet.cells.values():
        value = cell.value
        if value and cell.type != "n":
            value = value.strip()
            if value in texts:
                found.append((cell.row, cell.col, value))
    words: list[str] = []
    first = {"行": 0, "列": 0}
    for name, label, flip in (("行", lambda n: str(n + 1), False), ("列", col_letter, True)):
        want = _lines([(c, r, t) for r, c, t in expected] if flip else expected)
        have = _lines([(c, r, t) for r, c, t in found] if flip else found)
        offsets = _offsets(want, have)
        if any(d for _, d in offsets) and _more_than_in_place(offsets, want, have):
            said, at = _changes(offsets, name, label)
            words += said
            first[name] = at or 0
    if not words:
        return None
    return Shift(sheet.name, tuple(words), first["行"], first["列"])


def _more_than_in_place(offsets: list[tuple[int, int]], expected: dict[int, tuple[str, ...]],
                        found: dict[int, tuple[str, ...]]) -> bool:
    """The offsets explain more of the form's lines than leaving every line in place does."""
    in_place = sum(1 for line, texts in expected.items() if found.get(line) == texts)
    return len(offsets) > in_place
