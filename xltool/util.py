"""Small pieces every command needs: atomic writes, secrets, progress, safe file names."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
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
