"""Small pieces every command needs: atomic writes, secrets, progress, safe file names."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO, TypeVar

from xltool.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")


def find_soffice() -> str | None:
    """Path of LibreOffice's `soffice` launcher, or None when it is not installed."""
    for name in ("soffice", "libreoffice"):
        if found := shutil.which(name):
            return found
    fallback = Path("/usr/lib/libreoffice/program/soffice")
    return str(fallback) if fallback.exists() else None


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write a file so that a crash leaves the old file or none, never half a file."""
    with atomic_file(path) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, suffix: str = ".part") -> Iterator[BinaryIO]:
    """A file (open for writing and reading back) that takes the place of `path` only when the
    block ends without an error; for outputs streamed rather than held in memory."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".xltool-", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable_dir(path: Path) -> None:
    """Create the output folder or say plainly why it cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".xltool-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"输出文件夹 {path} 无法写入：{e.strerror or e}。") from None


LOCK_NAME = ".xltool.lock"


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike, what: str = "另一个 xltool 命令") -> Iterator[None]:
    """Hold the output folder for this run: a second run on the same folder is refused (exit 2)
    instead of both writing half a manifest. The lock is the operating system's (flock, or
    msvcrt on Windows), so it dies with the process: a kill -9 never leaves a stale lock (only
    an unlocked file, reused by the next run). A clean exit removes the file, so the folder holds
    only what the command wrote."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = _locked(path, folder, what)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still held: a run that opened this file finds it gone and retries
        os.close(fd)  # closing the descriptor releases the lock


def _locked(path: Path, folder: Path, what: str) -> int:
    """A descriptor of the lock file, locked, and still the file at `path` (a run finishing at
    that moment may have removed it: then open the new one)."""
    for _ in range(8):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as e:
            raise UsageError(f"无法锁定输出文件夹 {folder}：{e.strerror or e}。") from None
        if not _try_lock(fd):
            os.close(fd)
            raise UsageError(f"{what}正在使用输出文件夹 {folder}。请等它结束后再运行；"
                             f"同一个文件夹不能同时由两个命令写入。")
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                return fd
        except OSError:
            pass  # removed by the run that just finished
        os.close(fd)
    raise UsageError(f"无法锁定输出文件夹 {folder}：锁文件 {LOCK_NAME} 不断被删除，请稍后再试。")


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def refuse_overlap(output: str | os.PathLike, inputs: Sequence[str | os.PathLike | None], *,
                   output_is_dir: bool, writes_returns: bool = False) -> None:
    """Refuse (exit 2) an output that would overwrite or mix with the inputs: the output is an
    input file, lies inside an input folder, or contains one. Writing a file next to a single
    input file is fine, unless the output is a folder of workbooks that a later run would read
    as returns (`writes_returns`: annotated copies). None among the inputs (an option not given)
    is skipped."""
    out = _resolved(output)
    for item in inputs:
        if item is None:
            continue
        src, is_dir = _resolved(item), Path(item).is_dir()
        if out == src:
            what = f"输入文件夹 {item}：输出会混进收到的文件" if is_dir else f"输入 {item}：输入文件不能被覆盖"
            raise UsageError(f"输出位置 {output} 就是{what}。请换一个输出位置。")
        if is_dir and out.is_relative_to(src):
            raise UsageError(f"输出位置 {output} 在输入文件夹 {item} 里面：下次读取时会把输出当成收到的文件。"
                             f"请换一个输出位置。")
        if output_is_dir and writes_returns and not is_dir and src.is_relative_to(out):
            raise UsageError(f"输出文件夹 {output} 里有输入文件 {item}：写在这里的批注副本下次会被当成报表读取。"
                             f"请换一个输出文件夹。")
        if output_is_dir and is_dir and src.is_relative_to(out):
            raise UsageError(f"输出文件夹 {output} 包含输入文件夹 {item}：输出会和收到的文件混在一起。请换一个输出位置。")


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(path)).resolve()


class NotRegularFile(OSError):
    """Opened, and found not to be a regular file (a FIFO, a device, a folder); `mode` says which."""

    def __init__(self, mode: int):
        super().__init__(f"not a regular file (mode {mode:o})")
        self.mode = mode


def read_regular(path: str | os.PathLike, cap: int, *, follow_links: bool = True) -> tuple[bytes | None, os.stat_result]:
    """(content, or None when over `cap` bytes; the stat of what was opened) of a regular file.
    Opened without blocking and checked on the open descriptor, so a FIFO, a device or a file
    swapped for one between a check and the open is refused (NotRegularFile) and never read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(st.st_mode)
        if st.st_size > cap:
            return None, st
        data = f.read(cap + 1)  # a file that grows while it is read stops at the cap
    return (data if len(data) <= cap else None), st


def read_input(path: str | os.PathLike, cap: int, what: str) -> bytes:
    """A small input file the user names (a key, a roster, a narrative, a record), read only when
    it is a regular file within `cap` bytes: a FIFO or /dev/zero named as one is refused, never
    read. `what` names it in the message (密钥文件, 名单文件, …); exit status 2."""
    try:
        data, _ = read_regular(path, cap)
    except NotRegularFile:
        raise UsageError(f"{what} {path} 不是普通文件（可能是管道、设备或指向它们的链接），未读取。") from None
    except OSError as e:
        raise UsageError(f"无法读取{what} {path}：{e.strerror or e}。") from None
    if data is None:
        raise UsageError(f"{what} {path} 过大（超过 {max(1, cap // 1024)} KB），不像是{what}。")
    return data


def read_secret(file: str | None, env: str) -> bytes | None:
    """A secret from a file (first line, stripped) or an environment variable, never an argument."""
    if file:
        data = read_input(file, 64 * 1024, "密钥文件").strip()
        if not data:
            raise UsageError(f"密钥文件 {file} 是空的。")
        return data.splitlines()[0].strip()
    value = os.environ.get(env)
    if value is None:
        return None
    if not value.strip():  # set but empty: a mistake, never a silent "no signature check"
        raise UsageError(f"环境变量 {env} 已设置但是空的：请把它设为密钥（或密码），或用 unset {env}"
                         f"（Windows：set {env}=）取消这个变量。")
    return value.strip().encode("utf-8", "surrogateescape")


_SURROGATE = re.compile("[\ud800-\udfff]")


def no_surrogates(text: str) -> str:
    """Text safe for JSON, UTF-8 files and the terminal: a lone surrogate (what a UTF-7 or UTF-16
    encoded word can decode to, or a file name that is not UTF-8) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 cannot hold (control characters, lone surrogates,
    U+FFFE/U+FFFF): they would make a DOCX, a workbook or a file name unwritable."""
    return _NOT_XML.sub("", text)


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


# What makes most Chinese text fail NFKC's quick check: full-width punctuation and digits, the
# ideographic space, the ellipsis. NFKC turns each into plain ASCII (its compatibility
# decomposition), so replacing them first leaves the text's NFKC unchanged (both decompose to the
# same characters), and the full normalisation runs only on text that still needs it.
_WIDE = tuple((c, unicodedata.normalize("NFKC", c)) for c in "，：；（）！？　％．／－～…０１２３４５６７８９")


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, fast on Chinese prose: NFKC costs ~200 ns a
    character even where it changes nothing, and one full-width comma is enough to need it."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for wide, narrow in _WIDE:
        if wide in text:
            text = text.replace(wide, narrow)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def safe_filename(text: str, limit: int = 60) -> str:
    return _UNSAFE.sub("_", text).strip(" .")[:limit] or "_"


def _name_part(text: str) -> str:
    """Path separators and reserved characters as "_"; invisible and direction-changing
    characters (format, control, surrogate, line separators) dropped: a name shows what it is."""
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    return _UNSAFE.sub("_", text)


MAX_NAME_BYTES = 255  # a file name's limit on Linux, macOS and Windows file systems (UTF-8 bytes on Linux)


def bounded_filename(stem: str, suffix: str = "", *, keep: str = "", limit: int = MAX_NAME_BYTES) -> str:
    """A safe file name of at most `limit` bytes in UTF-8: `keep` (the agency code, say) whole
    and first, then as much of `stem` as fits, cut at a character, then `suffix` (".xlsx")
    whole. bounded_filename("某局…", "_审核意见.xlsx", keep="001_") -> "001_某局…_审核意见.xlsx"."""
    keep, suffix = _name_part(keep), _name_part(suffix)
    room = limit - len((keep + suffix).encode("utf-8"))
    if room < 1:
        raise ValueError(f"no room for a name between {keep!r} and {suffix!r}")
    body = _name_part(stem).strip(" .")
    cut = body.encode("utf-8")[:room].decode("utf-8", "ignore")
    return keep + (cut.rstrip(" .") or ("_" if not keep else "")) + suffix


def parallel_map(fn: Callable[[T], R], jobs: list[T], label: str, *, parallel_from: int,
                 workers: int | None = None, chunksize: int = 8, show_progress: bool = True) -> list[R]:
    """`fn` over the jobs, in order, on both cores when there are enough jobs to pay for the
    worker processes; a progress bar on a terminal."""
    workers = workers or min(2, os.cpu_count() or 1)
    if len(jobs) < parallel_from or workers < 2:
        results: Iterable[R] = map(fn, jobs)
        return list(progress(results, len(jobs), label) if show_progress else results)
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(fn, jobs, chunksize=chunksize)
        return list(progress(results, len(jobs), label) if show_progress else results)


def progress(items: Iterable[T], total: int, label: str, stream=None) -> Iterator[T]:
    """A progress bar on a terminal; nothing when the output is piped."""
    stream = stream or sys.stderr
    show = total > 1 and stream.isatty()
    start = time.monotonic()
    for done, item in enumerate(items, 1):
        yield item
        if show and (done == total or done % max(1, total // 100) == 0):
            width = 30
            filled = width * done // total
            elapsed = time.monotonic() - start
            stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {elapsed:.1f}s")
            stream.flush()
    if show:
        stream.write("\n")
