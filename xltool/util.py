"""Small pieces every command needs: atomic writes, secrets, progress, safe file names."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

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
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".xltool-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
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
    msvcrt on Windows), so it dies with the process: a kill -9 never leaves a stale lock."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as e:
        raise UsageError(f"无法锁定输出文件夹 {folder}：{e.strerror or e}。") from None
    try:
        if not _try_lock(fd):
            raise UsageError(f"{what}正在使用输出文件夹 {folder}。请等它结束后再运行；"
                             f"同一个文件夹不能同时由两个命令写入。")
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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


def refuse_overlap(output: str | os.PathLike, inputs: Sequence[str | os.PathLike], *, output_is_dir: bool) -> None:
    """Refuse (exit 2) an output that would overwrite or mix with the inputs: the output is an
    input file, lies inside an input folder, or contains one. Writing a file next to a single
    input file is fine."""
    out = _resolved(output)
    for item in inputs:
        src = _resolved(item)
        if out == src:
            raise UsageError(f"输出位置 {output} 就是输入 {item}：输入文件不能被覆盖，请换一个输出位置。")
        if Path(item).is_dir() and out.is_relative_to(src):
            raise UsageError(f"输出位置 {output} 在输入文件夹 {item} 里面：下次读取时会把输出当成收到的文件。"
                             f"请换一个输出位置。")
        if output_is_dir and src.is_relative_to(out) and Path(item).is_dir():
            raise UsageError(f"输出文件夹 {output} 包含输入文件夹 {item}：请换一个输出位置。")


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(path)).resolve()


def read_secret(file: str | None, env: str) -> bytes | None:
    """A secret from a file (first line, stripped) or an environment variable, never an argument."""
    if file:
        try:
            data = Path(file).read_bytes().strip()
        except OSError as e:
            raise UsageError(f"无法读取密钥文件 {file}：{e.strerror or e}。") from None
        if not data:
            raise UsageError(f"密钥文件 {file} 是空的。")
        return data.splitlines()[0].strip()
    value = os.environ.get(env, "").strip()
    return value.encode("utf-8") if value else None


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe_filename(text: str, limit: int = 60) -> str:
    return _UNSAFE.sub("_", text).strip(" .")[:limit] or "_"


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
