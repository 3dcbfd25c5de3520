"""Text of unknown encoding, as government pages and text files come: UTF-8 (with or without a
BOM), GBK/GB18030/GB2312, sometimes declared wrongly. A declared encoding is tried first, but
only believed when the bytes decode under it cleanly."""

from __future__ import annotations

import codecs

# GB2312 and GBK are subsets of GB18030: decoding as GB18030 reads all three.
ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "gb_2312-80": "gb18030",
           "euc-cn": "gb18030", "hz-gb-2312": "gb18030"}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was read in. Order: a BOM; the declared encoding if the
    bytes are valid in it; UTF-8; GB18030; else UTF-8 with the undecodable bytes replaced."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace"), name
    tried = []
    for name in (_codec(declared), "utf-8", "gb18030"):
        if name and name not in tried:
            tried.append(name)
            try:
                return data.decode(name), name
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("utf-8", "replace"), "utf-8"
