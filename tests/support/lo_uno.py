#!/usr/bin/python3
"""Drive a real LibreOffice Calc through UNO: type into named cells, recalculate, save.

Run with the distribution's interpreter, the only one that can ``import uno``
(Debian's python3-uno is built for /usr/bin/python3, not for a virtualenv)::

    /usr/bin/python3 tests/support/lo_uno.py REQUEST.json

REQUEST is a JSON object::

    {"input": "in.xlsx", "output": "out.xlsx" | null,
     "set": {"defined.name": 12 | "text" | null, ...},
     "read_names": ["defined.name", ...],
     "read_cells": [["SheetName", "A1"], ...],
     "timeout": 110}

It prints one JSON object to stdout::

    {"names": {name: CELL}, "cells": [CELL, ...], "sheets": [...],
     "protected": {sheet: bool}}

where CELL is ``{"value": number|null, "string": str, "formula": str,
"type": "EMPTY|VALUE|TEXT|FORMULA"}``.  On failure it prints the reason and
soffice's own log to stderr and exits non-zero.

Why a script of its own: the tests run in a virtualenv that cannot import uno,
so they hand the work to this process.  It starts soffice with a private profile
and a uniquely named pipe (parallel runs never collide), and it always kills
soffice's whole process group at the end, so a test can never leave an office
running or hang: a watchdog alarm ends the script after ``timeout`` seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

CONNECT_SECONDS = 30.0
# com.sun.star.sheet.CellFlags: VALUE | DATETIME | STRING | FORMULA
CLEAR_FLAGS = 1 | 2 | 4 | 16
XLSX_FILTER = "Calc MS Excel 2007 XML"


class Watchdog(Exception):
    """Raised by SIGALRM/SIGTERM so that ``finally`` still kills soffice."""


def _on_signal(signum: int, _frame: Any) -> None:
    raise Watchdog(f"stopped by signal {signum} (timeout or caller gave up)")


def _props(**kw: Any) -> tuple:
    """UNO wants a tuple of PropertyValue structs for load/store arguments."""
    out = []
    for k, v in kw.items():
        p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def _start_soffice(profile: Path, pipe: str, log) -> subprocess.Popen:
    """Start a headless soffice in its own process group, listening on ``pipe``."""
    soffice = shutil.which("soffice") or "/usr/bin/soffice"
    args = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        "--headless", "--invisible", "--nologo", "--nodefault",
        "--norestore", "--nolockcheck", "--nofirststartwizard",
    ]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)


def _connect(pipe: str, proc: subprocess.Popen) -> Any:
    """Connect to the office, retrying while it boots (a fresh profile takes a few s)."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            return resolver.resolve(url)
        except NoConnectException:
            if proc.poll() is not None and proc.returncode != 0:
                raise RuntimeError(f"soffice exited early with status {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not connect to soffice within {CONNECT_SECONDS:.0f} s") from None
            time.sleep(0.25)


def _stop_soffice(proc: subprocess.Popen, desktop: Any) -> None:
    """Ask the office to quit; kill its whole process group if it does not.

    Signals are held off first: a watchdog firing in here must not skip the kill.
    """
    signal.alarm(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        if desktop is not None:
            try:
                desktop.terminate()
            except Exception:  # the bridge drops as the office exits: expected
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    finally:
        try:  # oosplash spawns soffice.bin: the group holds both
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _cell_info(cell: Any) -> dict[str, Any]:
    """Describe a cell so the caller can tell a formula, a number, text and a blank apart."""
    kind = cell.getType().value  # CellContentType: EMPTY, VALUE, TEXT, FORMULA
    value: float | None = cell.getValue() if kind in ("VALUE", "FORMULA") else None
    return {"value": value, "string": cell.getString(),
            "formula": cell.getFormula() if kind == "FORMULA" else "", "type": kind}


def _named_cell(doc: Any, name: str) -> Any:
    ranges = doc.NamedRanges
    if not ranges.hasByName(name):
        raise KeyError(f"no defined name {name!r} in the workbook")
    cells = ranges.getByName(name).getReferredCells()
    if cells is None:
        raise KeyError(f"defined name {name!r} does not refer to cells")
    return cells.getCellByPosition(0, 0)


def _set(cell: Any, value: Any) -> None:
    if value is None:
        cell.clearContents(CLEAR_FLAGS)
    elif isinstance(value, (int, float)):  # bool too: JSON true is 1, as in Excel
        cell.setValue(float(value))
    elif isinstance(value, str):
        cell.setString(value)
    else:
        raise TypeError(f"cannot type {value!r} into a cell")


def run(req: dict[str, Any], profile: Path, log) -> dict[str, Any]:
    src = Path(req["input"]).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    pipe = f"xltool_lo_{os.getpid()}_{uuid.uuid4().hex}"
    proc = _start_soffice(profile, pipe, log)
    desktop = doc = None
    try:
        ctx = _connect(pipe, proc)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(src.as_uri(), "_blank", 0, _props(Hidden=True))
        if doc is None or not hasattr(doc, "NamedRanges"):
            raise RuntimeError(f"LibreOffice could not open {src} as a spreadsheet")
        for name, value in (req.get("set") or {}).items():
            _set(_named_cell(doc, name), value)
        doc.calculateAll()
        sheets = doc.Sheets
        result = {
            "names": {n: _cell_info(_named_cell(doc, n)) for n in req.get("read_names") or []},
            "cells": [_cell_info(sheets.getByName(s).getCellRangeByName(a))
                      for s, a in req.get("read_cells") or []],
            "sheets": list(sheets.ElementNames),
            "protected": {n: bool(sheets.getByName(n).isProtected()) for n in sheets.ElementNames},
        }
        if req.get("output"):
            out = Path(req["output"]).resolve()
            out.parent.mkdir(parents=True, exist_ok=True)
            doc.storeToURL(out.as_uri(), _props(FilterName=XLSX_FILTER, Overwrite=True))
        return result
    finally:
        if doc is not None:
            try:
                doc.close(True)
            except Exception:
                pass
        _stop_soffice(proc, desktop)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    req = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    signal.signal(signal.SIGALRM, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.alarm(max(10, int(req.get("timeout") or 110)))
    tmp = Path(tempfile.mkdtemp(prefix="xltool-lo-"))
    log_path = tmp / "soffice.log"
    try:
        with open(log_path, "wb") as log:
            result = run(req, tmp / "profile", log)
    except BaseException as exc:  # report everything, including the watchdog
        signal.alarm(0)
        soffice_log = log_path.read_text(errors="replace") if log_path.exists() else ""
        print(f"lo_uno: {type(exc).__name__}: {exc}", file=sys.stderr)
        if soffice_log.strip():
            print("--- soffice output ---\n" + soffice_log[-4000:], file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
