"""MIME as Chinese mail clients write it: file names, headers, attachments and body links.

Python's `email` package decodes only some of the ways attachment names arrive: RFC 2231
(`filename*=gbk''%C4%EA`), RFC 2047 inside quotes (`filename="=?gb2312?B?...?="`, against the
standard but what Foxmail, Outlook and webmail send), raw GBK or UTF-8 bytes in the header, and
charsets mislabelled or missing. So headers are read here from their raw bytes: the parser keeps
non-ASCII bytes as surrogates, and every function below works on a "byte view" of a header (a
str whose code points are the raw bytes, latin-1 style) and decodes only at the end, trying the
declared charset, then UTF-8, then GB18030.

Outgoing names are written in both forms (RFC 2231 and a quoted RFC 2047 fallback), which every
common client, Chinese or not, reads.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.utils
import html
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.mime.base import MIMEBase
from urllib.parse import quote, unquote_to_bytes

from xltool.office.container import DEFAULT_LIMITS
from xltool.util import no_surrogates

MAX_ATTACHMENT = DEFAULT_LIMITS.max_file_bytes  # no return is anywhere near this; beyond it, fetch by hand
MAX_DEPTH = 12  # nested multiparts and forwards; deeper is a crafted message
MAX_PARTS = 500

_GB = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "windows-936", "gb_2312-80", "euc-cn", "x-euc-cn",
       "csgb2312", "chinese", "gb18030"}
_WESTERN = {"us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252"}


def _codec(charset: str | None) -> str | None:
    """A Python codec for a declared charset; GB2312/GBK as GB18030, which contains both."""
    if not charset:
        return None
    name = charset.strip().strip('"').split("*")[0].lower()
    if name in _GB:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None




def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes of Chinese text, whatever the label says: the declared charset, UTF-8, GB18030.

    A western label (us-ascii, iso-8859-1) on Chinese bytes is a common client bug, so for those
    the Chinese encodings are tried first. Never returns a lone surrogate.
    """
    declared = _codec(charset)
    order = ["utf-8", "gb18030", declared] if (charset or "").lower() in _WESTERN else [declared, "utf-8", "gb18030"]
    for codec in dict.fromkeys(c for c in order if c):
        try:
            return no_surrogates(data.decode(codec))
        except (UnicodeDecodeError, LookupError):
            continue
    return no_surrogates(data.decode(declared or "gb18030", "replace"))


def byte_view(value: str) -> str:
    """The raw bytes of a parsed header as a str of code points 0-255 (undoes surrogateescape)."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "bB":
            text = text.rstrip("=")
            return base64.b64decode(text + "=" * (-len(text) % 4))
        return quopri.decodestring(text.encode("latin-1"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def decode_words(view: str) -> str:
    """RFC 2047 encoded words anywhere in a byte view, and raw 8-bit text between them.

    Adjacent words of one charset are joined before decoding: clients split GBK and UTF-8
    characters across words. Whitespace between two encoded words is dropped, as the RFC says.
    """
    pieces: list[tuple[str | None, bytes]] = []
    pos = 0
    for m in _WORD.finditer(view):
        data = _word_bytes(m[2], m[3])
        if data is None:
            continue
        gap = view[pos:m.start()]
        if gap and not (pieces and pieces[-1][0] is not None and gap.isspace()):
            pieces.append((None, gap.encode("latin-1")))
        charset = m[1].split("*")[0].lower()
        if pieces and pieces[-1][0] == charset:
            pieces[-1] = (charset, pieces[-1][1] + data)
        else:
            pieces.append((charset, data))
        pos = m.end()
    if view[pos:]:
        pieces.append((None, view[pos:].encode("latin-1")))
    return "".join(decode_text(data, charset) for charset, data in pieces)


def raw_header(msg: Message, name: str) -> str | None:
    """A header's byte view, unfolded, or None. The first occurrence wins."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            if not isinstance(value, str):
                value = str(value)
            return re.sub(r"\r?\n(?=[ \t])", "", byte_view(value))
    return None


def header_text(msg: Message, name: str) -> str:
    """A header as text: encoded words and raw GBK/UTF-8 decoded, whitespace collapsed."""
    view = raw_header(msg, name)
    return " ".join(decode_words(view).split()) if view else ""


_PARAM = re.compile(r'\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;]*))', re.S)


def _params(view: str) -> list[tuple[str, str]]:
    """The parameters of a structured header, names lowercased, quotes and escapes removed."""
    out = []
    pos = view.find(";")
    while 0 <= pos < len(view):
        m = _PARAM.match(view, pos + 1)
        if m is None:
            pos = view.find(";", pos + 1)
            continue
        # only \" and \\ are unescaped: clients put Windows paths in quotes unescaped
        value = re.sub(r'\\([\\"])', r"\1", m[2]) if m[2] is not None else m[3].strip()
        out.append((m[1].lower(), value))
        pos = view.find(";", m.end()) if m.end() < len(view) else -1
    return out


_SECTION = re.compile(r"(\d*)(\*?)")


def _extended(sections: dict[int, tuple[str, bool]]) -> str:
    """RFC 2231: join the sections, percent-decode the encoded ones, decode in the charset."""
    charset, chunks = None, []
    for i, n in enumerate(sorted(sections)):
        value, encoded = sections[n]
        if encoded:
            if i == 0 and value.count("'") >= 2:
                charset, _lang, value = value.split("'", 2)
            chunks.append(unquote_to_bytes(value.encode("latin-1")))
        else:
            chunks.append(value.encode("latin-1"))
    text = decode_text(b"".join(chunks), charset)
    return decode_words(text.encode("utf-8").decode("latin-1")) if "=?" in text else text


def param_candidates(msg: Message, header: str, name: str) -> list[str]:
    """Every reading of a parameter, the RFC 2231 form first, then the plain (or RFC 2047) one."""
    view = raw_header(msg, header)
    if view is None:
        return []
    sections: dict[int, tuple[str, bool]] = {}
    plain = None
    for key, value in _params(view):
        if key == name and plain is None:
            plain = value
        elif key.startswith(name + "*"):
            m = _SECTION.fullmatch(key[len(name) + 1:])
            if m:
                n, encoded = (0, True) if not m[1] else (int(m[1]), bool(m[2]))
                sections.setdefault(n, (value, encoded))
    out = [_extended(sections)] if sections else []
    if plain is not None:
        out.append(decode_words(plain))
    return [c for c in out if c.strip()]


def filename(msg: Message) -> str | None:
    """An attachment's file name in any of the forms clients use; the first clean reading wins."""
    candidates = param_candidates(msg, "content-disposition", "filename") + param_candidates(msg, "content-type", "name")
    best = next((c for c in candidates if "\ufffd" not in c), None) or next(iter(candidates), None)
    return basename(best) if best else None


def basename(name: str) -> str:
    """The last path component (clients sometimes send C:\\...\\x.xlsx), without control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", no_surrogates(name))
    parts = [p for p in re.split(r"[\\/]", name) if p.strip()]
    return parts[-1].strip() if parts else ""


def sender(msg: Message) -> tuple[str, str]:
    """(display name, lowercased address) of the From header."""
    name, addr = email.utils.parseaddr(header_text(msg, "from"))
    return name, addr.strip().lower()


def message_date(msg: Message) -> datetime | None:
    """The Date header as an aware datetime, or None when absent, nonsense, or out of range
    (`31 Dec 9999 23:00:00 -1200` is a valid header whose UTC time does not exist)."""
    text = header_text(msg, "date")
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        value.astimezone(timezone.utc)  # representable in UTC, so every comparison works
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return value


def parse(raw: bytes) -> Message:
    """Parse a message leniently; Python's parser records defects rather than failing."""
    return email.message_from_bytes(raw)


# --- walking a message ----------------------------------------------------------------------


@dataclass
class Attachment:
    name: str  # decoded file name, "" when the part has none
    content_type: str
    data: bytes | None  # None when over MAX_ATTACHMENT
    size: int  # decoded size (estimated from the encoded size when too large)
    forwarded: bool = False  # inside a forwarded message
    inline_image: bool = False  # a picture the HTML body shows (signature logos)


@dataclass
class Walk:
    attachments: list[Attachment] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)  # what Python's parser noticed, by class name
    truncated: bool = False  # nested too deep or too many parts: the rest was skipped
    parts: int = 0
    sniffed: int = 0  # unnamed text parts that were workbooks by their content


def walk(msg: Message, cap: int | None = None) -> Walk:
    """Every attachment and body text, through nested multiparts and forwarded messages."""
    out = Walk()
    _visit(msg, out, cap or MAX_ATTACHMENT, depth=0, forwarded=False, related=False)
    return out


def _visit(part: Message, out: Walk, cap: int, depth: int, forwarded: bool, related: bool) -> None:
    out.parts += 1
    if depth > MAX_DEPTH or out.parts > MAX_PARTS:
        out.truncated = True
        return
    out.defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
    ctype = part.get_content_type()
    if part.is_multipart():
        inner = forwarded or ctype == "message/rfc822"
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _visit(sub, out, cap, depth + 1, inner, related or ctype == "multipart/related")
        return
    name = filename(part) or ""
    disposition = (part.get_content_disposition() or "").lower()
    if ctype.startswith("text/") and not name and disposition != "attachment":
        data, size = _bounded_payload(part, cap)
        if data is None or not is_workbook_bytes(data):
            out.bodies.append(decode_text(data or b"", part.get_content_charset()))
            return
        out.sniffed += 1  # a workbook some client labelled text/plain: an attachment after all
        out.attachments.append(Attachment(name, ctype, data, size, forwarded))
        return
    data, size = _bounded_payload(part, cap)
    if data is not None and (ctype == "message/rfc822" or name.lower().endswith(".eml")):
        _visit(parse(data), out, cap, depth + 1, True, False)  # a forward sent as an .eml file
        return
    inline_image = ctype.startswith("image/") and related and not name and bool(part.get("Content-ID"))
    out.attachments.append(Attachment(name, ctype, data, size, forwarded, inline_image))


_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # xlsx (zip), xls/et (OLE)


def is_workbook_bytes(data: bytes) -> bool:
    """Content that can only be a file, never body text: a zip or an OLE compound file."""
    return data.startswith(_WORKBOOK_MAGIC)


def _payload(part: Message) -> bytes | None:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else None


def _bounded_payload(part: Message, cap: int) -> tuple[bytes | None, int]:
    """The decoded payload, or (None, estimated size) when it is over the cap: never decode a bomb."""
    raw = part.get_payload()
    encoded = len(raw) if isinstance(raw, str) else 0
    estimate = encoded * 3 // 4 if (part.get("Content-Transfer-Encoding") or "").strip().lower() == "base64" else encoded
    if estimate > cap:
        return None, estimate
    data = _payload(part) or b""
    return (None, len(data)) if len(data) > cap else (data, len(data))


# --- links to oversized attachments (超大附件) -------------------------------------------------

_URL = re.compile(r"https?://[^\s\"'<>()（）]+", re.I)
_LARGE_URL = re.compile(r"ftnExs_download|/ftn/|ftn\.qq\.com|large-?attach|bigattach|downloadLargeAttachment|"
                        r"dashi\.163\.com|fs\.(?:mail\.)?(?:163|126)\.com", re.I)
_LARGE_WORDS = ("超大附件", "大附件", "文件中转站", "附件中转")
_DOWNLOADISH = re.compile(r"download|attach|ftn|file", re.I)


def large_attachment_links(bodies: list[str]) -> list[str]:
    """Download links of attachments the webmail kept on its server (QQ, 163, Coremail).

    Known link shapes always count; any download-looking link counts when the body talks about
    超大附件, since self-hosted Coremail servers use their own host names.
    """
    links: dict[str, None] = {}
    for body in bodies:
        text = html.unescape(body)
        mentioned = any(w in text for w in _LARGE_WORDS)
        for url in _URL.findall(text):
            url = url.rstrip(".,;:，。；")
            if _LARGE_URL.search(url) or (mentioned and _DOWNLOADISH.search(url)):
                links[url] = None
    return list(links)


# --- writing ----------------------------------------------------------------------------------

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def encoded_words(text: str, limit: int = 45) -> str:
    """RFC 2047 B-words of at most `limit` UTF-8 bytes each, never splitting a character."""
    words, chunk = [], b""
    for ch in text:
        b = ch.encode("utf-8")
        if chunk and len(chunk) + len(b) > limit:
            words.append(chunk)
            chunk = b""
        chunk += b
    words.append(chunk)
    return " ".join(f"=?UTF-8?B?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def rfc2231(name: str, text: str, limit: int = 60) -> str:
    """`name*=UTF-8''...`, split into numbered sections when long (never inside a %XX)."""
    encoded = quote(text.encode("utf-8"), safe="")
    if len(encoded) <= limit:
        return f"{name}*=UTF-8''{encoded}"
    sections, start = [], 0
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and "%" in encoded[end - 2:end]:
            end -= 1  # back off so a %XX triplet stays whole
        sections.append(encoded[start:end])
        start = end
    first = f"{name}*0*=UTF-8''{sections[0]}"
    return "; ".join([first] + [f"{name}*{i}*={s}" for i, s in enumerate(sections[1:], 1)])


def attachment_part(data: bytes, name: str, mime_type: tuple[str, str] = XLSX_TYPE) -> MIMEBase:
    """An attachment whose Chinese name every common client shows: RFC 2231 and RFC 2047 both."""
    part = MIMEBase(*mime_type)
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    part["Content-Transfer-Encoding"] = "base64"
    del part["MIME-Version"]
    fallback = encoded_words(name) if not name.isascii() else name.replace("\\", "").replace('"', "")
    part.replace_header("Content-Type", f'{mime_type[0]}/{mime_type[1]}; name="{fallback}"')
    part["Content-Disposition"] = f'attachment; filename="{fallback}"; {rfc2231("filename", name)}'
    return part
