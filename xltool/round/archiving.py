"""The archive of a closed round (`xltool archive`): one zip holding what the office must keep,
with a manifest of SHA-256 sums inside, and the zip's own SHA-256 beside it for the office's
archive register (a manifest inside a zip proves nothing against whoever rewrites both).

Packed: round.toml, the roster and the narrative file named in it, 下发/, 发件箱/, 收到/, 批注/,
确认记录.json, 汇总/, 报告/, 导入/. Never packed: the signing key (by its path, and any file whose
content is the key), hidden files, xltool's temporaries and locks, Office's `~$` owner files,
symbolic links (they may point anywhere), and 归档/ itself.

Both directions stream: a round of 2,000 returns is a few hundred MB, so no member is ever held
whole in memory. `check` treats the zip as hostile: the entry count is bounded before the
directory is read, every member is decompressed in chunks under caps (per member, in total, and
a ratio for big members, as xltool.office.container does), nothing is ever extracted to disk,
and a member name that climbs out of its folder is a finding, never a path."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from xltool.errors import UsageError
from xltool.office.container import DEFAULT_LIMITS, RATIO_FLOOR
from xltool.round import folder as rf
from xltool.round.dates import CST
from xltool.util import (
    atomic_file,
    atomic_write,
    check_writable_dir,
    no_surrogates,
    read_input,
    refuse_overlap,
    safe_filename,
)

MANIFEST = "归档清单.json"
FORMAT = "xltool-round-archive"
PACKED_FOLDERS = (rf.DIST, rf.OUTBOX, rf.RECEIVED, rf.ANNOTATED, rf.MERGED, rf.REPORTS, rf.IMPORTED)
CHUNK = 1 << 20
SMALL = 64 * 1024  # files up to this size are compared with the key before packing
MAX_MEMBERS = 200_000  # a round of 2,000 agencies holds some tens of thousands of files
MAX_MANIFEST = 128 * 1024 * 1024  # decompressed; ~200 bytes a member
MAX_MEMBER = 4 * 1024 ** 3  # actually decompressed, per member
MAX_TOTAL = 32 * 1024 ** 3  # actually decompressed, over the whole check
MAX_RATIO = DEFAULT_LIMITS.max_ratio
_EOCD, _EOCD64_LOCATOR, _EOCD64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"


# -- packing -----------------------------------------------------------------------------------

@dataclass
class Packed:
    """What `pack` wrote: the zip, its own SHA-256, its members and what it left out and why."""

    file: Path
    sha256: str
    size: int
    members: int
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def sum_file(self) -> Path:
        return sum_file(self.file)

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "sha256": self.sha256, "size": self.size, "members": self.members,
                "sha256_file": str(self.sum_file), "skipped": self.skipped}


def sum_file(zip_path: Path) -> Path:
    return zip_path.with_name(zip_path.name + ".sha256")


def default_output(rnd: rf.Round, today: datetime | None = None) -> Path:
    """归档/<year>年度_<coordinator name>_<YYYYMMDD>.zip"""
    day = (today or datetime.now(CST)).strftime("%Y%m%d")
    return rnd.archives / f"{rnd.year}年度_{safe_filename(rnd.coordinator.name)}_{day}.zip"


class _Key:
    """Recognises the signing key: its file by path, and any small file whose content is it."""

    def __init__(self, rnd: rf.Round):
        self.path = rnd.key_file.resolve() if rnd.key_file else None
        self.texts: set[bytes] = set()
        if rnd.key_file is not None:
            try:
                raw = read_input(rnd.key_file, SMALL, "密钥文件")
                self.texts |= {raw, raw.strip()}
            except UsageError:
                pass  # a key kept elsewhere (a USB stick): then only its path and the secret below
        try:
            secret = rnd.key()
        except UsageError:
            secret = None
        if secret:
            self.texts.add(secret.strip())
        self.texts.discard(b"")

    def is_path(self, path: Path) -> bool:
        return self.path is not None and path.resolve() == self.path

    def is_content(self, head: bytes, size: int) -> bool:
        return size <= SMALL and (head in self.texts or head.strip() in self.texts)


def _hidden(name: str) -> bool:
    """Hidden files, xltool's temporaries (.xltool-*) and locks, Office's and LibreOffice's owner files."""
    return name.startswith((".", "~$"))


def _candidates(rnd: rf.Round) -> Iterator[Path]:
    """Every path the archive considers, in a stable order (files and symbolic links, not folders)."""
    root = rnd.root
    singles = [rf.NAME, rf.CONFIRMATIONS]
    for extra in (rnd.roster, rnd.narrative):
        if extra is not None and extra.absolute().parent == root:
            singles.append(extra.name)
    for name in dict.fromkeys(singles):
        if os.path.lexists(root / name):
            yield root / name
    for top in PACKED_FOLDERS:
        base = root / top
        if not base.is_dir() or base.is_symlink():
            continue
        for here, dirs, files in os.walk(base):
            here_path = Path(here)
            links = sorted(d for d in dirs if (here_path / d).is_symlink())
            dirs[:] = sorted(d for d in dirs if not _hidden(d) and d not in links)
            for name in sorted(files) + links:
                if not _hidden(name):
                    yield here_path / name


def _open_regular(path: Path) -> tuple[BinaryIO, os.stat_result] | None:
    """The file opened for reading, or None for a symbolic link or anything not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb"), st


def _member_info(arcname: str, mtime: float) -> zipfile.ZipInfo:
    when = datetime.fromtimestamp(mtime).timetuple()[:6]
    info = zipfile.ZipInfo(arcname, date_time=max(when, (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(zf: zipfile.ZipFile, arcname: str, source: BinaryIO, head: bytes, st: os.stat_result) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with zf.open(_member_info(arcname, st.st_mtime), "w", force_zip64=st.st_size > 1 << 30) as out:
        chunk = head
        while chunk:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
            chunk = source.read(CHUNK)
    return {"path": arcname, "size": size, "sha256": digest.hexdigest()}


def _round_facts(rnd: rf.Round) -> dict[str, Any]:
    return {"year": rnd.year, "coordinator": {"code": rnd.coordinator.code, "name": rnd.coordinator.name},
            "deadline": rnd.deadline.isoformat() if rnd.deadline else None,
            "issued": rnd.issued.isoformat() if rnd.issued else None}


def pack(rnd: rf.Round, output: Path | None = None) -> Packed:
    """Write the round's archive (atomically: a crash leaves the old zip or none) and its
    `.sha256` file beside it; return what was written."""
    target = (output or default_output(rnd)).absolute()
    if target.suffix.lower() != ".zip":
        raise UsageError(f"归档文件应以 .zip 结尾：{target}")
    refuse_overlap(target, [rnd.root / name for name in PACKED_FOLDERS if (rnd.root / name).is_dir()],
                   output_is_dir=False)
    check_writable_dir(target.parent)
    key = _Key(rnd)
    with atomic_file(target, ".zip.part") as raw:
        members, skipped = _write_zip(raw, rnd, key, {target, sum_file(target)})
        raw.flush()
        os.fsync(raw.fileno())
        raw.seek(0)
        digest, size = _sha256_stream(raw)
    atomic_write(sum_file(target), f"{digest}  {target.name}\n".encode())
    return Packed(target, digest, size, members, skipped)


def _write_zip(raw: BinaryIO, rnd: rf.Round, key: _Key, outputs: set[Path]) -> tuple[int, list[dict[str, str]]]:
    entries: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for path in _candidates(rnd):
            arcname = path.relative_to(rnd.root).as_posix()
            if key.is_path(path) or path.absolute() in outputs:
                continue  # the key is never archived, nor said to be anywhere in the archive
            opened = _open_regular(path)
            if opened is None:
                skipped.append({"path": arcname, "reason": "符号链接或不是普通文件，未打包"})
                continue
            source, st = opened
            with source:
                head = source.read(SMALL + 1) if st.st_size <= SMALL else source.read(CHUNK)
                if key.is_content(head, st.st_size):
                    continue
                entries.append(_add(zf, arcname, source, head, st))
        manifest = {"format": FORMAT, "version": 1, "created": datetime.now(CST).isoformat(timespec="seconds"),
                    "round": _round_facts(rnd), "members": entries, "skipped": skipped}
        zf.writestr(_member_info(MANIFEST, datetime.now().timestamp()),
                    json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    return len(entries), skipped


def _sha256_stream(f: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := f.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


# -- checking ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    kind: str  # missing | extra | changed | unsafe-name | unreadable | duplicate | zip-sha256
    path: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


@dataclass
class Checked:
    file: Path
    sha256: str
    expected: str | None
    members: int = 0
    round: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "ok": self.ok, "sha256": self.sha256, "sha256_expected": self.expected,
                "sha256_ok": None if self.expected is None else self.expected == self.sha256,
                "members": self.members, "round": self.round, "created": self.created,
                "differences": [d.to_json() for d in self.differences]}


def _expected_sum(text: str | None) -> str | None:
    """A SHA-256 as registered: 64 hex digits, optionally followed by the file name (sha256sum's line)."""
    if text is None:
        return None
    word = (text.split() or [""])[0].lower()
    if len(word) != 64 or any(c not in "0123456789abcdef" for c in word):
        raise UsageError(f"--sha256 应为 64 位十六进制的 SHA-256 值（如归档时打印的或 .sha256 文件中的），而不是“{text[:80]}”。")
    return word


def _entry_count(f: BinaryIO, size: int) -> int | None:
    """The entry count the end record declares (zip64 too), read before zipfile builds its
    directory; None when there is no end record."""
    tail_len = min(size, 22 + 0xFFFF + 20)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    i = tail.rfind(_EOCD)
    if i < 0 or i + 22 > len(tail):
        return None
    count, = struct.unpack_from("<H", tail, i + 10)
    loc = i - 20
    if count == 0xFFFF and loc >= 0 and tail[loc:loc + 4] == _EOCD64_LOCATOR:
        offset, = struct.unpack_from("<Q", tail, loc + 8)
        if offset + 56 <= size:
            f.seek(offset)
            record = f.read(56)
            if record[:4] == _EOCD64:
                count, = struct.unpack_from("<Q", record, 32)
    return count


def _unsafe(name: str) -> bool:
    """A member name that would land outside the folder it is extracted to."""
    if name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_TOTAL


def _stream_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget) -> tuple[str, int] | str:
    """(sha256, size) of a member read in chunks under the caps, or why it could not be read.
    A member longer than `cap` (the size the manifest records) is read no further: its sum is
    then empty, so it differs."""
    if info.flag_bits & 0x1:
        return "已加密，无法核对"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return "使用了 xltool 不会使用的压缩方式，未解压"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return f"压缩比异常（{info.file_size // max(info.compress_size, 1)} 倍，疑似压缩炸弹），未解压"
    digest, size = hashlib.sha256(), 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):
                size += len(chunk)
                budget.left -= len(chunk)
                if budget.left < 0:
                    return "解压总量超过上限，已停止解压"
                if size > cap:
                    return "", size
                digest.update(chunk)
    except Exception:  # CRC errors, truncated or damaged data, zlib errors
        return "已损坏，无法解压"
    return digest.hexdigest(), size


def _read_manifest(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
    if info.file_size > MAX_MANIFEST:
        raise UsageError(f"归档中的 {MANIFEST} 过大，不是 xltool 写的归档清单。")
    chunks, size = [], 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):
                size += len(chunk)
                if size > MAX_MANIFEST:
                    raise UsageError(f"归档中的 {MANIFEST} 过大，不是 xltool 写的归档清单。")
                chunks.append(chunk)
        doc = json.loads(b"".join(chunks).decode("utf-8"))
    except UsageError:
        raise
    except Exception:
        raise UsageError(f"归档中的 {MANIFEST} 已损坏或不是 JSON，无法核对。") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"归档中的 {MANIFEST} 不是 xltool 的归档清单。")
    members = doc.get("members")
    if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("path"), str) and isinstance(m.get("size"), int)
            and isinstance(m.get("sha256"), str) for m in members):
        raise UsageError(f"归档中的 {MANIFEST} 缺少 members（每项有 path、size、sha256），无法核对。")
    return doc


def check(path: Path, expected_sum: str | None = None) -> Checked:
    """Re-verify an archive: every member against the manifest (missing, extra, changed), and
    the zip itself against the registered SHA-256 when given. UsageError when it is not an
    archive at all (not a zip, no manifest)."""
    expected = _expected_sum(expected_sum)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the zip that reads it
    except FileNotFoundError:
        raise UsageError(f"找不到归档文件 {path}。") from None
    except OSError as e:
        raise UsageError(f"无法读取归档文件 {path}：{e.strerror or e}。") from None
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise UsageError(f"{path} 不是文件。")
        digest, size = _sha256_stream(f)
        result = Checked(path, digest, expected)
        if expected is not None and expected != digest:
            result.differences.append(Difference(
                "zip-sha256", None, f"归档文件本身的 SHA-256 与登记的不一致：登记的是 {expected}，实际是 {digest}。"
                                    "归档文件已被改动或换成了另一个文件。"))
        f.seek(0)
        if f.read(4) != b"PK\x03\x04":
            raise UsageError(f"{path} 不是 zip 文件（不是 xltool archive 写的归档）。")
        count = _entry_count(f, size)
        if count is None:
            raise UsageError(f"{path} 不是完整的 zip 文件（找不到目录），无法核对。")
        if count > MAX_MEMBERS:
            raise UsageError(f"{path} 中的条目过多（{count} 个，上限 {MAX_MEMBERS} 个），不是 xltool 写的归档。")
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise UsageError(f"{path} 是损坏的 zip 文件，无法核对。") from None
        with zf:
            _compare(zf, result)
    return result


def _compare(zf: zipfile.ZipFile, result: Checked) -> None:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [no_surrogates(i.filename) for i in infos]
    manifest_info = next((i for i, n in zip(infos, names) if n == MANIFEST), None)
    if manifest_info is None:
        raise UsageError(f"归档中没有 {MANIFEST}，不是 xltool archive 写的归档，无法核对。")
    doc = _read_manifest(zf, manifest_info)
    facts, created = doc.get("round"), doc.get("created")
    result.round = facts if isinstance(facts, dict) else {}
    result.created = created if isinstance(created, str) else None
    listed: dict[str, dict[str, Any]] = {}
    for m in doc["members"]:
        listed.setdefault(m["path"], m)
    result.members = len(listed)
    seen: set[str] = set()
    budget = _Budget()
    add = result.differences.append
    for info, name in zip(infos, names):
        if info is manifest_info:
            continue
        if _unsafe(name):
            add(Difference("unsafe-name", name, f"{name}：文件名含有“..”或绝对路径，解压时会写到归档文件夹之外（未解压）。"))
        if name in seen:
            add(Difference("duplicate", name, f"{name}：归档中出现了两次。"))
            continue
        seen.add(name)
        entry = listed.get(name)
        if entry is None:
            add(Difference("extra", name, f"{name}：清单中没有这个文件，是后来加入的。"))
            continue
        got = _stream_member(zf, info, min(entry["size"], MAX_MEMBER), budget)
        if isinstance(got, str):
            add(Difference("unreadable", name, f"{name}：{got}。"))
        elif got != (entry["sha256"].lower(), entry["size"]):
            size = f"{got[1]} 字节" if got[0] else f"超过 {entry['size']} 字节"
            add(Difference("changed", name, f"{name}：内容与清单记录的 SHA-256 不一致（清单 {entry['size']} 字节，"
                                            f"实际 {size}），已被改动。"))
    for name in listed:
        if name not in seen:
            add(Difference("missing", name, f"{name}：清单中有这个文件，归档中却没有（已被删除）。"))
