"""HTML pages, as saved from a browser or fetched, and MHTML files (a page saved by Chrome or
Edge as one file). The page's text in reading order: every data table a `Table` whose merged
cells fill the grid positions they cover, every other block of text a `Paragraph`.

Government pages wrap the article in layout tables (a table whose cells hold other tables, or
whole paragraphs of text): those are read through, as the blocks they contain; the innermost
tables are the data. Scripts, styles and navigation are not content. The page's title and the
publication date it shows are kept (the interpreter judges lateness), and its pictures are
counted (a report whose tables are pictures has no table text to read).

Every page is hostile: the parser runs with no network and no entity expansion, with libxml2's
limits on (256 levels of nesting, 10 MB text nodes), and a page that hits one is refused, never
read in part; spans are capped, tables and text bounded."""

from __future__ import annotations

import codecs
import email
import email.errors
import email.header
import email.policy
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from email.message import Message
from itertools import islice
from typing import Any, cast

from lxml import etree

from xltool.published.document import MAX_CELLS, MAX_TEXT, Cell, Document, DocumentError, Paragraph, Table
from xltool.published.encoding import declared_in_html, decode

MAX_SPAN = 1000  # a colspan beyond this is no table a person reads (browsers cap colspan at 1000 too)
MAX_FRAMES = 20  # frames of an MHTML page spliced into it
MAX_ELEMENTS = 200_000  # of a page's body once scripts and styles are gone; a report page has a few thousand
MAX_PARAGRAPHS = 20_000  # a report has a few hundred
LAYOUT_CELL_CHARS = 800  # a cell holding this much text is a box of article text, not a table cell

# Not content: never read. <head> is read for the title and dates only.
DROPPED = ("script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "svg",
           "math", "canvas", "select", "button", "input", "textarea", "nav", "audio", "video")
# Elements that begin and end a block of text (a paragraph, or a line of a cell).
BLOCKS = frozenset({"address", "article", "aside", "blockquote", "body", "center", "dd", "details", "dialog",
                    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
                    "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "ul",
                    "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "br"})
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00]")
SPACE = re.compile(r"\s+")
SPAN = re.compile(r"\s*(\d{1,7})")
# CJK ideographs, radicals, punctuation, kana and full-width forms: no space is read between two.
CJK = ("\u2e80-\u2fdf\u3000-\u303f\u3040-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f"
       "\uff00-\uffef\U00020000-\U0003ffff")
CJK_SPACE = re.compile(f"(?<=[{CJK}]) (?=[{CJK}])")
TEXT = etree.XPath("string()")
ELEMENTS = etree.XPath("count(descendant-or-self::*)")  # compiled once: an XPath call costs little then
IMAGES = etree.XPath("count(descendant::img)")

# Meta tags that carry the publication date: the government web site guideline's PubDate, and
# what common CMSs and news sites write.
DATE_METAS = ("pubdate", "publishdate", "firstpublishedtime", "publishtime", "publish_time", "publish-date",
              "publish_date", "pub_date", "releasedate", "release_date", "article:published_time",
              "og:published_time", "og:release_date", "datepublished", "dc.date.issued", "dcterms.issued",
              "dc.date", "date")
DATE = r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
DATE_RE = re.compile(DATE + r"|((?:19|20)\d\d)(\d\d)(\d\d)(?!\d)")
# A date the page shows, labelled, near the top: the publishing labels first, then bare 日期/时间.
SHOWN_DATES = (re.compile(r"(?:发布时间|发布日期|发表时间|发布于|公开日期|公开时间|上传时间|生成日期)\s*[:：]?\s*" + DATE),
               re.compile(r"(?:日期|时间)\s*[:：]\s*" + DATE))
FULL_WIDTH_DIGITS = "０１２３４５６７８９"  # dates NFKC reads
TOP_CHARS = 4000  # how far from the top a shown date is looked for


def collapse(text: str) -> str:
    """Whitespace and line breaks as a reader sees the words: nothing between two CJK characters
    (a label broken over lines comes out whole), one space elsewhere, none at the ends."""
    stripped = text.strip()
    if stripped.isprintable() and " " not in stripped:
        return stripped  # no whitespace but at the ends, nothing invisible: most cells
    text = SPACE.sub(" ", INVISIBLE.sub("", stripped)).strip()
    return CJK_SPACE.sub("", text) if " " in text else text


def _text(el) -> str:
    """An element's text, each block and <br> on its own line, collapsed. The tree is walked
    by first child and next sibling, climbing back up from a last child: lxml's iterwalk costs
    more to set up than most cells take to read, and no recursion grows with a page's nesting.
    el's own bounds are the text's ends, which collapse strips: they need no line."""
    if len(el) == 0:
        return collapse(el.text or "")  # most cells
    parts = [el.text or ""]
    node = el[0]
    depth = 0  # how far node is below el's children
    while node is not None:
        block = node.tag in BLOCKS
        if block:
            parts.append("\n")
        parts.append(node.text or "")
        if len(node):
            node = node[0]
            depth += 1
            continue
        if block:
            parts.append("\n")
        parts.append(node.tail or "")
        following = node.getnext()
        while following is None and depth:  # node was the last child: its parent ends too
            node = node.getparent()
            depth -= 1
            if node.tag in BLOCKS:
                parts.append("\n")
            parts.append(node.tail or "")
            following = node.getnext()
        node = following
    return collapse("".join(parts))


def _rows(table) -> list[Any]:
    """The table's own rows in the order they print: the header, the body, the footer."""
    head: list[Any] = []
    body: list[Any] = []
    foot: list[Any] = []
    for child in table.iterchildren("tr", "thead", "tbody", "tfoot"):
        if child.tag == "tr":
            body.append(child)
        else:
            (head if child.tag == "thead" else foot if child.tag == "tfoot" else body).extend(child.iterchildren("tr"))
    return head + body + foot


def _string(el) -> str:
    return str(TEXT(el))


def _count(xpath: etree.XPath, el) -> int:
    return int(cast(float, xpath(el)))  # a count() is a float


def _span(value: str | None, cap: int, zero: int = 1) -> int:
    """rowspan/colspan as browsers read it: its leading digits, at least 1, at most `cap`; 0 is
    `zero` (a rowspan of 0 spans to the end of the table, a colspan of 0 is 1)."""
    if value is None or value == "1":
        return 1
    if len(value) <= 7 and value.isascii() and value.isdigit():
        n = int(value)  # most spans: a plain number
    else:
        match = SPAN.match(value)
        n = int(match.group(1)) if match else 1
    return zero if n == 0 else max(1, min(n, cap))


class _Reader:
    """Reads a page's body into blocks in reading order, in two passes: first the data tables
    (the innermost tables whose rows hold cells), each built into a `Table` in one loop over its
    cells and emptied in the tree down to a mark; then the text around them, as one string
    (libxml2's string()) in which a mark stands at the start and at the end of every block
    element, split into paragraphs: no Python work per element outside the tables but the marks."""

    def __init__(self) -> None:
        self.blocks: list[Paragraph | Table] = []
        self.paragraphs = 0
        self.tables = 0
        self.cells = 0
        self.chars = 0

    def count(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_TEXT:
            raise DocumentError("file-too-large", f"网页文字过多（超过 {MAX_TEXT // 10000} 万字），不像是一份年度报告。")

    def grow(self, cells: int) -> None:
        self.cells += cells
        if self.cells > MAX_CELLS:
            raise DocumentError("file-too-large", f"网页的表格过大（超过 {MAX_CELLS} 个单元格），不像是一份年度报告。")

    def paragraphs_of(self, texts: list[str]) -> None:
        """Paragraphs of collapsed texts (each holds some), numbered on."""
        self.count(sum(map(len, texts)))
        first = self.paragraphs + 1
        self.paragraphs += len(texts)
        if self.paragraphs > MAX_PARAGRAPHS:
            raise DocumentError("file-too-large", f"网页段落过多（超过 {MAX_PARAGRAPHS} 段），不像是一份年度报告。")
        self.blocks.extend([Paragraph(text, f"第{n}段") for n, text in enumerate(texts, first)])

    def read(self, body, text: str) -> None:
        """The body's blocks; `text` is its whole text (string()), which the marks are not in.
        The body's tree is changed (tables emptied, marks added): it is read once."""
        block, table = _marks(text)
        # Pass 1: the data tables in document order, each emptied down to the table mark (its
        # tail stays where it is); their captions print as paragraphs before them.
        found: list[tuple[list[str], Table]] = []
        for el in _innermost_tables(body):
            cells = _Cells(el)
            if cells.layout():
                continue  # read through in pass 2, as the blocks it holds
            found.append(([_text(caption) for caption in el.iterchildren("caption")], self.table(cells)))
            el.clear(keep_tail=True)
            el.text = table
        # Pass 2: the text outside the data tables. A mark before the text and before the tail
        # of every block element (where it begins and ends) splits the body's text into the
        # paragraphs a reader sees; the body's own text opens the first.
        for el in body.iterdescendants(*BLOCKS):
            el.text = block + (el.text or "")
            el.tail = block + (el.tail or "")
        # Between two tables, the pieces between marks that hold text are paragraphs (most
        # hold nothing, or only the white space between tags).
        for i, between in enumerate(_string(body).split(table)):
            if i:
                captions, data = found[i - 1]
                self.paragraphs_of([caption for caption in captions if caption])
                self.blocks.append(data)
            texts = [collapse(piece) for piece in between.split(block) if piece and not piece.isspace()]
            self.paragraphs_of([text for text in texts if text])

    def table(self, raw: _Cells) -> Table:
        """A data table as a full grid: a merged cell is the same `Cell` at every position it
        covers; a hole or a short row is filled with empty cells of their own."""
        self.count(raw.chars)
        number = self.tables + 1
        rows = raw.rows
        height = len(rows)
        grid: list[list[Cell | None]] = [[] for _ in rows]
        width = 0  # up to the last column a cell begins in: columns only a span reaches into show nothing
        for r, row in enumerate(rows):
            placed = grid[r]
            where = f"第{number}个表格第{r + 1}行第"
            start = len(placed)
            if not raw.spanned[r] and start + len(row) <= len(COLUMNS) and (not start or None not in placed):
                # No cell of this row spans, and spans from above fill only its first columns
                # (most rows): its cells side by side after them.
                placed.extend([Cell(text, where + COLUMNS[c]) for c, (text, _, _) in enumerate(row, start)])
                if row and start + len(row) > width:
                    width = start + len(row)
                continue
            c = 0
            for text, rowspan, colspan in row:
                while c < len(placed) and placed[c] is not None:
                    c += 1  # a position a cell of a row above spans into
                cell = Cell(text, where + COLUMNS[c] if c < len(COLUMNS) else f"{where}{c + 1}格")
                if c >= width:
                    width = c + 1
                if rowspan is None and colspan is None:  # one position
                    if c == len(placed):
                        placed.append(cell)
                    else:
                        placed[c] = cell  # a hole a span from above left before it
                    c += 1
                    continue
                down = _span(rowspan, height - r, zero=height - r)
                across = _span(colspan, MAX_SPAN)
                if down * across > 1:
                    self.grow(down * across - 1)
                for target in grid[r:r + down] if down > 1 else (placed,):
                    if len(target) < c + across:
                        target.extend([None] * (c + across - len(target)))
                    for k in range(c, c + across):
                        if target[k] is None:
                            target[k] = cell
                c += across
        self.grow(raw.count + sum(max(0, width - len(line)) for line in grid))
        self.tables = number
        for r, line in enumerate(grid):
            if len(line) != width or None in line:  # a hole, or a short row: empty cells of their own
                line[:] = [cell if cell is not None else Cell("", f"第{number}个表格第{r + 1}行第{c + 1}格")
                           for c, cell in enumerate((line + [None] * width)[:width])]
        return Table(grid, f"第{number}个表格")  # type: ignore[arg-type]  # no None is left


COLUMNS = tuple(f"{c}格" for c in range(1, 101))  # the ends of the cells' locations, written once


class _Cells:
    """A table's cells as read from the tree, row by row: (text, rowspan, colspan), a span None
    when not given; with what tells a data table from a layout one."""

    __slots__ = ("chars", "count", "longest", "rows", "spanned", "wide")

    def __init__(self, table) -> None:
        # The loop every cell of every table goes through: a few lookups per cell, locals only.
        rows: list[list[tuple[str, str | None, str | None]]] = []
        spans: list[bool] = []
        count = chars = longest = 0
        for tr in _rows(table):
            row = []
            spanned = False
            for td in tr:
                tag = td.tag
                if tag != "td" and tag != "th":
                    continue
                if len(td):
                    text = _text(td)  # lines and blocks inside the cell
                else:
                    text = td.text or ""
                    if not text.isprintable() or " " in text:
                        text = collapse(text)
                chars += len(text)
                if len(text) > longest:
                    longest = len(text)
                keys = td.keys()
                if "rowspan" in keys or "colspan" in keys:
                    row.append((text, td.get("rowspan"), td.get("colspan")))
                    spanned = True
                else:
                    row.append((text, None, None))
            rows.append(row)
            spans.append(spanned)
            count += len(row)
        self.rows = rows
        self.spanned = spans  # per row: a cell of it has a rowspan or a colspan
        self.count, self.chars, self.longest = count, chars, longest
        self.wide = any(len(row) >= 2 for row in rows)  # a row of two cells or more

    def layout(self) -> bool:
        """A table that only lays out the page: no row of two cells, a cell holding a box of
        article text, or no text at all (an empty table prints nothing)."""
        return not self.wide or self.longest == 0 or self.longest > LAYOUT_CELL_CHARS


def _innermost_tables(body) -> list[Any]:
    """The tables that hold no other table, in document order. A table holds another exactly
    when the next table in document order is inside it, and then it is that table's nearest
    table ancestor: one look up the tree per table, never a search of a table's content."""
    tables = list(body.iter("table"))
    inner = []
    for i, el in enumerate(tables):
        following = tables[i + 1] if i + 1 < len(tables) else None
        if following is None or next(following.iterancestors("table"), None) is not el:
            inner.append(el)
    return inner


def _marks(text: str) -> tuple[str, str]:
    """Two characters `text` does not hold, to mark block bounds and tables in it: Unicode
    noncharacters, never in a real page (a hostile one may hold some: the first two it does not)."""
    free = list(islice((chr(code) for code in range(0xFDD0, 0xFDF0) if chr(code) not in text), 2))
    if len(free) < 2:
        raise DocumentError("file-unreadable", "网页含有大量 Unicode 非字符（U+FDD0–U+FDEF），不像是一份年度报告。")
    return free[0], free[1]


def _parse(page: str | bytes):
    """The page's tree, or a DocumentError when the parser gave up part-way (nesting deeper than
    256 levels, a text node over 10 MB): a page is read whole or not at all. `page` is its text,
    or bytes known to be valid UTF-8 (the page's own, spared a decoding and encoding again)."""
    parser = etree.HTMLParser(encoding="utf-8", no_network=True, huge_tree=False, remove_comments=True,
                              remove_pis=True)
    data = page.replace(b"\x00", b"") if isinstance(page, bytes) else page.replace("\x00", "").encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        raise DocumentError("file-unreadable", "网页是空的，没有可读的内容。")
    for error in parser.error_log:
        if error.level == etree.ErrorLevels.FATAL:
            why = "嵌套层次过深" if "depth" in error.message.lower() else "单段文字过长"
            raise DocumentError("file-unreadable", f"网页结构异常（{why}，超出解析上限），无法完整读取，不像是一份年度报告。")
    return root


def _drop_chrome(body) -> None:
    """Remove what is not content (DROPPED), keeping the text that follows each."""
    etree.strip_elements(body, *DROPPED, with_tail=False)


def _body(root):
    body = root.find("body")
    return body if body is not None else root


def _metas(root) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or meta.get("itemprop") or meta.get("http-equiv") or "")
        content = meta.get("content")
        if name and content:
            metas.setdefault(name.strip().lower(), content.strip())
    return metas


def _date(text: str) -> date | None:
    match = DATE_RE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    y, m, d = (int(g) for g in (match.groups()[:3] if match.group(1) else match.groups()[3:]))
    try:
        return date(y, m, d)
    except ValueError:
        return None


def published_date(metas: Mapping[str, str], blocks: Iterable[Paragraph | Table]) -> date | None:
    """The publication date the page shows: a date meta tag, else a labelled date near the top
    (发布时间：2022-01-25, 发布日期：2022年01月25日, 日期：…), in paragraphs or the catalogue table
    many sites print above the article."""
    for name in DATE_METAS:
        if name in metas and (found := _date(metas[name])):
            return found
    texts: list[str] = []
    size = 0
    for block in blocks:
        if isinstance(block, Paragraph):
            texts.append(block.text)
            size += len(block.text)
        else:
            parts = [c.text for row in block.rows for c in row]
            texts.extend(parts)
            size += sum(map(len, parts))
        if size > TOP_CHARS:
            break
    top = " ".join(texts)[:TOP_CHARS * 2]
    if not top.isascii() and any(digit in top for digit in FULL_WIDTH_DIGITS):
        top = unicodedata.normalize("NFKC", top)
    if "时间" not in top and "日期" not in top and "发布于" not in top:
        return None  # no label of a date (each holds one of these): the patterns need not scan
    for pattern in SHOWN_DATES:
        for match in pattern.finditer(top):
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                continue
    return None


def _title(root, metas: Mapping[str, str]) -> str:
    if metas.get("articletitle"):
        return collapse(metas["articletitle"])
    for path in ("head/title", ".//title", ".//h1"):
        found = root.find(path)
        if found is not None and (text := _text(found)):
            return text
    return ""


def _document(data: bytes, file: str, page: str | bytes, frames: Mapping[str, str] | None = None,
              fallback_title: str = "") -> Document:
    """The document of a page: its text, or its bytes when they are valid UTF-8."""
    root = _parse(page)
    metas = _metas(root)
    title = _title(root, metas) or fallback_title
    body = _body(root)
    if frames:
        _splice_frames(body, frames)
    _drop_chrome(body)
    if _count(ELEMENTS, body) > MAX_ELEMENTS:
        raise DocumentError("file-too-large", f"网页元素过多（超过 {MAX_ELEMENTS} 个），不像是一份年度报告。")
    text = _string(body)
    if len(text) > MAX_TEXT and len(SPACE.sub("", text)) > MAX_TEXT:
        raise DocumentError("file-too-large", f"网页文字过多（超过 {MAX_TEXT // 10000} 万字），不像是一份年度报告。")
    images = _count(IMAGES, body)  # before the reader empties the data tables
    reader = _Reader()
    reader.read(body, text)
    return Document(file, "html", hashlib.sha256(data).hexdigest(), reader.blocks, title,
                    published_date(metas, reader.blocks), images=images)


def read_html(data: bytes, file: str) -> Document:
    text, encoding = decode(data, declared_in_html(data))
    if encoding == "utf-8" and not data.startswith(codecs.BOM_UTF8):
        return _document(data, file, data)  # valid UTF-8 (decode says so): parsed as it is
    return _document(data, file, text)


def scripted_page(data: bytes) -> bool:
    """A page a script fills or guards: scripts or frames, and no readable text in its body (a
    JavaScript challenge, an article loaded by script)."""
    try:
        root = _parse(decode(data, declared_in_html(data))[0])
    except DocumentError:
        return False
    if next(root.iter("script", "iframe", "frame", "frameset"), None) is None:
        return False
    body = _body(root)
    _drop_chrome(body)
    return len(collapse(_string(body))) < 200


# -- MHTML ----------------------------------------------------------------------------------------

def _html_parts(message: Message) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() in ("text/html", "application/xhtml+xml")]


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset() or declared_in_html(payload)
    return decode(payload, declared)[0]


def read_mhtml(data: bytes, file: str) -> Document:
    """A page saved as one file (multipart/related): its first HTML part, with the frames Chrome
    saved beside it (`cid:` sources) read in place."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        parts = _html_parts(message)
        main = parts[0] if parts else None
        frames = {}
        for part in parts[1:MAX_FRAMES + 1]:
            cid = (part.get("Content-ID") or "").strip().strip("<>")
            if cid:
                frames[cid] = _part_text(part)
        text = _part_text(main) if main is not None else ""
        subject = str(email.header.make_header(email.header.decode_header(message.get("Subject", ""))))
    except (RecursionError, ValueError, LookupError, TypeError, AttributeError, UnicodeError, email.errors.MessageError):
        raise DocumentError("file-unreadable", "MHTML 文件已损坏，无法读取。") from None
    if main is None:
        if data.lstrip()[:1] == b"<":
            return read_html(data, file)
        raise DocumentError("file-unreadable", "MHTML 文件里没有网页（没有 text/html 部分），无法读取。")
    return _document(data, file, text, frames, collapse(subject))


def _splice_frames(body, frames: Mapping[str, str]) -> None:
    """Put each saved frame's body where its <iframe src="cid:..."> stands (one level deep)."""
    for iframe in list(body.iter("iframe", "frame")):
        src = (iframe.get("src") or "").strip()
        if not src.lower().startswith("cid:") or src[4:] not in frames or iframe.getparent() is None:
            continue
        inner = _body(_parse(frames[src[4:]]))
        box = etree.Element("div")
        box.text = inner.text
        box.extend(list(inner))
        box.tail = iframe.tail
        iframe.getparent().replace(iframe, box)
