"""Run a real headless Chromium from the tests: screenshots, the DOM after scripts ran, and
printing to PDF. Every run gets a private profile and is bounded by a timeout; the process
group is ended afterwards, since Chromium starts helpers.

Also a small PNG reader (no Pillow here), enough for the 8-bit RGB/RGBA images Chromium writes.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def run(url_or_path: str | Path, *extra: str, width: int = 1280, height: int = 900, timeout: float = 90) -> str:
    """Run Chromium once on a page; returns its standard output (the DOM for --dump-dom)."""
    chromium = find_chromium()
    assert chromium, "chromium not installed"
    target = str(url_or_path)
    if not target.startswith(("file:", "data:")):
        target = Path(target).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="xltool-chromium-") as profile:
        args = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *extra, target]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, cwd=profile)
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if proc.returncode != 0:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return out.decode("utf-8", errors="replace")


def screenshot(page: Path | str, png: Path, width: int, height: int) -> Path:
    run(page, f"--screenshot={png}", width=width, height=height)
    assert png.is_file(), "chromium wrote no screenshot"
    return png


def dump_dom(page: Path, width: int, height: int = 900) -> str:
    return run(page, "--virtual-time-budget=2000", "--dump-dom", width=width, height=height)


def print_to_pdf(page: Path, pdf: Path) -> Path:
    run(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.is_file(), "chromium wrote no PDF"
    return pdf


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of grey values 0..255) of an 8-bit, non-interlaced RGB/RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, f"unsupported PNG {header}"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        _unfilter(kind, line, previous, channels)
        rows.append(bytes(sum(line[x * channels:x * channels + 3]) // 3 for x in range(width)))
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    """Undo one PNG row filter in place (RFC 2083 6.3)."""
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((x + y) & 0xFF for x, y in zip(line, prev))
        return
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xFF
        else:
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
