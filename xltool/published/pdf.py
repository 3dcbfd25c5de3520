"""PDF text layers, read with pdfplumber (pdfminer.six underneath).

Tables come from ruled lines: pdfplumber's `find_tables` finds the grid of cells the borders
draw; each glyph is placed in the cell its centre falls in, and a cell's glyphs are read line
by line, top to bottom (a label broken over lines comes out whole). A merged box is the same
Cell at every grid position it covers. A table split over two pages comes out as two tables,
one per page (with the header rows the second page repeats); the interpreter joins them by
their labels. Text outside tables is read as paragraphs: lines are joined while a line runs to
the right margin and the next is not indented, also from one page to the next; page numbers
(— 3 —, 第3页) are left out.

Hostile files are bounded by budgets, not time: at most MAX_PAGES pages are looked at; every
stream pdfminer inflates (Flate, LZW, RunLength) counts against DECODE_BUDGET bytes for the
document, so a "PDF bomb" stops at the budget instead of filling memory; a page whose content
streams exceed PAGE_CONTENT_BYTES, or which draws more than PAGE_CHARS glyphs, is refused. A
PDF that needs a password to open is refused as encrypted (one that only restricts editing or
printing opens without one, as in every viewer, and is read). Glyphs without a text mapping
((cid:N)) or pages of images without text leave `Document.unreadable` set: the tables must be
typed in by hand."""

from __future__ import annotations

import bisect
import hashlib
import io
import logging
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from xltool.published.document import MAX_BYTES, MAX_CELLS, MAX_TEXT, Cell, Document, DocumentError, Paragraph, Table
from xltool.published.docx import join_text

MAX_PAGES = 60  # an annual report has fewer than 40
DECODE_BUDGET = 96 << 20  # bytes pdfminer may inflate for one document (a report: a few MB)
PAGE_CONTENT_BYTES = 8 << 20  # a page's own content streams (a page of text: 10-100 KB)
PAGE_CHARS = 30_000  # glyphs on one page (a dense page of a report: about 2,000)
SLOW_FILTER_INPUT = 8 << 20  # LZW and RunLength are decoded in Python: their input is bounded too

_MIB = 1 << 20
ENCRYPTED = "这是加密的 PDF 文件（需要密码才能打开），无法读取。请解除密码后导入。"
_REDO = "请确认文件能在 PDF 阅读器中正常打开；也可以导入同一份报告的网页或 Word 版本。"
CID = "PDF 的文字层无法识别（字体没有文字编码，提取出的是 (cid:N) 字形代码）"
GARBLED = "PDF 的文字层无法识别（提取出的文字是乱码）"
SCANNED = "PDF 的页面是图片（扫描件或截图），没有可读的文字层"
EMPTY = "PDF 中没有可读的文字"

logging.getLogger("pdfminer").setLevel(logging.ERROR)  # its warnings about odd files are not ours to print
logging.getLogger("pdfplumber").setLevel(logging.ERROR)


# --- bounded decoding -----------------------------------------------------------------------


class _TooLarge(Exception):
    """A stream would inflate past the document's budget."""


class _Budget(threading.local):
    left: int | None = None
    exceeded: bool = False


_budget = _Budget()


def _spend(n: int) -> None:
    left = _budget.left
    if left is None:
        return
    if n > left:
        _budget.exceeded = True
        raise _TooLarge
    _budget.left = left - n


def _cap() -> int:
    left = _budget.left
    return (1 << 62) if left is None else left + 1


class _Inflater:
    """zlib.decompressobj, counting what it gives against the budget."""

    def __init__(self, *args: Any) -> None:
        self._d = zlib.decompressobj(*args)

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        cap = _cap()
        out = self._d.decompress(data, min(max_length, cap) if max_length else cap)
        if len(out) >= cap or (self._d.unconsumed_tail and not max_length):
            _spend(cap)  # past the budget
        _spend(len(out))
        return out

    def flush(self, *args: Any) -> bytes:
        out = self._d.flush(*args)
        _spend(len(out))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._d, name)


class _BoundedZlib:
    """What pdfminer.pdftypes sees as `zlib`: the same functions, inflating within the budget."""

    error = zlib.error

    @staticmethod
    def decompress(data: bytes, *args: Any) -> bytes:
        d = _Inflater(*args[1:2])
        out = d.decompress(data)
        if not d.eof:
            raise zlib.error("incomplete or truncated stream")  # as zlib.decompress says
        return out

    @staticmethod
    def decompressobj(*args: Any) -> _Inflater:
        return _Inflater(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def _bounded(decode: Any) -> Any:
    def run(data: bytes) -> bytes:
        if _budget.left is not None and len(data) > SLOW_FILTER_INPUT:
            _budget.exceeded = True
            raise _TooLarge
        out = decode(data)
        _spend(len(out))
        return bytes(out)
    return run


def _install() -> None:
    """Route pdfminer's stream decoding through the budget (once per process)."""
    from pdfminer import pdftypes

    if getattr(pdftypes, "_xltool_bounded", False):
        return
    pdftypes.zlib = _BoundedZlib()  # type: ignore[assignment]
    pdftypes.lzwdecode = _bounded(pdftypes.lzwdecode)
    pdftypes.rldecode = _bounded(pdftypes.rldecode)
    pdftypes._xltool_bounded = True  # type: ignore[attr-defined]


@contextmanager
def _budgeted(n: int) -> Iterator[None]:
    _budget.left, _budget.exceeded = n, False
    try:
        yield
    finally:
        _budget.left = None


def _too_large(what: str) -> DocumentError:
    return DocumentError("file-too-large", f"{what}，不像是一份年度报告（疑似恶意构造的 PDF），已停止读取。")


# --- glyphs into lines ----------------------------------------------------------------------


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


@dataclass
class _Line:
    chars: list[dict]
    top: float
    bottom: float
    x0: float = 0.0
    x1: float = 0.0
    size: float = 0.0
    text: str = ""


def _lines(chars: list[dict]) -> list[_Line]:
    """Glyphs grouped into lines (by their vertical overlap), each read left to right."""
    lines: list[_Line] = []
    for ch in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines:
            line = lines[-1]
            height = max(ch["bottom"] - ch["top"], 1.0)
            overlap = min(line.bottom, ch["bottom"]) - max(line.top, ch["top"])
            if overlap >= 0.5 * min(height, max(line.bottom - line.top, 1.0)):
                line.chars.append(ch)
                line.bottom = max(line.bottom, ch["bottom"])
                continue
        lines.append(_Line([ch], ch["top"], ch["bottom"]))
    for line in lines:
        line.chars.sort(key=lambda c: c["x0"])
        line.x0, line.x1 = line.chars[0]["x0"], max(c["x1"] for c in line.chars)
        line.size = max(c.get("size", 0) for c in line.chars)
        line.text = _line_text(line.chars)
    return [line for line in lines if line.text]


def _line_text(chars: list[dict]) -> str:
    out: list[str] = []
    prev: dict | None = None
    for ch in chars:
        text = ch["text"]
        if not text.strip():
            continue
        if prev is not None and out:
            gap = ch["x0"] - prev["x1"]
            if gap > 0.25 * max(ch.get("size", 10), 1) and not _wide(out[-1][-1]) and not _wide(text[0]):
                out.append(" ")
        out.append(text)
        prev = ch
    return "".join(out).strip()


_PAGE_NUMBER = re.compile(r"[\s\-—–－―_·•第页頁共/PpAaGgEe]*\d{1,4}[\s\-—–－―_·•第页頁共/\d]*")


def _page_number(line: _Line, height: float) -> bool:
    return (line.top > 0.85 * height or line.bottom < 0.1 * height) and bool(_PAGE_NUMBER.fullmatch(line.text))


# --- tables ---------------------------------------------------------------------------------


def _table(found: Any, chars: list[dict], where: str) -> tuple[Table, list[dict]]:
    """A Table from pdfplumber's grid of cells, with the glyphs that fall in it; the glyphs left over."""
    rows = found.rows
    xs = sorted({c[0] for c in found.cells})
    tops = [next(c for c in r.cells if c is not None)[1] for r in rows]
    boxes: dict[tuple, Cell] = {}
    grid: list[list[Cell]] = []
    placed: list[list[tuple]] = []  # the bbox behind every grid position
    for r, row in enumerate(rows):
        out: list[Cell] = []
        bbs: list[tuple] = []
        for c, bbox in enumerate(row.cells):
            if bbox is None:
                bbox = _covering(found.cells, xs[c], tops[r])
            if bbox is None:
                cell = Cell("", f"{where}第{r + 1}行第{c + 1}格")
            elif bbox in boxes:
                cell = boxes[bbox]
            else:
                cell = boxes[bbox] = Cell("", f"{where}第{r + 1}行第{c + 1}格")
            out.append(cell)
            bbs.append(bbox)
        grid.append(out)
        placed.append(bbs)
    x0, top, x1, bottom = found.bbox
    inside: dict[int, list[dict]] = {}
    rest: list[dict] = []
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        if not (x0 <= cx <= x1 and top <= cy <= bottom):
            rest.append(ch)
            continue
        r = max(0, bisect.bisect_right(tops, cy) - 1)
        c = max(0, bisect.bisect_right(xs, cx) - 1)
        inside.setdefault(id(grid[r][c]), []).append(ch)
    for cell in boxes.values():
        got = inside.get(id(cell))
        if got:
            cell.text = join_text(line.text for line in _lines(got))
    return Table(grid, where), rest


def _covering(cells: list[tuple], x: float, top: float) -> tuple | None:
    for bbox in cells:
        if bbox[0] - 0.5 <= x < bbox[2] - 0.5 and bbox[1] - 0.5 <= top < bbox[3] - 0.5:
            return bbox
    return None


# --- paragraphs -----------------------------------------------------------------------------


@dataclass
class _Flow:
    """Lines gathered into paragraphs across pages."""

    blocks: list = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    where: str = ""
    last: _Line | None = None
    full: bool = False  # the last line ran to the right margin: the paragraph may go on

    def close(self) -> None:
        if self.lines:
            self.blocks.append(Paragraph(join_text(self.lines), self.where))
        self.lines, self.last, self.full = [], None, False

    def add(self, line: _Line, where: str, left: float, right: float, same_page: bool) -> None:
        size = max(line.size, 6.0)
        indented = line.x0 > left + 0.8 * size
        goes_on = (self.lines and self.full and not indented and self.last is not None
                   and abs(line.size - self.last.size) < 1.0
                   and (not same_page or line.top - self.last.bottom < 1.5 * size))
        if not goes_on:
            self.close()
            self.where = where
        self.lines.append(line.text)
        self.last = line
        self.full = line.x1 >= right - 1.5 * size


# --- the document ---------------------------------------------------------------------------


def read_pdf(data: bytes, file: str) -> Document:
    if len(data) > MAX_BYTES:
        raise DocumentError("file-too-large", f"文件过大（超过 {MAX_BYTES >> 20} MB），不像是一份年度报告。")
    _install()
    try:
        with _budgeted(DECODE_BUDGET):
            return _read(data, file)
    except DocumentError:
        raise
    except _TooLarge:
        raise _too_large(f"PDF 中的数据解压后异常庞大（超过 {DECODE_BUDGET // _MIB} MB）") from None
    except MemoryError:
        raise _too_large("PDF 的内容过于庞大") from None
    except RecursionError:
        raise DocumentError("file-unreadable", "PDF 的内部结构嵌套过深，无法读取。" + _REDO) from None
    except Exception as e:  # pdfminer and pdfplumber raise many kinds on damaged files
        if _budget.exceeded:
            raise _too_large(f"PDF 中的数据解压后异常庞大（超过 {DECODE_BUDGET // _MIB} MB）") from None
        if _encrypted(e):
            raise DocumentError("file-unreadable", ENCRYPTED) from None
        raise DocumentError("file-unreadable", "PDF 文件已损坏或格式异常，无法读取。" + _REDO) from None


def _encrypted(e: BaseException) -> bool:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    seen: BaseException | None = e
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, (PDFPasswordIncorrect, PDFEncryptionError)):
            return True
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = inner or seen.__cause__ or seen.__context__
    return False


def _read(data: bytes, file: str) -> Document:
    import pdfplumber
    from pdfminer.pdfpage import PDFPage
    from pdfplumber.page import Page

    doc = Document(file, "pdf", hashlib.sha256(data).hexdigest())
    flow = _Flow()
    total = visible = cid = garbled = pages = 0
    title_lines: list[_Line] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        _check_count(pdf.doc)
        doctop = 0.0
        for n, page_obj in enumerate(PDFPage.create_pages(pdf.doc), 1):
            if n > MAX_PAGES:
                raise _too_large(f"PDF 超过 {MAX_PAGES} 页")
            _check_content(page_obj)
            page = Page(pdf, page_obj, page_number=n, initial_doctop=doctop)
            doctop += page.height
            chars = page.chars
            if _budget.exceeded:
                raise _TooLarge
            if len(chars) > PAGE_CHARS:
                raise _too_large(f"PDF 第{n}页的文字数量异常（{len(chars)} 个字形）")
            total += len(chars)
            pages = n
            visible += sum(1 for c in chars if c["text"].strip())
            if total > MAX_TEXT:
                raise _too_large(f"PDF 文字过多（超过 {MAX_TEXT // 10000} 万字）")
            cid += sum(1 for c in chars if c["text"].startswith("(cid:"))
            garbled += sum(1 for c in chars if _garbled(c["text"]))
            doc.images += len(page.images)
            lines = _page(page, chars, n, flow, doc)
            if n == 1:
                title_lines = lines
            page.close()
        flow.close()
        info_title = pdf.metadata.get("Title")
    doc.blocks = flow.blocks
    if sum(len(r) for t in doc.tables for r in t.rows) > MAX_CELLS:
        raise _too_large("PDF 中的表格单元格过多")
    doc.title = _title(info_title, title_lines)
    if cid and cid >= 0.05 * visible:
        doc.unreadable = CID
    elif garbled and garbled >= 0.2 * visible:
        doc.unreadable = GARBLED
    elif visible < 20 * max(1, pages):
        doc.unreadable = SCANNED if doc.images else EMPTY
    return doc


def _check_count(pdfdoc: Any) -> None:
    """The page tree's own count, when it declares one (the walk below stops at MAX_PAGES anyway)."""
    from pdfminer.pdftypes import resolve1

    try:
        count = resolve1(resolve1(pdfdoc.catalog.get("Pages")).get("Count"))
    except Exception:
        return
    if isinstance(count, int) and count > MAX_PAGES:
        raise _too_large(f"PDF 有 {count} 页（上限 {MAX_PAGES} 页）")


def _check_content(page_obj: Any) -> None:
    size = 0
    for stream in page_obj.contents or []:
        try:
            size += len(stream.get_data())
        except AttributeError:
            continue
        if size > PAGE_CONTENT_BYTES:
            raise _too_large(f"PDF 一页的内容超过 {PAGE_CONTENT_BYTES // _MIB} MB")


def _garbled(text: str) -> bool:
    return any("\ue000" <= ch <= "\uf8ff" or ch == "\ufffd" or (ch < " " and ch not in "\t\n\r") for ch in text)


def _page(page: Any, chars: list[dict], n: int, flow: _Flow, doc: Document) -> list[_Line]:
    """One page's tables and lines, in reading order, into the flow; the page's lines."""
    edges = _ruling(page)
    found = [t for t in page.find_tables({"vertical_strategy": "explicit", "horizontal_strategy": "explicit",
                                          "explicit_vertical_lines": edges, "explicit_horizontal_lines": edges})
             if len(t.cells) > 1] if edges else []
    found.sort(key=lambda t: (t.bbox[1], t.bbox[0]))
    rest = chars
    tables: list[Table] = []
    for t, ft in enumerate(found, 1):
        table, rest = _table(ft, rest, f"第{n}页第{t}个表格")
        tables.append(table)
    rest = [c for c in rest if c["text"].strip()]
    lines = [line for line in _lines(rest) if not _page_number(line, page.height)]
    if lines:
        left = min(line.x0 for line in lines)
        right = max(line.x1 for line in lines)
    events: list[tuple[float, int, Any]] = [(line.top, 1, line) for line in lines]
    events += [(ft.bbox[1], 0, table) for ft, table in zip(found, tables)]
    events.sort(key=lambda e: (e[0], e[1]))
    first = True
    for _, kind, item in events:
        if kind == 0:
            flow.close()
            flow.blocks.append(item)
        else:
            flow.add(item, f"第{n}页", left, right, same_page=not first)
        first = False
    return lines


def _ruling(page: Any) -> list[dict]:
    from pdfplumber.utils import obj_to_edges

    """The lines and boxes a reader sees: stroked lines and rectangles, and filled bars thin
    enough to be a border. White or invisible boxes (some PDF writers put one behind every line
    of text) draw no table."""
    out = [line for line in page.lines if not _white(line.get("stroking_color"))]
    for rect in page.rects:
        stroked = rect.get("stroke") and not _white(rect.get("stroking_color"))
        bar = rect.get("fill") and min(rect["width"], rect["height"]) < 2.5 and not _white(rect.get("non_stroking_color"))
        if stroked or bar:
            out.append(rect)
    edges = [e for obj in out for e in obj_to_edges(obj)]
    return edges + _closing(edges)


def _closing(edges: list[dict]) -> list[dict]:
    """Borders a page break left out: where columns' rules run on below (or start above) every
    horizontal rule, the last row on a page has no bottom line (or the first no top line). A
    horizontal edge across those columns closes the row, so its cells are cells."""
    horizontal = [e for e in edges if e["orientation"] == "h"]
    vertical = [e for e in edges if e["orientation"] == "v"]
    added: list[dict] = []
    for end in ("bottom", "top"):
        ends: dict[float, list[dict]] = {}
        for v in vertical:
            ends.setdefault(round(v[end]), []).append(v)
        for group in ends.values():
            open_ = [v for v in group if not any(abs(h["top"] - v[end]) <= 2 and h["x0"] - 2 <= v["x0"] <= h["x1"] + 2
                                                 for h in horizontal)]
            if len({round(v["x0"]) for v in open_}) < 2 or not horizontal:
                continue
            x0, x1 = min(v["x0"] for v in open_), max(v["x1"] for v in open_)
            at = open_[0][end]
            edge = dict(horizontal[0], x0=x0, x1=x1, width=x1 - x0, top=at, bottom=at, height=0)
            if "doctop" in edge:
                edge["doctop"] = open_[0]["doctop"] + (at - open_[0]["top"])
            added.append(edge)
    return added


def _white(color: Any) -> bool:
    """A colour as pdfminer gives it (gray, RGB or CMYK components) that is white on paper."""
    if not isinstance(color, (tuple, list)) or not color or not all(isinstance(c, (int, float)) for c in color):
        return False
    if len(color) == 4:
        return all(c <= 0.05 for c in color)
    return all(c >= 0.95 for c in color)


def _text(value: Any) -> str:
    """A document-information string: PDF text strings are PDFDocEncoding or UTF-16 with a byte
    order mark; some writers put the mark little-endian, which pdfminer leaves undecoded."""
    if isinstance(value, str) and value[:2] in ("\xff\xfe", "\xfe\xff"):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            return ""
    if isinstance(value, bytes):
        for codec in (("utf-16",) if value[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8", "gb18030")):
            try:
                value = value.decode(codec)
                break
            except UnicodeDecodeError:
                continue
        else:
            return ""
    if not isinstance(value, str) or any(ch < " " for ch in value):
        return ""
    return re.sub(r"\s+", " ", value).strip()


def _title(info: Any, lines: list[_Line]) -> str:
    info = _text(info)
    if info and not info.lower().endswith((".doc", ".docx", ".pdf", ".wps")):
        return info
    if not lines:
        return ""
    biggest = max(line.size for line in lines[:6])
    lead: list[str] = []
    for line in lines[:6]:
        if line.size < biggest - 0.5:
            if lead:
                break
            continue
        lead.append(line.text)
    return join_text(lead)
