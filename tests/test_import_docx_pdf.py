"""Word and PDF reports read back (issue 15): reports xltool writes (render_docx, and the PDF
LibreOffice makes of it) come back as the document model with merged cells filled and every
piece located, and import to exactly the figures of the return; altered reports give what they
print; hostile files (zip bombs, entity attacks, renamed zips, encrypted files, PDF bombs, PDFs
of images or of glyph codes) are a DocumentError or an unreadable document, never a traceback.

The PDF tests share one LibreOffice conversion (module fixture, marked slow); the .doc test
makes one more."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from lxml import etree

from builders import APPLICANTS, consistent, make_return, said_once
from xltool.findings import finding
from xltool.form.returns import read_return
from xltool.published import docx as docx_reader
from xltool.published import pdf as pdf_reader
from xltool.published.document import Cell, Document, DocumentError, Paragraph, Table
from xltool.published.interpret import interpret
from xltool.published.read import read_bytes, read_document
from xltool.reports import Narrative, compose, from_return
from xltool.reports.docx import render_docx
from xltool.util import find_soffice

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TABLE_KEYS = ("active.", "requests.", "review.")
NEW_ROW, CARRIED_ROW, PROHIBITED = "一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量", "2.其他法律行政法规禁止公开"


def varied() -> dict[str, Any]:
    """Figures that satisfy every rule, with no two neighbouring cells alike and hardly a zero."""
    v = consistent(7)
    rows = sorted({k.split(".")[1] for k in v if k.startswith("requests.")} - {"new", "carried_over", "carried_forward"})
    for i, col in enumerate(APPLICANTS):
        handled = 0
        for j, row in enumerate(rows):
            v[f"requests.{row}.{col}"] = n = 1 + (i * 7 + j * 3) % 9
            handled += n
        carried, forward = 1 + i % 4, 2 + i
        v[f"requests.carried_over.{col}"] = carried
        v[f"requests.carried_forward.{col}"] = forward
        v[f"requests.new.{col}"] = handled + forward - carried
    for b, block in enumerate(("reconsideration", "litigation_direct", "litigation_after_reconsideration")):
        v.update({f"review.{block}.upheld": 3 + b, f"review.{block}.corrected": 2 + b, f"review.{block}.other": 1 + b,
                  f"review.{block}.pending": 4 + b})
    v["active.regulations.repealed"] = 1
    return v


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Any]:
    """The return (its figures as read back from the workbook) and its report as DOCX."""
    folder = tmp_path_factory.mktemp("report")
    ret = read_return(make_return(folder, varied()))
    data = render_docx(compose(from_return(ret), Narrative()))
    figures = {k: v for k, v in ret.values.items() if k.startswith(TABLE_KEYS)}
    assert sum(1 for v in figures.values() if v) > 0.9 * len(figures)
    return {"folder": folder, "docx": data, "figures": figures}


def figures_of(doc: Document) -> dict[str, Any]:
    return {k: v for k, v in interpret(doc).values.items() if k.startswith(TABLE_KEYS)}


def row_of(table: Table, label: str) -> list[Cell]:
    return next(row for row in table.rows if any(c.text == label for c in row))


# -- DOCX --------------------------------------------------------------------------------------


def test_docx_report_reads_back_in_body_order_with_merges_filled(made) -> None:
    doc = read_bytes(made["docx"], "报告.docx")
    assert doc.kind == "docx" and doc.converted_from is None and doc.images == 0
    assert doc.sha256 == hashlib.sha256(made["docx"]).hexdigest()
    assert doc.title == "某某区营商环境建设监督局2021年政府信息公开工作年度报告"
    kinds = [type(b).__name__ for b in doc.blocks]
    assert kinds.count("Table") == 3 and kinds[0] == "Paragraph"
    headings = [p.text for p in doc.paragraphs if p.text[:2] in ("一、", "二、", "三、", "四、", "五、", "六、")]
    assert [h[:2] for h in headings] == ["一、", "二、", "三、", "四、", "五、", "六、"]
    # each table comes after its heading
    at = {b.text[:2]: i for i, b in enumerate(doc.blocks) if isinstance(b, Paragraph)}
    tables = [i for i, b in enumerate(doc.blocks) if isinstance(b, Table)]
    assert at["二、"] < tables[0] < at["三、"] < tables[1] < at["四、"] < tables[2] < at["五、"]
    assert [p.where for p in doc.paragraphs[:3]] == ["第1段", "第2段", "第3段"]

    requests = doc.tables[1]
    assert requests.where == "第2个表格" and requests.spans_known
    assert len({len(r) for r in requests.rows}) == 1  # a full grid
    new = row_of(requests, NEW_ROW)
    assert new[0] is new[1] is new[2]  # gridSpan=3: the same cell at each position
    assert new[-1].where == f"第2个表格第{requests.rows.index(new) + 1}行第{len(new)}格"
    # vMerge: 三、本年度办理结果 is one cell down the rows it covers
    outcome = [r[0] for r in requests.rows if r[0].text == "三、本年度办理结果"]
    assert len(outcome) > 20 and all(c is outcome[0] for c in outcome)
    # a label on two lines in the DOCX (<w:br/> in the header) reads whole
    assert any(c.text == "法人或其他组织" for r in requests.rows for c in r)


def test_docx_report_imports_to_the_figures_of_the_return(made) -> None:
    doc = read_bytes(made["docx"], "报告.docx")
    imp = interpret(doc)
    assert figures_of(doc) == made["figures"]
    assert imp.agency_name == "某某区营商环境建设监督局" and imp.year == 2021
    assert not [f for f in imp.findings if f.severity == "error"]


def altered_docx(data: bytes) -> tuple[bytes, int]:
    """The report with a wrong total typed into 本年新收's 总计, 上年结转's figures deleted, and the
    label 2.其他法律行政法规禁止公开 typed as 2.其他法律行政<line break>止公开; and the wrong total."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(zin.read("word/document.xml"))
    table = root.findall(f".//{W}tbl")[1]
    wrong = 0
    for tr in table.iter(W + "tr"):
        cells = tr.findall(W + "tc")
        texts = ["".join(t.text or "" for t in tc.iter(W + "t")) for tc in cells]
        if texts[0] == NEW_ROW:
            t = next(cells[-1].iter(W + "t"))
            wrong = int(t.text) + 5
            t.text = str(wrong)
        elif texts[0] == CARRIED_ROW:
            for tc in cells[1:]:
                for t in tc.iter(W + "t"):
                    t.text = ""
        for tc, text in zip(cells, texts):
            if text == PROHIBITED:
                t = next(tc.iter(W + "t"))
                t.text = "2.其他法律行政"
                br = etree.SubElement(t.getparent(), W + "br")
                etree.SubElement(t.getparent(), W + "t").text = "止公开"
                assert br.getprevious() is t
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True) \
                if info.filename == "word/document.xml" else zin.read(info)
            zout.writestr(info.filename, body)
    assert wrong
    return out.getvalue(), wrong


def test_altered_docx_gives_what_it_prints(made) -> None:
    data, wrong = altered_docx(made["docx"])
    doc = read_bytes(data, "改过的报告.docx")
    requests = doc.tables[1]
    new = row_of(requests, NEW_ROW)
    assert new[-1].text == str(wrong)
    assert [c.text for c in row_of(requests, CARRIED_ROW)[3:]] == [""] * 7
    assert any(r[2].text == "2.其他法律行政止公开" for r in requests.rows)  # the line break vanished

    imp = interpret(doc)
    assert imp.values["requests.new.total"] == wrong
    assert imp.locations["requests.new.total"] == new[-1].where
    assert all(imp.values[f"requests.carried_over.{c}"] is None for c in APPLICANTS + ["total"])
    typo = [f for f in imp.findings if f.code == "label-deviates"]
    assert any(PROHIBITED in f.message for f in typo), typo
    key = "requests.denied_prohibited_by_law.natural_person"
    assert imp.values[key] == made["figures"][key]  # the row is still read


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return out.getvalue()


WORD_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
              b'2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
              b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')


def word(body: str) -> bytes:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W[1:-1]}"><w:body>{body}'
           '</w:body></w:document>')
    return zip_bytes({"[Content_Types].xml": WORD_TYPES, "word/document.xml": xml.encode()})


def tc(text: str, props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def test_nested_tables_give_the_inner_table_and_pictures_are_counted() -> None:
    inner = ("<w:tbl><w:tr>" + tc("项目", '<w:gridSpan w:val="2"/>') + "</w:tr><w:tr>" + tc("甲") + tc("1")
             + "</w:tr><w:tr>" + tc("", '<w:vMerge/>') + tc("2") + "</w:tr></w:tbl>")
    body = ("<w:p><w:r><w:t>标题</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>说明</w:t></w:r></w:p>"
            f"{inner}</w:tc></w:tr></w:tbl><w:p><w:r><w:drawing/></w:r></w:p>")
    doc = read_bytes(word(body), "嵌套.docx")
    assert [type(b).__name__ for b in doc.blocks] == ["Paragraph", "Paragraph", "Table"]
    assert doc.blocks[1].text == "说明"
    table = doc.tables[0]
    assert [[c.text for c in r] for r in table.rows] == [["项目", "项目"], ["甲", "1"], ["甲", "2"]]
    assert table.rows[0][0] is table.rows[0][1] and table.rows[1][0] is table.rows[2][0]
    assert table.rows[2][1].where == "第1个表格第3行第2格"
    assert doc.images == 1 and doc.title == "标题"


@pytest.mark.parametrize(("data", "code", "says"), [
    (zip_bytes({"readme.txt": b"hello", "data.csv": b"1,2"}), "file-unreadable", "压缩包"),
    (zip_bytes({"[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
                "xl/workbook.xml": b"<workbook/>"}), "file-unreadable", "Excel 工作簿"),
    (zip_bytes({"[Content_Types].xml": WORD_TYPES,
                "word/document.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                                     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>'}),
     "file-unreadable", "DOCTYPE"),
    (lambda: zip_bytes({"[Content_Types].xml": WORD_TYPES, "word/document.xml": b"\0" * (80 << 20)}),
     "file-too-large", "压缩炸弹"),  # the container's words, and what to do with a Word document
    (word("<w:tbl><w:tr>" + tc("x", '<w:gridSpan w:val="900000000"/>') + "</w:tr></w:tbl>"), "file-too-large", "单元格"),
    (b"PK\x03\x04" + b"\0" * 200, "file-unreadable", "损坏"),
], ids=["any-zip", "xlsx-renamed", "entities", "zip-bomb", "huge-span", "broken-zip"])
def test_hostile_docx_is_a_clear_error(data, code: str, says: str) -> None:
    with pytest.raises(DocumentError) as raised:
        read_bytes(data() if callable(data) else data, "年报.docx")
    assert raised.value.code == code and says in str(raised.value)
    assert said_once(finding(code, raised.value.message).message)


def test_an_xlsx_renamed_docx_says_it_is_a_workbook(tmp_path: Path) -> None:
    path = make_return(tmp_path, consistent(1))
    renamed = path.rename(tmp_path / "年报.docx")
    with pytest.raises(DocumentError) as raised:
        read_document(renamed)
    assert raised.value.code == "file-unreadable" and "这是一个 Excel 工作簿（.xlsx）" in str(raised.value)


def test_a_zip_named_pdf_says_what_it_is(tmp_path: Path) -> None:
    """A workbook or a broken zip named .pdf: read as what it is (a zip), and the message says the
    name and the content disagree before what the content is."""
    workbook = make_return(tmp_path, consistent(1)).rename(tmp_path / "年报.pdf")
    (tmp_path / "坏.pdf").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    for path, what in ((workbook, "这是一个 Excel 工作簿（.xlsx）"), (tmp_path / "坏.pdf", "损坏")):
        with pytest.raises(DocumentError) as raised:
            read_document(path)
        message = str(raised.value)
        assert raised.value.code == "file-unreadable" and message.startswith("文件名是 .pdf，但内容是 zip 压缩格式")
        assert what in message and said_once(finding("file-unreadable", message).message)


def ole(*streams: str) -> bytes:
    """Enough of an OLE compound file for the readers' judgement: the magic and stream names."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + b"".join(s.encode("utf-16-le") + b"\0\0" for s in streams)


def test_encrypted_word_files_and_a_missing_libreoffice_are_clear(monkeypatch) -> None:
    for name in ("年报.docx", "年报.doc"):
        with pytest.raises(DocumentError) as raised:
            read_bytes(ole("EncryptionInfo", "EncryptedPackage"), name)
        assert raised.value.code == "file-unreadable" and "加密" in str(raised.value) and "解除密码" in str(raised.value)
    monkeypatch.setattr(docx_reader, "find_soffice", lambda: None)
    with pytest.raises(DocumentError) as raised:
        read_bytes(ole("WordDocument"), "年报.wps")
    assert "LibreOffice" in str(raised.value) and ".wps" in str(raised.value)


# -- hand-made PDFs ------------------------------------------------------------------------------


def pdf_file(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of the objects given (object 1 the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def one_page(content: bytes, resources: bytes = b"<< >>", extra: bytes = b"") -> bytes:
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources %s >>" % resources,
                     stream(content, extra)])


def test_a_pdf_of_an_image_is_unreadable_not_empty() -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(out, "PDF")
    doc = read_bytes(out.getvalue(), "扫描件.pdf")
    assert doc.kind == "pdf" and doc.images == 1 and not doc.tables
    assert doc.unreadable == pdf_reader.SCANNED
    imp = interpret(doc)
    [missing] = [f for f in imp.findings if f.code == "tables-missing"]
    # what was found, then what to do, each said once, in one sentence each
    assert missing.message == ("PDF 的页面是图片（扫描件或截图），没有可读的文字层，无法读取表格中的数字，未作任何推测。"
                               "需要人工录入：请向报送单位索取 Excel 填报表，或对照原文手工填写。")


def test_glyph_codes_without_text_are_unreadable() -> None:
    font = (b"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [<< /Type /Font "
            b"/Subtype /CIDFontType2 /BaseFont /X /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) "
            b"/Supplement 0 >> /FontDescriptor << /Type /FontDescriptor /FontName /X /Flags 4 /FontBBox [0 0 1000 1000] "
            b"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >> /DW 1000 >>] >>")
    text = b"BT /F1 12 Tf 72 700 Td <" + b"4E2D56FD" * 40 + b"> Tj ET"
    doc = read_bytes(one_page(text, b"<< /Font << /F1 %s >> >>" % font), "字形.pdf")
    assert doc.unreadable == pdf_reader.CID


def rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def test_a_pdf_that_needs_a_password_is_refused_as_encrypted() -> None:
    """Standard security handler, revision 2 (PDF 1.7, 7.6.3.3-4), user password "secret"."""
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    padded = (b"secret" + pad)[:32]
    owner = rc4(hashlib.md5((b"owner" + pad)[:32]).digest()[:5], padded)
    ident, perms = b"0123456789abcdef", -4
    key = hashlib.md5(padded + owner + struct.pack("<i", perms) + ident).digest()[:5]
    user = rc4(key, pad)
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (owner.hex().encode(), user.hex().encode(), perms)
    data = pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>", encrypt],
                    b"/Encrypt 4 0 R /ID [<%s> <%s>]" % (ident.hex().encode(), ident.hex().encode()))
    with pytest.raises(DocumentError) as raised:
        read_bytes(data, "加密.pdf")
    assert raised.value.code == "file-unreadable" and "加密" in str(raised.value)


def many_pages(n: int, count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(n))
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>"] * n
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
                     stream(b"BT ET"), *pages])


def inflating(size: int) -> bytes:
    z = zlib.compressobj(9)
    chunk = b"0 0 m 1 1 l S\n" * 4096
    parts = [z.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + z.flush()


@pytest.mark.parametrize(("make", "says"), [
    pytest.param(lambda: many_pages(3000, 3000), "3000 页", id="3000-pages"),
    pytest.param(lambda: many_pages(3000, 1), "超过 60 页", id="3000-pages-count-lies"),
    pytest.param(lambda: one_page(inflating(200 << 20), extra=b"/Filter /FlateDecode"), "解压后异常庞大",
                 id="inflates-to-200MB"),
    pytest.param(lambda: one_page(inflating(20 << 20), extra=b"/Filter /FlateDecode"), "一页的内容", id="page-of-20MB"),
])
def test_pdf_bombs_stop_at_their_budget(make, says: str) -> None:
    with pytest.raises(DocumentError) as raised:
        read_bytes(make(), "炸弹.pdf")
    assert raised.value.code == "file-too-large" and says in str(raised.value)
    assert said_once(finding("file-too-large", raised.value.message).message)


@pytest.mark.parametrize("data", [b"%PDF-1.4\n" + b"\x00garbage" * 100, b"%PDF-1.7\n1 0 obj << /Type /Catalog >>",
                                  one_page(b"BT /F9 12 Tf (x) Tj ET q 1 0 0 1 0 0 cm /Im1 Do Q")])
def test_broken_pdfs_are_unreadable_or_empty(data: bytes) -> None:
    try:
        doc = read_bytes(data, "坏.pdf")
    except DocumentError as e:
        assert e.code == "file-unreadable" and "PDF" in str(e)
    else:
        assert doc.unreadable and not doc.tables


# -- PDF by LibreOffice (slow) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdfs(made) -> dict[str, Path]:
    """The report and the altered report, converted by one LibreOffice start (the product's own
    conversion, with its font mapping)."""
    require([] if find_soffice() else ["soffice"], "apt-get install libreoffice-writer fonts-noto-cjk")
    from xltool.reports.pdf import convert

    folder: Path = made["folder"] / "pdf"
    folder.mkdir()
    (folder / "report.docx").write_bytes(made["docx"])
    (folder / "altered.docx").write_bytes(altered_docx(made["docx"])[0])
    convert([folder / "report.docx", folder / "altered.docx"], folder)
    return {"report": folder / "report.pdf", "altered": folder / "altered.pdf"}


@pytest.mark.slow
def test_pdf_report_reads_back_with_its_split_table_and_imports_whole(made, pdfs) -> None:
    doc = read_document(pdfs["report"])
    assert doc.kind == "pdf" and doc.unreadable is None and doc.images == 0
    assert doc.title == "某某区营商环境建设监督局2021年政府信息公开工作年度报告"
    # table 2 (the requests) runs over two pages: two consecutive tables on consecutive pages
    first = next(t for t in doc.tables if any(c.text == NEW_ROW for r in t.rows for c in r))
    second = doc.tables[doc.tables.index(first) + 1]
    assert doc.blocks.index(second) == doc.blocks.index(first) + 1
    page = int(first.where[1:first.where.index("页")])
    assert second.where == f"第{page + 1}页第1个表格"
    assert any("结转下年度" in c.text for r in second.rows for c in r)
    # merged boxes are one Cell, labels broken over lines come out whole
    new = row_of(first, NEW_ROW)
    assert new[0] is new[1] is new[2]
    assert new[-1].where.startswith(f"第{page}页第") and new[-1].where.endswith(f"第{len(new)}格")
    labels = {c.text for t in doc.tables for r in t.rows for c in r}
    assert {"法人或其他组织", PROHIBITED, "5.要求行政机关确认或重新出具已获取信息", "三、本年度办理结果"} <= labels
    # paragraphs: headings in order, located by page, no page numbers
    texts = [p.text for p in doc.paragraphs]
    assert [t[:2] for t in texts if t[:2] in ("一、", "二、", "三、", "四、", "五、", "六、")] == [
        "一、", "二、", "三、", "四、", "五、", "六、"]
    assert all(p.where.startswith("第") and p.where.endswith("页") for p in doc.paragraphs)
    assert not [t for t in texts if t.strip("—-1234567890 ") == ""]
    # the first paragraph of the body is one paragraph, though it runs over many lines
    assert any(t.startswith("本年度报告根据") and t.endswith("提出意见。如对本报告有疑问、意见和建议，请联系某某区营商环境建设监督局，"
                                                          "地址：某某区政务服务中心3楼；邮编：150300；联系电话：0451-53761766。")
               for t in texts)

    assert figures_of(doc) == made["figures"]


@pytest.mark.slow
def test_altered_pdf_gives_what_it_prints(made, pdfs) -> None:
    _, wrong = altered_docx(made["docx"])
    imp = interpret(read_document(pdfs["altered"]))
    assert imp.values["requests.new.total"] == wrong
    assert imp.locations["requests.new.total"].endswith("第10格")
    assert all(imp.values[f"requests.carried_over.{c}"] is None for c in APPLICANTS + ["total"])
    assert any(f.code == "label-deviates" and PROHIBITED in f.message for f in imp.findings)


@pytest.mark.slow
def test_doc_made_by_libreoffice_is_converted_and_read(made, pdfs, libreoffice) -> None:
    folder = pdfs["report"].parent
    doc_file = libreoffice.convert(folder / "report.docx", folder / "doc", "doc:MS Word 97")
    before = doc_file.read_bytes()
    doc = read_document(doc_file)
    assert doc.kind == "docx" and doc.converted_from == ".doc"
    assert doc.sha256 == hashlib.sha256(before).hexdigest() and doc_file.read_bytes() == before
    assert figures_of(doc) == made["figures"]
    assert sorted(p.name for p in (folder / "doc").iterdir()) == ["report.doc"]  # nothing left beside it
