"""Reading published reports from HTML and MHTML pages and from web addresses
(xltool/published/html.py, fetch.py): a page xltool itself wrote reads back as the official
grids, in any encoding, saved as MHTML, wrapped in a government CMS's layout tables; dates and
titles as pages show them; hostile pages and hostile servers end in a clear DocumentError.

The web tests run real servers on the loopback interface: http.server in a thread for answers,
and bare sockets for a server that never answers or answers a byte at a time."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import quopri
import re
import socket
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

from builders import SPEC, make_return, said_once
from xltool.findings import finding
from xltool.form.returns import read_return
from xltool.published.document import MAX_CELLS, Cell, Document, DocumentError, Paragraph, Table
from xltool.published.fetch import fetch, urls_from_file
from xltool.published.html import read_html, read_mhtml
from xltool.published.importing import import_source
from xltool.published.read import read_bytes, read_document
from xltool.reports.grid import figure
from xltool.reports.html import render_html
from xltool.reports.model import Narrative, compose, from_return

HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
            "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[bytes, dict]:
    """A report page written by xltool from a consistent return, and the return's values."""
    ret = read_return(make_return(tmp_path_factory.mktemp("return")))
    return render_html(compose(from_return(ret), Narrative())), ret.values


def shape(doc: Document) -> list[tuple[str, str]]:
    """Everything a reader gave, as (where, text), cells included, in reading order."""
    out: list[tuple[str, str]] = []
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            out.append((block.where, block.text))
        else:
            out.extend((cell.where, cell.text) for row in block.rows for cell in row)
    return out


def page(body: str, head: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>".encode()


def texts(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row] for row in table.rows]


# -- a report xltool wrote ------------------------------------------------------------------

def test_xltools_own_page_reads_back_as_the_official_grids(report) -> None:
    data, values = report
    doc = read_html(data, "report.html")
    assert (doc.kind, doc.sha256, doc.images) == ("html", hashlib.sha256(data).hexdigest(), 0)
    assert doc.title == "某某区营商环境建设监督局2021年政府信息公开工作年度报告"
    assert doc.published is None  # the page shows no publication date (its 落款 date is no label)
    assert [t.where for t in doc.tables] == ["第1个表格", "第2个表格", "第3个表格"]
    for number, (spec_table, table) in enumerate(zip(SPEC.tables, doc.tables, strict=True), 1):
        height = max(g.row + g.rowspan for g in spec_table.grid)
        assert len(table.rows) == height and {len(r) for r in table.rows} == {spec_table.width}
        assert table.spans_known
        for g in spec_table.grid:
            cell = table.rows[g.row][g.col]
            assert cell.text == (figure(values[g.key]) if g.key else g.text)
            assert cell.where == f"第{number}个表格第{g.row + 1}行第{g.col + 1}格"
            # a merged cell is the same object at every position it covers
            assert all(table.rows[r][c] is cell for r in range(g.row, g.row + g.rowspan)
                       for c in range(g.col, g.col + g.colspan))
        assert len({id(c) for row in table.rows for c in row}) == len(spec_table.grid)
    paragraphs = [p.text for p in doc.paragraphs]
    assert [p for p in paragraphs if p in HEADINGS] == HEADINGS
    assert [p.where for p in doc.paragraphs] == [f"第{n}段" for n in range(1, len(paragraphs) + 1)]
    # reading order: each heading before its table
    order = [b.where if isinstance(b, Table) else b.text for b in doc.blocks]
    assert order.index(HEADINGS[1]) < order.index("第1个表格") < order.index(HEADINGS[2]) \
        < order.index("第2个表格") < order.index(HEADINGS[3]) < order.index("第3个表格") < order.index(HEADINGS[4])


def test_xltools_own_page_imports_back_to_the_returns_figures(report, tmp_path: Path) -> None:
    """Through the importer, from a file in each shape a user has: the page, the page re-encoded
    as GBK under a lying UTF-8 declaration, the page saved as MHTML; every figure the return
    holds comes back (the fee notices' amount, where the report's text does not state it, null)."""
    data, values = report
    lying = data.decode("utf-8").encode("gb18030")
    mht = mhtml(data)
    numeric = [k for k in SPEC.input_keys if SPEC.cells[k].numeric]
    for name, content in (("report.html", data), ("gbk.htm", lying), ("年报.mhtml", mht)):
        (tmp_path / name).write_bytes(content)
        imported = import_source(tmp_path / name)
        assert imported.findings == [], name
        assert imported.document.sha256 == hashlib.sha256(content).hexdigest()
        stated = imported.values["processing_fee.notice_amount"] is not None
        assert {k: imported.values[k] for k in numeric} == {
            **{k: values[k] for k in numeric}, **({} if stated else {"processing_fee.notice_amount": None})}, name
        assert imported.locations["requests.new.natural_person"] == "第2个表格第4行第4格"
        assert (imported.agency_name, imported.year) == ("某某区营商环境建设监督局", 2021)


@pytest.mark.parametrize("encoding, meta", [
    ("gbk", "<meta charset='gb2312'>"),
    ("gbk", '<meta http-equiv="Content-Type" content="text/html; charset=GBK">'),
    ("gb18030", "<meta charset='utf-8'>"),  # the page lies: says UTF-8, is GBK
    ("gbk", ""),  # says nothing
    ("utf-8", "<meta charset='gb2312'>"),  # lies the other way
    ("utf-8-sig", ""),  # a BOM
], ids=["gbk-meta-charset", "gbk-http-equiv", "lies-utf8-is-gbk", "gbk-undeclared", "lies-gbk-is-utf8", "bom"])
def test_any_encoding_declared_lying_or_missing_reads_the_same(report, encoding: str, meta: str) -> None:
    data, _ = report
    text = data.decode("utf-8").replace('<meta charset="utf-8">', meta)
    assert ("charset" in text) == bool(meta)
    doc = read_html(text.encode(encoding), "gbk.html")
    assert shape(doc) == shape(read_html(data, "report.html"))
    assert doc.title == "某某区营商环境建设监督局2021年政府信息公开工作年度报告"


# -- text as pages print it -------------------------------------------------------------------

def test_labels_broken_over_lines_come_out_whole() -> None:
    doc = read_html(page("""
        <h2>一、总体\n   情况</h2>
        <table><tr><td>其他法律行政\n   法规禁止公开</td><td>2.其他法律行政<br>法规禁止公开</td></tr>
        <tr><td>（三）不予&nbsp;公开</td><td>总\u3000计</td></tr>
        <tr><td><p>本年新收</p><p>申请数量</p></td><td>1,2<span>34</span></td></tr>
        <tr><td>Total<br>count</td><td>收取 200 元</td></tr>
        <tr><td>行政\u200b许可</td><td>  <b>12</b> <br/> </td></tr></table>
        <div>第一行<br>第二行<br><br>  第三行  </div><p>信息<span>公开</span>  工作</p>"""), "br.html")
    assert texts(doc.tables[0]) == [["其他法律行政法规禁止公开", "2.其他法律行政法规禁止公开"],
                                    ["（三）不予公开", "总计"], ["本年新收申请数量", "1,234"],
                                    ["Total count", "收取 200 元"], ["行政许可", "12"]]
    assert [(p.text, p.where) for p in doc.paragraphs] == [
        ("一、总体情况", "第1段"), ("第一行", "第2段"), ("第二行", "第3段"), ("第三行", "第4段"), ("信息公开工作", "第5段")]


def test_merged_cells_fill_a_full_grid_and_spans_are_capped() -> None:
    doc = read_html(page("""<table>
        <tr><th rowspan="2">项目</th><th colspan="2">申请人</th><th rowspan="100000">备注</th></tr>
        <tr><th>自然人</th><th colspan="0">法人</th></tr>
        <tr><td rowspan="2abc">新收</td><td>1</td></tr>
        <tr><td>2</td><td>3</td><td colspan=" 2 ">4</td></tr></table>"""), "spans.html")
    table = doc.tables[0]
    assert texts(table) == [["项目", "申请人", "申请人", "备注", ""],
                            ["项目", "自然人", "法人", "备注", ""],
                            ["新收", "1", "", "备注", ""],
                            ["新收", "2", "3", "备注", "4"]]
    rows = table.rows
    assert rows[0][0] is rows[1][0] and rows[0][1] is rows[0][2] and rows[2][0] is rows[3][0]
    assert rows[0][3] is rows[1][3] is rows[2][3] is rows[3][3]  # rowspan 100000 ends with the table
    assert rows[3][3].where == "第1个表格第1行第4格" and rows[3][4].where == "第1个表格第4行第5格"
    assert rows[3][3] is not rows[3][4]  # the 4 was pushed right of the column 备注 holds
    assert rows[2][2].text == "" and rows[2][2].where == "第1个表格第3行第3格"  # a hole: an empty cell of its own


def test_a_government_cms_page_gives_the_article_not_its_frame() -> None:
    """Layout tables (holding tables, one column, or boxes of text) are read through; the data
    table inside is the table; scripts, styles, navigation and forms are not content."""
    article = "本机关认真贯彻落实《条例》。" * 70  # a box of article text: over 800 characters in one cell
    doc = read_html(page(f"""
        <table width="1000"><tr><td><img src="logo.png"><nav><a href="/">首页</a><a href="/gk">政务公开</a></nav></td>
          <td><form><input value="搜索"><select><option>请选择</option></select><button>搜索</button></form></td></tr>
        <tr><td colspan="2">
          <table><tr><td><h1>某某局2021年政府信息公开工作年度报告</h1></td></tr>
                 <tr><td>发布时间：2022-01-25 来源：某某局</td></tr></table>
          <table><tr><td>
            <p>一、总体情况</p><p>{article}</p>
            <p>二、主动公开政府信息情况</p>
            <table border="1"><tr><td>信息内容</td><td>本年制发件数</td></tr><tr><td>规章</td><td>3</td></tr></table>
            <p>三、收到和处理政府信息公开申请情况</p><p><img src="t2.png"></p>
          </td><td style="display:none">x</td></tr></table>
        </td></tr></table>
        <script>var a = "<table><tr><td>脚本</td><td>9</td></tr></table>";</script><style>td{{color:red}}</style>
        <noscript>请启用脚本</noscript><div>版权所有：某某局</div>"""), "cms.html")
    assert [texts(t) for t in doc.tables] == [[["信息内容", "本年制发件数"], ["规章", "3"]]]
    assert doc.tables[0].where == "第1个表格" and doc.tables[0].rows[1][1].where == "第1个表格第2行第2格"
    order = [b.where if isinstance(b, Table) else b.text for b in doc.blocks]
    assert order == ["某某局2021年政府信息公开工作年度报告", "发布时间：2022-01-25 来源：某某局", "一、总体情况",
                     article, "二、主动公开政府信息情况", "第1个表格", "三、收到和处理政府信息公开申请情况", "x",
                     "版权所有：某某局"]
    assert (doc.images, doc.published) == (2, date(2022, 1, 25))
    assert doc.title == "某某局2021年政府信息公开工作年度报告"  # no <title>: the article's h1


def test_tables_and_text_between_them_in_reading_order() -> None:
    """Text before, between and after tables (tails of tables, text beside a nested table), a
    caption as a paragraph of its own before its table, tables numbered in reading order and
    rows in print order (thead, tbody, tfoot) whatever the order they are written in."""
    doc = read_html(page("""前文<b>加粗</b>
        <div>块内文字<table><caption>表<i>一</i></caption><tfoot><tr><td>脚1</td><td>脚2</td></tr></tfoot>
          <thead><tr><th>头1</th><th>头2</th></tr></thead><tr><td>体1</td><td>体2</td></tr></table>表后文字</div>
        <table><tr><td>外层<table><tr><td>内1</td><td>内2</td></tr></table>外层之后</td><td>旁</td></tr></table>
        <table><tr><td>独列</td></tr><tr><td>第二行</td></tr></table>
        <ul><li>条目一</li><li>条目<a href="#">二</a></li></ul>末尾"""), "order.html")
    order = [(b.where, texts(b)) if isinstance(b, Table) else (b.where, b.text) for b in doc.blocks]
    assert order == [("第1段", "前文加粗"), ("第2段", "块内文字"), ("第3段", "表一"),
                     ("第1个表格", [["头1", "头2"], ["体1", "体2"], ["脚1", "脚2"]]), ("第4段", "表后文字"),
                     ("第5段", "外层"), ("第2个表格", [["内1", "内2"]]), ("第6段", "外层之后"), ("第7段", "旁"),
                     ("第8段", "独列"), ("第9段", "第二行"), ("第10段", "条目一"), ("第11段", "条目二"),
                     ("第12段", "末尾")]
    assert doc.tables[1].rows[0][1].where == "第2个表格第1行第2格"


def test_unicode_noncharacters_in_a_page_are_read_as_text() -> None:
    """The reader marks block bounds with characters the page does not hold: a page holding
    some noncharacters reads them as text; one holding every candidate is refused."""
    doc = read_html(page("<p>甲\ufdd0乙\ufdd1</p><table><tr><td>\ufdd0</td><td>\ufdd1丙</td></tr></table><p>丁</p>"),
                    "marks.html")
    assert [b.text if isinstance(b, Paragraph) else texts(b) for b in doc.blocks] == [
        "甲\ufdd0乙\ufdd1", [["\ufdd0", "\ufdd1丙"]], "丁"]
    with pytest.raises(DocumentError, match="非字符") as caught:
        read_html(page("<p>" + "".join(chr(c) for c in range(0xFDD0, 0xFDF0)) + "</p>"), "all.html")
    assert caught.value.code == "file-unreadable"


@pytest.mark.parametrize("head, body, shown", [
    ('<meta name="PubDate" content="2022-01-25 10:30">', "", date(2022, 1, 25)),
    ('<meta name="firstpublishedtime" content="2022-01-26-10:20:10">', "", date(2022, 1, 26)),
    ('<meta property="article:published_time" content="2022-01-27T10:00:00+08:00">', "", date(2022, 1, 27)),
    ('<meta name="publishdate" content="20220128">', "", date(2022, 1, 28)),
    ("", "<p>来源：某某局　发布时间：2022-01-25 09:00</p>", date(2022, 1, 25)),
    ("", "<div>发布日期：2022年01月25日</div>", date(2022, 1, 25)),
    ("", "<span>日期：2022/3/1</span>", date(2022, 3, 1)),
    ("", "<p>发布时间：２０２２－０２－０１</p>", date(2022, 2, 1)),
    ("", "<table><tr><td>索引号</td><td>001/2022-00001</td></tr><tr><td>生成日期</td><td>2022-01-20</td></tr></table>",
     date(2022, 1, 20)),
    ("", "<p>统计期限自2021年1月1日至2021年12月31日止。</p><p>2022年1月20日</p>", None),  # no label, no date
    ("", "<p>发布时间：2022-13-45</p>", None),
    ('<meta name="PubDate" content="unknown">', "<p>发布日期：2022-01-31</p>", date(2022, 1, 31)),
], ids=["PubDate", "firstpublishedtime", "og", "compact", "发布时间", "发布日期", "日期", "full-width", "catalogue",
        "none", "impossible", "meta-unreadable"])
def test_the_publication_date_the_page_shows(head: str, body: str, shown: date | None) -> None:
    assert read_html(page(body + "<p>一、总体情况</p>", head), "d.html").published == shown


def test_title_from_the_sites_meta_the_title_or_the_heading() -> None:
    assert read_html(page("<h1>正文标题</h1>", "<title>某局年报_某市人民政府</title>"), "t.html").title == "某局年报_某市人民政府"
    assert read_html(page("<h1>正文标题</h1>", "<meta name='ArticleTitle' content='某局 2021 年度报告'><title>网站</title>"),
                     "t.html").title == "某局 2021 年度报告"
    assert read_html(page("<h1>正文<br>标题</h1>"), "t.html").title == "正文标题"


# -- MHTML ------------------------------------------------------------------------------------

def mhtml(html: bytes, charset: str | None = None, frames: dict[str, bytes] | None = None) -> bytes:
    """A page as Chrome saves it (Save as > Webpage, Single File): multipart/related, the page
    quoted-printable, pictures in base64, frames as their own parts named by Content-ID."""
    boundary = "----MultipartBoundary--dNjwqMB4vvURy0wN1Dq5k5IMgyZ8vMa3CCKg9PKaaW----"
    kind = f"text/html; charset={charset}" if charset else "text/html"
    parts = [f"Content-Type: {kind}\r\nContent-ID: <frame-8E0C@mhtml.blink>\r\n"
             f"Content-Transfer-Encoding: quoted-printable\r\nContent-Location: http://www.example.gov.cn/art/1.html\r\n\r\n"
             .encode() + quopri.encodestring(html).replace(b"\n", b"\r\n")]
    for cid, frame in (frames or {}).items():
        parts.append(f"Content-Type: text/html\r\nContent-ID: <{cid}>\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                     f"Content-Location: cid:{cid}\r\n\r\n".encode() + quopri.encodestring(frame))
    parts.append(b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
                 b"Content-Location: http://www.example.gov.cn/t2.png\r\n\r\n" + base64.encodebytes(b"\x89PNG" * 300))
    head = ("From: <Saved by Blink>\r\nSnapshot-Content-Location: http://www.example.gov.cn/art/1.html\r\n"
            "Subject: =?utf-8?Q?=E5=B9=B4=E5=BA=A6=E6=8A=A5=E5=91=8A?=\r\nDate: Tue, 25 Jan 2022 10:00:00 +0800\r\n"
            f'MIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="{boundary}"\r\n\r\n')
    body = b"".join(f"\r\n--{boundary}\r\n".encode() + p for p in parts)
    return head.encode() + body + f"\r\n--{boundary}--\r\n".encode()


def test_a_page_saved_as_mhtml_reads_as_the_page(report) -> None:
    data, _ = report
    saved = mhtml(data)
    assert b"=E5" in saved  # really quoted-printable
    doc = read_mhtml(saved, "年报.mhtml")
    assert shape(doc) == shape(read_html(data, "report.html"))
    assert (doc.kind, doc.sha256) == ("html", hashlib.sha256(saved).hexdigest())
    assert shape(read_bytes(saved, "年报.mht")) == shape(doc)
    assert shape(read_bytes(saved, "saved-without-suffix")) == shape(doc)  # known by its content


def test_an_edge_mhtml_in_gbk_and_a_chrome_frame() -> None:
    body = "<title>某局年报</title><p>一、总体情况</p><table><tr><td>规章</td><td>3</td></tr></table>"
    doc = read_mhtml(mhtml(body.encode("gbk"), charset='"gb2312"'), "edge.mht")
    assert [p.text for p in doc.paragraphs] == ["一、总体情况"] and texts(doc.tables[0]) == [["规章", "3"]]
    assert doc.title == "某局年报"
    outer = page('<p>页头</p><iframe src="cid:frame-77@mhtml.blink"></iframe><p>页尾</p>')
    inner = page("<table><tr><td>行政许可</td><td>151</td></tr></table><script>x()</script>")
    doc = read_mhtml(mhtml(outer, frames={"frame-77@mhtml.blink": inner}), "frame.mhtml")
    order = [b.where if isinstance(b, Table) else b.text for b in doc.blocks]
    assert order == ["页头", "第1个表格", "页尾"] and texts(doc.tables[0]) == [["行政许可", "151"]]
    assert doc.title == "年度报告"  # no <title>: the saved file's Subject


def test_a_damaged_mhtml_is_a_clear_message() -> None:
    only_picture = mhtml(b"").replace(b"Content-Type: text/html", b"Content-Type: text/plain")
    with pytest.raises(DocumentError, match="没有网页") as caught:
        read_mhtml(only_picture, "x.mhtml")
    assert caught.value.code == "file-unreadable"


# -- hostile pages ----------------------------------------------------------------------------

def test_a_10_mb_page_of_inlined_pictures_reads_its_report(report) -> None:
    data, _ = report
    picture = '<img src="data:image/png;base64,' + "A" * 100_000 + '">'
    big = data.replace(b"<article", (picture * 100).encode() + b"<article", 1)
    assert len(big) > 10_000_000
    doc = read_html(big, "big.html")
    assert doc.images == 100 and shape(doc) == shape(read_html(data, "report.html"))


@pytest.mark.parametrize("body, code, says", [
    ("<p>" + "年度报告正文" * 1_700_000 + "</p>", "file-unreadable", "单段文字过长"),  # one text node over 10 MB
    (("<p>" + "年度报告正文。" * 28 + "</p>") * 17_000, "file-too-large", "文字过多"),  # 10 MB of paragraphs
    ("<div>" * 100_000 + "深" + "</div>" * 100_000, "file-unreadable", "嵌套层次过深"),
    ("<table>" + ("<tr>" + '<td colspan="1000">1</td>' * 3 + "</tr>") * 10 + "</table>", "file-too-large", "单元格"),
    ("<table>" + "<tr><td>标签</td><td>1</td></tr>" * (MAX_CELLS // 2 + 1) + "</table>", "file-too-large",
     str(MAX_CELLS)),
    ("<p>" + "<b>字</b>" * 1_000_000 + "</p>", "file-too-large", "元素过多"),  # 10 MB of tags
    ("<div>" + "字<br>" * 30_000 + "</div>", "file-too-large", "段落过多"),
], ids=["text-node", "ten-mb-text", "deep", "colspans", "many-cells", "tag-soup", "lines"])
def test_hostile_pages_end_in_a_clear_message(body: str, code: str, says: str) -> None:
    with pytest.raises(DocumentError, match=says) as caught:
        read_html(page(body), "hostile.html")
    assert caught.value.code == code and said_once(finding(code, caught.value.message).message)


def test_huge_spans_end_with_the_table() -> None:
    doc = read_html(page('<table><tr><td rowspan="65534">标签</td><td colspan="99999">1</td></tr>'
                         + "<tr><td>2</td></tr>" * 30 + "</table>"), "spans.html")
    rows = doc.tables[0].rows
    assert len(rows) == 31 and {len(r) for r in rows} == {2}
    assert all(r[0] is rows[0][0] for r in rows) and [r[1].text for r in rows] == ["1"] + ["2"] * 30


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\x00" * 100, bytes(range(256)) * 50, b"<html><body>",
                                  b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><p>&e;</p>"])
def test_empty_and_garbage_pages_never_end_in_a_traceback(data: bytes) -> None:
    try:
        doc = read_html(data, "garbage.html")
    except DocumentError as e:
        assert e.code == "file-unreadable"
    else:
        assert not doc.tables and "root:" not in " ".join(p.text for p in doc.paragraphs)


# -- web addresses ----------------------------------------------------------------------------

CHALLENGE = (b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
             b'<script type="text/javascript" r="m">var _$x="a1b2";(function(){document.cookie="c=1";'
             b'location.reload();})();</script><script src="/4QbVtADbnLVIc/c.FxJzG50F.js" r="m"></script>'
             b"</head><body></body></html>")
SCRIPTED = page('<div id="app">加载中……</div><script src="/static/js/article.js"></script>'
                '<script>load("/api/article?id=1")</script>')


class Site(http.server.BaseHTTPRequestHandler):
    """A government site's answers, one per path."""

    report = b""
    agents: ClassVar[list[str]] = []

    def log_message(self, *args) -> None:
        pass

    def send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Site.agents.append(self.headers.get("User-Agent", ""))
        path = self.path
        if path == "/report.html":
            self.send(200, self.report)
        elif path == "/gzip":
            self.send(200, gzip.compress(self.report), Content_Encoding="gzip")
        elif path == "/moved":
            self.send(302, b"", Location="/report.html")
        elif path.startswith("/chain/"):
            self.send(301, b"", Location=f"/chain/{int(path[7:]) + 1}")
        elif path in ("/loop-a", "/loop-b"):
            self.send(302, b"", Location="/loop-b" if path == "/loop-a" else "/loop-a")
        elif path == "/to-ftp":
            self.send(302, b"", Location="ftp://127.0.0.1/report.html")
        elif path == "/to-file":
            self.send(302, b"", Location="file:///etc/passwd")
        elif path == "/412":
            self.send(412, CHALLENGE)
        elif path == "/challenge":
            self.send(200, CHALLENGE)
        elif path == "/scripted":
            self.send(200, SCRIPTED)
        elif path == "/403":
            self.send(403, b"<h1>Forbidden</h1>")
        elif path == "/500":
            self.send(500, b"<h1>Internal Server Error</h1>")
        elif path == "/big":
            self.send(200, b"<p>" + b"x" * 3000 + b"</p>")
        elif path == "/big-unsized":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"<p>" + b"x" * 1000 + b"</p>")
            except OSError:
                pass  # the reader hung up at its limit, as it should
        else:
            self.send(404, b"<h1>Not Found</h1>")


@pytest.fixture(scope="module")
def site(report) -> Iterator[str]:
    Site.report = report[0]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_a_report_page_is_fetched_and_read(site: str, report) -> None:
    data, content_type, final = fetch(f"{site}/report.html", timeout=10, max_bytes=1 << 20)
    assert (data, content_type, final) == (report[0], "text/html; charset=utf-8", f"{site}/report.html")
    assert Site.agents[-1].startswith("xltool/")
    doc = read_document(f"{site}/moved")
    assert doc.file == f"{site}/moved" and doc.sha256 == hashlib.sha256(report[0]).hexdigest()
    assert shape(doc) == shape(read_html(report[0], "report.html"))
    assert fetch(f"{site}/gzip", timeout=10, max_bytes=1 << 20)[0] == report[0]
    imported = import_source(f"{site}/report.html")
    assert imported.findings == [] and imported.values["requests.new.total"] == report[1]["requests.new.total"]
    refused = import_source(f"{site}/412")
    assert [f.code for f in refused.findings] == ["site-refused"] and "另存为" in refused.findings[0].message


@pytest.mark.parametrize("path, code, says", [
    ("/412", "site-refused", "HTTP 412"),
    ("/challenge", "site-refused", "脚本"),
    ("/scripted", "site-refused", "脚本"),
    ("/403", "site-refused", "HTTP 403"),
    ("/500", "file-unreadable", "HTTP 500"),
    ("/nothing-here", "file-unreadable", "HTTP 404"),
    ("/loop-a", "file-unreadable", "循环跳转"),
    ("/chain/1", "file-unreadable", "跳转次数过多"),
    ("/to-ftp", "file-unreadable", "只能读取 http:// 或 https://"),
    ("/to-file", "file-unreadable", "只能读取 http:// 或 https://"),
    ("/big", "file-too-large", "网页过大"),
    ("/big-unsized", "file-too-large", "网页过大"),
])
def test_refusals_and_bad_answers_are_findings_with_their_reason(site: str, path: str, code: str, says: str) -> None:
    with pytest.raises(DocumentError, match=says) as caught:
        fetch(site + path, timeout=10, max_bytes=2000)
    assert caught.value.code == code and said_once(finding(code, caught.value.message).message)
    if code == "site-refused":  # the finding says what to do, once
        said = finding(code, caught.value.message).message
        assert said.count("另存为") == 1 and "“网页，单个文件”（.mhtml）" in said


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/a.html", "javascript:alert(1)", "http://",
                                 "gopher://127.0.0.1:70/"])
def test_only_web_addresses_are_fetched(url: str) -> None:
    with pytest.raises(DocumentError, match="只能读取 http:// 或 https://") as caught:
        fetch(url, timeout=1, max_bytes=1000)
    assert caught.value.code == "file-unreadable"


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A port that accepts connections and, per mode, never answers or drips an answer a byte
    at a time (headers, or a body) until the test ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            request = conn.recv(4096)
            if b"/never" in request:
                stop.wait()
                return
            answer = b"HTTP/1.1 200 OK\r\n" + (b"X-Slow: " + b"a" * 100_000 if b"/headers" in request else
                                               b"Content-Length: 100000\r\n\r\n" + b"<p>" * 33_333)
            for byte in answer:
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", stop
    stop.set()
    thread.join(5)
    listener.close()


@pytest.mark.parametrize("path", ["/never", "/headers", "/body"])
def test_a_server_that_never_answers_or_drips_is_given_up(silent_server, path: str) -> None:
    base, _ = silent_server
    with pytest.raises(DocumentError, match="规定时间内没有完整答复") as caught:
        fetch(base + path, timeout=1, max_bytes=1 << 20)
    assert caught.value.code == "file-unreadable"


def test_an_address_list_file(tmp_path: Path) -> None:
    listing = "# 2021年各部门年报\n\nhttp://www.example.gov.cn/art/1.html\n  https://例子.政务.cn/年报/2021.html  \r\n#旧的\n"
    for encoding in ("utf-8-sig", "gb18030"):
        path = tmp_path / f"urls-{encoding}.txt"
        path.write_bytes(listing.encode(encoding))
        assert urls_from_file(str(path)) == ["http://www.example.gov.cn/art/1.html",
                                             "https://例子.政务.cn/年报/2021.html"]
    bad = tmp_path / "bad.txt"
    bad.write_text("http://a.gov.cn/\nwww.b.gov.cn/report.html\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="第2行不是"):
        urls_from_file(str(bad))
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"http://a.gov.cn/\n" * 70_000)
    with pytest.raises(DocumentError, match="过大"):
        urls_from_file(str(huge))


def test_a_chinese_address_is_sent_encoded(site: str) -> None:
    with pytest.raises(DocumentError, match="HTTP 404"):
        fetch(f"{site}/年报/2021.html", timeout=10, max_bytes=1000)
    assert re.fullmatch(r"xltool/\S+ \(.*\)", Site.agents[-1])


def test_a_cell_is_one_object_per_merge() -> None:
    """The model's promise, checked on the smallest page: one Cell for a 2x2 merge."""
    doc = read_html(page('<table><tr><td rowspan="2" colspan="2">合并</td><td>1</td></tr><tr><td>2</td></tr></table>'),
                    "m.html")
    rows = doc.tables[0].rows
    assert isinstance(rows[0][0], Cell) and len({id(c) for r in rows for c in r[:2]}) == 1
