"""The official tables as the report shows them, derived from the spec's grids.

Every renderer (HTML, DOCX, Markdown) draws a table from `spec.tables[i].grid`, so the
labels, spans and order live only in the YAML spec. This module turns a grid into what the
renderers need: rows of cells with the figures filled in, column widths, and (for Markdown)
the flattened segments of a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xltool.findings import fmt
from xltool.form.spec import GridCell, Table

BLANK = "—"  # a blank figure: a blank is not a zero, so it is never shown as 0


def figure(value: Any) -> str:
    """A figure as the report prints it: 12, 12.5 (never 12.500000001), or — for a blank."""
    return BLANK if value is None else fmt(value)


@dataclass(frozen=True)
class ShownCell:
    """One cell of a rendered table: a label or a figure, with its spans."""

    row: int
    col: int
    text: str
    rowspan: int
    colspan: int
    role: str  # header | rowhead | corner | block | data


def shown_rows(table: Table, values: Mapping[str, Any]) -> list[list[ShownCell]]:
    """The table's rows, each the cells that start in it (left to right), figures filled in."""
    rows: list[list[ShownCell]] = [[] for _ in range(table.height)]
    for g in sorted(table.grid, key=lambda g: (g.row, g.col)):
        text = figure(values.get(g.key)) if g.key else g.text
        rows[g.row].append(ShownCell(g.row, g.col, text, g.rowspan, g.colspan, g.role))
    return rows


def column_weights(table: Table) -> list[float]:
    """Relative column widths: each column as wide as its longest unspanned label, within
    bounds, so table 2's long row labels get room and table 3's 15 columns share evenly."""
    longest = [0] * table.width
    for g in table.grid:
        if g.colspan == 1 and g.text:
            longest[g.col] = max(longest[g.col], len(g.text))
    return [min(max(n, 4.5), 16.0) for n in longest]


@dataclass(frozen=True)
class Segment:
    """A run of a table with one header: table 1 has one per block (its caption is the block
    header), tables 2 and 3 are one segment each."""

    caption: str | None
    corner: str
    columns: list[str]  # each figure column's labels, top to bottom, joined with ／
    rows: list[tuple[str, list[str]]]  # (row labels joined with ／, the figures)


def _joined(cells: list[GridCell], role: str, *, row: int | None = None, col: int | None = None) -> str:
    """The labels of `role` whose span covers a row (or a column), outermost first."""
    hits = [g for g in cells if g.role == role and g.text
            and (row is None or g.row <= row < g.row + g.rowspan)
            and (col is None or g.col <= col < g.col + g.colspan)]
    return "／".join(g.text for g in sorted(hits, key=lambda g: (g.row, g.col)))


def segments(table: Table, values: Mapping[str, Any]) -> list[Segment]:
    """The table flattened for a pipe table: hierarchical labels joined into one per column and
    one per row, in the official order."""
    starts = sorted(g.row for g in table.grid if g.role == "block") or [0]
    out = []
    for top, bottom in zip(starts, starts[1:] + [table.height]):
        cells = [g for g in table.grid if top <= g.row < bottom]
        data = sorted((g for g in cells if g.key), key=lambda g: (g.row, g.col))
        first_row = data[0].row
        heads = [g for g in cells if g.row < first_row]
        rows = [(_joined(cells, "rowhead", row=r), [figure(values.get(g.key or "")) for g in data if g.row == r])
                for r in dict.fromkeys(g.row for g in data)]
        out.append(Segment(
            caption=next((g.text for g in cells if g.role == "block"), None),
            corner=next((g.text for g in cells if g.role == "corner"), ""),
            columns=[_joined(heads, "header", col=g.col) for g in data if g.row == first_row],
            rows=rows))
    return out
