"""A published report read as a return: the three official tables and the six sections found in
a `Document` by their labels, never by position, the figures as printed.

Everything about the form comes from the spec: the tables' row and column labels (compared
after NFKC with spaces, line breaks and quotes removed; a near miss is read with
`label-deviates`), the headings and the words reports print (`published:` in the spec), and the
2019 trial format's correspondence (`superseded_formats:`). Rows are matched by their own label
wherever they are (the tables in any order, a table split over pages or cut in pieces); the
columns of a row by the header cells above its figures, falling back to the official order where
a text copy lost the header's merges.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

from xltool.findings import Finding, finding, shown
from xltool.form.returns import Entry, normalise, parse_number
from xltool.form.spec import Spec, Superseded, latest_spec
from xltool.published.document import Cell, Document, Paragraph, Table
from xltool.util import nfkc

FUZZY = 0.8  # how close a printed label must come to an official one to be read as it
SEP = "／"


# -- normalising labels and figures ------------------------------------------------------------

_DROP = re.compile("[“”\"'‘’「」『』:：;；,，。/／]")
_NUMBERED = re.compile(r"^(\d+)[、.．]")


@functools.lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """A label as compared: NFKC (full-width and Kangxi forms), no spaces or line breaks, no
    quotes or punctuation that reports vary, 、 after a numeral read as a dot."""
    t = _DROP.sub("", "".join(nfkc(text or "").split()))
    return _NUMBERED.sub(r"\1.", t)


@functools.lru_cache(maxsize=65536)
def similar(a: str, b: str, floor: float = FUZZY) -> float:
    """How alike two labels are (difflib's ratio), 0 when they cannot reach `floor` (the cheap
    upper bounds first: most pairs compared are nothing alike)."""
    if not a or not b or 2 * min(len(a), len(b)) / (len(a) + len(b)) < floor:
        return 0.0
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if m.real_quick_ratio() < floor or m.quick_ratio() < floor:
        return 0.0
    return m.ratio()


@dataclass(frozen=True, slots=True)
class Figure:
    kind: str  # number | blank | text
    value: Any = None  # the number; a text as printed
    label: str = ""  # a text as compared with the official labels (`norm`)


@functools.lru_cache(maxsize=16384)
def read_figure(text: str, spec: Spec) -> Figure:
    """A printed cell: a number (separators, full-width digits, a unit after it), a blank
    (empty, /, —, -, 无), or text."""
    if text.isascii() and text.isdigit() and len(text) < 16:
        return Figure("number", int(text))  # the common case: plain digits
    t = "".join(nfkc(text or "").split())
    if t in _blank_marks(spec) or not t:
        return Figure("blank")
    for unit in spec.published.get("units", ()):
        if t.endswith(unit) and len(t) > len(unit):
            t = t[: -len(unit)]
            break
    value = parse_number(t)
    if value is None:
        return Figure("text", text.strip(), norm(text))
    return Figure("number", normalise(value))


@functools.cache
def _blank_marks_of(marks: tuple[str, ...]) -> frozenset[str]:
    return frozenset(nfkc(m) for m in marks)


def _blank_marks(spec: Spec) -> frozenset[str]:
    return _blank_marks_of(tuple(spec.published.get("blank_marks", ())))


# -- what is looked for: rows of the official tables, their columns, their keys ------------------

@dataclass(frozen=True, eq=False)
class Column:
    path: tuple[str, ...]  # the column's labels, outermost first
    key: str

    @functools.cached_property
    def full(self) -> str:
        return norm("".join(self.path))

    @functools.cached_property
    def leaf(self) -> str:
        return norm(self.path[-1]) if self.path else ""


@dataclass(frozen=True, eq=False)
class RowSpec:
    table: str
    path: tuple[str, ...]  # the row's labels, outermost first; () for table 3's single row
    columns: tuple[Column, ...]

    @functools.cached_property
    def leaf(self) -> str:
        return norm(self.path[-1]) if self.path else ""

    @property
    def official(self) -> str:
        return self.path[-1] if self.path else ""


def _absent(key: str, old: Superseded) -> bool:
    return any(key == p or key.startswith(p + ".") for p in old.absent)


@functools.cache
def row_specs(spec: Spec, old: Superseded | None = None) -> tuple[RowSpec, ...]:
    """The rows to find, in the spec's order: this format's, or those of a superseded format
    (its `reads` for the table they changed, this format's labels elsewhere)."""
    rows: dict[tuple[str, tuple[str, ...]], list[Column]] = {}
    changed = {spec.cells[k].table for k, _ in old.reads} if old else set()
    for key, cell in spec.cells.items():
        if cell.table is None or cell.table in changed or (old and _absent(key, old)):
            continue
        path = tuple(p for p in cell.row_label.split(SEP) if p) if cell.row_label else ()
        rows.setdefault((cell.table, path), []).append(Column(tuple(cell.col_label.split(SEP)), key))
    for key, where in old.reads if old else ():
        row, col = where.split(SEP)
        rows.setdefault((spec.cells[key].table or "", (row,)), []).append(Column((col,), key))
    return tuple(RowSpec(t, p, tuple(c)) for (t, p), c in rows.items())


# -- the document's rows --------------------------------------------------------------------------

@dataclass(eq=False, slots=True)
class DocRow:
    """A row of one of the document's tables, its cells read once."""

    table: int  # index among the document's tables
    index: int  # row index within its table
    cells: list[Cell]  # as the table holds them (merged cells repeated)
    unique: list[tuple[int, Cell]]  # (first grid position, cell) of each distinct cell, in order
    figures: list[Figure]  # how each of `unique` reads
    kinds: list[str]  # their kinds
    labels: list[tuple[int, str]]  # (position in `unique`, label) of those that are text


def _doc_row(table: int, index: int, cells: list[Cell], spec: Spec) -> DocRow:
    unique = []
    last = None
    for i, c in enumerate(cells):
        if c is not last:  # a cell merged across columns repeats side by side
            unique.append((i, c))
            last = c
    figures = [read_figure(c.text, spec) for _, c in unique]
    labels = [(j, f.label) for j, f in enumerate(figures) if f.kind == "text"]
    return DocRow(table, index, cells, unique, figures, [f.kind for f in figures], labels)


@dataclass(slots=True)
class Match:
    spec: RowSpec
    row: DocRow
    label_at: int  # position in row.unique of the label cell
    score: float  # 1.0 exact


def _label_score(n: str, leaf: str) -> float:
    """How well a normalised printed label `n` names an official row's label."""
    if not n or not leaf:
        return 0.0
    if n == leaf or (n.endswith(leaf) and len(leaf) >= 2):
        return 1.0
    if len(leaf) < 3:
        return 0.0
    best = similar(n, leaf)
    if len(n) > len(leaf):  # the label printed with its group's label before it
        best = max(best, similar(n[-len(leaf) - 2:], leaf))
    return best


# -- the result -----------------------------------------------------------------------------------

@dataclass
class Imported:
    document: Document
    spec: Spec
    year: int | None = None
    agency_name: str = ""
    agency_code: str = ""
    entries: dict[str, Entry] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # every key: the figure as printed, or None; texts
    raw: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # what reading found (the checks come in verify)
    trial: Superseded | None = None  # read in a superseded format
    tables_found: bool = False
    sections: list[str] = field(default_factory=list)  # the ids of the sections whose heading was found

    @property
    def readable(self) -> bool:
        """Its tables imported: it can stand as a return."""
        return self.tables_found and not any(f.code in ("tables-missing", "form-unknown") for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        from xltool.form.returns import return_json

        spec, doc = self.spec, self.document
        source = {"file": doc.file, "sha256": doc.sha256, "kind": doc.kind,
                  "published": doc.published.isoformat() if doc.published else None,
                  "converted_from": doc.converted_from, "trial_format": self.trial.name if self.trial else None,
                  "locations": {k: v for k, v in self.locations.items() if k in spec.cells}}
        return {**return_json(spec, self.year, self.agency_code, self.agency_name, self.values, self.raw, source),
                "findings": [f.to_json() for f in self.findings]}


# -- finding the tables ---------------------------------------------------------------------------

def _superseded(doc: Document, spec: Spec) -> Superseded | None:
    texts = set(map(norm, {c.text for t in doc.tables for r in t.rows for c in r}))
    for old in spec.superseded:
        if old.finding and len(texts & {norm(x) for x in old.labels}) >= 2:
            return old
    return None


def _rows(doc: Document, spec: Spec) -> list[DocRow]:
    return [_doc_row(t, i, r, spec) for t, table in enumerate(doc.tables) for i, r in enumerate(table.rows)]


@functools.cache
def _by_leaf(specs: tuple[RowSpec, ...]) -> tuple[list[RowSpec], dict[str, list[RowSpec]],
                                                  dict[str, list[tuple[str, RowSpec]]]]:
    """The official rows that have a label; those rows by their label (normalised); and by the
    label's last two characters, longest label first, to find a label ending a longer text."""
    labelled = [s for s in specs if s.path]
    by_leaf: dict[str, list[RowSpec]] = {}
    for rs in labelled:
        by_leaf.setdefault(rs.leaf, []).append(rs)
    by_tail: dict[str, list[tuple[str, RowSpec]]] = {}
    for leaf in sorted((k for k in by_leaf if len(k) >= 2), key=len, reverse=True):
        by_tail.setdefault(leaf[-2:], []).extend((leaf, rs) for rs in by_leaf[leaf])
    return labelled, by_leaf, by_tail


def _match_rows(rows: list[DocRow], specs: tuple[RowSpec, ...]) -> list[Match]:
    """Each official row to the document row printing its label: exact matches first (the label,
    or the label ending a cell that also prints its group's), then the closest near misses among
    the rows left, each document row used once, the first occurrence winning."""
    labelled, by_leaf, by_tail = _by_leaf(specs)
    candidates: list[tuple[float, int, int, RowSpec, DocRow]] = []
    for order, row in enumerate(rows):
        exact = False
        for j, n in row.labels:
            for rs in by_leaf.get(n, ()):
                candidates.append((1.0, -order, j, rs, row))
                exact = True
        if exact:
            continue
        for j, n in row.labels:  # a label printed after its group's in one cell
            for leaf, rs in by_tail.get(n[-2:], ()):
                if len(leaf) < len(n) and n.endswith(leaf):
                    candidates.append((1.0, -order, j, rs, row))
    matches, used = _take(candidates)
    left = [rs for rs in labelled if id(rs) not in matches and len(rs.leaf) >= 3]
    if left:
        fuzzy: list[tuple[float, int, int, RowSpec, DocRow]] = []
        for order, row in enumerate(rows):
            if id(row) in used:
                continue
            for j, n in row.labels:
                for rs in left:
                    score = _label_score(n, rs.leaf)
                    if score >= FUZZY:
                        fuzzy.append((score, -order, j, rs, row))
        more, _ = _take(fuzzy, matches, used)
        matches.update(more)
    return sorted(matches.values(), key=lambda m: (m.row.table, m.row.index))


def _take(candidates: list[tuple[float, int, int, RowSpec, DocRow]], matches: dict[int, Match] | None = None,
          used: set[int] | None = None) -> tuple[dict[int, Match], set[int]]:
    """The best candidate first: each official row and each document row matched once."""
    matches = dict(matches or {})
    used = set(used or ())
    candidates.sort(key=itemgetter(0, 1, 2), reverse=True)  # stable: the first listed wins a tie
    for score, _, j, rs, row in candidates:
        if id(rs) in matches or id(row) in used:
            continue
        matches[id(rs)] = Match(rs, row, j, score)
        used.add(id(row))
    return matches, used


@functools.cache
def _column_marks(rs: RowSpec) -> frozenset[str]:
    """The labels (normalised) of a row's columns and of their groups."""
    return frozenset({c.leaf for c in rs.columns} | {norm(p) for c in rs.columns for p in c.path})


def _single_row(rows: list[DocRow], rs: RowSpec, taken: set[int]) -> Match | None:
    """Table 3's one row of figures, which has no label: in a table that prints the table's
    column labels, the row with the most cells that are figures or blanks."""
    marks = _column_marks(rs)
    tables = {r.table for r in rows for _, n in r.labels if n in marks}
    best: tuple[int, int] | None = None
    found = None
    for r in rows:
        if r.table not in tables or id(r) in taken:
            continue
        figures = len(r.figures) - len(r.labels)  # figures or blanks
        if figures < len(rs.columns) or len(r.labels) > 1 or "number" not in r.kinds:
            continue
        score = (figures, r.index)
        if best is None or score > best:
            best, found = score, r
    if found is None:
        return None
    return Match(rs, found, found.labels[-1][0] if found.labels else -1, 1.0)


def _read_transposed(imp: Imported, rows: list[DocRow], rs: RowSpec, taken: set[int]) -> bool:
    """Table 3 printed one line per column (行政复议／结果维持 | 2), as a narrow page or a Markdown
    copy has it: each column's full label, then its figure."""
    wanted = {c.full: c for c in rs.columns}
    found = 0
    for row in rows:
        if id(row) in taken or len(row.unique) < 2:
            continue
        (_, label), (_, cell) = row.unique[-2], row.unique[-1]
        col = wanted.get(norm(label.text))
        if col is not None and col.key not in imp.entries and row.kinds[-1] != "text":
            _put(imp, col.key, cell, row.figures[-1])
            found += 1
    return found * 2 > len(rs.columns)


@dataclass
class Layout:
    """The document's tables as their figures are read from them."""

    tables: list[Table]
    data_rows: set[tuple[int, int]]  # (table, row index) of the rows of figures
    # per row of figures, the rows above it that head its columns: the run of rows that are not
    # rows of figures nearest above it in its table
    headers: dict[tuple[int, int], list[list[Cell]]]
    widths: list[int]  # per table, its widest row
    # the header texts over a row's figures, shared by the rows under one header
    texts: dict[tuple, tuple[str, ...]] = field(default_factory=dict)


def _layout(doc: Document, data_rows: set[tuple[int, int]]) -> Layout:
    tables = doc.tables
    headers: dict[tuple[int, int], list[list[Cell]]] = {}
    for t, table in enumerate(tables):
        header: list[list[Cell]] = []
        above: list[list[Cell]] = []  # the rows since the last row of figures
        for i, cells in enumerate(table.rows):
            if (t, i) not in data_rows:
                above.append(cells)
                continue
            if above:
                header, above = above, []
            headers[t, i] = header
    return Layout(tables, data_rows, headers, [max(map(len, t.rows), default=0) for t in tables])


def _column_texts(header: list[list[Cell]], positions: tuple[int, ...], width: int,
                  spans_known: bool) -> tuple[str, ...]:
    """Per figure position, the header text above it: on a grid, the distinct cells over that
    grid column top to bottom; in a text copy (no merges), the header rows aligned right."""
    out = []
    for p in positions:
        seen: set[int] = set()
        parts = []
        for hrow in header:
            if spans_known:
                c = hrow[p] if p < len(hrow) else None
            else:
                k = p - width + len(hrow)  # aligned on the right edge
                c = hrow[k] if 0 <= k < len(hrow) and len(hrow) >= width - p else None
            if c is not None and id(c) not in seen:
                seen.add(id(c))
                parts.append(c.text)
        out.append(norm("".join(parts)))
    return tuple(out)


def _column_score(text: str, col: Column) -> float:
    if not text:
        return 0.0
    if text == col.full or text.endswith(col.full):
        return 3.0
    if col.leaf and text.endswith(col.leaf):
        return 2.0
    if len(col.leaf) >= 3 and similar(text[-len(col.leaf):], col.leaf) >= FUZZY:
        return 1.0
    return 0.0


@functools.lru_cache(maxsize=1024)
def _assign(columns: tuple[Column, ...], texts: tuple[str, ...]) -> tuple[list[int] | None, list[tuple[Column, str]]]:
    """For each official column, the figure position its header names (unique best match); None
    when the header does not say. Also the columns recognised by a near miss."""
    out: list[int] = []
    near: list[tuple[Column, str]] = []
    for col in columns:
        scores = [_column_score(t, col) for t in texts]
        best = max(scores, default=0.0)
        if best <= 0 or scores.count(best) != 1:
            return None, []
        out.append(scores.index(best))
        if best == 1.0:
            near.append((col, texts[scores.index(best)]))
    if len(set(out)) != len(out):
        return None, []
    return out, near


# -- the narrative --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    """A section's heading as looked for: its numeral and the words reports print after it."""

    id: str
    numeral: str  # 一 (a pattern, as the spec's heading has it before 、)
    words: tuple[str, ...]  # 总体情况 and the variants reports print, longest first
    compact: tuple[str, ...]  # the same words after NFKC, without spaces
    lead: re.Pattern[str]  # the numeral and its punctuation before the words (一、, 第一部分：)
    # the characters a heading can begin with (after NFKC), to pass over most paragraphs at a
    # glance; None when that cannot be told (a numeral that is a pattern, an empty word)
    first: frozenset[str] | None


@functools.cache
def headings(spec: Spec) -> tuple[Heading, ...]:
    """The six sections' headings, in the spec's order."""
    variants = spec.published.get("headings", {})
    out = []
    for section in spec.sections:
        numeral = section["heading"].split("、")[0]
        words = sorted([section["heading"].split("、", 1)[-1], *variants.get(section["id"], [])], key=len, reverse=True)
        compact = tuple("".join(nfkc(w).split()) for w in words)
        first = {"第", numeral[:1], *(w[:1] for w in compact)}
        out.append(Heading(section["id"], numeral, tuple(words), compact,
                           re.compile(rf"^\s*(?:第?{numeral}(?:部分)?\s*[、.．,，:：)）\s]\s*)?"),
                           None if "" in first or re.escape(numeral) != numeral else frozenset(first)))
    return tuple(out)


def _start(text: str) -> str:
    """A paragraph's start after NFKC: only that is read for a heading (a heading is short; a
    paragraph can be long)."""
    return nfkc(text[:80]).strip()


def _heading_at(text: str, n: str, heading: Heading) -> int | None:
    """Where the section's text starts in a paragraph that begins with its heading, else None.
    `n` is the paragraph's `_start`."""
    head = text[:80]
    lead = len(head) - len(head.lstrip())
    if len(n) != len(head.strip()):  # NFKC changed the length: positions are not the original's
        return None if not _heading_at_plain(n, heading.numeral, heading.words) else len(text)
    m = heading.lead.match(n)
    rest = n[m.end():] if m else n
    if not m or (not m.group(0).strip() and len(n) > 30):
        return None
    compact = "".join(rest.split())
    for wn in heading.compact:
        if compact.startswith(wn):
            # the position after the heading's words in the original text
            count, i = 0, 0
            while i < len(rest) and count < len(wn):
                if not rest[i].isspace():
                    count += 1
                i += 1
            return lead + len(n) - len(rest) + i
    return None


def _heading_at_plain(n: str, numeral: str, words: tuple[str, ...]) -> bool:
    """The rare heading whose NFKC form is longer or shorter than printed: recognised, its
    paragraph taken as the heading alone."""
    compact = "".join(n.split())
    return any(w in compact[:40] for w in words) and compact.startswith(numeral)


def _sections(doc: Document, spec: Spec) -> tuple[dict[str, list[Paragraph]], list[Paragraph], list[str]]:
    """The paragraphs of each section by its id, the paragraphs before the first heading, and
    the ids whose heading was found."""
    paragraphs = doc.paragraphs
    begins = [_start(p.text) for p in paragraphs]
    starts: list[tuple[int, str, str]] = []  # (paragraph index, section id, text after the heading)
    i = 0
    for heading in headings(spec):
        for j in range(i, len(paragraphs)):
            if heading.first is not None and begins[j][:1] not in heading.first:
                continue  # most paragraphs, at a glance
            at = _heading_at(paragraphs[j].text, begins[j], heading)
            if at is not None:
                starts.append((j, heading.id, paragraphs[j].text[at:].strip(" ：:\u3000")))
                i = j + 1
                break
    out: dict[str, list[Paragraph]] = {}
    for n, (j, sid, rest) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else _report_end(paragraphs, j + 1, spec)
        body = [Paragraph(rest, paragraphs[j].where)] if rest else []
        out[sid] = body + paragraphs[j + 1:end]
    preamble = paragraphs[: starts[0][0]] if starts else []
    return out, preamble, [s for _, s, _ in starts]


_DATE_LINE = re.compile(r"^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*$")
_SENTENCE = re.compile(r"[。；，]")


@functools.cache
def _page_end(spec: Spec) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The marks of a page's frame (normalised), and a pattern finding any of them."""
    marks = tuple(norm(m) for m in spec.published.get("page_end", ()))
    return marks, re.compile("|".join(map(re.escape, marks))) if marks else None


def _report_end(paragraphs: list[Paragraph], start: int, spec: Spec) -> int:
    """Where the report's own text ends after its last heading: at the page's frame around the
    article (附件下载, 版权所有, 网站标识码 … as the spec's `page_end` lists them), and before the
    落款 (the agency's name and the date) that closes it."""
    marks, inside = _page_end(spec)
    end = len(paragraphs)
    for i in range(start, len(paragraphs)):
        n = norm(paragraphs[i].text[:80])
        if n.startswith(marks) or (len(n) <= 60 and inside is not None and inside.search(n)):
            end = i
            break
    if end > start and _DATE_LINE.match(nfkc(paragraphs[end - 1].text)):
        end -= 1  # the date of the 落款, and the name above it
        if end > start and len(paragraphs[end - 1].text.strip()) <= 30 and not _SENTENCE.search(paragraphs[end - 1].text):
            end -= 1
    return end


def _identity(doc: Document, preamble: list[Paragraph], preamble_text: str, spec: Spec) -> tuple[str, int | None]:
    """The agency's name and the statistics year, from the report's title (`preamble_text`: the
    preamble's `_flat_text`)."""
    title = spec.published.get("title")
    lines = [p.text.strip() for p in preamble[:6]] + [doc.title]
    if not title:
        return "", None
    pattern = re.compile(title)
    for i, line in enumerate(lines):
        flat = "".join(nfkc(line).split())
        m = pattern.search(flat)
        if not m:
            continue
        name = flat[: m.start()].strip("《》“”\"-—_|")
        name = re.split(r"[|_\-—]", name)[-1] if name else name
        if not name and 0 < i <= len(preamble[:6]) and len(lines[i - 1]) <= 40:
            name = "".join(lines[i - 1].split())
        return name[:60], int(m.group(1))
    m = _YEAR_START.search(preamble_text)  # the first paragraph that says it
    return "", int(m.group(1)) if m else None


_YEAR_START = re.compile(r"(20\d\d)年1月1日")


def _flat_text(paragraphs: list[Paragraph]) -> str:
    """Paragraphs as one text after NFKC, a line each (a line break is a boundary NFKC never
    crosses: the text is each paragraph's NFKC, joined)."""
    return nfkc("\n".join(p.text for p in paragraphs))


@functools.cache
def _figure_pattern(pattern: str) -> re.Pattern[str]:
    """A `published: figures` pattern, its N a printed number."""
    return re.compile(pattern.replace("N", r"(\d+(?:,\d{3})*(?:\.\d+)?)"))


def _figure_in(text: str, pattern: str) -> Decimal | None:
    """The figure a sentence of the (NFKC) text states."""
    m = _figure_pattern(pattern).search(text)
    return Decimal(m.group(1).replace(",", "")) if m else None


# -- interpreting ---------------------------------------------------------------------------------

def interpret(doc: Document, spec: Spec | None = None) -> Imported:
    """The return a published report gives: the figures as printed at their official keys, where
    each was found, the narrative by section, and what reading found (tables-missing,
    label-deviates, form-trial-2019, published-late, form-unknown)."""
    spec = spec or latest_spec()
    imp = Imported(doc, spec)
    sections, preamble, found_sections = _sections(doc, spec)
    imp.sections = found_sections
    opening = preamble or doc.paragraphs[:3]
    opening_text = _flat_text(opening)
    imp.agency_name, imp.year = _identity(doc, opening, opening_text, spec)
    old = _superseded(doc, spec)
    imp.trial = old
    specs = row_specs(spec, old)
    rows = _rows(doc, spec)
    matches = _match_rows(rows, specs)
    taken = {id(m.row) for m in matches}
    transposed: list[RowSpec] = []
    for rs in specs:
        if not rs.path:
            single = _single_row(rows, rs, taken)
            if single:
                matches.append(single)
                taken.add(id(single.row))
            else:
                transposed.append(rs)
    data_rows = {(m.row.table, m.row.index) for m in matches}
    data_rows |= {(r.table, r.index) for r in rows if len(r.unique) > 1 and "number" in r.kinds}
    tables_seen = {m.spec.table for m in matches}
    layout = _layout(doc, data_rows)
    for m in matches:
        _read_row(imp, m, layout)
    for rs in transposed:
        if _read_transposed(imp, rows, rs, taken):
            tables_seen.add(rs.table)
    imp.tables_found = bool(tables_seen)
    _collapsed_groups(imp, rows, specs, matches)
    _fill_missing(imp, specs, tables_seen)
    _narrative(imp, sections, preamble[0].where if preamble else None, opening_text if preamble else "")
    _readability(imp, tables_seen, found_sections)
    if old and imp.tables_found:
        absent = [k for k in _table_keys(spec) if k not in imp.locations]
        imp.findings.append(finding(
            "form-trial-2019" if old.finding == "form-trial-2019" else old.finding or "form-trial-2019",
            f"这份报告使用的是{old.name}（{old.basis}），已按对应关系读入{spec.basis}格式；"
            f"{len(absent)} 项在旧格式中没有对应（如“{spec.cells[absent[0]].label}”），留空且不参与校验。" if absent else
            f"这份报告使用的是{old.name}（{old.basis}），已按对应关系读入{spec.basis}格式。", basis=spec.basis))
    _late(imp)
    return imp


def _read_row(imp: Imported, m: Match, layout: Layout) -> None:
    rs, row = m.spec, m.row
    figures = row.unique[m.label_at + 1:]
    read = row.figures[m.label_at + 1:]
    if m.score < 1.0:
        label = row.unique[m.label_at][1]
        imp.findings.append(finding("label-deviates", f"{label.where}的行标签“{shown(label.text)}”与官方格式"
                                                      f"“{rs.official}”不一致，已按“{rs.official}”读取。",
                                    location=label.where, key=rs.columns[0].key))
    positions = tuple(p for p, _ in figures)
    table = layout.tables[row.table]
    header = layout.headers[row.table, row.index] or _continued_header(layout, row.table)
    width = layout.widths[row.table] if table.spans_known else len(row.cells)
    memo = (tuple(map(id, header)), positions, width, table.spans_known)
    texts = layout.texts.get(memo)
    if texts is None:
        texts = layout.texts[memo] = _column_texts(header, positions, width, table.spans_known)
    assigned, near = _assign(rs.columns, texts)
    if assigned is None:
        if len(figures) > len(rs.columns) and not table.spans_known:
            figures = figures[-len(rs.columns):]  # a text copy: the figures end the row
            read = read[-len(rs.columns):]
        assigned = list(range(len(rs.columns)))
    for col, text in near:
        imp.findings.append(finding("label-deviates", f"{table.where}的列标签“{shown(text)}”与官方格式"
                                                      f"“{col.path[-1]}”不一致，已按“{col.path[-1]}”读取。",
                                    location=table.where, key=col.key))
    for col, at in zip(rs.columns, assigned):
        if at < len(figures):
            _put(imp, col.key, figures[at][1], read[at])


def _continued_header(layout: Layout, table: int) -> list[list[Cell]]:
    """A table continued from the previous one (split over pages): the header of the previous
    table of the same width."""
    for t in range(table - 1, -1, -1):
        prev = layout.tables[t]
        if not prev.rows or layout.widths[t] != layout.widths[table]:
            return []
        for i in range(len(prev.rows)):
            if (t, i) in layout.data_rows:
                return layout.headers[t, i]
    return []


def _put(imp: Imported, key: str, cell: Cell, fig: Figure) -> None:
    """A figure at its key, as printed in `cell` (`fig`: how it reads); a key keeps the first."""
    if key in imp.entries:
        return
    value = fig.value if fig.kind == "number" else None
    text = cell.text.strip()
    imp.entries[key] = Entry(key, None, cell.where, fig.kind, value, text or None)
    imp.values[key] = value
    imp.locations[key] = cell.where
    if fig.kind == "text":
        imp.raw[key] = text


@functools.cache
def _groups(specs: tuple[RowSpec, ...]) -> dict[str, list[RowSpec]]:
    """The official rows under a group's label (（六）其他处理), by that label."""
    groups: dict[str, list[RowSpec]] = {}
    for rs in specs:
        if len(rs.path) >= 2:
            groups.setdefault(rs.path[-2], []).append(rs)
    return groups


def _collapsed_groups(imp: Imported, rows: list[DocRow], specs: tuple[RowSpec, ...], matches: list[Match]) -> None:
    """A group of rows printed as one row of figures (（六）其他处理 without its sub-rows, as the
    2019 trial format had it): its rows were not printed, so their keys stay null without
    value-blank, and the rules over them are skipped; one label-deviates says so."""
    found = {id(m.spec) for m in matches}
    for group, members in _groups(specs).items():
        if any(id(rs) in found for rs in members):
            continue
        target = norm(group)
        for row in rows:
            labels = [(j, c) for j, (_, c) in enumerate(row.unique) if norm(c.text) == target]
            if not labels:
                continue
            j, cell = labels[-1]
            if "number" not in row.kinds[j + 1:]:
                continue
            for rs in members:
                for col in rs.columns:
                    imp.entries[col.key] = Entry(col.key, None, None, "missing")
                    imp.values[col.key] = None
            imp.findings.append(finding(
                "label-deviates", f"{cell.where}的“{shown(cell.text)}”印为一行，没有分列官方格式的"
                                  f"{len(members)}个子项（{'、'.join(rs.official for rs in members)}）：这些子项留空，"
                                  "涉及它们的校验（如办理结果总计）跳过。", location=cell.where, key=members[0].columns[0].key))
            break


@functools.cache
def _table_of(specs: tuple[RowSpec, ...]) -> dict[str, str]:
    """The table of each key the official rows have."""
    return {c.key: rs.table for rs in specs for c in rs.columns}


@functools.cache
def _table_keys(spec: Spec) -> tuple[str, ...]:
    """The numeric keys of the tables, in the spec's order."""
    return tuple(k for k, c in spec.cells.items() if c.numeric and c.table is not None)


def _fill_missing(imp: Imported, specs: tuple[RowSpec, ...], tables_seen: set[str]) -> None:
    """Keys not found: a row missing from a table that was found is a blank (the report must
    print every row); a key of a table not found, or with no counterpart, stays null silently."""
    table_of = _table_of(specs)
    for key in _table_keys(imp.spec):
        if key in imp.entries:
            continue
        if key in table_of and table_of[key] in tables_seen:
            e = Entry(key, None, "表格中", "blank")
        else:
            e = Entry(key, None, None, "missing")
        imp.entries[key] = e
        imp.values[key] = None


def _narrative(imp: Imported, sections: dict[str, list[Paragraph]], opening: str | None, preamble: str) -> None:
    """The sections' texts, the figures one of them states (section 六, the spec's
    `figures_section`), and the contacts the preamble gives
    (`opening`: where the preamble starts; `preamble`: its `_flat_text`)."""
    spec = imp.spec
    for section in spec.sections:
        key = section.get("narrative")
        if not key:
            continue
        body = sections.get(section["id"], [])
        text = "\n".join(p.text for p in body if p.text.strip())
        where = f"{body[0].where}起" if body else None
        imp.values[key] = text
        imp.entries[key] = Entry(key, None, where, "text" if text else "blank", text)
        if where:
            imp.locations[key] = where
    stating = next((s for s in spec.sections if s["id"] == spec.published.get("figures_section")), None)
    stated = nfkc(imp.values.get(stating["narrative"], "")) if stating else ""
    for conf in spec.published.get("figures", ()):
        key = conf["key"]
        if key in imp.entries:
            continue
        value = _figure_in(stated, conf["pattern"]) if stated else None
        if value is not None and stating:
            where = imp.locations.get(stating["narrative"], stating["heading"])
            imp.entries[key] = Entry(key, None, where, "number", normalise(value))
            imp.values[key] = normalise(value)
            imp.locations[key] = where
    for conf in spec.published.get("figures", ()):
        if conf["key"] not in imp.entries:
            imp.entries[conf["key"]] = Entry(conf["key"], None, None, "missing")  # not stated: null, no finding
            imp.values[conf["key"]] = None
    for key, pattern in spec.published.get("contact", {}).items():
        m = re.search(pattern, preamble)
        text = m.group(1).strip() if m else ""
        imp.values[key] = text
        imp.entries[key] = Entry(key, None, opening if m else None, "text" if text else "blank", text)
    for key in spec.text_keys:
        if key not in imp.entries:
            imp.values[key] = ""
            imp.entries[key] = Entry(key, None, None, "missing", "")


def _readability(imp: Imported, tables_seen: set[str], found_sections: list[str]) -> None:
    spec, doc = imp.spec, imp.document
    missing = [t for t in spec.tables if t.id not in tables_seen]
    if doc.unreadable and len(missing) == len(spec.tables):
        imp.tables_found = False
        imp.findings.append(finding("tables-missing", f"{doc.unreadable}，无法读取表格中的数字，未作任何推测。"))
        return
    if not tables_seen and len(found_sections) < 2:
        imp.findings.append(finding("form-unknown", f"这不像是一份{spec.title}：既没有找到官方格式的三张表格，"
                                                    f"也没有找到“{spec.sections[0]['heading']}”等六部分的标题。"))
        return
    if not missing:
        return
    names = "、".join(t.heading for t in missing)
    why = ("表格可能是以图片形式发布的" if doc.images else "没有找到这些表格") if not doc.unreadable else doc.unreadable
    imp.findings.append(finding("tables-missing", f"{names}：{why}，其中的数字未读入（不按 0 计）。"))
    if not tables_seen:
        imp.tables_found = False


def _late(imp: Imported) -> None:
    doc, spec = imp.document, imp.spec
    if doc.published is None or imp.year is None:
        return
    for rule in spec.published.get("deadlines", ()):
        if re.search(rule.get("who", ""), imp.agency_name or ""):
            month, day = (int(x) for x in str(rule["by"]).split("-"))
            deadline = date(imp.year + 1, month, day)
            if doc.published > deadline:
                imp.findings.append(finding(
                    "published-late", f"页面显示的发布日期是 {doc.published:%Y年%-m月%-d日}，晚于{rule.get('name', '')}"
                                      f"公开{imp.year}年度报告的期限（{deadline:%Y年%-m月%-d日}，条例第四十九条）。"))
            return
