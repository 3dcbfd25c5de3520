"""Text of unknown encoding, as government pages and text files come: UTF-8 (with or without a
BOM), GBK/GB18030/GB2312, often declared wrongly (a page that says UTF-8 and is GBK, or says
gb2312 and is UTF-8). The bytes decide: bytes that are valid UTF-8 beyond ASCII are UTF-8
whatever the page says (GBK text is practically never valid UTF-8, while UTF-8 text often
decodes as GB18030 into nonsense); otherwise the declared encoding when the bytes are valid in
it, then GB18030."""

from __future__ import annotations

import codecs
import re

# GB2312 and GBK are subsets of GB18030: decoding as GB18030 reads all three.
ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "gb_2312-80": "gb18030",
           "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "iso-8859-1": "cp1252", "latin1": "cp1252",
           "us-ascii": "cp1252", "ascii": "cp1252"}

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHARSET = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _single_byte(codec: str) -> bool:
    """Latin-1, windows-1252 and the like: every byte is a character, so any bytes decode."""
    try:
        return len(bytes(range(0x80, 0x100)).decode(codec, "replace")) == 0x80
    except (LookupError, UnicodeError):
        return False


def declared_in_html(data: bytes) -> str | None:
    """The charset a page declares in its head: <meta charset=...> or <meta http-equiv=
    "Content-Type" content="text/html; charset=...">."""
    match = _CHARSET.search(data[:16384])
    return match.group(1).decode("ascii") if match else None


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was read in. Order: a BOM; UTF-8 when the bytes are valid
    UTF-8; the declared encoding (a multi-byte one) if the bytes are valid in it; GB18030; a
    declared single-byte encoding; else the reading with the fewest undecodable bytes, replaced."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace"), name
    codec = _codec(declared)
    single = codec is not None and _single_byte(codec)
    tried: list[str] = []
    for candidate in ("utf-8", None if single else codec, "gb18030", codec):
        if candidate and candidate not in tried:
            tried.append(candidate)
            try:
                return data.decode(candidate), candidate
            except (UnicodeDecodeError, LookupError):
                continue
    # Damaged bytes (a page cut short, a stray byte): the reading that loses least.
    readings = [(data.decode(candidate, "replace"), candidate) for candidate in tried]
    return min(readings, key=lambda r: r[0].count("\ufffd"))
