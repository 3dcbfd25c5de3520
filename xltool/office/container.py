"""Open an incoming return safely and hand back the raw XML parts of an xlsx.

Every incoming file is hostile. This module recognises a file by its content (never its
suffix), refuses anything dangerous before it can blow up (zip bombs, lying zip
directories, too many entries, XML entity attacks, encrypted or renamed files), and turns
every failure into a `ContainerError` whose Chinese message tells a clerk what the file is
and what to do. It never runs macros, never writes to disk and never modifies the input.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from xltool.errors import InputError

MiB = 1 << 20

CODES = frozenset({"file-unreadable", "file-too-large", "form-unknown", "file-wps-format"})


class ContainerError(InputError):
    """A return that cannot be read; `code` is a finding code, `message` Chinese for a clerk."""

    def __init__(self, code: str, message: str):
        if code not in CODES:
            raise ValueError(f"unknown container error code {code!r}")
        Exception.__init__(self, code, message)  # both in args, so the error pickles across processes
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Deterministic budgets (bytes, elements, cells), never time: a finding must not depend on
    the machine's load. Our own return's sheets are a few tens of KB with a few hundred cells;
    the budgets leave generous headroom above that and stop a crafted file quickly."""

    max_file_bytes: int = 50 * MiB
    max_entries: int = 2000
    max_entry_bytes: int = 64 * MiB  # actually decompressed, per member
    max_total_bytes: int = 200 * MiB  # actually decompressed, over the members read
    max_ratio: float = 200  # declared expansion, for members over RATIO_FLOOR
    # What a reader parses into a tree (parse_part); a merged workbook's large per-agency sheet
    # is decompressed but never parsed, so these hold for it too.
    max_part_bytes: int = 8 * MiB  # one XML part: a sheet, the shared strings, the styles
    max_tags: int = 1_000_000  # "<" in one part (so elements, at most), counted before the tree is built
    max_cells: int = 100_000  # cells in one sheet
    max_book_cells: int = 300_000  # cells in all the sheets of a workbook that are read


DEFAULT_LIMITS = Limits()
# Reading a return (or a merged workbook, whose per-agency sheet of 2,000 agencies is ~15 MB):
# what is decompressed at all is bounded much lower than for packages in general.
RETURN_LIMITS = Limits(max_entry_bytes=32 * MiB, max_total_bytes=64 * MiB)
RATIO_FLOOR = 1 * MiB  # small members may compress very well (empty sheets); only big ones matter


@dataclass
class Container:
    kind: str  # "xlsx" | "xlsm" | "xls" | "et" (WPS's own format); "xlsm" exactly when has_macros
    parts: dict[str, bytes] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    has_macros: bool = False
    data: bytes | None = None  # whole file, only for kinds "xls" and "et" (for xlrd)


# --- messages: say what the file is and what to do -----------------------------------------

_RESEND = "请使用下发的报送表填写，在 Excel 或 WPS 中另存为 Excel 工作簿（.xlsx）后再报送。"
_RESAVE = "请在 Excel 或 WPS 中打开后，另存为 Excel 工作簿（.xlsx）再报送。"
_WPS = "这是 WPS 表格自己的格式（.et，或由 WPS 保存的旧版表格文件），不是下发的 .xlsx 报送表，"


def wps_format(readable: bool) -> str:
    """What file-wps-format found: a warning when the values were read, the only finding when
    not. What to do (save as .xlsx in WPS) is the catalogue's fix, which the finding appends."""
    return _WPS + ("已读取数值，但无法核对合计公式是否完整。" if readable else "其中的数字无法读取。")


def _unreadable(what: str, todo: str = _RESEND) -> ContainerError:
    return ContainerError("file-unreadable", what + todo)


def _too_large(what: str) -> ContainerError:
    return ContainerError("file-too-large", what + "已拒绝读取。" + _RESEND)


def _corrupt() -> ContainerError:
    return _unreadable("文件已损坏或不完整（可能在传输或下载中被截断），无法读取。",
                       "请确认能在 Excel 或 WPS 中正常打开，重新另存为 .xlsx 后再报送。")


def _encrypted() -> ContainerError:
    return _unreadable("文件已加密（设置了打开密码），无法读取。", "请取消密码后另存为 .xlsx 再报送。")


def _bomb() -> ContainerError:
    return _too_large("文件解压后的体积异常巨大（疑似“压缩炸弹”），")


def _mb(n: int) -> str:
    return f"{n / MiB:.1f} MB"


# --- XML --------------------------------------------------------------------------------------

_local = threading.local()  # lxml parsers must not be shared between threads


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_blank_text=False, collect_ids=False)
    return parser


_DTD_BYTES = re.compile(rb"<!(?:DOCTYPE|ENTITY)")  # one regex pass beats two `in` scans
_DTD_TEXT = re.compile(r"<!(?:DOCTYPE|ENTITY)")
_DECLARED = re.compile(rb"\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
# Encodings in which ASCII "<!DOCTYPE" can only appear as those very bytes, so the byte scan is
# sound. Others (UTF-7 writes "<" as "+ADw-", EBCDIC, ...) could smuggle a DTD past it.
_ASCII_SAFE = frozenset({
    "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "iso-8859-15",
    "windows-1252", "cp1252", "gb2312", "gbk", "cp936", "gb18030", "big5"})


def _dtd_refused() -> ContainerError:
    return _unreadable("文件内部含有不允许的 DOCTYPE/ENTITY 声明（可能是恶意构造的文件），")


def _bad_xml() -> ContainerError:
    return _unreadable("文件内部数据已损坏（XML 格式错误），无法读取。", _RESAVE)


def check_xml(data: bytes) -> None:
    """Refuse a DTD before lxml sees it, whatever the document's encoding (ContainerError)."""
    head = data[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:2] in (b"<\x00", b"\x00<"):
        if head in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
            raise _bad_xml()  # UTF-32: never used by spreadsheet software
        codec = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else (
            "utf-16-le" if head[0] == 0x3C else "utf-16-be")
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            raise _bad_xml() from None
        if _DTD_TEXT.search(text):
            raise _dtd_refused()
        return
    body = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    m = _DECLARED.match(body)
    if m and m.group(1).decode("ascii").lower() not in _ASCII_SAFE:
        raise _bad_xml()
    if _DTD_BYTES.search(data):
        raise _dtd_refused()


def parse_part(data: bytes, what: str, limits: Limits = DEFAULT_LIMITS) -> etree._Element:
    """Parse one part within the budgets of `limits` (bytes and elements, counted before the tree
    is built; depth is bounded by the parser at 256 levels). `what` names the part for the message.
    A Strict Open XML part is read under its transitional names (`transitional`)."""
    if len(data) > limits.max_part_bytes or len(data := transitional(data)) > limits.max_part_bytes:
        raise _too_large(f"{what}的内容异常庞大（解压后 {_mb(len(data))}，上限 {_mb(limits.max_part_bytes)}），"
                         "远超正常报送表，")
    tags = data.count(b"<")  # every element, comment or declaration opens with "<"
    if tags > limits.max_tags:
        raise _too_large(f"{what}的内部结构异常庞大（{tags} 个 XML 标记，上限 {limits.max_tags} 个），"
                         "远超正常报送表，")
    return parse_xml(data)


# Strict Open XML (Excel's "Strict Open XML Spreadsheet" save option) names the same elements
# and relationship types under purl.oclc.org; the reader knows them by their transitional names.
_STRICT = b"http://purl.oclc.org/ooxml/"
_STRICT_NAMES = (
    (b"http://purl.oclc.org/ooxml/spreadsheetml/main", b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"),
)
STRICT_HEAD = 4096  # the root element's namespace declarations are within its start tag


def transitional(data: bytes) -> bytes:
    """A part of a Strict Open XML file with its namespaces and relationship types renamed to
    their transitional equivalents. A transitional part (the usual case) is returned as it is,
    after one look at its head; only a part that declares a Strict namespace there is rewritten.
    A .rels part names the types in its body: it is small, and scanned whole."""
    if data.find(_STRICT, 0, STRICT_HEAD) < 0 and not (b"<Relationships" in data[:STRICT_HEAD] and _STRICT in data):
        return data
    for strict, plain in _STRICT_NAMES:
        data = data.replace(strict, plain)
    return data


def parse_xml(data: bytes) -> etree._Element:
    """Parse one part; refuse any DOCTYPE/ENTITY declaration; errors are ContainerError."""
    check_xml(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        if "depth" in str(e).lower():  # the parser's own bound: 256 levels, where a sheet needs 5
            raise _too_large("文件内部的 XML 结构嵌套层数异常（超过 256 层），") from None
        raise _bad_xml() from None
    except (etree.LxmlError, ValueError):
        raise _bad_xml() from None
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise _dtd_refused()
    return root


# --- reading the file -------------------------------------------------------------------------


def _load(source: str | os.PathLike | bytes, limits: Limits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > limits.max_file_bytes:
            raise _file_too_large(len(data), limits)
        return data
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or bytes, not {type(source).__name__}")
    try:
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limits.max_file_bytes:  # refuse before reading anything
                raise _file_too_large(size, limits)
            want = size + 1  # one byte more than stat says, so a buffer is never oversized
            data = f.read(want)
            if len(data) == want:  # growing, or a special file (/dev/zero): read on, bounded
                data += f.read(limits.max_file_bytes + 1 - len(data))
    except (OSError, ValueError):
        raise _unreadable("无法打开文件（文件不存在、是文件夹，或没有读取权限）。",
                          "请确认文件后重新报送。") from None
    if len(data) > limits.max_file_bytes:
        raise _file_too_large(len(data), limits)
    return data


def _file_too_large(size: int, limits: Limits) -> ContainerError:
    # size is max + 1 when reading stopped early: then only "over the limit" is known
    shown = "" if size == limits.max_file_bytes + 1 else f"{_mb(size)}，"
    return _too_large(f"文件过大（{shown}超过 {_mb(limits.max_file_bytes)} 的上限），"
                      "远超正常报送表的大小，")


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_container(source: str | os.PathLike | bytes,
                   wanted: Callable[[str], bool] = lambda n: True, *,
                   limits: Limits = DEFAULT_LIMITS) -> Container:
    """Recognise the file by content and return its parts; raise ContainerError if unusable.

    `wanted(name)` picks the zip members to decompress into `parts`; every member read is
    capped while streaming, whatever the zip directory claims.
    """
    data = _load(source, limits)
    if not data:
        raise _unreadable("文件是空的（0 字节），没有任何内容。")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _open_zip(data, wanted, limits)
    if data[:8] == _OLE:
        return _open_ole(data)
    raise _other(data)


# --- zip --------------------------------------------------------------------------------------

_CHUNK = 1 * MiB
_DIR_ENTRY_BYTES = 512  # generous average size of one central-directory record


def _check_directory(data: bytes, limits: Limits) -> None:
    """Bound the entry count from the end record before zipfile builds an object per entry."""
    i = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if i < 0 or i + 22 > len(data):
        return  # no end record: zipfile reports the damage
    count, cd_size = struct.unpack_from("<HL", data, i + 10)
    loc = i - 20
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and loc >= 0 and data[loc:loc + 4] == b"PK\x06\x07":
        off = struct.unpack_from("<Q", data, loc + 8)[0]  # zip64: the real values live there
        if off + 56 <= len(data) and data[off:off + 4] == b"PK\x06\x06":
            count, cd_size = struct.unpack_from("<QQ", data, off + 32)
    if count > limits.max_entries or cd_size > limits.max_entries * _DIR_ENTRY_BYTES:
        raise _too_many(count, limits)


def _too_many(count: int, limits: Limits) -> ContainerError:
    return _too_large(f"文件内部条目过多（{count} 个，上限 {limits.max_entries} 个），"
                      "不是正常的报送表，")


class _Reader:
    """Decompresses members in chunks, capping actual bytes per member and in total."""

    def __init__(self, zf: zipfile.ZipFile, limits: Limits):
        self.zf, self.limits, self.total = zf, limits, 0

    def _check(self, info: zipfile.ZipInfo) -> None:
        if info.flag_bits & 0x1:
            raise _unreadable("文件内容已加密（设置了密码），无法读取。",
                              "请取消密码后另存为 .xlsx 再报送。")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # zipfile inflates bzip2/LZMA chunks without an output cap, and no spreadsheet
            # program writes them: a 1 KB bzip2 member can expand to gigabytes in one call
            raise _unreadable("文件使用了电子表格软件不会使用的压缩方式，无法安全读取。", _RESAVE)
        big = info.file_size > RATIO_FLOOR
        if big and info.file_size > self.limits.max_ratio * max(info.compress_size, 1):
            raise _bomb()

    def read(self, info: zipfile.ZipInfo) -> bytes:
        self._check(info)
        lim, chunks, size = self.limits, [], 0
        try:
            with self.zf.open(info) as f:
                while chunk := f.read(_CHUNK):
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > lim.max_entry_bytes or self.total > lim.max_total_bytes:
                        raise _bomb()
                    chunks.append(chunk)
        except ContainerError:
            raise
        except Exception:  # BadZipFile (CRC), zlib.error, EOFError, NotImplementedError, ...
            raise _corrupt() from None
        return b"".join(chunks)

    def peek(self, info: zipfile.ZipInfo, n: int) -> bytes:
        self._check(info)
        try:
            with self.zf.open(info) as f:
                return f.read(n)
        except Exception:
            raise _corrupt() from None


def _open_zip(data: bytes, wanted: Callable[[str], bool], limits: Limits) -> Container:
    _check_directory(data, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # BadZipFile, truncated directory, undecodable names, ...
        raise _corrupt() from None
    if len(infos) > limits.max_entries:
        raise _too_many(len(infos), limits)
    by_lower = {i.filename.lower(): i for i in infos}
    if len(by_lower) != len(infos):  # OPC names are case-insensitive; two readers, two answers
        raise _unreadable("文件内部结构异常（存在重名的部件），无法可靠读取。", _RESAVE)
    reader = _Reader(zf, limits)
    cached: dict[str, bytes] = {}
    kind, has_macros = _identify_zip(by_lower, reader, cached)
    parts: dict[str, bytes] = {}
    for info in infos:
        name = info.filename
        if not info.is_dir() and wanted(name):
            parts[name] = cached[name] if name in cached else reader.read(info)
    return Container(kind=kind, parts=parts, names=[i.filename for i in infos], has_macros=has_macros)


_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_XLSX_MAIN = {_SML + "sheet.main+xml", _SML + "template.main+xml"}
_XLSM_MAIN = {"application/vnd.ms-excel.sheet.macroenabled.main+xml",
              "application/vnd.ms-excel.template.macroenabled.main+xml"}
_XLSB_MAIN = "application/vnd.ms-excel.sheet.binary.macroenabled.main"
_MACRO_TYPES = {"application/vnd.ms-office.vbaproject", "application/vnd.ms-excel.macrosheet+xml",
                "application/vnd.ms-excel.intlmacrosheet+xml"} | _XLSM_MAIN


def _identify_zip(by_lower: dict[str, zipfile.ZipInfo], reader: _Reader,
                  cached: dict[str, bytes]) -> tuple[str, bool]:
    """Return (kind, has_macros) for a spreadsheet, or raise naming what the zip really is."""
    ct_info = by_lower.get("[content_types].xml")
    if ct_info is None:
        raise _not_ooxml(by_lower, reader)
    raw = cached[ct_info.filename] = reader.read(ct_info)
    types = {(el.get("ContentType") or "").strip().lower()
             for el in parse_xml(raw).iter() if isinstance(el.tag, str)}
    has_macros = bool(types & _MACRO_TYPES) or any(
        n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in by_lower)
    if types & (_XLSX_MAIN | _XLSM_MAIN):
        return ("xlsm" if has_macros else "xlsx"), has_macros
    if _XLSB_MAIN in types or "xl/workbook.bin" in by_lower:
        raise _unreadable("这是 Excel 二进制工作簿（.xlsb），无法读取。", _RESAVE)
    if any("wordprocessingml" in t or "ms-word" in t for t in types) or _has_dir(by_lower, "word/"):
        raise _renamed("Word 文档（.docx）")
    if any("presentationml" in t or "ms-powerpoint" in t for t in types) or _has_dir(by_lower, "ppt/"):
        raise _renamed("PowerPoint 演示文稿（.pptx）")
    if "xl/workbook.xml" in by_lower:
        raise _corrupt()  # an xlsx whose type declaration was damaged
    raise _other_zip()


def _has_dir(by_lower: dict[str, zipfile.ZipInfo], prefix: str) -> bool:
    return any(n.startswith(prefix) for n in by_lower)


def _renamed(what: str) -> ContainerError:
    return _unreadable(f"这是一个{what}，不是 Excel 报送表（可能只是改了扩展名）。")


def _other_zip() -> ContainerError:
    return _unreadable("这是一个压缩包或其他格式的文件，不是 Excel 工作簿。",
                       "请直接报送填写好的 .xlsx 报送表，不要压缩，也不要修改扩展名。")


_ODF = {"application/vnd.oasis.opendocument.spreadsheet": None,
        "application/vnd.oasis.opendocument.text": "OpenDocument 文本文档（.odt）",
        "application/vnd.oasis.opendocument.presentation": "OpenDocument 演示文稿（.odp）"}


def _not_ooxml(by_lower: dict[str, zipfile.ZipInfo], reader: _Reader) -> ContainerError:
    """A zip without [Content_Types].xml: OpenDocument, a damaged xlsx, or some other zip."""
    info = by_lower.get("mimetype")
    if info is not None:
        mime = reader.peek(info, 200).strip().decode("ascii", "replace").lower()
        for prefix, what in _ODF.items():
            if mime.startswith(prefix):
                if what is None:
                    return _unreadable("这是一个 OpenDocument 表格（.ods，LibreOffice 等软件的格式），"
                                       "无法直接读取。", _RESAVE)
                return _renamed(what)
    if _has_dir(by_lower, "word/"):
        return _renamed("Word 文档（.docx）")
    if _has_dir(by_lower, "ppt/"):
        return _renamed("PowerPoint 演示文稿（.pptx）")
    if "xl/workbook.xml" in by_lower:
        return _corrupt()
    return _other_zip()


# --- OLE compound files: legacy .xls or encrypted OOXML ---------------------------------------


def _u16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _open_ole(data: bytes) -> Container:
    # Stream names sit in the directory sectors as UTF-16LE; a scan finds them cheaply.
    if _u16("EncryptionInfo") in data or _u16("EncryptedPackage") in data:
        raise _encrypted()
    if _u16("ETExtData") in data:  # WPS's own stream beside the BIFF workbook: an .et (CLSID is Excel's)
        if _u16("Workbook") in data or _u16("Book") + b"\x00\x00" in data:
            return Container(kind="et", data=data)
        raise ContainerError("file-wps-format", wps_format(False))
    if _u16("Workbook") in data or _u16("Book") + b"\x00\x00" in data:
        return Container(kind="xls", data=data)
    if _u16("WordDocument") in data:
        raise _renamed("Word 文档（.doc）")
    if _u16("PowerPoint Document") in data:
        raise _renamed("PowerPoint 演示文稿（.ppt）")
    raise _unreadable("这是一个无法识别的 Office 旧格式文件，其中没有 Excel 工作表。")


# --- everything else: name it when we can ----------------------------------------------------

_MAGIC = ((b"%PDF", "PDF 文件"), (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
          (b"\x1f\x8b", "gzip 压缩包"), (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"),
          (b"GIF8", "GIF 图片"), (b"{\\rtf", "RTF 文档"))
_HTML_MARKS = ("<html", "<!doctype html", "<table", "<head", "<body", "<meta", "<style",
               "urn:schemas-microsoft-com:office:excel")
_CONTROL = {chr(c) for c in range(32)} - set("\t\n\r\x0c\x1a")


def _other(data: bytes) -> ContainerError:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return _unreadable(f"这是一个{what}，不是 Excel 工作簿。")
    text = _as_text(data[:8192])
    if text is None:
        return _unreadable("无法识别的文件格式，不是 Excel 工作簿。")
    head = text.lstrip().lower()
    if head.startswith(("mime-version:", "content-type: multipart")):
        return _unreadable("这是一个网页存档文件（MHT，“单个文件网页”），并不是真正的 Excel 工作簿，"
                           "只是扩展名为表格格式。", _RESAVE)
    if "urn:schemas-microsoft-com:office:spreadsheet" in head:
        return _unreadable("这是“XML 电子表格 2003”格式的文件，无法读取。", _RESAVE)
    if head.startswith("<") and any(m in head for m in _HTML_MARKS):
        return _unreadable("这是一个网页（HTML）文件，并不是真正的 Excel 工作簿，"
                           "只是扩展名为表格格式（常见于从网页系统导出的“xls”）。", _RESAVE)
    if head.startswith("<?xml"):
        return _unreadable("这是一个 XML 文本文件，不是 Excel 工作簿。")
    return _unreadable("这是一个文本文件（CSV 或纯文本），不是 Excel 工作簿，表格格式和公式都已丢失。")


def _as_text(head: bytes) -> str | None:
    """Decode the head of a file as text, or None when it looks binary."""
    codecs_to_try: tuple[str, ...]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        codecs_to_try = ("utf-16",)
    elif b"\x00" in head:
        return None
    else:
        codecs_to_try = ("utf-8-sig", "gb18030")
    for codec in codecs_to_try:
        try:  # incremental: the head may end inside a multi-byte character
            text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.intersection(text):
            return text
    return None
