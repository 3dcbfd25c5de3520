"""Returns that arrive zipped: list and extract a .zip attachment without trusting it.

Windows' "send to compressed folder" and WinRAR in China write member names in GBK without
the zip's UTF-8 flag; Python then reads them as CP437, so the raw bytes are recovered and
decoded as Chinese text. Extraction is capped while streaming, whatever the directory claims.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from xltool.errors import InputError
from xltool.mail import mime
from xltool.mail.mime import basename, decode_text
from xltool.office.container import DEFAULT_LIMITS
from xltool.util import no_surrogates

MAX_MEMBERS = 200
MAX_TOTAL = DEFAULT_LIMITS.max_total_bytes
MAX_RATIO = DEFAULT_LIMITS.max_ratio  # declared expansion of one member, for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
_CHUNK = 1 << 20
_JUNK = ("__macosx/", ".ds_store", "thumbs.db", "desktop.ini")


@dataclass
class Member:
    name: str
    data: bytes | None  # None when it could not be extracted; `problem` says why
    size: int
    problem: str | None = None


@dataclass
class Allowance:
    """How many bytes the archives of one message (and of the run) may still expand to: counted
    in bytes actually decompressed, so a directory that lies changes nothing."""

    left: int
    over: str = "压缩包解压后的总量超过上限，其余文件未解压，请解压后直接报送 .xlsx 报表。"
    used: int = 0
    refused: bool = False  # some member was not extracted because of this allowance

    def spend(self, n: int) -> None:
        self.left -= n
        self.used += n

    def refuse(self) -> str:
        self.refused = True
        return self.over


class ArchiveError(InputError):
    """A zip attachment that cannot be opened safely."""


def is_archive(data: bytes) -> bool:
    """A plain zip: not an Office document, not an OpenDocument, not an OFD (all zips too)."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        names = {n.lower() for n in zipfile.ZipFile(io.BytesIO(data)).namelist()}
    except Exception:  # a damaged zip: let the workbook reader name the damage
        return False
    return not ({"[content_types].xml", "mimetype", "ofd.xml"} & names)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as the sender saw it: UTF-8 when flagged, else GBK or UTF-8 bytes."""
    if info.flag_bits & 0x800:
        return no_surrogates(info.filename)
    return decode_text(info.filename.encode("cp437"))


def members(data: bytes, allowance: Allowance | None = None) -> Iterator[Member]:
    """The files in a zip, one at a time, each extracted under the caps or with the reason it
    was not. The zip is opened (and refused) at once; members are extracted as they are asked
    for, so only the one being looked at is in memory."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except Exception:
        raise ArchiveError("压缩包已损坏，无法打开。") from None
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"压缩包内文件过多（{len(infos)} 个），已拒绝解压。")
    return _members(zf, infos, allowance or Allowance(MAX_TOTAL))


def _members(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], allowance: Allowance) -> Iterator[Member]:
    for info in infos:
        name = member_name(info)
        if any(j in name.lower() for j in _JUNK):
            continue
        yield _extract(zf, info, basename(name) or name, allowance)


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, allowance: Allowance) -> Member:
    """One member, after checking what the directory declares (size, ratio, budget) and counting
    what is actually decompressed against the same caps."""
    declared = info.file_size
    if info.flag_bits & 0x1:
        return Member(name, None, declared, "压缩包内的文件已加密（设置了密码），无法解压。")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return Member(name, None, declared, "压缩包使用了不常见的压缩方式，请解压后直接报送。")
    if declared > mime.MAX_ATTACHMENT:
        return Member(name, None, declared, "压缩包内的文件解压后过大，已拒绝解压。")
    if declared > RATIO_FLOOR and declared > MAX_RATIO * max(info.compress_size, 1):
        return Member(name, None, declared, f"压缩包内的文件压缩比异常（{declared // max(info.compress_size, 1)} 倍，"
                                            "疑似压缩炸弹），已拒绝解压。")
    if declared > allowance.left:
        return Member(name, None, declared, allowance.refuse())
    cap = min(mime.MAX_ATTACHMENT, allowance.left)
    chunks, size = [], 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(_CHUNK):
                size += len(chunk)
                allowance.spend(len(chunk))
                if size > cap:
                    reason = "压缩包内的文件解压后过大，已拒绝解压。" if cap == mime.MAX_ATTACHMENT else allowance.refuse()
                    return Member(name, None, size, reason)
                chunks.append(chunk)
    except Exception:  # CRC errors, truncated data, zlib errors
        return Member(name, None, declared, "压缩包内的文件已损坏，无法解压。")
    return Member(name, b"".join(chunks), size)
