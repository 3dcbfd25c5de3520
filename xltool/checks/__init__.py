"""The check families. Each module has `check(ctx) -> Iterable[Finding]`, driven by the spec;
`FAMILIES` is the order findings are reported in."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xltool.checks.shift import Shift, find_shift
from xltool.form.layout import Item, Layout, layout_for
from xltool.form.returns import Return
from xltool.form.spec import Spec


@dataclass
class Context:
    ret: Return
    key: bytes | None = None
    previous: Mapping[str, Any] | None = None  # last year's values of the same agency

    @property
    def spec(self) -> Spec:
        return self.ret.spec

    @property
    def layout(self) -> Layout:
        return layout_for(self.ret.spec)

    @functools.cached_property
    def misplaced(self) -> dict[str, list[tuple[Item, str, str]]]:
        """Per sheet, the form's labels not found at their cells: (item, what is there, what should be)."""
        book, year = self.ret.book, str(self.ret.year)
        out: dict[str, list[tuple[Item, str, str]]] = {}
        if not book.sheets:  # a published report's figures: no sheet, no label out of place
            return out
        for item in self.layout.labels:
            sheet = book.sheets.get(item.sheet)
            if sheet is None:
                continue
            cell = sheet.get(item.row, item.col)
            found = (cell.value or "") if cell else ""
            expected = (item.text or "").replace("{year}", year)
            if found.strip() != expected:
                out.setdefault(item.sheet, []).append((item, found, expected))
        return out

    @functools.cached_property
    def shifts(self) -> dict[str, Shift]:
        """The sheets whose rows or columns were inserted or deleted (checks/shift.py). Their
        labels, formulas, locks, names and figures are not judged one by one: layout-shifted says it."""
        out = {}
        for name in self.misplaced:
            labels = [i for i in self.layout.labels if i.sheet == name]
            found = find_shift(self.ret.book.sheets[name], labels, str(self.ret.year))
            if found is not None:
                out[name] = found
        return out

    def trusted(self, key: str) -> bool:
        """The key's cell is where the form puts it (its sheet was not shifted)."""
        return not self.shifts or self.spec.cells[key].sheet not in self.shifts

    def place(self, key: str) -> tuple[str | None, str | None]:
        e = self.ret.entries.get(key)
        return (e.sheet, e.ref) if e else (None, None)


def families():
    from xltool.checks import hidden, identity, narrative, rules, structure, values
    return (identity, structure, values, rules, narrative, hidden)
