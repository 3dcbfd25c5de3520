"""The form spec: loads `<form>-<version>.yaml` (shipped in templates/) and derives everything else.

Nothing about the official tables is written in code: the tables are trees of labelled nodes,
and this module turns them into canonical keys, grids (header cells with their spans, data
cells), totals and rule instances. The workbook writer, the reader, the checks, merge and the
report all work from a `Spec`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool.form import specfile
from xltool.form.specfile import SpecError
from xltool.resources import REINSTALL, TEMPLATES, ResourceError, folder, template_display

if TYPE_CHECKING:
    from xltool.resources import Traversable

NUMERIC_TYPES = ("count", "amount")
SPEC_PATH = "XLTOOL_SPEC_PATH"  # folders of further specs, separated like PATH

__all__ = ["FormNotFound", "PreviousFigures", "Spec", "SpecError", "all_specs", "get_spec", "latest_spec",
           "spec_for_year"]


class FormNotFound(LookupError):
    """No spec of that form and version, here or in XLTOOL_SPEC_PATH."""


@dataclass(frozen=True)
class Node:
    label: str
    key: str = ""
    children: tuple[Node, ...] = ()
    total: str | None = None  # rule code: this node is the sum of its siblings' leaves
    type: str | None = None
    unit: str | None = None
    decimals: int | None = None

    def leaves(self) -> Iterator[Node]:
        if not self.children:
            yield self
        for child in self.children:
            yield from child.leaves()

    @property
    def height(self) -> int:
        return 1 + max((c.height for c in self.children), default=0)


@dataclass(frozen=True)
class DataCell:
    """One canonical key: an input, a total or a text field."""

    key: str
    type: str  # count | amount | text | narrative
    sheet: str
    label: str  # the official words that locate it, e.g. 「一、本年新收… / 自然人」
    row_label: str = ""
    col_label: str = ""
    table: str | None = None
    unit: str | None = None
    decimals: int | None = None
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (rule code, keys summed); the first is the formula
    hint: str = ""
    preamble: bool = False

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_total(self) -> bool:
        return bool(self.sums)

    @property
    def total_of(self) -> tuple[str, ...]:
        return self.sums[0][1] if self.sums else ()


@dataclass(frozen=True)
class GridCell:
    """A cell of a table's grid, relative to the table's top-left corner."""

    row: int
    col: int
    text: str = ""
    key: str | None = None  # data cells carry their canonical key
    rowspan: int = 1
    colspan: int = 1
    role: str = "header"  # header | rowhead | corner | block | data


@dataclass(frozen=True)
class Table:
    id: str
    sheet: str
    heading: str
    prefix: str
    grid: tuple[GridCell, ...]
    width: int
    height: int
    header_rows: int  # rows repeated on every printed page
    columns: tuple[Node, ...] = ()  # leaf columns, for rules that run per column
    rows: tuple[Node, ...] = ()

    def data_cells(self) -> Iterator[GridCell]:
        return (g for g in self.grid if g.key)


@dataclass(frozen=True)
class Term:
    key: str
    sign: int = 1
    previous: bool = False


@dataclass(frozen=True)
class Rule:
    """One instance of a rule: left terms = right terms, reported at the key `at`."""

    code: str
    severity: str
    name: str
    says: str
    left: tuple[Term, ...]
    right: tuple[Term, ...]
    at: str

    @functools.cached_property
    def uses_previous(self) -> bool:
        return any(t.previous for t in self.left + self.right)


@dataclass(frozen=True)
class Superseded:
    """A format this one replaced, recognised by its labels."""

    name: str
    basis: str
    labels: tuple[str, ...]
    finding: str | None = None  # the warning a published report in this format carries when read
    reads: tuple[tuple[str, str], ...] = ()  # (this format's key, that format's 「row／column」), where they differ
    absent: tuple[str, ...] = ()  # keys (or key prefixes) with no counterpart in that format


@dataclass(eq=False)
class Spec:
    form: str
    version: str
    title: str
    basis: str
    years: tuple[int, int]
    sheets: dict[str, str]
    sections: list[dict[str, Any]]
    tables: list[Table]
    cells: dict[str, DataCell]
    rules: list[Rule]
    checks: dict[str, Any]
    superseded: tuple[Superseded, ...]
    workbook: dict[str, Any]  # texts of the workbook outside the tables
    narrative_template: str  # the report's default prose, a file beside the spec
    previous_keys: dict[str, str]  # this version's key -> the previous version's, where renamed
    published: dict[str, Any]  # how published reports print this format (xltool import)
    source: str  # where the spec was read from, for messages
    home: Traversable | None = field(repr=False, default=None)  # the folder the spec was read from
    shipped: bool = False  # inside the package: a file of it missing is a broken installation
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def read_file(self, name: str) -> str:
        """A file that belongs to this spec (its narrative template), read from beside it."""
        where = f"{self.source.rsplit('/', 1)[0]}/{name}" if "/" in self.source else name
        try:
            if self.home is None:
                raise FileNotFoundError(name)
            return self.home.joinpath(name).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            if self.shipped:
                raise ResourceError(f"xltool 安装不完整：缺少程序文件 {where}。{REINSTALL}") from None
            raise SpecError(f"{self.source}：找不到它引用的文件 {where}。") from None
        except (OSError, UnicodeDecodeError) as e:
            problem = f"无法读取 {where}：{getattr(e, 'strerror', None) or e}。"
            raise (ResourceError(problem + REINSTALL) if self.shipped else SpecError(problem)) from None

    def last_year(self, previous: Mapping[str, Any], key: str) -> Any:
        """Last year's figure for one of this version's keys. Figures of an older version of the
        form (`PreviousFigures.form_version`) are found under the key the spec maps it from."""
        version = getattr(previous, "form_version", None) or self.version
        return previous.get(key if version == self.version else self.previous_keys.get(key, key))

    # -- derived views ---------------------------------------------------------------
    @functools.cached_property
    def numeric_keys(self) -> list[str]:
        return [k for k, c in self.cells.items() if c.numeric]

    @functools.cached_property
    def input_keys(self) -> list[str]:
        return [k for k, c in self.cells.items() if not c.is_total]

    @functools.cached_property
    def numeric_input_keys(self) -> list[str]:
        return [k for k in self.input_keys if self.cells[k].numeric]

    @functools.cached_property
    def total_keys(self) -> list[str]:
        return [k for k, c in self.cells.items() if c.is_total]

    @functools.cached_property
    def total_set(self) -> frozenset[str]:
        return frozenset(self.total_keys)

    @functools.cached_property
    def total_order(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each total with the keys it adds up, after every total it adds up."""
        order: list[tuple[str, tuple[str, ...]]] = []
        seen: set[str] = set()

        def visit(key: str) -> None:
            if key not in seen:
                seen.add(key)
                for part in self.cells[key].total_of:
                    if part in self.total_set:
                        visit(part)
                order.append((key, self.cells[key].total_of))

        for key in self.total_keys:
            visit(key)
        return tuple(order)

    @functools.cached_property
    def text_keys(self) -> list[str]:
        return [k for k, c in self.cells.items() if not c.numeric]

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def sheet_names(self) -> list[str]:
        """Every visible sheet of the form, in workbook order."""
        s = self.sheets
        return [s["instructions"], s["identity"], *(t.sheet for t in self.tables), s["narrative"], s["checks"]]

    def fields_on(self, role: str) -> list[DataCell]:
        sheet = self.sheets[role]
        return [c for c in self.cells.values() if c.table is None and c.sheet == sheet]

    def labels(self) -> set[str]:
        """Every official label of the tables (what must appear verbatim)."""
        out = {t.heading for t in self.tables}
        for t in self.tables:
            out |= {g.text for g in t.grid if g.text and not g.key}
        return out

    def rule_scope(self, rule: Rule) -> str:
        """What one instance of a rule is about, in the official words: the column of a
        per-column rule, the row of a per-row rule, the block of table 3."""
        cells = [self.cells[t.key] for t in rule.left + rule.right]
        for labels in ({c.col_label for c in cells}, {c.row_label for c in cells}):
            if len(labels) == 1 and next(iter(labels)):
                return next(iter(labels))
        parts = [c.col_label.split("／") for c in cells]
        common = [p[0] for p in zip(*parts) if len(set(p)) == 1]
        return "／".join(common) or self.cells[rule.at].label

    def supports_year(self, year: int) -> bool:
        return self.years[0] <= year <= self.years[1]


class PreviousFigures(dict):
    """Last year's figures of one agency, by key, and the form version they were reported in."""

    def __init__(self, values: Mapping[str, Any], form_version: str | None):
        super().__init__(values)
        self.form_version = form_version


# -- loading -------------------------------------------------------------------------

def _node(d: dict[str, Any]) -> Node:
    return Node(
        label=str(d.get("label", "")),
        key=str(d.get("key", "")),
        children=tuple(_node(c) for c in d.get("children", ())),
        total=d.get("total"),
        type=d.get("type"),
        unit=d.get("unit"),
        decimals=d.get("decimals"),
    )


def _paths(nodes: tuple[Node, ...], trail: tuple[Node, ...] = ()) -> Iterator[tuple[Node, ...]]:
    """Every root-to-leaf path of a forest."""
    for n in nodes:
        if n.children:
            yield from _paths(n.children, trail + (n,))
        else:
            yield trail + (n,)


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _header_cells(nodes: tuple[Node, ...], depth: int, offset: int, height: int, row0: int, col0: int,
                  across: bool) -> Iterator[GridCell]:
    """Lay a tree of headers out: across (columns, spanning right) or down (rows, spanning down).

    A leaf reaches to the last header level, so the leaves line up; a node whose subtree is
    shallower than the tree grows, so the levels below it stay aligned."""
    pos = offset
    for n in nodes:
        span = sum(1 for _ in n.leaves())
        extent = height - depth - n.height + 1
        if across:
            yield GridCell(row0 + depth, col0 + pos, n.label, rowspan=extent, colspan=span, role="header")
        else:
            yield GridCell(row0 + pos, col0 + depth, n.label, rowspan=span, colspan=extent, role="rowhead")
        if n.children:
            yield from _header_cells(n.children, depth + extent, pos, height, row0, col0, across)
        pos += span


def _matrix(spec: dict[str, Any], prefix: str) -> tuple[list[GridCell], list[tuple], int, int, int]:
    cols = tuple(_node(c) for c in spec["columns"])
    rows = tuple(_node(r) for r in spec["rows"])
    col_depth = max(n.height for n in cols)
    labelled_rows = any(n.label for n in rows)
    row_depth = max(n.height for n in rows) if labelled_rows else 0
    grid: list[GridCell] = []
    if row_depth and spec.get("corner"):
        grid.append(GridCell(0, 0, spec["corner"], rowspan=col_depth, colspan=row_depth, role="corner"))
    grid += _header_cells(cols, 0, 0, col_depth, 0, row_depth, across=True)
    if row_depth:
        grid += _header_cells(rows, 0, 0, row_depth, col_depth, 0, across=False)
    entries = []
    for r, rpath in enumerate(_paths(rows)):
        for c, cpath in enumerate(_paths(cols)):
            key = _join(prefix, *(n.key for n in rpath), *(n.key for n in cpath))
            entries.append((GridCell(col_depth + r, row_depth + c, key=key, role="data"), rpath, cpath, rows, cols))
    width = row_depth + sum(1 for n in cols for _ in n.leaves())
    height = col_depth + sum(1 for n in rows for _ in n.leaves())
    return grid, entries, width, height, col_depth


def _blocks(spec: dict[str, Any], prefix: str) -> tuple[list[GridCell], list[tuple], int, int, int]:
    """Table 1: blocks, each a header row spanning the table, a column header row and data rows.
    A block with fewer columns than the widest stretches its last column to the table's width."""
    blocks = spec["blocks"]
    width = 1 + max(len(b["columns"]) for b in blocks)
    grid: list[GridCell] = []
    entries = []
    r = 0
    for b in blocks:
        cols = tuple(_node(c) for c in b["columns"])
        rows = tuple(_node(x) for x in b["rows"])
        grid.append(GridCell(r, 0, b["header"], colspan=width, role="block"))
        grid.append(GridCell(r + 1, 0, spec["corner"], role="corner"))
        spans = [1] * len(cols)
        spans[-1] = width - len(cols)
        c0 = 1
        for col, span in zip(cols, spans):
            grid.append(GridCell(r + 1, c0, col.label, colspan=span, role="header"))
            c0 += span
        for i, row in enumerate(rows):
            grid.append(GridCell(r + 2 + i, 0, row.label, role="rowhead"))
            c0 = 1
            for col, span in zip(cols, spans):
                cell = GridCell(r + 2 + i, c0, key=_join(prefix, row.key, col.key), colspan=span, role="data")
                entries.append((cell, (row,), (col,), rows, cols))
                c0 += span
        r += 2 + len(rows)
    return grid, entries, width, r, 0


def _sum_parts(path: tuple[Node, ...], forest: tuple[Node, ...]) -> list[tuple[Node, ...]]:
    """If the path ends in a total node, the paths of the leaves it sums: its siblings' leaves."""
    node = path[-1]
    if not node.total:
        return []
    siblings = path[-2].children if len(path) > 1 else forest
    return [p for s in siblings if s is not node for p in _paths((s,), path[:-1])]


def _table(d: dict[str, Any], heading: str) -> tuple[Table, list[DataCell]]:
    prefix = d["prefix"]
    build = _blocks if "blocks" in d else _matrix
    grid, entries, width, height, header_rows = build(d, prefix)
    cells: list[DataCell] = []
    for g, rpath, cpath, rows, cols in entries:
        leaf = cpath[-1]
        sums = []
        if cpath[-1].total:
            sums.append((cpath[-1].total, tuple(_join(prefix, *(n.key for n in rpath), *(n.key for n in p))
                                                for p in _sum_parts(cpath, cols))))
        if rpath[-1].total:
            sums.append((rpath[-1].total, tuple(_join(prefix, *(n.key for n in p), *(n.key for n in cpath))
                                                for p in _sum_parts(rpath, rows))))
        row_label = "／".join(n.label for n in rpath if n.label)
        col_label = "／".join(n.label for n in cpath if n.label)
        cells.append(DataCell(
            key=g.key, type=leaf.type or d.get("type", "count"), sheet=d["sheet"], table=d["id"],
            label=f"{row_label}／{col_label}" if row_label else col_label,
            row_label=row_label, col_label=col_label, unit=leaf.unit, decimals=leaf.decimals,
            sums=tuple(sums),
        ))
    # leaf column and row nodes, for rules that run "each column"
    columns = tuple(p[-1] for p in _paths(tuple(_node(c) for c in d.get("columns", ()))))
    rows_ = tuple(p[-1] for p in _paths(tuple(_node(r) for r in d.get("rows", ()))))
    grid += [e[0] for e in entries]
    table = Table(d["id"], d["sheet"], heading, prefix, tuple(grid), width, height, header_rows, columns, rows_)
    return table, cells


def _term(text: str, subst: dict[str, str]) -> Term:
    parsed = specfile.parse_term(text)
    assert parsed is not None  # checked when the file was read
    key, sign, previous = parsed
    return Term(key.format(**subst), sign, previous)


def _rules(raw: dict[str, Any], tables: dict[str, Table], cells: dict[str, DataCell]) -> list[Rule]:
    out: list[Rule] = []
    for r in raw.get("rules", ()):
        (var, source), = r["each"].items()
        if isinstance(source, str):  # e.g. requests.columns
            table_id, what = source.split(".")
            values = [n.key for n in getattr(tables[table_id], what)]
        else:
            values = list(source)
        for v in values:
            subst = {var: v}
            out.append(Rule(r["code"], r["severity"], r["name"], r["says"],
                            tuple(_term(t, subst) for t in r["left"]),
                            tuple(_term(t, subst) for t in r["right"]),
                            r["at"].format(**subst)))
    sum_rules = raw.get("sum_rules", {})
    for c in cells.values():
        for code, parts in c.sums:
            meta = sum_rules[code]
            out.append(Rule(code, "error", meta["name"], meta["says"],
                            (Term(c.key),), tuple(Term(k) for k in parts), c.key))
    return out


def parse_spec(text: str, source: str, home: Traversable | None = None, shipped: bool = False) -> Spec:
    raw = specfile.read(text, source)
    headings = {s["table"]: s["heading"] for s in raw["sections"] if "table" in s}
    tables: list[Table] = []
    cells: dict[str, DataCell] = {}
    for d in raw["tables"]:
        table, table_cells = _table(d, headings[d["id"]])
        tables.append(table)
        cells.update((c.key, c) for c in table_cells)
    sheets = dict(raw["sheets"])
    for f in raw.get("fields", ()):
        cells[f["key"]] = DataCell(
            key=f["key"], type=f["type"], sheet=sheets[f["sheet"]], label=f["label"],
            col_label=f["label"], unit=f.get("unit"), decimals=f.get("decimals"),
            hint=f.get("hint", ""), preamble=bool(f.get("preamble")),
        )
    spec = Spec(
        form=raw["form"], version=str(raw["version"]), title=raw["title"], basis=raw["basis"],
        years=tuple(raw["years"]), sheets=sheets, sections=raw["sections"], tables=tables, cells=cells,
        rules=_rules(raw, {t.id: t for t in tables}, cells), checks=dict(raw.get("checks") or {}),
        superseded=tuple(Superseded(f["name"], f["basis"], tuple(f["labels"]), f.get("finding"),
                                    tuple((str(k), str(v)) for k, v in (f.get("reads") or {}).items()),
                                    tuple(f.get("absent") or ()))
                         for f in raw.get("superseded_formats") or ()),
        published=dict(raw.get("published") or {}),
        workbook=dict(raw["workbook"]), narrative_template=raw["narrative_template"],
        previous_keys=dict(raw.get("previous_keys") or {}), source=source, home=home, shipped=shipped, raw=raw,
    )
    return spec


@dataclass(frozen=True)
class SpecFile:
    home: Traversable
    name: str
    display: str
    shipped: bool  # inside the package: a damaged one is a broken installation


def _spec_files(home: Traversable, display: str, shipped: bool) -> dict[tuple[str, str], SpecFile]:
    out = {}
    for entry in sorted(home.iterdir(), key=lambda e: e.name):
        m = re.match(r"(.+)-(\d{4})\.yaml$", entry.name)
        if m:
            out[(m[1], m[2])] = SpecFile(home, entry.name, f"{display}/{entry.name}", shipped)
    return out


def available() -> dict[tuple[str, str], SpecFile]:
    """Every spec by (form, version): those shipped in templates/, then those in the folders of
    XLTOOL_SPEC_PATH (a spec there replaces a shipped one of the same form and version)."""
    return _available(os.environ.get(SPEC_PATH, ""))


@functools.cache
def _available(spec_path: str) -> dict[tuple[str, str], SpecFile]:
    """Listed once per process and XLTOOL_SPEC_PATH: generate asks for every workbook."""
    shipped = _spec_files(folder(TEMPLATES), template_display(), shipped=True)
    if not shipped:
        raise ResourceError(f"xltool 安装不完整：找不到表单定义文件（{template_display('*.yaml')}）。{REINSTALL}")
    out = dict(shipped)
    for entry in filter(None, spec_path.split(os.pathsep)):
        path = Path(entry)
        if not path.is_dir():
            raise SpecError(f"环境变量 {SPEC_PATH} 中的“{entry}”不是文件夹。")
        out.update(_spec_files(path, str(path), shipped=False))
    return out


@functools.cache
def get_spec(form: str, version: str) -> Spec:
    """The spec of a form version; FormNotFound when there is none. A shipped spec that does not
    load is a broken installation (ResourceError); another one, a SpecError with its line."""
    found = available().get((form, version))
    if found is None:
        raise FormNotFound(f"{form} {version}")
    try:
        text = found.home.joinpath(found.name).read_text(encoding="utf-8-sig")
        return parse_spec(text, found.display, found.home, found.shipped)
    except (SpecError, OSError, UnicodeDecodeError) as e:
        detail = e.message if isinstance(e, SpecError) else str(getattr(e, "strerror", None) or e)
        if found.shipped:
            raise ResourceError(f"程序文件 {found.display} 已损坏：{detail}\n{REINSTALL}") from None
        if isinstance(e, SpecError):
            raise
        raise SpecError(f"无法读取表单定义 {found.display}：{detail}。") from None


def reload_specs() -> None:
    """Forget the specs found and read so far (after XLTOOL_SPEC_PATH or its folders change)."""
    _available.cache_clear()
    get_spec.cache_clear()


def all_specs() -> list[Spec]:
    """Every form version known here, for messages that list what is supported."""
    return [get_spec(*version) for version in available()]


def versions(form: str) -> list[str]:
    """The versions of a form, newest first."""
    return sorted((v for f, v in available() if f == form), reverse=True)


def latest_spec(form: str = "gov-info-disclosure") -> Spec:
    """The newest version of a form."""
    found = versions(form)
    if not found:
        raise FormNotFound(form)
    return get_spec(form, found[0])


def spec_for_year(year: int, form: str = "gov-info-disclosure") -> Spec | None:
    """The newest format in force for a statistics year, or None."""
    for version in versions(form):
        spec = get_spec(form, version)
        if spec.supports_year(year):
            return spec
    return None
