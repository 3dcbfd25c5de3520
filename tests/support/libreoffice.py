"""Run a real LibreOffice from the tests.

The tests run in the project's virtualenv, which cannot ``import uno``; the UNO
work is therefore done by ``lo_uno.py`` under the distribution's /usr/bin/python3
and this module only writes its request and parses its answer.  Every run gets a
private LibreOffice profile, so parallel runs and a developer's own office never
collide, and every run is bounded by a timeout.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import xltool.util

SYSTEM_PYTHON = "/usr/bin/python3"
LO_UNO = Path(__file__).with_name("lo_uno.py")
XLSX_FILTER = "Calc MS Excel 2007 XML"


class LibreOfficeError(RuntimeError):
    """LibreOffice failed; the message carries its diagnostics."""


find_soffice = functools.cache(xltool.util.find_soffice)


@functools.cache
def have_uno() -> bool:
    """True when the distribution's python3 can import uno (package python3-uno)."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _run_bounded(args: list[str], timeout: float, *, graceful: bool) -> subprocess.CompletedProcess:
    """Run ``args`` in its own process group; on timeout end the whole group.

    With ``graceful`` the child first gets SIGTERM, which lo_uno.py turns into a
    clean shutdown of its soffice; a bare soffice is killed outright.
    """
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        for sig, grace in ([(signal.SIGTERM, 15)] if graceful else []) + [(signal.SIGKILL, None)]:
            try:
                os.killpg(proc.pid, sig)
                out, err = proc.communicate(timeout=grace)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        else:
            out, err = proc.communicate()
        raise LibreOfficeError(
            f"{Path(args[0]).name} timed out after {timeout:.0f} s\n"
            f"{err.decode(errors='replace')}") from None
    finally:  # sweep anything the run left behind in its group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def lo_roundtrip(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str] | None = None,
                 set: Mapping[str, float | int | str | None] | None = None,
                 read_names: Iterable[str] = (), read_cells: Iterable[tuple[str, str]] = (),
                 timeout: float = 120) -> dict[str, Any]:
    """Open ``input_path`` in LibreOffice Calc, type ``set`` into named cells, recalculate,
    read the named and listed cells back, and save to ``output_path`` (xlsx) if given.

    Returns ``{"names": {name: cell}, "cells": [cell, ...], "sheets": [...],
    "protected": {sheet: bool}}`` where a cell is ``{"value": float|None,
    "string": str, "formula": str, "type": "EMPTY"|"VALUE"|"TEXT"|"FORMULA"}``.
    """
    request = {
        "input": str(Path(input_path).resolve()),
        "output": str(Path(output_path).resolve()) if output_path is not None else None,
        "set": dict(set or {}),
        "read_names": list(read_names),
        "read_cells": [list(c) for c in read_cells],
        "timeout": max(10, int(timeout) - 5),  # the script's own watchdog fires first
    }
    with tempfile.TemporaryDirectory(prefix="xltool-lo-req-") as tmp:
        req_file = Path(tmp) / "request.json"
        req_file.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        done = _run_bounded([SYSTEM_PYTHON, str(LO_UNO), str(req_file)], timeout, graceful=True)
    stderr = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise LibreOfficeError(f"lo_uno.py failed (status {done.returncode}) on {input_path}:\n{stderr}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise LibreOfficeError(f"lo_uno.py printed no JSON ({exc}):\n{done.stdout!r}\n{stderr}") from None


def convert(input_path: str | os.PathLike[str], outdir: str | os.PathLike[str], filter: str,
            timeout: float = 120) -> Path:
    """Convert a document with ``soffice --headless --convert-to FILTER`` and return the new file.

    ``filter`` is what ``--convert-to`` takes: ``"pdf"``, ``"pdf:writer_pdf_Export"``,
    ``"xlsx:Calc MS Excel 2007 XML"``; the part before ``:`` is the new suffix.
    """
    soffice = find_soffice()
    if soffice is None:
        raise LibreOfficeError("soffice not found (install libreoffice-calc / libreoffice-writer)")
    src = Path(input_path).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{src.stem}.{filter.split(':', 1)[0]}"
    target.unlink(missing_ok=True)  # so a stale file cannot pass for a fresh conversion
    with tempfile.TemporaryDirectory(prefix="xltool-lo-profile-") as profile:
        done = _run_bounded(
            [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
             "--norestore", "--nologo", "--nodefault", "--nolockcheck",
             "--convert-to", filter, "--outdir", str(out), str(src)],
            timeout, graceful=False)
    if done.returncode != 0 or not target.exists():
        raise LibreOfficeError(
            f"soffice --convert-to {filter} failed on {src} (status {done.returncode}):\n"
            f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}")
    return target


class LibreOffice:
    """What the ``libreoffice`` fixture hands a test: the helpers above, as methods."""

    @property
    def soffice(self) -> str | None:
        return find_soffice()

    def roundtrip(self, input_path: str | os.PathLike[str], output_path: str | os.PathLike[str] | None = None,
                  set: Mapping[str, float | int | str | None] | None = None,
                  read_names: Iterable[str] = (), read_cells: Iterable[tuple[str, str]] = (),
                  timeout: float = 120) -> dict[str, Any]:
        """See ``lo_roundtrip``."""
        return lo_roundtrip(input_path, output_path, set, read_names, read_cells, timeout)

    def convert(self, input_path: str | os.PathLike[str], outdir: str | os.PathLike[str],
                filter: str, timeout: float = 120) -> Path:
        """See ``convert``."""
        return convert(input_path, outdir, filter, timeout)
