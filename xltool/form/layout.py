"""Where everything of the form sits in the workbook, derived from the spec.

The workbook writer renders a `Layout`; the verifier compares a returned file with the same
`Layout` (labels and formulas at their cells); `fill` uses its formula cells to keep the saved
values right. Coordinates are 0-based (row, col) as in XlsxWriter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from xltool.form.formulas import ALL_PASS, FAIL, rule_excel, sum_excel
from xltool.form.spec import DataCell, Rule, Spec
from xltool.office.cells import a1, sheet_ref

# Placeholders written into the shared template and replaced per agency.
AGENCY_NAME = "{{xltool:agency_name}}"
AGENCY_CODE = "{{xltool:agency_code}}"
SIGNATURE = "{{xltool:signature}}"

META_FIELDS = ("form", "form_version", "year", "agency_code", "agency_name", "signature")


GRID_TOP = 3  # tables start below a title row, the agency row and a spacer

# Print: A4 with half-inch side margins leaves 7.27 in across in portrait, 10.69 in in landscape;
# in Excel's column units (7 px of the default font, 96 px an inch) a portrait page takes 98,
# minus the room LibreOffice's wider fallback fonts need. Sheets fit to one page across anyway.
PORTRAIT_WIDTH = 84.0
NARRATIVE_HEIGHT = 110  # points: each narrative box, so that 正文 prints on one A4 page


@dataclass(frozen=True)
class Item:
    """One placed cell (or merged range) of the workbook."""

    sheet: str
    row: int
    col: int
    style: str
    text: str | None = None
    key: str | None = None
    formula: str | None = None  # without the leading "="
    rowspan: int = 1
    colspan: int = 1
    check: Rule | str | None = None  # what a check cell computes

    @property
    def ref(self) -> str:
        return a1(self.row, self.col)


@dataclass
class SheetSetup:
    name: str
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    landscape: bool = False
    repeat_rows: tuple[int, int] | None = None  # printed at the top of every page of the sheet
    hidden: str | None = None  # "very" for the metadata sheet


@dataclass
class Layout:
    spec: Spec
    sheets: list[SheetSetup]  # in the order of their parts: xl/worksheets/sheet1.xml, sheet2.xml, …
    items: list[Item]
    order: list[str]  # the sheets' names as the workbook lists them, in the order they print


    @functools.cached_property
    def by_key(self) -> dict[str, Item]:
        return {i.key: i for i in self.items if i.key}

    @functools.cached_property
    def labels(self) -> list[Item]:
        """Locked texts of the form that a return must keep verbatim (not those of the check
        sheet, which is help recomputed from the figures, not wording of the form)."""
        checks = self.spec.sheets["checks"]
        return [i for i in self.items if i.text and i.style in LABEL_STYLES and "{{xltool:" not in i.text
                and i.sheet != checks]

    @functools.cached_property
    def formulas(self) -> list[Item]:
        return [i for i in self.items if i.formula]

    @functools.cached_property
    def meta(self) -> dict[str, Item]:
        return {i.key[5:]: i for i in self.items if i.key and i.key.startswith("meta.")}

    def input_items(self) -> list[Item]:
        return [i for i in self.items if i.key and i.style.startswith("input")]


LABEL_STYLES = {"title", "block", "corner", "header", "rowhead", "label", "field_label"}
HEADINGS = {"title", "title_name", "subtitle"}  # sized by hand, not by _fit_heights
FONT_SIZES = {"check_text": 9}  # points, where the writer's style is not 11 (the check list is small print)


def _input_style(cell: DataCell) -> str:
    if cell.type == "narrative":
        return "input_narrative"
    if cell.type == "text":
        return "input_text"
    return "input_amount" if cell.type == "amount" else "input_count"


def _runs(cells: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Group (row, col) cells into rectangles: runs along a row, then equal runs stacked."""
    rows: dict[int, list[int]] = {}
    for r, c in sorted(cells):
        rows.setdefault(r, []).append(c)
    spans: list[tuple[int, int, int]] = []  # (row, first col, last col)
    for r, cols in rows.items():
        start = prev = cols[0]
        for c in cols[1:]:
            if c != prev + 1:
                spans.append((r, start, prev))
                start = c
            prev = c
        spans.append((r, start, prev))
    rects: list[list[int]] = []
    for r, c0, c1 in spans:
        last = next((x for x in rects if x[2] == r - 1 and x[1] == c0 and x[3] == c1), None)
        if last:
            last[2] = r
        else:
            rects.append([r, c0, r, c1])
    return [(x[0], x[1], x[2], x[3]) for x in rects]


def ranges(items: list[Item], with_sheet: bool = True) -> list[str]:
    """A1 ranges covering the items (all on their sheets), as few as possible."""
    out = []
    by_sheet: dict[str, list[tuple[int, int]]] = {}
    for i in items:
        by_sheet.setdefault(i.sheet, []).append((i.row, i.col))
    for sheet, cells in by_sheet.items():
        for r0, c0, r1, c1 in _runs(cells):
            ref = a1(r0, c0) if (r0, c0) == (r1, c1) else f"{a1(r0, c0)}:{a1(r1, c1)}"
            out.append(sheet_ref(sheet, ref) if with_sheet else ref)
    return out


class _Builder:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.items: list[Item] = []
        self.sheets: list[SheetSetup] = []

    def sheet(self, name: str, **kw) -> SheetSetup:
        s = SheetSetup(name, **kw)
        self.sheets.append(s)
        return s

    def put(self, *args, **kw) -> Item:
        item = Item(*args, **kw)
        self.items.append(item)
        return item

    # -- sheets ------------------------------------------------------------------------
    def instructions(self) -> None:
        # Four columns under merged lines, not one wide column: LibreOffice counts the pages of a
        # sheet by column breaks, so a single column wider than the page is clipped, not shrunk.
        widths = {c: PORTRAIT_WIDTH / 4 for c in range(4)}
        s = self.sheet(self.spec.sheets["instructions"], widths=widths)
        # The agency's name on a line of its own and the title on the next: whole words per line.
        self.put(s.name, 0, 0, "title_name", text=AGENCY_NAME, colspan=4)
        self.put(s.name, 1, 0, "subtitle", text=f"{{year}}年{self.spec.title}（填报用表）", colspan=4)
        s.heights[0], s.heights[1] = 42, 24
        for n, line in enumerate(self.spec.raw.get("instructions", ()), start=2):
            self.put(s.name, n, 0, "note_bold" if n == 2 else "note", text=line, colspan=4)
            s.heights[n] = 36 if n > 2 else 24

    def identity(self) -> None:
        s = self.sheet(self.spec.sheets["identity"], widths={0: 18, 1: PORTRAIT_WIDTH - 18})
        self.put(s.name, 0, 0, "title", text="基本信息", colspan=2)
        rows = [("单位名称", AGENCY_NAME), ("单位代码", AGENCY_CODE), ("统计年度", "{year}"),
                ("报告格式", f"{self.spec.basis}（{self.spec.version}年版）")]
        for r, (label, value) in enumerate(rows, start=2):
            self.put(s.name, r, 0, "field_label", text=label)
            self.put(s.name, r, 1, "identity", text=value)
        r = len(rows) + 3
        self.put(s.name, r, 0, "label", text="联系方式（用于年度报告开头的联系地址、邮编、电话）", colspan=2)
        for n, cell in enumerate(self.spec.fields_on("identity"), start=r + 1):
            self.put(s.name, n, 0, "field_label", text=cell.label)
            self.put(s.name, n, 1, _input_style(cell), key=cell.key)

    def table(self, table) -> None:
        widths = {c: 9.0 for c in range(table.width)}
        for g in table.grid:  # as wide as single-column labels want, within reason
            if g.text and g.colspan == 1:
                want = _display_width(g.text) + 2
                cap = 40 if g.role in ("rowhead", "corner") else 16
                widths[g.col] = max(widths[g.col], min(cap, want / max(1, g.rowspan) if g.role == "rowhead" else want))
        s = self.sheet(table.sheet, widths=widths, landscape=table.width > 6)
        s.heights[GRID_TOP - 1] = 6  # the spacer: table two fills a landscape page
        top = GRID_TOP
        if table.header_rows:
            s.repeat_rows = (top, top + table.header_rows - 1)
        self.put(s.name, 0, 0, "title", text=table.heading, colspan=table.width)
        self.agency_row(s.name, 1, table.width)
        at = {g.key: Item(s.name, top + g.row, g.col, "", rowspan=g.rowspan, colspan=g.colspan)
              for g in table.data_cells()}
        for g in table.grid:
            if not g.key:
                self.put(s.name, top + g.row, g.col, g.role, text=g.text, rowspan=g.rowspan, colspan=g.colspan)
                continue
            cell = self.spec.cells[g.key]
            style, formula = _input_style(cell), None
            if cell.is_total:
                style, formula = "total", sum_formula([at[k] for k in cell.total_of], at[g.key])
            self.put(s.name, top + g.row, g.col, style, key=g.key, formula=formula,
                     rowspan=g.rowspan, colspan=g.colspan)

    def agency_row(self, sheet: str, row: int, width: int) -> None:
        self.put(sheet, row, 0, "agency", text="填报单位：" + AGENCY_NAME, colspan=max(1, width - 1))
        self.put(sheet, row, max(1, width - 1), "agency_right", text="{year}年度")

    def narrative(self) -> None:
        s = self.sheet(self.spec.sheets["narrative"], widths={0: 26, 1: 18, 2: 18, 3: 18})
        s.repeat_rows = (0, 1)  # the agency's name and the year on every page of it
        texts = self.spec.workbook
        self.put(s.name, 0, 0, "title", text=texts["narrative_title"], colspan=4)
        self.agency_row(s.name, 1, 4)
        s.heights[2] = 8
        r = 3
        for cell in self.spec.fields_on("narrative"):
            if cell.type == "narrative":
                self.put(s.name, r, 0, "field_label", text=cell.label, colspan=4)
                self.put(s.name, r + 1, 0, "hint", text="（" + cell.hint + "）", colspan=4)
                self.put(s.name, r + 2, 0, "input_narrative", key=cell.key, colspan=4)
                s.heights[r + 2] = NARRATIVE_HEIGHT
                s.heights[r + 3] = 8
                r += 4
        self.put(s.name, r, 0, "field_label", text=texts["fee_heading"], colspan=4)
        r += 1
        for cell in self.spec.fields_on("narrative"):
            if cell.numeric:
                self.put(s.name, r, 0, "field_label", text=cell.label)
                self.put(s.name, r, 1, _input_style(cell), key=cell.key)
                r += 1
        r += 2
        # The signature and seal block, under the agency's name and the year, on the page of the
        # fee figures: a signed page that says whose return it is.
        s.heights[r - 2] = 12
        self.put(s.name, r - 1, 0, "signed_by", text=f"填报单位：{AGENCY_NAME}（{{year}}年度）", colspan=4)
        s.heights[r - 1] = 30
        preparer, reviewer, head, seal = texts["signatures"]
        self.put(s.name, r, 0, "label", text=preparer)
        self.put(s.name, r, 2, "label", text=reviewer)
        self.put(s.name, r + 2, 0, "label", text=head)
        self.put(s.name, r + 2, 2, "label", text=seal)
        self.put(s.name, r + 4, 2, "label", text="年　　月　　日")
        for rr in (r, r + 2, r + 4):
            s.heights[rr] = 32
        for rr in (r + 1, r + 3):
            s.heights[rr] = 10

    def checks(self) -> None:
        s = self.sheet(self.spec.sheets["checks"], widths={0: 5, 1: 34, 2: 48, 3: 10})
        s.repeat_rows = (5, 5)  # the list's header on every page
        self.put(s.name, 0, 0, "title", text="校验结果（随填随算，全部通过后再报送）", colspan=4)
        numeric_inputs = [i for i in self.items if i.key and i.style in ("input_count", "input_amount")]
        refs = ",".join(ranges(numeric_inputs))
        blank = "+".join(f"COUNTBLANK({r})" for r in ranges(numeric_inputs))
        self.put(s.name, 2, 0, "label", text="未填写的数字项", colspan=3)
        blank_item = self.put(s.name, 2, 3, "count_cell", formula=blank, check="blank")
        self.put(s.name, 3, 0, "label", text="不是数字的项", colspan=3)
        text_item = self.put(s.name, 3, 3, "count_cell", formula=f"COUNTA({refs})-COUNT({refs})", check="text")
        first = 6
        self.put(s.name, 5, 0, "header", text="序号")
        self.put(s.name, 5, 1, "header", text="校验项目")
        self.put(s.name, 5, 2, "header", text="校验规则")
        self.put(s.name, 5, 3, "header", text="结果")
        live = [r for r in self.spec.rules if not r.uses_previous]
        placed = self.by_key()
        for n, rule in enumerate(live):
            row = first + n
            self.put(s.name, row, 0, "check_text", text=str(n + 1))
            self.put(s.name, row, 1, "check_text", text=f"{rule.name}：{self.spec.rule_scope(rule)}")
            self.put(s.name, row, 2, "check_text", text=rule.says)
            self.put(s.name, row, 3, "status", formula=rule_formula(rule, placed), check=rule)
        last = first + len(live) - 1
        status = f"{a1(first, 3)}:{a1(last, 3)}"
        b, t = blank_item.ref, text_item.ref
        fails = f'COUNTIF({status},"{FAIL}")'
        overall = (f'IF({b}+{t}>0,"未完成：尚有"&({b}+{t})&"项未填写或不是数字",'
                   f'IF({fails}>0,"有"&{fails}&"项校验不通过，请核对","{ALL_PASS}"))')
        self.put(s.name, 1, 0, "overall", formula=overall, colspan=4, check="overall")
        s.heights[1] = 30

    def meta(self) -> None:
        s = self.sheet(self.spec.sheets["meta"], widths={0: 16, 1: 40}, hidden="very")
        values = {"form": self.spec.form, "form_version": self.spec.version, "year": "{year}",
                  "agency_code": AGENCY_CODE, "agency_name": AGENCY_NAME, "signature": SIGNATURE}
        for r, name in enumerate(META_FIELDS):
            self.put(s.name, r, 0, "meta", text=name)
            self.put(s.name, r, 1, "meta", text=values[name], key="meta." + name)

    def by_key(self) -> dict[str, Item]:
        return {i.key: i for i in self.items if i.key}


def sum_formula(parts: list[Item], at: Item) -> str:
    """A total's formula; references on its own sheet without the sheet's name."""
    prefix = sheet_ref(at.sheet, "")
    return sum_excel([r.removeprefix(prefix) for r in ranges(parts, with_sheet=True)])


def rule_formula(rule: Rule, placed: dict[str, Item]) -> str:
    """A live check on the check sheet: every reference names its sheet."""
    return rule_excel(rule, lambda keys: ranges([placed[k] for k in keys]))


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fit_heights(setup: SheetSetup, items: list[Item]) -> None:
    """Row heights that show wrapped labels whole: spreadsheet files carry no auto-fit."""
    for i in items:
        if i.sheet != setup.name or not i.text or i.style in HEADINGS or "{{xltool:" in i.text:
            continue  # headings are sized by hand; an agency's name has no length yet
        size = FONT_SIZES.get(i.style, 11)
        width = sum(setup.widths.get(c, 9) for c in range(i.col, i.col + i.colspan))
        text = i.text.replace("{year}", "0000")
        lines = -(-_display_width(text) // max(1, int(width * 0.95 * 11 / size)))
        per_row = 15.5 * size / 11 * lines / i.rowspan
        for r in range(i.row, i.row + i.rowspan):
            setup.heights[r] = max(setup.heights.get(r, 15.5), per_row)


@functools.cache
def layout_for(spec: Spec) -> Layout:
    b = _Builder(spec)
    b.instructions()
    checks_at = len(b.sheets)
    b.identity()
    for t in spec.tables:
        b.table(t)
    b.narrative()
    b.checks()  # needs every input placed
    printed = [s.name for s in b.sheets]  # the official tables first, the check list last
    b.sheets.insert(checks_at, b.sheets.pop())  # its part is the second, as in the first workbooks
    b.meta()
    for setup in b.sheets:
        _fit_heights(setup, b.items)
    return Layout(spec, b.sheets, b.items, [*printed, *(s.name for s in b.sheets if s.name not in printed)])
