"""Shared pieces of the benchmarks: machine info, timing, realistic returns, process pools.

Nothing here is a test: the benchmarks print figures and ratios measured side by side in one
run (PRODUCT.md, "Bars that count"); unit tests never assert on time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

YEAR = 2021
REQUESTERS = ("natural_person", "commercial", "research", "public_interest", "legal_services", "other_org")


# -- machine and report ------------------------------------------------------------------

def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_info() -> str:
    import lxml.etree
    import openpyxl
    import xlsxwriter

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"machine: {cores()} usable cores (os.cpu_count()={os.cpu_count()}), {cpu}\n"
            f"python {platform.python_version()} on {platform.system()} {platform.release()}; "
            f"XlsxWriter {xlsxwriter.__version__}, openpyxl {openpyxl.__version__}, "
            f"lxml {'.'.join(map(str, lxml.etree.LXML_VERSION))}")


def header(title: str, count: int) -> None:
    print(f"== {title} ==")
    print(machine_info())
    print(f"count: {count}")
    print()


def arg_parser(description: str, default_count: int = 1000) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--count", type=int, default=default_count, help=f"number of workbooks (default {default_count})")
    p.add_argument("--workers", type=int, default=2,
                   help="processes for the parallel runs of the alternatives (default 2)")
    return p


def ms(seconds: float, n: int) -> str:
    return f"{1000 * seconds / max(1, n):8.2f} ms"


def verdict(ok: bool) -> str:
    return "MEETS the bar" if ok else "MISSES the bar"


# -- timing ------------------------------------------------------------------------------

def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, seconds) of one call, by time.perf_counter."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def pool_map(fn: Callable, items: Sequence, workers: int, chunksize: int = 16) -> list:
    """fn over items in `workers` processes (inline when workers < 2). The pool's start-up is
    part of the cost, as it is for xltool's own pools."""
    if workers < 2:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fn, items, chunksize=chunksize))


def chunks(items: Sequence, n: int) -> list[list]:
    """items split into n nearly equal consecutive slices (one per process)."""
    k, r = divmod(len(items), n)
    out, i = [], 0
    for j in range(n):
        size = k + (1 if j < r else 0)
        out.append(list(items[i:i + size]))
        i += size
    return [c for c in out if c]


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder outside the repository, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"xltool-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def profile(fn: Callable[[], Any], top: int = 25) -> str:
    """Run fn under cProfile; the top functions by own time and by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue().replace(str(ROOT) + os.sep, "")


# -- agencies and realistic returns ------------------------------------------------------

def agency_code(i: int, prefix: str = "B") -> str:
    return f"{prefix}{i:05d}"


def agency_name(i: int) -> str:
    return f"某某市第{i:05d}号政务服务局"


def agencies(n: int, prefix: str = "B") -> list:
    from xltool.round.roster import Agency

    return [Agency(agency_code(i, prefix), agency_name(i), f"office{i}@example.gov.cn", i + 2) for i in range(n)]


def realistic_values(seed: int) -> dict[str, Any]:
    """Input values of a plausible, consistent return: every error rule holds (outcomes add up,
    new + carried over = handled + carried forward), counts vary, fees have decimals, the
    contact fields and the narrative are filled."""
    from xltool.form.spec import get_spec

    spec = get_spec("gov-info-disclosure", "2021")
    rnd = random.Random(seed)
    outcome_rows = [k.split(".")[1] for k in spec.input_keys
                    if k.startswith("requests.") and k.endswith("." + REQUESTERS[0])]
    outcome_rows = [r for r in outcome_rows if r not in ("new", "carried_over", "carried_forward")]
    v: dict[str, Any] = {}
    for col in REQUESTERS:
        handled = 0
        for row in outcome_rows:
            x = rnd.choice((0, 0, 0, 1, 2, 3, 5, rnd.randint(0, 300)))
            v[f"requests.{row}.{col}"] = x
            handled += x
        forward = rnd.randint(0, 12)
        over = rnd.randint(0, min(12, handled + forward))
        v[f"requests.carried_forward.{col}"] = forward
        v[f"requests.carried_over.{col}"] = over
        v[f"requests.new.{col}"] = handled + forward - over
    for key in spec.input_keys:
        if key in v:
            continue
        cell = spec.cells[key]
        if cell.type == "count":
            v[key] = rnd.randint(0, 500)
        elif cell.type == "amount":
            v[key] = Decimal(rnd.randint(0, 10 ** 6)) / 100
        elif cell.type == "text":
            v[key] = f"{cell.label}（{seed}）"
        else:
            v[key] = "本年度，本机关认真贯彻落实《中华人民共和国政府信息公开条例》。" * rnd.randint(5, 60)
    return v


def _make_return(job: tuple[int, str, str]) -> str:
    from xltool.form.fill import fill_bytes
    from xltool.form.generate import workbook_bytes

    i, prefix, path = job
    data = workbook_bytes(YEAR, agency_code(i, prefix), agency_name(i))
    Path(path).write_bytes(fill_bytes(data, realistic_values(i)))
    return path


def build_returns(folder: Path, n: int, *, prefix: str = "B", workers: int = 2) -> list[Path]:
    """n filled returns, one per agency (its own code, name and values), made through the
    product (generate, then fill as a clerk would) on `workers` processes."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(i, prefix, str(folder / f"{agency_code(i, prefix)}_{YEAR}.xlsx")) for i in range(n)]
    return [Path(p) for p in pool_map(_make_return, jobs, workers if n >= 8 else 1, chunksize=8)]


def link_subset(files: Iterable[Path], folder: Path) -> Path:
    """A folder holding (hard links to) the given files."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        try:
            os.link(f, folder / f.name)
        except OSError:
            shutil.copy2(f, folder / f.name)
    return folder


# -- the floor: unzip and parse every XML part -------------------------------------------

def parse_all_parts(path: str | Path) -> int:
    """Unzip one file and parse every XML part with lxml; the number of elements parsed."""
    import zipfile

    from lxml import etree

    n = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                n += len(etree.fromstring(z.read(name)))
    return n


def floor_files(paths: Sequence[Path]) -> int:
    return sum(parse_all_parts(p) for p in paths)


# -- openpyxl, the obvious alternative ---------------------------------------------------

def openpyxl_read_all(path: str | Path) -> int:
    """Both openpyxl loads of one return (formulas, then saved values), every cell of every
    sheet read; the number of non-empty cells seen."""
    import openpyxl

    n = 0
    for data_only in (False, True):
        wb = openpyxl.load_workbook(path, data_only=data_only)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                n += sum(1 for v in row if v is not None)
        wb.close()
    return n


def openpyxl_files(paths: Sequence[Path]) -> int:
    return sum(openpyxl_read_all(p) for p in paths)


def openpyxl_parallel(fn: Callable[[Sequence[Path]], Any], paths: Sequence[Path], workers: int) -> list:
    """fn over the files split into one slice per process."""
    return pool_map(fn, chunks(list(paths), workers), workers, chunksize=1)
