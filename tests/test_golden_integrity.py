"""Integrity that cannot be fooled, and messages that fix the cause (issue 12, Deliver 3 and 4).

Each case is one of our returns (tests/builders.py) whose XML is then rewritten the way Excel,
WPS or LibreOffice writes it, or the way a clerk or an attacker changes it; its docstring (or the
comment beside it) names the convention or the tampering. The whole folder is verified once, by the
command, and each test asserts on its own files: honest ones give no finding, dishonest ones give
their code at their cell — and only that code, not a cascade.

Conventions and sources: SHA-512 sheet protection as Excel 2013+ writes it (xlsx-populate#72,
exceljs#438); `<sheetProtection>`'s inverted attributes and their defaults (ECMA-376 Part 1,
18.3.1.85 sheetProtection); LibreOffice's `sheet="true"`/`formatRows="false"` spelling (our frozen
LibreOffice return, tests/frozen/); `<calcPr calcMode="manual" calcOnSave="0"/>` (ECMA-376
18.2.2 calcPr); inserting and deleting rows and columns as Excel does it (every reference,
merged range, validation range and defined name below or right of the change moves)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from builders import SPEC, consistent, make_return
from support.limited import run_limited
from xltool.checks.protection import REQUIRED, RESTRICTIONS
from xltool.checks.structure import normalise
from xltool.findings import CATALOGUE
from xltool.form.layout import layout_for
from xltool.form.returns import read_return
from xltool.office.cells import a1, col_letter, parse_ref
from xltool.office.xlsx import load_book

LAYOUT = layout_for(SPEC)
T1 = SPEC.table("active").sheet if any(t.id == "active" for t in SPEC.tables) else SPEC.tables[0].sheet
T2 = SPEC.table("requests").sheet  # 表二依申请公开
IDENTITY = SPEC.sheets["identity"]
NEW = "requests.new.natural_person"  # 表二 D7, 21 in consistent()
NEW_TOTAL = "requests.new.total"  # 表二 J7 = SUM(D7:I7)
UNPAID = "requests.other_unpaid_fee.total"  # its row: 1, then zeros (consistent())
UNPAID_COMMERCIAL = "requests.other_unpaid_fee.commercial"

Edit = Callable[[bytes], bytes]


def ref(key: str) -> str:
    return LAYOUT.by_key[key].ref


# -- rewriting a return's zip ----------------------------------------------------------------------

def _members(path: Path) -> dict[str, str]:
    """sheet name -> its zip member."""
    return {name: s.part for name, s in load_book(path.read_bytes()).sheets.items() if s.part}


def rewrite(path: Path, edits: dict[str, Edit]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info.filename, edits[info.filename](body) if info.filename in edits else body)
    path.write_bytes(buf.getvalue())
    return path


def on_sheets(path: Path, edits: dict[str, Edit], workbook: Edit | None = None, styles: Edit | None = None) -> Path:
    """Rewrite sheets by their names (and the workbook part, the styles)."""
    parts = _members(path)
    out = {parts[name]: edit for name, edit in edits.items()}
    if workbook:
        out["xl/workbook.xml"] = workbook
    if styles:
        out["xl/styles.xml"] = styles
    return rewrite(path, out)


def _cell(r: str) -> re.Pattern[bytes]:
    return re.compile(rb'<c r="' + r.encode() + rb'"(?: [^>]*)?(?:/>|>.*?</c>)', re.S)


def set_formula(r: str, formula: str, saved: str | None = None) -> Edit:
    def edit(xml: bytes) -> bytes:
        m = _cell(r).search(xml)
        assert m, r
        cell = re.sub(rb"<f>[^<]*</f>", b"<f>" + formula.replace("&", "&amp;").encode() + b"</f>", m[0], count=1)
        if saved is not None:
            cell = re.sub(rb"<v>[^<]*</v>", b"<v>" + saved.encode() + b"</v>", cell, count=1)
        return xml[:m.start()] + cell + xml[m.end():]
    return edit


def chain(*edits: Edit) -> Edit:
    def edit(xml: bytes) -> bytes:
        for e in edits:
            xml = e(xml)
        return xml
    return edit


def set_protection(element: str) -> Edit:
    """The sheet's <sheetProtection> replaced (an empty `element`: removed)."""
    def edit(xml: bytes) -> bytes:
        out, n = re.subn(rb"<sheetProtection [^>]*/>", element.encode(), xml, count=1)
        assert n == 1
        return out
    return edit


def style_of(xml: bytes, r: str) -> int:
    m = re.search(rb'<c r="' + r.encode() + rb'"[^>]*? s="(\d+)"', xml)
    assert m, r
    return int(m[1])


def unlocked_copy(styles: bytes, style: int) -> tuple[bytes, int]:
    """Excel's Format Cells → Protection → Locked unticked: a copy of the cell's xf with
    <protection locked="0"/>, appended to cellXfs."""
    m = re.search(rb"<cellXfs count=\"(\d+)\">(.*?)</cellXfs>", styles, re.S)
    assert m
    xfs = re.findall(rb"<xf [^>]*/>|<xf [^>]*>.*?</xf>", m[2], re.S)
    xf = xfs[style]
    xf = re.sub(rb"<protection[^>]*/>", b"", xf)
    if xf.endswith(b"/>"):
        xf = xf[:-2] + b"></xf>"
    xf = xf.replace(b"<xf ", b'<xf applyProtection="1" ', 1).replace(b"</xf>", b'<protection locked="0"/></xf>')
    new = len(xfs)
    body = b"".join(xfs) + xf
    return styles[:m.start()] + b'<cellXfs count="' + str(new + 1).encode() + b'">' + body + b"</cellXfs>" + styles[m.end():], new


def unlock(path: Path, sheet: str, refs: list[str]) -> Path:
    """The cells' styles replaced by unlocked copies (formulas and texts intact)."""
    part = _members(path)[sheet]
    with zipfile.ZipFile(path) as z:
        xml, styles = z.read(part), z.read("xl/styles.xml")
    copies: dict[int, int] = {}
    for r in refs:
        s = style_of(xml, r)
        if s not in copies:
            styles, copies[s] = unlocked_copy(styles, s)
        m = _cell(r).search(xml)
        assert m
        xml = xml[:m.start()] + m[0].replace(f's="{s}"'.encode(), f's="{copies[s]}"'.encode(), 1) + xml[m.end():]
    return rewrite(path, {part: lambda _: xml, "xl/styles.xml": lambda _: styles})


# -- inserting and deleting rows and columns, as Excel does -----------------------------------------

_A1 = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d{1,7})")
_RANGE_OR_REF = re.compile(r"(\$?[A-Z]{1,3}\$?\d{1,7})(?::(\$?[A-Z]{1,3}\$?\d{1,7}))?")


class Move:
    """Rows (axis 0) or columns (axis 1) inserted (count > 0) or deleted (count < 0) at 0-based `at`."""

    def __init__(self, axis: int, at: int, count: int):
        self.axis, self.at, self.count = axis, at, count

    def index(self, i: int) -> int | None:
        if self.count > 0:
            return i + self.count if i >= self.at else i
        gone = -self.count
        if self.at <= i < self.at + gone:
            return None
        return i - gone if i >= self.at + gone else i

    def cell(self, row: int, col: int) -> tuple[int, int] | None:
        if self.axis == 0:
            r = self.index(row)
            return None if r is None else (r, col)
        c = self.index(col)
        return None if c is None else (row, c)

    def ref(self, text: str) -> str:
        m = _A1.fullmatch(text)
        assert m
        row, col = parse_ref(m[2] + m[4])
        moved = self.cell(row, col)
        if moved is None:
            return "#REF!"
        return f"{m[1]}{col_letter(moved[1])}{m[3]}{moved[0] + 1}"

    def range(self, m: re.Match) -> str:
        if m[2] is None:
            return self.ref(m[1])
        start, end = self.ref(m[1]), self.ref(m[2])
        if "#REF!" in (start, end) and self.count < 0:  # a range loses the deleted lines, not itself
            (r0, c0), (r1, c1) = parse_ref(m[1]), parse_ref(m[2])
            lo, hi = (r0, r1) if self.axis == 0 else (c0, c1)
            first = next((i for i in range(lo, hi + 1) if self.index(i) is not None), None)
            if first is None:
                return "#REF!"
            last = max(i for i in range(lo, hi + 1) if self.index(i) is not None)
            a, b = ((first, c0), (last, c1)) if self.axis == 0 else ((r0, first), (r1, last))
            start, end = self.ref(a1(*a)), self.ref(a1(*b))
        return f"{start}:{end}"

    def refs(self, text: str) -> str:
        return _RANGE_OR_REF.sub(self.range, text)

    def sheet(self, xml: bytes) -> bytes:
        text = xml.decode("utf-8")
        head, rest = text.split("<sheetData>", 1)
        data, tail = rest.split("</sheetData>", 1)
        head = re.sub(r'<dimension ref="([^"]*)"', lambda m: f'<dimension ref="{self.refs(m[1])}"', head)
        rows = []
        for row in re.findall(r"<row [^>]*?(?:/>|>.*?</row>)", data, re.S):
            if row.endswith("/>"):  # an empty row with only a height, as Excel and XlsxWriter write it
                row = row[:-2] + "></row>"
            r = int(re.search(r' r="(\d+)"', row)[1]) - 1
            if self.axis == 0:
                moved = self.index(r)
                if moved is None:
                    continue
                row = re.sub(r' r="\d+"', f' r="{moved + 1}"', row, count=1)
            cells = []
            for c in re.findall(r'<c r="[^"]*"[^>]*?(?:/>|>.*?</c>)', row, re.S):
                at = re.search(r'<c r="([^"]*)"', c)[1]
                new = self.ref(at)
                if new == "#REF!":
                    continue
                c = c.replace(f'<c r="{at}"', f'<c r="{new}"', 1)
                c = re.sub(r"<f>([^<]*)</f>", lambda m: f"<f>{self.refs(m[1])}</f>", c)
                cells.append(c)
            start = row.index(">") + 1
            rows.append(row[:start] + "".join(cells) + "</row>")
        if self.count > 0 and self.axis == 0:  # the new, empty rows
            rows = sorted(rows, key=lambda x: int(re.search(r' r="(\d+)"', x)[1]))
        tail = re.sub(r'<mergeCell ref="([^"]*)"/>', lambda m: "" if "#REF!" in self.refs(m[1])
                      else f'<mergeCell ref="{self.refs(m[1])}"/>', tail)
        tail = re.sub(r'sqref="([^"]*)"', lambda m: f'sqref="{self.refs(m[1])}"', tail)
        head = re.sub(r'sqref="([^"]*)"', lambda m: f'sqref="{self.refs(m[1])}"', head)
        return (head + "<sheetData>" + "".join(rows) + "</sheetData>" + tail).encode("utf-8")

    def elsewhere(self, sheet: str) -> Edit:
        """Another sheet's formulas (or the workbook's names) that point into `sheet`."""
        quoted = re.escape("'" + sheet + "'!")

        def edit(xml: bytes) -> bytes:
            text = xml.decode("utf-8")
            text = re.sub(quoted + _RANGE_OR_REF.pattern, lambda m: "'" + sheet + "'!" + self.range(
                _RANGE_OR_REF.fullmatch(m[0][len(sheet) + 3:])), text)
            return text.encode("utf-8")
        return edit


def shifted(path: Path, sheet: str, move: Move) -> Path:
    """Rows or columns of `sheet` inserted or deleted by a clerk who first removed its protection."""
    parts = _members(path)
    edits: dict[str, Edit] = {parts[sheet]: chain(set_protection(""), move.sheet)}
    for name, part in parts.items():
        if name != sheet:
            edits[part] = move.elsewhere(sheet)
    edits["xl/workbook.xml"] = move.elsewhere(sheet)
    return rewrite(path, edits)


# -- the folder -------------------------------------------------------------------------------------

SHA512 = ('<sheetProtection algorithmName="SHA-512" hashValue="pTTPyYyX8Q2Mx0Jl0HhjZq6c1Vq3Pq0Ih2X1k0cqmEjv0xq1u'
          'ZpVvQm2lE4eI9V1cT7m9L9Zp4vX2H7nF0c1Xw==" saltValue="kJ5V4p2Jm3H7c1Q9r0t2Bw==" spinCount="100000" '
          'sheet="1" objects="1" scenarios="1" formatRows="0"/>')

CASES: dict[str, Callable[[Path], Path]] = {}


def case(code: str):
    def register(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
        CASES[code] = build
        return build
    return register


def _return(folder: Path, code: str, values=None) -> Path:
    return make_return(folder, values, code=code, name=f"单位{code}")


@case("301")
def _spellings(folder: Path) -> Path:
    """Honest: total formulas as applications and clerks may spell them — lower case, `$`, spaces,
    the own sheet's name spelt out, a range's corners swapped, Excel's `_xlfn.` prefix."""
    p = _return(folder, "301")
    return on_sheets(p, {T2: chain(set_formula("J7", "sum($D$7:$I$7)"), set_formula("J8", " SUM( D8 : I8 ) ".replace(" : ", ":")),
                                   set_formula("J9", f"SUM('{T2}'!D9:I9)"), set_formula("J10", "_xlfn.SUM(I10:D10)"))})


@case("302")
def _doubled_zero(folder: Path) -> Path:
    """Tampering: a total counts a cell twice, =SUM(D28:I28,E28), where E28 is 0: the saved value
    is right and a set of cells would not see it."""
    p = _return(folder, "302")
    r, extra = ref(UNPAID), ref(UNPAID_COMMERCIAL)
    formula = LAYOUT.by_key[UNPAID].formula
    assert formula is not None
    return on_sheets(p, {T2: set_formula(r, formula[:-1] + "," + extra + ")")})


@case("303")
def _doubled(folder: Path) -> Path:
    """Tampering: =SUM(D7:I7,D7), saved with the value Excel computes (171 + 21)."""
    p = _return(folder, "303")
    return on_sheets(p, {T2: set_formula("J7", "SUM(D7:I7,D7)", "192")})


@case("304")
def _listed(folder: Path) -> Path:
    """A range written out cell by cell, =SUM(D7,E7,F7,G7,H7,I7): no application splits a range,
    so it is a hand edit of the form's formula."""
    p = _return(folder, "304")
    return on_sheets(p, {T2: set_formula("J7", "SUM(D7,E7,F7,G7,H7,I7)")})


@case("311")
def _total_unlocked(folder: Path) -> Path:
    """Tampering: the total's cell made unlocked (Format Cells → Protection), formula intact."""
    return unlock(_return(folder, "311"), T2, [ref(NEW_TOTAL)])


LABELS_T1 = [i.ref for i in LAYOUT.labels if i.sheet == T1]


@case("312")
def _labels_unlocked(folder: Path) -> Path:
    """Tampering: every label of 表一 made unlocked."""
    return unlock(_return(folder, "312"), T1, LABELS_T1)


IDENTITY_CELL = next(i.ref for i in LAYOUT.items if i.sheet == IDENTITY and i.style == "identity")


@case("313")
def _identity_unlocked(folder: Path) -> Path:
    """Tampering: the agency's name cell made unlocked."""
    return unlock(_return(folder, "313"), IDENTITY, [IDENTITY_CELL])


@case("321")
def _sha512(folder: Path) -> Path:
    """Honest re-protection: Excel 2013+'s SHA-512 hash with the form's restrictions on 表二
    (xlsx-populate#72, exceljs#438), Excel's default dialog (sheet, objects, scenarios: narrower
    than ours, formatting rows not allowed) on 表一, LibreOffice's spelling with a legacy password
    hash on 基本信息."""
    p = _return(folder, "321")
    return on_sheets(p, {T2: set_protection(SHA512),
                         T1: set_protection('<sheetProtection password="CC3D" sheet="1" objects="1" scenarios="1"/>'),
                         IDENTITY: set_protection('<sheetProtection password="CC3D" sheet="true" objects="true" '
                                                  'scenarios="true" formatRows="false" selectLockedCells="true"/>')})


@case("322")
def _wider(folder: Path) -> Path:
    """Tampering: protection put back with a SHA-512 password but wider permissions — inserting
    and deleting rows, formatting cells (the attributes are inverted: "0" allows)."""
    p = _return(folder, "322")
    return on_sheets(p, {T2: set_protection(SHA512.replace('formatRows="0"', 'formatRows="0" formatCells="0" '
                                                                              'insertRows="0" deleteRows="0"'))})


@case("323")
def _unprotected(folder: Path) -> Path:
    """Tampering: 表二's protection removed, nothing else changed."""
    return on_sheets(_return(folder, "323"), {T2: set_protection("")})


@case("331")
def _row_inserted(folder: Path) -> Path:
    """A clerk removed 表二's protection and inserted a row at row 12 (Excel moves every cell,
    formula, merged range, validation and defined name below it)."""
    return shifted(_return(folder, "331"), T2, Move(0, 11, 1))


@case("332")
def _row_deleted(folder: Path) -> Path:
    """A clerk removed 表二's protection and deleted row 13 (its references become #REF!)."""
    return shifted(_return(folder, "332"), T2, Move(0, 12, -1))


@case("333")
def _column_inserted(folder: Path) -> Path:
    """A clerk removed 表二's protection and inserted a column at E."""
    return shifted(_return(folder, "333"), T2, Move(1, 4, 1))


@case("334")
def _rows_inserted_on_top(folder: Path) -> Path:
    """Two rows inserted at row 7, above the first row of figures."""
    return shifted(_return(folder, "334"), T2, Move(0, 6, 2))


MANUAL = '<calcPr calcId="191029" calcMode="manual" calcOnSave="0"/>'


def _manual(xml: bytes, calc: str = MANUAL) -> bytes:
    out, n = re.subn(rb"<calcPr [^>]*/>", calc.encode(), xml, count=1)
    assert n == 1
    return out


def _stale(xml: bytes) -> bytes:
    """Every total saved as 0: computed on the blank form, never again."""
    return re.sub(rb"(<c r=\"[A-Z]+\d+\"[^>]*><f>SUM\([^<]*</f><v>)[^<]*(</v>)", rb"\g<1>0\g<2>", xml)


TABLE_SHEETS = [t.sheet for t in SPEC.tables]


@case("341")
def _manual_stale(folder: Path) -> Path:
    """Excel in manual calculation with "recalculate before saving" off: the totals saved are
    those of the blank form (ECMA-376 calcPr calcMode="manual" calcOnSave="0")."""
    return on_sheets(_return(folder, "341"), {s: _stale for s in TABLE_SHEETS}, workbook=_manual)


@case("342")
def _manual_fresh(folder: Path) -> Path:
    """Honest: manual calculation, but the clerk pressed F9 before saving: totals right."""
    return on_sheets(_return(folder, "342"), {}, workbook=_manual)


@case("343")
def _manual_recalculated_on_save(folder: Path) -> Path:
    """Manual calculation with recalculation on save (calcOnSave left at its default, true): Excel
    recalculated before saving, so stale totals were not made by Excel: cached-value-mismatch."""
    return on_sheets(_return(folder, "343"), {T2: _stale},
                     workbook=lambda xml: _manual(xml, '<calcPr calcId="191029" calcMode="manual"/>'))


@case("351")
def _name_same_sheet(folder: Path) -> Path:
    """Tampering: a defined name redirected to another cell of the same sheet (D7 → D8)."""
    def workbook(xml: bytes) -> bytes:
        old = f"<definedName name=\"{NEW}\">'{T2}'!$D$7</definedName>".encode()
        assert old in xml
        return xml.replace(old, f"<definedName name=\"{NEW}\">'{T2}'!$D$8</definedName>".encode())
    return on_sheets(_return(folder, "351"), {}, workbook=workbook)


def copy_cell(source: str, target: str) -> Edit:
    """`target` given `source`'s content (its shared string), as if retyped."""
    def edit(xml: bytes) -> bytes:
        m, t = _cell(source).search(xml), _cell(target).search(xml)
        assert m and t
        return xml[:t.start()] + m[0].replace(f'r="{source}"'.encode(), f'r="{target}"'.encode(), 1) + xml[t.end():]
    return edit


ALIKE = [i for i in LAYOUT.labels if i.sheet == T1 and i.text and i.text.startswith("第二十条")]


@case("361")
def _label_like_another(folder: Path) -> Path:
    """Tampering that looks like a shift but is not one: a section label of 表一 retyped as the
    next section's (whose rows below carry the same labels): label-changed, not layout-shifted."""
    return on_sheets(_return(folder, "361"), {T1: copy_cell(ALIKE[2].ref, ALIKE[1].ref)})


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    for build in CASES.values():
        build(root)
    return root


@pytest.fixture(scope="module")
def verified(folder) -> dict[str, list[dict]]:
    done = run_limited("verify", folder, "--json", cwd=folder)
    assert done.returncode == 1  # the tampered returns have errors
    return {Path(r["file"]).stem: r["findings"] for r in json.loads(done.stdout)["returns"]}


def found(verified, code: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(f["code"], f["sheet"], f["cell"], f["key"]) for f in verified[code]]


# -- 1. formulas as the exact expression ------------------------------------------------------------

def test_honest_spellings_of_a_total_verify_clean(verified) -> None:
    assert verified["301"] == []


def test_a_cell_counted_twice_is_formula_changed_even_when_it_is_zero(verified) -> None:
    assert found(verified, "302") == [("formula-changed", T2, ref(UNPAID), UNPAID)]
    assert found(verified, "303") == [("formula-changed", T2, "J7", NEW_TOTAL)]
    assert "SUM(D7:I7,D7)" in verified["303"][0]["message"]


def test_a_range_written_out_cell_by_cell_is_formula_changed(verified) -> None:
    assert found(verified, "304") == [("formula-changed", T2, "J7", NEW_TOTAL)]


def test_the_comparison_is_of_terms_not_of_cells() -> None:
    home = T2
    same = ["SUM(D7:I7)", "=sum($D$7:$I$7)", " SUM( D7:I7 ) ", "SUM(I7:D7)", f"SUM('{T2}'!D7:I7)", "_xlfn.SUM(D7:I7)"]
    assert len({normalise(f, home) for f in same}) == 1
    assert normalise("SUM(D7:F7,G7:I7)", home) == normalise("SUM(G7:I7,D7:F7)", home)  # any order
    for other in ("SUM(D7:I7,D7)", "SUM(D7,E7,F7,G7,H7,I7)", "D7+E7+F7+G7+H7+I7", "SUM(D7:I7 D7:I7)",
                  "SUM(D7:I7)'", "SUM(D7:I7,)", "SUM('表三复议诉讼'!D7:I7)", "SUM(D7:I7)+0"):
        assert normalise(other, home) != normalise("SUM(D7:I7)", home), other


# -- 2. locked cells ---------------------------------------------------------------------------------

def test_an_unlocked_total_is_protection_removed_at_that_cell(verified) -> None:
    assert found(verified, "311") == [("protection-removed", T2, "J7", NEW_TOTAL)]
    assert "J7" in verified["311"][0]["message"] and "未锁定" in verified["311"][0]["message"]
    assert verified["311"][0]["severity"] == CATALOGUE["protection-removed"].severity


def test_many_unlocked_labels_are_one_finding_for_the_sheet(verified) -> None:
    assert found(verified, "312") == [("protection-removed", T1, LABELS_T1[0], None)]
    message = verified["312"][0]["message"]
    assert f"{len(LABELS_T1)} 个单元格" in message and "表头" in message


def test_an_unlocked_identity_cell_is_protection_removed(verified) -> None:
    assert found(verified, "313") == [("protection-removed", IDENTITY, IDENTITY_CELL, None)]


# -- 3. sheet protection: at least our restrictions -------------------------------------------------

def test_a_clerks_own_password_and_narrower_options_are_fine(verified) -> None:
    assert verified["321"] == []


def test_wider_permissions_are_protection_removed_naming_what_was_allowed(verified) -> None:
    assert found(verified, "322") == [("protection-removed", T2, None, None)]
    message = verified["322"][0]["message"]
    for allowed in ("允许设置单元格格式", "允许插入行", "允许删除行"):
        assert allowed in message
    assert "设置行格式" not in message  # the form allows it


def test_protection_removed(verified) -> None:
    assert found(verified, "323") == [("protection-removed", T2, None, None)]


def test_the_required_restrictions_are_the_writers() -> None:
    assert "formatRows" not in REQUIRED  # PROTECT_OPTIONS lets a clerk size rows
    assert {"insertRows", "deleteRows", "insertColumns", "deleteColumns", "formatCells", "objects"} <= set(REQUIRED)
    assert not {"selectLockedCells", "selectUnlockedCells"} & set(RESTRICTIONS)


# -- 4. rows and columns inserted or deleted --------------------------------------------------------

@pytest.mark.parametrize("code, cell, words", [
    ("331", "A12", "在第12行插入了一行"),
    ("332", "A13", "删除了原表第13行"),
    ("333", "E1", "在第E列插入了一列"),
    ("334", "A7", "在第7行插入了2行"),
])
def test_an_inserted_or_deleted_line_is_one_layout_shifted(verified, code: str, cell: str, words: str) -> None:
    assert sorted(found(verified, code)) == [("layout-shifted", T2, cell, None), ("protection-removed", T2, None, None)]
    shifted_ = next(f for f in verified[code] if f["code"] == "layout-shifted")
    assert words in shifted_["message"] and shifted_["severity"] == "error"


# -- 5. manual calculation ---------------------------------------------------------------------------

def test_manual_calculation_with_stale_totals_is_one_calc_manual(verified) -> None:
    assert [f["code"] for f in verified["341"]] == ["calc-manual"]
    message = verified["341"][0]["message"]
    assert "手动计算" in message and "F9" in message and "自动" in message and "WPS" in message


def test_manual_calculation_with_right_totals_is_fine(verified) -> None:
    assert verified["342"] == []


def test_stale_totals_recalculated_on_save_are_cached_value_mismatch(verified) -> None:
    codes = {f["code"] for f in verified["343"]}
    assert codes == {"cached-value-mismatch"}


# -- 6. a name moved within its sheet ---------------------------------------------------------------

def test_a_name_moved_within_its_sheet_is_name_moved_and_the_forms_cell_counts(verified, folder) -> None:
    assert found(verified, "351") == [("name-moved", T2, "D7", NEW)]
    assert "D8" in verified["351"][0]["message"]
    assert read_return(folder / "351.xlsx").values[NEW] == consistent()[NEW] == 21


def test_a_label_retyped_as_a_neighbours_is_label_changed_not_a_shift(verified) -> None:
    assert found(verified, "361") == [("label-changed", T1, ALIKE[1].ref, None)]
