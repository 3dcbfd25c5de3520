"""Word documents: .docx read from its XML, and .doc/.wps converted to .docx by LibreOffice.

The zip is opened with the bounds of the workbook reader (xltool/office/container.py): the
entry count is checked before the directory is read, every member is decompressed in capped
chunks whatever the directory claims, and XML with a DTD or entities is refused. Only
word/document.xml (wherever [Content_Types].xml puts the main part) and docProps/core.xml are
read.

Blocks come in body order: paragraphs (第N段, counting the paragraphs that have text) and
tables (第T个表格). A table's grid is expanded: a cell spanning columns (w:gridSpan) or rows
(w:vMerge) is the same Cell at every grid position it covers. A table whose cells hold tables
(a layout frame around the real table) gives its cells' paragraphs and its inner tables
instead, so the innermost table with the figures comes out as a table."""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lxml import etree

from xltool.office import container as oc
from xltool.published.document import (
    IMPORT_THE_REPORT,
    MAX_BYTES,
    MAX_CELLS,
    MAX_TEXT,
    Block,
    Cell,
    Document,
    DocumentError,
    Paragraph,
    Table,
)
from xltool.util import find_soffice

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"

# A report's document.xml is 50-500 KB; budgets far above that, far below what hurts.
LIMITS = oc.Limits(max_file_bytes=MAX_BYTES, max_entries=2000, max_entry_bytes=32 << 20,
                   max_total_bytes=64 << 20, max_part_bytes=24 << 20, max_tags=2_000_000)
_WORD_MAIN = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
              "application/vnd.ms-word.document.macroenabled.main+xml",
              "application/vnd.ms-word.template.macroenabledtemplate.main+xml")
CONVERT_SECONDS = 90
ENCRYPTED = "这是加密的文件（设置了打开密码），无法读取。请解除密码后导入。"
_RESAVE = "请在 Word 或 WPS 中打开后另存为 .docx 再导入。"


def unreadable(message: str) -> DocumentError:
    return DocumentError("file-unreadable", message)


# --- text -----------------------------------------------------------------------------------


def _wide(ch: str) -> bool:
    """A character of East Asian script or punctuation: no space is written next to it."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def join_text(pieces: Iterable[str]) -> str:
    """Lines or runs of one label joined as one text: nothing between two East Asian characters
    (a label broken over lines comes out whole), a space between two Latin words or figures."""
    out = ""
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out and not _wide(out[-1]) and not _wide(piece[0]):
            out += " "
        out += piece
    return out


def _clean(text: str) -> str:
    return re.sub(r"[ \t\u3000\xa0]+", " ", text).strip()


# --- the zip --------------------------------------------------------------------------------


def _parts(data: bytes) -> tuple[bytes, bytes | None]:
    """(the main document part, docProps/core.xml or None) of a Word zip; DocumentError when the
    zip is hostile or not a Word document."""
    try:
        return _word_parts(data)
    except oc.ContainerError as e:
        raise DocumentError(e.code, _as_word(e.message)) from None


def _as_word(message: str) -> str:
    """The container's messages end by telling a clerk to resend a return (.xlsx); a published
    report's reader keeps what they say about the file and says what to do with a document."""
    what = message[:message.find("请")] if "请" in message else message
    return what + _RESAVE


def _word_parts(data: bytes) -> tuple[bytes, bytes | None]:
    oc._check_directory(data, LIMITS)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # BadZipFile, truncated directory, undecodable names, ...
        raise unreadable("文件已损坏或不完整（可能在下载中被截断），无法读取。" + _RESAVE) from None
    if len(infos) > LIMITS.max_entries:
        raise DocumentError("file-too-large", f"文件内部条目过多（{len(infos)} 个），不像是一份年度报告，已拒绝读取。")
    by_lower = {i.filename.lower(): i for i in infos}
    reader = oc._Reader(zf, LIMITS)
    ct = by_lower.get("[content_types].xml")
    main = None
    if ct is not None:
        root = oc.parse_part(reader.read(ct), "文件类型声明", LIMITS)
        for el in root.iter(CT + "Override"):
            if (el.get("ContentType") or "").strip().lower() in _WORD_MAIN:
                main = (el.get("PartName") or "").lstrip("/").lower()
                break
    if main is None or main not in by_lower:
        raise unreadable(_not_word(by_lower))
    core = by_lower.get("docprops/core.xml")
    return reader.read(by_lower[main]), (reader.read(core) if core is not None else None)


def _not_word(names: dict[str, zipfile.ZipInfo]) -> str:
    if any(n.startswith("xl/") for n in names):
        what = "一个 Excel 工作簿（.xlsx）"
    elif any(n.startswith("ppt/") for n in names):
        what = "一个 PowerPoint 演示文稿（.pptx）"
    elif "mimetype" in names or "content.xml" in names:
        what = "一个 OpenDocument 文件（.odt 等）"
    else:
        what = "一个压缩包或其他格式的文件"
    return f"这是{what}，不是 Word 文档（.docx），可能只是改了扩展名。{IMPORT_THE_REPORT}"


# --- the document ---------------------------------------------------------------------------


class _Reader:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.paragraphs = 0
        self.tables = 0
        self.cells = 0
        self.text = 0

    def body(self, parent: etree._Element) -> None:
        for el in _content(parent):
            if el.tag == W + "p":
                text = _paragraph_text(el)
                if text:
                    self.paragraphs += 1
                    self._count(len(text))
                    self.blocks.append(Paragraph(text, f"第{self.paragraphs}段"))
            elif el.tag == W + "tbl":
                self.table(el)

    def _count(self, chars: int, cells: int = 0) -> None:
        self.text += chars
        self.cells += cells
        if self.text > MAX_TEXT:
            raise DocumentError("file-too-large", f"文档文字过多（超过 {MAX_TEXT // 10000} 万字），不像是一份年度报告。")
        if self.cells > MAX_CELLS:
            raise DocumentError("file-too-large", f"文档中的表格单元格过多（超过 {MAX_CELLS} 个），不像是一份年度报告。")

    def table(self, tbl: etree._Element) -> None:
        rows = list(_rows(tbl))
        if any(tc.find(".//" + W + "tbl") is not None for tr in rows for tc in _cells(tr)):
            # a frame around tables: its cells' text and inner tables, in order
            for tr in rows:
                for tc in _cells(tr):
                    self.body(tc)
            return
        self.tables += 1
        t = self.tables
        table = Table([], f"第{t}个表格")
        above: list[Cell | None] = []  # the cell at each grid column of the previous row
        for r, tr in enumerate(rows, 1):
            row: list[Cell] = []
            pr = tr.find(W + "trPr")
            before = _int(pr.find(W + "gridBefore") if pr is not None else None, 0)
            self._count(0, max(0, before))
            for _ in range(before):
                row.append(Cell("", f"第{t}个表格第{r}行第{len(row) + 1}格"))
            for tc in _cells(tr):
                tcpr = tc.find(W + "tcPr")
                span = max(1, _int(tcpr.find(W + "gridSpan") if tcpr is not None else None, 1))
                vmerge = tcpr.find(W + "vMerge") if tcpr is not None else None
                col = len(row)
                cell = None
                if vmerge is not None and (vmerge.get(W + "val") or "continue") == "continue" and col < len(above):
                    cell = above[col]
                if cell is None:
                    text = join_text(_paragraph_text(p) for p in tc.iter(W + "p"))
                    cell = Cell(text, f"第{t}个表格第{r}行第{col + 1}格")
                    self._count(len(text))
                self._count(0, span)
                row.extend([cell] * span)
            table.rows.append(row)
            above = list(row)
        if table.rows:
            self.blocks.append(table)


def _content(parent: etree._Element) -> Iterator[etree._Element]:
    """The paragraphs and tables of a body or a cell, through content controls and custom XML."""
    for el in parent:
        if el.tag in (W + "p", W + "tbl"):
            yield el
        elif el.tag in (W + "sdt", W + "customXml", W + "sdtContent", W + "ins", W + "smartTag"):
            yield from _content(el)


def _children(parent: etree._Element, tag: str) -> Iterator[etree._Element]:
    """The children of a kind (rows of a table, cells of a row), through content controls."""
    for el in parent:
        if el.tag == tag:
            yield el
        elif el.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
            yield from _children(el, tag)


def _rows(tbl: etree._Element) -> Iterator[etree._Element]:
    return _children(tbl, W + "tr")


def _cells(tr: etree._Element) -> Iterator[etree._Element]:
    return _children(tr, W + "tc")


def _int(el: etree._Element | None, default: int) -> int:
    if el is None:
        return default
    try:
        return int(el.get(W + "val") or default)
    except ValueError:
        return default


def _paragraph_text(p: etree._Element) -> str:
    """The text of one paragraph: its runs, line breaks joined as a label's lines are; text in
    a drawing's fallback copy (mc:Fallback) is not read twice; deleted text (w:delText) and field
    codes (w:instrText) are not text."""
    lines: list[str] = []
    line: list[str] = []
    for el in p.iter(W + "t", W + "br", W + "cr", W + "tab", W + "noBreakHyphen", W + "p"):
        if el is not p and el.tag == W + "p":
            continue
        if any(a.tag == MC + "Fallback" for a in el.iterancestors()):
            continue
        if el.tag == W + "t":
            line.append(el.text or "")
        elif el.tag == W + "tab":
            line.append(" ")
        elif el.tag == W + "noBreakHyphen":
            line.append("-")
        else:
            lines.append("".join(line))
            line = []
    lines.append("".join(line))
    return join_text(_clean(x) for x in lines)


def _images(body: etree._Element) -> int:
    return sum(1 for el in body.iter(W + "drawing", W + "pict")
               if not any(a.tag == MC + "Fallback" for a in el.iterancestors()))


def _title(core: bytes | None, blocks: list[Block]) -> str:
    if core:
        try:
            el = oc.parse_part(core, "文档属性", LIMITS).find(DC_TITLE)
        except oc.ContainerError:
            el = None
        if el is not None and el.text and el.text.strip():
            return _clean(el.text)
    lead: list[str] = []
    for block in blocks[:3]:
        if not isinstance(block, Paragraph) or (lead and len(block.text) > 40):
            break
        lead.append(block.text)
        if "报告" in block.text:
            return join_text(lead)
    return lead[0] if lead else ""


def read_docx(data: bytes, file: str) -> Document:
    main, core = _parts(data)
    try:
        root = oc.parse_part(main, "文档正文", LIMITS)
    except oc.ContainerError as e:
        raise DocumentError(e.code, _as_word(e.message)) from None
    body = root.find(W + "body")
    if body is None:
        raise unreadable("Word 文档中没有正文，无法读取。" + _RESAVE)
    reader = _Reader()
    reader.body(body)
    doc = Document(file, "docx", hashlib.sha256(data).hexdigest(), reader.blocks)
    doc.title = _title(core, reader.blocks)
    doc.images = _images(body)
    return doc


# --- .doc and .wps through LibreOffice ------------------------------------------------------


def _u16(name: str) -> bytes:
    return name.encode("utf-16-le")


def read_legacy(data: bytes, file: str, suffix: str) -> Document:
    """A .doc or WPS .wps file (an OLE compound file) converted to .docx by LibreOffice and read."""
    if _u16("EncryptionInfo") in data or _u16("EncryptedPackage") in data:
        raise unreadable(ENCRYPTED)
    if _u16("Workbook") in data or _u16("Book") + b"\x00\x00" in data:
        raise unreadable("这是一个 Excel 旧版工作簿（.xls），不是 Word 文档，可能只是改了扩展名。请导入年度报告本身。")
    if _u16("PowerPoint Document") in data:
        raise unreadable("这是一个 PowerPoint 演示文稿（.ppt），不是 Word 文档，可能只是改了扩展名。")
    converted = _convert(data, suffix)
    if len(converted) > MAX_BYTES:
        raise DocumentError("file-too-large", "文档转换后过大，不像是一份年度报告。")
    doc = read_docx(converted, file)
    doc.sha256 = hashlib.sha256(data).hexdigest()
    doc.converted_from = suffix
    return doc


def _convert(data: bytes, suffix: str) -> bytes:
    soffice = find_soffice()
    if soffice is None:
        raise unreadable(f"读取 {suffix} 文件需要 LibreOffice，本机没有找到 soffice。"
                         "请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-writer），"
                         "或在 Word/WPS 中把文件另存为 .docx 后导入。")
    with tempfile.TemporaryDirectory(prefix="xltool-import-") as tmp:
        folder = Path(tmp)
        source = folder / f"document{suffix}"
        source.write_bytes(data)
        out = folder / "out"
        out.mkdir()
        args = [soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--norestore",
                "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "docx:MS Word 2007 XML",
                "--outdir", str(out), str(source)]
        _run(args, CONVERT_SECONDS)
        target = out / "document.docx"
        try:
            if target.stat().st_size > MAX_BYTES:
                raise DocumentError("file-too-large", "文档转换后过大，不像是一份年度报告。")
            return target.read_bytes()
        except OSError:
            raise unreadable(f"LibreOffice 无法打开这个 {suffix} 文件（文件可能已损坏，或不是 Word/WPS 文字文档）。"
                             + _RESAVE) from None


def _run(args: list[str], timeout: float) -> None:
    """Run LibreOffice in its own process group; on time-out end the whole group (soffice forks)."""
    env = dict(os.environ, HOME=os.environ.get("HOME") or tempfile.gettempdir())
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    except OSError as e:
        raise unreadable(f"无法启动 LibreOffice（{e.strerror or e}），无法读取这个文件。" + _RESAVE) from None
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise unreadable(f"LibreOffice 转换文件超时（{timeout:.0f} 秒），已停止。" + _RESAVE) from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

