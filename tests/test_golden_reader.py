"""The golden corpus of the reader: our own return, rewritten the way Excel, WPS and LibreOffice
write SpreadsheetML (each case's docstring names the convention and a public source), plus
returns LibreOffice really re-saved (tests/golden/, see its README). Every honest case verifies
with no finding and reads to the values it was filled with.

Public sources of the conventions: ECMA-376 Part 1 (Strict and Transitional), Excel- and WPS-saved
files in the calamine `tests/`, SheetJS `test_files` (`artifacts/wps/`, `wps/`) and XlsxWriter
`test/comparison/xlsx_files/` repositories, JuliaData/XLSX.jl#235 (shared formulas),
randym/axlsx#358 (inline strings), excelize#1879 (WPS data-validation lists)."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

from builders import SPEC, consistent, make_return
from xltool.form.formulas import bounded_decimal
from xltool.form.returns import from_book, parse_number
from xltool.office.cells import MAX_COLS, MAX_ROWS, a1, col_letter, shift_formula
from xltool.office.xlsx import load_book
from xltool.round.verify import verify_bytes

GOLDEN = Path(__file__).with_name("golden")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
M = f"{{{MAIN}}}"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _values() -> dict[str, Any]:
    """consistent() with decimals a double cannot hold exactly (Excel saves 2.3 as 2.2999999999999998,
    300.3 as 300.30000000000001)
    and a narrative in two paragraphs (Excel saves its carriage return as _x000D_)."""
    v = consistent(1)
    v.update({"active.fees.amount": 2.3, "processing_fee.notice_amount": 300.3})
    v["narrative.problems"] = "主要问题：公开内容更新不够及时。\r\n改进情况：建立定期更新机制。"
    return v


VALUES = _values()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> bytes:
    return make_return(tmp_path_factory.mktemp("golden"), VALUES).read_bytes()


@pytest.fixture(scope="module")
def expected(base) -> dict[str, Any]:
    """What `read --json` gives for our own file: the values it was filled with."""
    doc = _read(base)
    for key, v in VALUES.items():
        if SPEC.cells[key].numeric:
            assert doc["values"][key] == v, key
    assert doc["narrative"]["problems"] == VALUES["narrative.problems"]
    return doc


def _read(data: bytes) -> dict[str, Any]:
    doc = from_book(load_book(data)).to_json()
    doc.pop("source")
    return doc


def _honest(data: bytes, expected: dict[str, Any]) -> None:
    """No finding, and the same values, texts and identity as our own file."""
    result = verify_bytes(data, "001.xlsx")
    assert [(f.code, f.cell, f.message) for f in result.findings] == []
    assert _read(data) == expected


# -- rewriting a package ------------------------------------------------------------------------

Edit = Callable[[str, bytes], bytes | None]  # a member's new bytes (None: drop it)


def rewrite(data: bytes, edit: Edit, add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = edit(info.filename, src.read(info))
            if new is not None:
                dst.writestr(info.filename, new)
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def sheets(edit: Callable[[bytes], bytes]) -> Edit:
    return lambda name, body: edit(body) if name.startswith("xl/worksheets/sheet") else body


def trees(edit: Callable[[etree._Element], None], which: Callable[[str], bool]) -> Edit:
    def run(name: str, body: bytes) -> bytes:
        if not which(name):
            return body
        root = etree.fromstring(body)
        edit(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return run


def _is_sheet(name: str) -> bool:
    return name.startswith("xl/worksheets/sheet")


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


def _add_part(data: bytes, name: str, body: bytes, content_type: str, rel_type: str,
              rels: str = "xl/_rels/workbook.xml.rels", target: str | None = None) -> bytes:
    """A new part, declared in [Content_Types].xml and related from `rels`."""
    def edit(member: str, raw: bytes) -> bytes:
        if member == "[Content_Types].xml":
            return raw.replace(b"</Types>", f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>'.encode())
        if member == rels:
            return raw.replace(b"</Relationships>", f'<Relationship Id="rId900" Type="{rel_type}" '
                                                    f'Target="{target or name}"/></Relationships>'.encode())
        return raw
    return rewrite(data, edit, {name: body})


# -- 1. numbers ---------------------------------------------------------------------------------


def test_excel_17_significant_digits(base, expected):
    """Excel writes each double with 17 significant digits (typed 2.3 is saved `2.2999999999999998`,
    300.3 `300.30000000000001`), inputs and totals' saved values alike
    (XlsxWriter test/comparison/xlsx_files, files saved by Excel 2007+). They read as the 15 digits
    Excel shows: no fee-unit-suspect, no cached-value-mismatch, read --json gives 2.3."""
    def seventeen(m: re.Match) -> bytes:
        return b"<v>" + format(float(m[1]), ".17g").encode() + b"</v>"
    data = rewrite(base, sheets(lambda b: re.sub(rb"<v>(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)</v>", seventeen, b)))
    raw = b"".join(_member(data, f"xl/worksheets/sheet{i}.xml") for i in range(1, 9))
    assert b"<v>2.2999999999999998</v>" in raw and b"<v>300.30000000000001</v>" in raw
    _honest(data, expected)
    assert expected["values"]["active.fees.amount"] == 2.3


def test_merge_adds_what_excel_shows(tmp_path, base):
    """Two agencies' returns as Excel saved them (17 digits): merge adds 2.3 + 2.3 = 4.6 as
    Decimals, not 4.5999999999999996."""
    from xltool.round.merge import merge_paths

    def seventeen(m: re.Match) -> bytes:
        return b"<v>" + format(float(m[1]), ".17g").encode() + b"</v>"
    folder = tmp_path / "returns"
    folder.mkdir()
    make_return(folder, VALUES, code="002", name="某某区交通运输局")
    for path in folder.iterdir():
        path.write_bytes(rewrite(path.read_bytes(), sheets(lambda b: re.sub(rb"<v>(-?[0-9.]+)</v>", seventeen, b))))
    (folder / "001.xlsx").write_bytes(rewrite(base, sheets(lambda b: re.sub(rb"<v>(-?[0-9.]+)</v>", seventeen, b))))
    result = merge_paths([folder], show_progress=False, workers=1)
    assert len(result.included) == 2 and not result.excluded
    assert result.values["active.fees.amount"] == Decimal("4.6")
    assert result.values["processing_fee.notice_amount"] == Decimal("600.6")


# -- 2. namespaces, prefixes, BOM ---------------------------------------------------------------

_STRICT = ((b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
           (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
           (b"http://schemas.openxmlformats.org/drawingml/2006/main", b"http://purl.oclc.org/ooxml/drawingml/main"))


def test_strict_open_xml(base, expected):
    """Excel's "Strict Open XML Spreadsheet" save option (ECMA-376 Part 1, Strict conformance):
    the SpreadsheetML and relationships namespaces, and every relationship type, under
    http://purl.oclc.org/ooxml/; `conformance="strict"` on the workbook. Read as transitional."""
    def strict(name: str, body: bytes) -> bytes:
        for old, new in _STRICT:
            body = body.replace(old, new)
        if name == "xl/workbook.xml":
            body = body.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
        return body
    data = rewrite(base, strict)
    assert b"purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" in _member(data, "_rels/.rels")
    assert b"purl.oclc.org/ooxml/spreadsheetml/main" in _member(data, "xl/sharedStrings.xml")
    _honest(data, expected)


_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.-]*)(?=[\s/>])")


def test_x_prefixed_spreadsheetml_with_bom(base, expected):
    """SpreadsheetML under a prefix (`<x:worksheet xmlns:x="…/main">`, as the Open XML SDK and
    several exporters write it) and a UTF-8 byte-order mark before the XML declaration."""
    def prefixed(name: str, body: bytes) -> bytes:
        if not name.startswith("xl/") or name.endswith(".rels") or "theme" in name:
            return body
        head, _, rest = body.partition(b"?>")
        rest = _TAG.sub(rb"<\1x:\2", rest).replace(b'xmlns="' + MAIN.encode() + b'"', b'xmlns:x="' + MAIN.encode() + b'"')
        return b"\xef\xbb\xbf" + head + b"?>" + rest
    data = rewrite(base, prefixed)
    assert _member(data, "xl/worksheets/sheet3.xml").startswith(b"\xef\xbb\xbf<?xml")
    assert b"<x:worksheet" in _member(data, "xl/worksheets/sheet3.xml")
    _honest(data, expected)


# -- 3. _xHHHH_ escapes ---------------------------------------------------------------------------


def _excel_escape(text: str) -> str:
    """Excel's ST_Xstring escaping: a literal `_xHHHH_` gets its `_` escaped as `_x005F_`, then each
    control character is `_xHHHH_`."""
    text = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", text)
    return re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: f"_x{ord(m[0]):04X}_", text)


def test_a_literal_escape_typed_by_a_clerk_survives_our_own_writers(tmp_path):
    """The other direction of ST_Xstring: fill and the annotated copy write a clerk's literal
    `_x000D_` as `_x005F_x000D_`, so it reads back as typed, not as a carriage return."""
    from xltool.round.annotate import annotate_bytes

    values = consistent()
    values["narrative.other"] = "见附件_x000D_说明"
    values["requests.new.natural_person"] += 1  # an error, so there is something to annotate
    data = make_return(tmp_path, values).read_bytes()
    assert from_book(load_book(data)).values["narrative.other"] == "见附件_x000D_说明"
    result = verify_bytes(data, "001.xlsx")
    assert result.findings
    copy = annotate_bytes(data, result.findings, "审核意见")
    assert from_book(load_book(copy)).values["narrative.other"] == "见附件_x000D_说明"


def test_control_characters_escaped(base, expected):
    """Excel writes a carriage return in a string as `_x000D_` and a literal `_x000D_` as
    `_x005F_x000D_` (ECMA-376 Part 1, 22.9.2.19 ST_Xstring), in shared strings, inline strings
    and formula results (t="str"). Read back, the narrative is the text the clerk typed."""
    literal = "（见附件_x000D_说明）"

    def escape(root: etree._Element) -> None:
        for t in root.iter(M + "t", M + "v"):
            if not t.text or not (t.tag == M + "t" or t.getparent().get("t") == "str"):
                continue
            if t.text.startswith("主要问题"):
                t.text += literal
            t.text = _excel_escape(t.text)
    data = rewrite(base, trees(escape, lambda n: n == "xl/sharedStrings.xml" or _is_sheet(n)))
    body = b"".join(_member(data, f"xl/worksheets/sheet{i}.xml") for i in range(1, 9))
    assert "更新不够及时。_x000D_\n".encode() in body and "附件_x005F_x000D_说明".encode() in body
    want = json.loads(json.dumps(expected))
    want["narrative"]["problems"] += literal
    assert "\r\n" in want["narrative"]["problems"]
    result = verify_bytes(data, "001.xlsx")
    assert [(f.code, f.cell, f.message) for f in result.findings] == []
    assert _read(data) == want


# -- 4. rich text and phonetic runs -------------------------------------------------------------


def _runs(si: etree._Element, phonetic: str) -> None:
    """Split a plain <si> into two rich-text runs and give it a phonetic reading."""
    t = si.find(M + "t")
    if t is None or not t.text or len(t.text) < 2:
        return
    text = t.text
    si.remove(t)
    for i, part in enumerate((text[:1], text[1:])):
        r = etree.SubElement(si, M + "r")
        if i == 0:
            etree.SubElement(etree.SubElement(r, M + "rPr"), M + "b")
        run = etree.SubElement(r, M + "t")
        run.text = part
        if part != part.strip():
            run.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    rph = etree.SubElement(si, M + "rPh", sb="0", eb=str(len(text)))
    if phonetic == "excel":
        etree.SubElement(rph, M + "t").text = "ヨイコウカイ"
    else:
        etree.SubElement(etree.SubElement(rph, M + "r"), M + "t").text = "ヨイコウカイ"
    etree.SubElement(si, M + "phoneticPr", fontId="1", type="noConversion")


@pytest.mark.parametrize("form", ["excel", "libreoffice"])
def test_rich_text_and_phonetic_runs(base, expected, form):
    """Every shared string as rich-text runs (<r><rPr/><t/></r>) with a phonetic reading: Excel
    writes <rPh><t>…</t></rPh> (ECMA-376 18.4.6), LibreOffice <rPh><r><t>…</t></r></rPh>; both add
    <phoneticPr>. The reading never enters the value: labels are unchanged, no label-changed."""
    def rich(root: etree._Element) -> None:
        for si in root.iterchildren(M + "si"):
            _runs(si, form)
    data = rewrite(base, trees(rich, lambda n: n == "xl/sharedStrings.xml"))
    assert "ヨイコウカイ".encode() in _member(data, "xl/sharedStrings.xml")
    _honest(data, expected)


def test_inline_strings_with_phonetic_runs(base, expected):
    """Every string inline (<c t="inlineStr"><is>…</is></c>, as LibreOffice's and many exporters'
    writers do; randym/axlsx#358), each with rich-text and phonetic runs."""
    strings = [si for si in etree.fromstring(_member(base, "xl/sharedStrings.xml")).iterchildren(M + "si")]

    def inline(root: etree._Element) -> None:
        for c in root.iter(M + "c"):
            if c.get("t") != "s":
                continue
            v = c.find(M + "v")
            si = strings[int(v.text)]
            c.remove(v)
            c.set("t", "inlineStr")
            item = etree.SubElement(c, M + "is")
            for child in si:
                item.append(etree.fromstring(etree.tostring(child)))
            _runs(item, "libreoffice")
    data = rewrite(base, trees(inline, _is_sheet))
    assert b'<c r="A1" s="1" t="inlineStr">' in _member(data, "xl/worksheets/sheet2.xml")
    _honest(data, expected)


def test_inline_strings_saved_as_shared(base, expected):
    """The reverse: a writer that keeps no inline strings (Excel turns every inline string into a
    shared one on save, randym/axlsx#358)."""
    sst = etree.fromstring(_member(base, "xl/sharedStrings.xml"))

    def share(root: etree._Element) -> None:
        for c in root.iter(M + "c"):
            if c.get("t") == "inlineStr":
                item = c.find(M + "is")
                si = etree.SubElement(sst, M + "si")
                for child in item:
                    si.append(child)
                c.remove(item)
                c.set("t", "s")
                etree.SubElement(c, M + "v").text = str(len(sst) - 1)
    edited = trees(share, _is_sheet)
    first = {}

    def edit(name: str, body: bytes) -> bytes | None:
        if name == "xl/sharedStrings.xml":
            return None
        first[name] = edited(name, body)
        return first[name]
    data = rewrite(base, edit)
    data = rewrite(data, lambda n, b: b, {"xl/sharedStrings.xml": etree.tostring(sst, xml_declaration=True,
                                                                                 encoding="UTF-8")})
    assert not any(b"inlineStr" in body for body in first.values())
    _honest(data, expected)


# -- 5. structure of the sheet data -------------------------------------------------------------


def _share_formulas(root: etree._Element) -> None:
    """Excel's shared formulas: in each column, a run of formulas that are one formula moved
    down becomes a master (t="shared" ref="J7:J29" si="n", with ca="1" where Excel recalculates
    always) and children <f t="shared" si="n"/> (ECMA-376 18.3.1.40; JuliaData/XLSX.jl#235)."""
    groups: dict[int, tuple[etree._Element, int, str, int]] = {}  # column -> (master f, row, text, last row)
    si = 0
    for c in root.iter(M + "c"):
        f = c.find(M + "f")
        if f is None or not f.text or f.get("t"):
            continue
        row, col = _rc(c.get("r"))
        group = groups.get(col)
        if group and group[3] == row - 1 and shift_formula(group[2], row - group[1], 0) == f.text:
            master, r0, text, _ = group
            f.text = None
            f.set("t", "shared")
            f.set("si", master.get("si"))
            master.set("ref", f"{a1(r0, col)}:{a1(row, col)}")
            groups[col] = (master, r0, text, row)
        else:
            f.set("t", "shared")
            f.set("si", str(si))
            f.set("ref", a1(row, col))
            f.set("ca", "1")
            si += 1
            groups[col] = (f, row, f.text, row)


def _rc(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
    assert m
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


def test_shared_formulas(base, expected):
    """Totals as Excel saves them: one master formula per column run, children by reference."""
    data = rewrite(base, trees(_share_formulas, _is_sheet))
    body = _member(data, "xl/worksheets/sheet5.xml")
    assert b'<f t="shared" si="' in body and b'ca="1"' in body and b'ref="J7:J' in body
    _honest(data, expected)


def _without_r(root: etree._Element) -> None:
    data = root.find(M + "sheetData")
    expect_row = 0
    for r in list(data):
        n = int(r.get("r")) - 1
        while expect_row < n:
            r.addprevious(etree.Element(M + "row"))
            expect_row += 1
        expect_row += 1
        del r.attrib["r"]
        expect_col = 0
        for c in list(r):
            col = _rc(c.get("r"))[1]
            while expect_col < col:
                c.addprevious(etree.Element(M + "c"))
                expect_col += 1
            expect_col += 1
            del c.attrib["r"]


def _reversed(root: etree._Element) -> None:
    data = root.find(M + "sheetData")
    rows = list(data)
    for r in rows:
        data.remove(r)
    for r in reversed(rows):
        data.append(r)


def test_rows_out_of_order_children_before_master(base, expected):
    """Rows in reverse order (the standard does not require order; some streaming writers emit
    rows as they finish them), with shared formulas, so a child comes before its master."""
    def reverse(root: etree._Element) -> None:
        _share_formulas(root)
        _reversed(root)
    _honest(rewrite(base, trees(reverse, _is_sheet)), expected)


def test_cells_and_rows_without_r(base, expected):
    """Cells and rows without their optional `r` (ECMA-376 18.3.1.4, 18.3.1.73: a cell follows
    the one before it in its row, a row the row before it), as streaming writers produce; gaps
    are written as empty <c/> and <row/>."""
    data = rewrite(base, trees(_without_r, _is_sheet))
    assert b' r="' not in _member(data, "xl/worksheets/sheet5.xml").split(b"<sheetData>")[1].split(b"</sheetData>")[0]
    _honest(data, expected)


def test_absolute_relationship_targets(base, expected):
    """Relationship targets from the package root (`/xl/worksheets/sheet1.xml`, `/xl/workbook.xml`),
    as several writers (and WPS for some parts) put them (ECMA-376 Part 2, 9.3)."""
    def absolute(name: str, body: bytes) -> bytes:
        if name == "xl/_rels/workbook.xml.rels":
            return re.sub(rb'Target="(?!/)', b'Target="/xl/', body)
        if name == "_rels/.rels":
            return re.sub(rb'Target="(?!/)', b'Target="/', body)
        return body
    data = rewrite(base, absolute)
    assert b'Target="/xl/worksheets/sheet1.xml"' in _member(data, "xl/_rels/workbook.xml.rels")
    _honest(data, expected)


def test_calc_chain_present(base, expected):
    """xl/calcChain.xml, the order Excel last calculated formulas in, present in every Excel save."""
    chain = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="' + MAIN.encode() + \
        b'"><c r="J7" i="5" l="1"/><c r="J8"/><c r="D3" i="2"/></calcChain>'
    data = _add_part(base, "xl/calcChain.xml", chain,
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml",
                     REL + "/calcChain", target="calcChain.xml")
    _honest(data, expected)


X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"


def test_x14_data_validations(base, expected):
    """A list validation whose source is on another sheet, as Excel 2010+ and WPS save it: in
    <extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"><x14:dataValidations> with
    <xm:f> and <xm:sqref> (excelize#1879)."""
    ext = (f'<extLst><ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14}">'
           f'<x14:dataValidations count="1" xmlns:xm="{XM}"><x14:dataValidation type="list" allowBlank="1">'
           f"<x14:formula1><xm:f>'填报说明'!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>Z1</xm:sqref>"
           f"</x14:dataValidation></x14:dataValidations></ext></extLst></worksheet>").encode()
    data = rewrite(base, sheets(lambda b: b.replace(b"</worksheet>", ext)))
    _honest(data, expected)


WPS_ETC = "http://www.wps.cn/officeDocument/2017/etCustomData"


def test_wps_parts(base, expected):
    """What WPS adds to an xlsx (SheetJS test_files wps/*.xlsx, artifacts/wps/write.xlsx): the
    custom properties part docProps/custom.xml (KSOProductBuildVer), xl/cellimages.xml (in-cell
    pictures, relationship type http://www.wps.cn/officeDocument/2020/cellImage) and the `etc`
    namespace declared on each worksheet; WPS's calcPr calcId="144525"."""
    custom = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.org/'
              b'officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
              b'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
              b'<vt:lpwstr>2052-12.1.0.16120</vt:lpwstr></property></Properties>')
    images = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<etc:cellImages xmlns:etc="{WPS_ETC}" '
              'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"/>').encode()
    data = _add_part(base, "docProps/custom.xml", custom,
                     "application/vnd.openxmlformats-officedocument.custom-properties+xml",
                     REL + "/custom-properties", rels="_rels/.rels")
    data = _add_part(data, "xl/cellimages.xml", images, "application/vnd.wps-officedocument.cellimage+xml",
                     "http://www.wps.cn/officeDocument/2020/cellImage", target="cellimages.xml")

    def etc(name: str, body: bytes) -> bytes:
        if _is_sheet(name):
            return body.replace(b"<worksheet ", f'<worksheet xmlns:etc="{WPS_ETC}" '.encode(), 1)
        if name == "xl/workbook.xml":
            return re.sub(rb'calcId="[0-9]+"', b'calcId="144525"', body)
        return body
    _honest(rewrite(data, etc), expected)


def test_everything_at_once(base, expected):
    """Strict namespaces, an x: prefix, a BOM, escapes, phonetic runs, shared formulas, rows out
    of order and 17-digit numbers in one file."""
    def sst(root: etree._Element) -> None:
        for si in root.iterchildren(M + "si"):
            _runs(si, "libreoffice")
            for t in si.iter(M + "t"):
                t.text = _excel_escape(t.text or "")

    def sheet(root: etree._Element) -> None:
        _share_formulas(root)
        _reversed(root)
        for v in root.iter(M + "v"):
            if v.getparent().get("t") is None and v.text:
                v.text = format(float(v.text), ".17g")
    data = rewrite(base, trees(sst, lambda n: n == "xl/sharedStrings.xml"))
    data = rewrite(data, trees(sheet, _is_sheet))

    def strict(name: str, body: bytes) -> bytes:
        for old, new in _STRICT:
            body = body.replace(old, new)
        return (b"\xef\xbb\xbf" + body) if name.endswith(".xml") and body.startswith(b"<?xml") else body
    _honest(rewrite(data, strict), expected)


# -- 6. WPS .et ---------------------------------------------------------------------------------


def test_wps_xlsx_renamed_et(tmp_path, base, expected):
    """A WPS workbook saved as .xlsx and renamed .et: a file is what its content is, so it reads
    as the xlsx it is, with no finding."""
    from xltool.round.verify import verify_path
    path = tmp_path / "001.et"
    path.write_bytes(base)
    result = verify_path(path)
    assert result.findings == []
    assert result.values == from_book(load_book(base)).values


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def test_wps_et_reads_values():
    """A WPS .et (an OLE compound file with a BIFF8 Workbook stream and WPS's ETExtData stream
    beside it; the CLSID is Excel's: SheetJS test_files wps/*.et, artifacts/wps/write.et). Ours
    (tests/golden/wps-like.et, see README) is read like an .xls: every value, kind "et"."""
    data = (GOLDEN / "wps-like.et").read_bytes()
    book = load_book(data)
    assert book.kind == "et" and not book.formulas_known
    doc = from_book(book).to_json()
    doc.pop("source")
    assert doc == _golden("lo-typed")["read"]  # it was made from lo-typed.xlsx


def test_wps_et_is_a_warning_asking_for_xlsx():
    """verify: file-wps-format (a warning), "请在 WPS 中另存为 .xlsx", and the values read."""
    result = verify_bytes((GOLDEN / "wps-like.et").read_bytes(), "001.et")
    codes = [f.code for f in result.findings]
    assert "file-wps-format" in codes and "file-legacy-format" not in codes
    message = next(f.message for f in result.findings if f.code == "file-wps-format")
    assert message.count("另存为 .xlsx") == 1  # said once: the finding's fix, not also its text
    assert result.values == from_book(load_book((GOLDEN / "wps-like.et").read_bytes())).values


def test_unreadable_wps_et_is_the_finding():
    """An .et whose BIFF workbook cannot be read: file-wps-format is all there is to say."""
    data = bytearray((GOLDEN / "wps-like.et").read_bytes())
    at = data.find("Workbook".encode("utf-16-le"))
    data[at:at + 16] = "Wurkbook".encode("utf-16-le")  # the workbook stream is gone
    result = verify_bytes(bytes(data), "001.et")
    assert [f.code for f in result.findings] == ["file-wps-format"]
    assert result.findings[0].message.count("请在 WPS 中另存为 .xlsx") == 1


# -- 8. LibreOffice re-saved returns, committed --------------------------------------------------


@pytest.mark.parametrize("name", ["lo-resaved", "lo-typed"])
def test_libreoffice_golden(name):
    """Returns LibreOffice really saved (tests/golden/README.md): no finding, and read to the
    values they were filled with."""
    data = (GOLDEN / f"{name}.xlsx").read_bytes()
    result = verify_bytes(data, f"{name}.xlsx")
    assert [(f.code, f.cell, f.message) for f in result.findings] == []
    golden = _golden(name)
    doc = _read(data)
    assert doc == golden["read"]
    for key, v in golden["filled"].items():
        if SPEC.cells[key].numeric:
            assert doc["values"][key] == v, key
        else:
            assert doc["narrative" if key.startswith("narrative.") else "contact"][key.split(".", 1)[1]] == v, key


# -- 7. properties --------------------------------------------------------------------------------

IN_RANGE = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x == 0 or 1e-30 <= abs(x) < 1e15)


@given(IN_RANGE)
def test_any_double_reads_as_its_15_significant_digits(x):
    got = bounded_decimal(repr(x))
    want = Decimal(format(x, ".15g"))
    assume(want == 0 or abs(want) < Decimal(10) ** 15)
    assert got == want
    assert len(got.normalize().as_tuple().digits) <= 15


@given(IN_RANGE)
def test_17_digits_read_as_the_15_digit_repr(x):
    fifteen = format(x, ".15g")
    assume(abs(Decimal(fifteen)) < Decimal(10) ** 15)
    assert bounded_decimal(format(x, ".17g")) == bounded_decimal(fifteen) == Decimal(fifteen)
    assert parse_number(format(x, ".17g")) == Decimal(fifteen)


@given(st.text(max_size=200))
def test_number_reader_is_bounded_for_any_text(text):
    for got in (bounded_decimal(text), parse_number(text)):
        assert got is None or (got == 0 or (Decimal("1e-30") <= abs(got) < Decimal(10) ** 15))
        if got is not None:
            assert len(got.as_tuple().digits) <= 31


def test_typed_decimals_round_to_what_excel_shows():
    assert bounded_decimal("2.2999999999999998") == Decimal("2.3")
    assert bounded_decimal("10.199999999999999") == Decimal("10.2")
    assert str(bounded_decimal("0.30000000000000004")) == "0.3"
    assert bounded_decimal("123456789012345.67") == Decimal("123456789012346")
    assert bounded_decimal("999999999999999.9") is None  # 1E+15 once rounded: beyond a return
    assert bounded_decimal("12.50") == Decimal("12.50")  # 15 digits or fewer: as written
    assert not math.isnan(float(bounded_decimal("1e-5") or 0))


# shift_formula: references, quoted texts, sheet names, functions

ROWS = st.integers(0, 200)
COLS = st.integers(0, 60)


@st.composite
def _ref(draw) -> tuple[str, bool, bool, int, int]:
    row, col = draw(ROWS), draw(COLS)
    abs_col, abs_row = draw(st.booleans()), draw(st.booleans())
    return (f"{'$' if abs_col else ''}{col_letter(col)}{'$' if abs_row else ''}{row + 1}", abs_row, abs_col, row, col)


QUOTED = st.text(alphabet=st.sampled_from(list("ABD7$1:! 表二\"'")), max_size=12)


@st.composite
def _formula(draw) -> tuple[str, list[tuple[str, bool, bool, int, int]], list[str]]:
    refs, texts, pieces = [], [], []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["ref", "range", "sheet", "text", "func"]))
        if kind in ("ref", "sheet"):
            r = draw(_ref())
            refs.append(r)
            pieces.append(("'表二依申请公开'!" if kind == "sheet" else "") + r[0])
        elif kind == "range":
            a, b = draw(_ref()), draw(_ref())
            refs += [a, b]
            pieces.append(f"{a[0]}:{b[0]}")
        elif kind == "text":
            t = '"' + draw(QUOTED).replace('"', '""') + '"'
            texts.append(t)
            pieces.append(t)
        else:
            pieces.append(draw(st.sampled_from(["SUM(1)", "LOG10(2)", "ATAN2(1,1)", "COUNTBLANK(0)"])))
    op = draw(st.sampled_from(["+", "-", ",", "&", "*"]))
    return op.join(pieces), refs, texts


@given(_formula(), st.integers(-50, 50), st.integers(-20, 20))
def test_shift_then_back_is_the_formula(f, dr, dc):
    text, refs, texts = f
    for _, abs_row, abs_col, row, col in refs:
        assume(abs_row or 0 <= row + dr < MAX_ROWS)
        assume(abs_col or 0 <= col + dc < MAX_COLS)
    moved = shift_formula(text, dr, dc)
    assert shift_formula(moved, -dr, -dc) == text
    for t in texts:
        assert t in moved  # quoted text never changes
    for ref, abs_row, abs_col, _, _ in refs:
        if abs_row and abs_col:
            assert ref in moved  # absolute references never move


@given(_ref(), st.integers(-50, 50), st.integers(-20, 20))
def test_shift_moves_exactly_the_relative_parts(r, dr, dc):
    ref, abs_row, abs_col, row, col = r
    new_row, new_col = row + (0 if abs_row else dr), col + (0 if abs_col else dc)
    assume(0 <= new_row < MAX_ROWS and 0 <= new_col < MAX_COLS)
    want = f"{'$' if abs_col else ''}{col_letter(new_col)}{'$' if abs_row else ''}{new_row + 1}"
    assert shift_formula(f"SUM({ref})", dr, dc) == f"SUM({want})"


# -- the annotated copy of a tampered return, in each spelling ------------------------------------


def _strict(name: str, body: bytes) -> bytes:
    for old, new in _STRICT:
        body = body.replace(old, new)
    return body.replace(b"<workbook ", b'<workbook conformance="strict" ', 1) if name == "xl/workbook.xml" else body


SPELLINGS: dict[str, Callable[[bytes], bytes]] = {
    "strict": lambda d: rewrite(d, _strict),
    "without-r": lambda d: rewrite(d, trees(_without_r, _is_sheet)),
    "rows-reversed": lambda d: rewrite(d, trees(_reversed, _is_sheet)),
    "shared-formulas": lambda d: rewrite(d, trees(_share_formulas, _is_sheet)),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_annotated_copy_of_each_spelling(base, spelling):
    """A total overwritten by a number (formula-changed at 表二 J7) in a file of each spelling: the
    finding is at J7, and the annotated copy marks that very cell, keeps its value, holds each row
    once, and verifies to the same finding."""
    from xltool.round.annotate import annotate_bytes

    def tamper(name: str, body: bytes) -> bytes:
        return body.replace(b'<c r="J7" s="16"><f>SUM(D7:I7)</f>', b'<c r="J7" s="16">') if name.endswith("sheet5.xml") else body
    data = SPELLINGS[spelling](rewrite(base, tamper))
    found = [(f.code, f.sheet, f.cell) for f in verify_bytes(data, "001.xlsx").findings]
    assert found == [("formula-changed", "表二依申请公开", "J7")]
    copy = annotate_bytes(data, verify_bytes(data, "001.xlsx").findings, "审核意见")
    assert [(f.code, f.sheet, f.cell) for f in verify_bytes(copy, "001.xlsx").findings] == found
    sheet = etree.fromstring(_member(copy, "xl/worksheets/sheet5.xml"))
    rows = [r.get("r") for r in sheet.iter(M + "row")]
    assert len(rows) == len(set(rows)) and None not in rows
    j7 = [c for c in sheet.iter(M + "c") if c.get("r") == "J7"]
    assert len(j7) == 1 and j7[0].findtext(M + "v") == "171"
    assert load_book(copy).sheets["表二依申请公开"].get(6, 9).value == "171"


def test_shared_formula_master_beyond_excels_limit(base):
    """A shared master longer than Excel's 8,192 characters is not moved to its children (one
    move per child would cost the master's length each): the children read as no formula, and
    the totals they replace are formula-changed; the master too."""
    long = b"SUM(D7:I7)" + b"+0" * 5000

    def edit(body: bytes) -> bytes:
        body = body.replace(b'<c r="J7" s="16"><f>SUM(D7:I7)</f>', b'<c r="J7" s="16"><f t="shared" ref="J7:J9" si="0">'
                            + long + b"</f>")
        return body.replace(b"<f>SUM(D8:I8)</f>", b'<f t="shared" si="0"/>')
    data = rewrite(base, lambda n, b: edit(b) if n.endswith("sheet5.xml") else b)
    assert b'<f t="shared" si="0"/>' in _member(data, "xl/worksheets/sheet5.xml")
    cells = load_book(data).sheets["表二依申请公开"]
    assert cells.get(7, 9).formula == "" and len(cells.get(6, 9).formula or "") > 8192
    found = {(f.code, f.cell) for f in verify_bytes(data, "001.xlsx").findings}
    assert {("formula-changed", "J7"), ("formula-changed", "J8")} <= found
