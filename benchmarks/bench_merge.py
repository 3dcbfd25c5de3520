"""Merge N filled returns: xltool.round.merge.merge_paths against an openpyxl-based equivalent, and
peak memory of a merge of 300 against 1,200 returns.

Bars (PRODUCT.md): merging 1,000 returns is at least 15x faster than reading each return with
openpyxl (formulas and values), side by side in one run; merging 1,200 returns peaks at most
1.5x as high as merging 300 (memory grows by a small fixed amount per return, never by the
size of the files).

Test data: N distinct returns, one per agency, made through the product (generate + fill) in a
temporary folder.

xltool:    xltool.round.merge.merge_paths([folder], show_progress=False) -- its own pool (2 processes
           by default).
openpyxl:  per file load_workbook(f) (formulas: the total cells' formulas read) and
           load_workbook(f, data_only=True) (values: every input cell read through its defined
           name), one row per agency and the input cells summed over all agencies; in one
           process, and split over 2 processes.
--memory:  merge_paths in a fresh subprocess for 300 and for 1,200 returns; peak RSS of that
           process (VmHWM) and of its worker processes (RUSAGE_CHILDREN ru_maxrss).

    python benchmarks/bench_merge.py [--count 1000] [--profile]
    python benchmarks/bench_merge.py --memory [--small 300 --large 1200]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C


def have_merge() -> bool:
    try:
        from xltool.round.merge import merge_paths  # noqa: F401
    except ImportError as e:
        print(f"xltool.round.merge.merge_paths is not available yet ({e}); only the openpyxl side can run.")
        return False
    return True


# -- the openpyxl equivalent -------------------------------------------------------------

_KEYS = None


def _keys():
    global _KEYS
    if _KEYS is None:
        from xltool.form.spec import get_spec

        spec = get_spec("gov-info-disclosure", "2021")
        _KEYS = ([k for k in spec.input_keys if spec.cells[k].numeric], list(spec.total_keys))
    return _KEYS


def _resolve(wb, key):
    sheet, ref = next(iter(wb.defined_names[key].destinations))
    return wb[sheet][ref.replace("$", "")]


def openpyxl_row(path) -> tuple[str, dict[str, object], dict[str, str]]:
    """One return read with openpyxl: the agency code, its inputs by defined name (saved values)
    and the formulas of its totals."""
    import openpyxl

    inputs, totals = _keys()
    wb_f = openpyxl.load_workbook(path)
    formulas = {k: _resolve(wb_f, k).value for k in totals}
    wb_f.close()
    wb_v = openpyxl.load_workbook(path, data_only=True)
    meta = wb_v.worksheets[-1]
    code = next((row[1] for row in meta.iter_rows(values_only=True) if row[0] == "agency_code"), None)
    values = {k: _resolve(wb_v, k).value for k in inputs}
    wb_v.close()
    return code, values, formulas


def openpyxl_merge(paths) -> tuple[dict[str, dict], dict[str, Decimal]]:
    """Rows per agency and the sum of every numeric input over all agencies."""
    rows, sums = {}, {}
    for p in paths:
        code, values, _ = openpyxl_row(p)
        rows[code] = values
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sums[k] = sums.get(k, 0) + Decimal(str(v))
    return rows, sums


def openpyxl_merge_parallel(paths, workers: int):
    rows, sums = {}, {}
    for r, s in C.openpyxl_parallel(openpyxl_merge, paths, workers):
        rows.update(r)
        for k, v in s.items():
            sums[k] = sums.get(k, 0) + v
    return rows, sums


# -- speed -------------------------------------------------------------------------------

def describe(result) -> str:
    """A line on what MergeResult holds (its shape is being written as this runs)."""
    fields = getattr(result, "__dataclass_fields__", None) or vars(result)
    parts = []
    for name in fields:
        v = getattr(result, name, None)
        parts.append(f"{name}={type(v).__name__}" + (f"[{len(v)}]" if hasattr(v, "__len__") else ""))
    return ", ".join(parts)


def cross_check(result, sums) -> str:
    """Compare xltool's totals with openpyxl's sums where MergeResult exposes them."""
    totals = next((getattr(result, a) for a in ("values", "totals", "sums") if hasattr(result, a)), None)
    if not isinstance(totals, dict):
        return "cross-check skipped: MergeResult has no mapping of summed values"
    common = [k for k in sums if k in totals]
    wrong = [k for k in common if Decimal(str(totals[k])) != sums[k]]
    included = len(getattr(result, "included", ()))
    return (f"cross-check with openpyxl sums: {len(common)} keys compared, {len(wrong)} differ"
            + (f" (e.g. {wrong[:3]})" if wrong else "") + f"; {included} returns included")


def speed(args) -> None:
    n, w = args.count, args.workers
    C.header("merge: xltool merge_paths vs openpyxl equivalent", n)
    ok = have_merge()
    from xltool.round.verify import PARALLEL_FROM

    xp = min(2, C.cores()) if n >= PARALLEL_FROM else 1  # merge's scan goes serial below PARALLEL_FROM files
    with C.scratch("merge") as tmp:
        folder = tmp / "returns"
        files, t_build = C.timed(lambda: C.build_returns(folder, n, workers=w))
        print(f"built {n} filled returns through generate + fill in {t_build:.1f} s")
        warm = files[:4]
        openpyxl_merge(warm)
        t_xl = t_xl1 = None
        result = None
        if ok:
            from xltool.round.merge import merge_paths

            merge_paths(warm, show_progress=False)
            result, t_xl = C.timed(lambda: merge_paths([folder], show_progress=False))
            _, t_xl1 = C.timed(lambda: merge_paths([folder], show_progress=False, workers=1))
        (_rows2, sums2), t_op2 = C.timed(lambda: openpyxl_merge_parallel(files, w))
        (rows1, sums1), t_op1 = C.timed(lambda: openpyxl_merge(files))
        assert len(rows1) == n and sums1 == sums2
        hotspots = None
        if ok and (args.profile or t_op2 / t_xl < 15):
            sample = files[:min(n, 200)]
            hotspots = C.profile(lambda: merge_paths(sample, show_progress=False, workers=1))

    print()
    if ok:
        print(f"MergeResult: {describe(result)}")
        print(cross_check(result, sums1))
        print(f"xltool merge_paths, its pool ({xp} process(es)): {C.ms(t_xl, n)} per return ({t_xl:.2f} s)")
        print(f"xltool merge_paths, workers=1 (one process)  : {C.ms(t_xl1, n)} per return ({t_xl1:.2f} s)")
    print(f"openpyxl equivalent, one process             : {C.ms(t_op1, n)} per return ({t_op1:.2f} s)")
    print(f"openpyxl equivalent, {w} processes             : {C.ms(t_op2, n)} per return ({t_op2:.2f} s)")
    if ok:
        print()
        r2, r1 = t_op2 / t_xl, t_op1 / t_xl
        print(f"openpyxl {w} processes / xltool {xp} (fair; bar >= 15)   : {r2:6.1f}  -> {C.verdict(r2 >= 15)}")
        print(f"openpyxl one process / xltool {xp} process(es) (bar >= 15): {r1:6.1f}  -> {C.verdict(r1 >= 15)}")
        print(f"openpyxl/xltool, both in one process                   : {t_op1 / t_xl1:6.1f}")
    if hotspots:
        print()
        print(f"cProfile of xltool merge_paths over {min(n, 200)} returns, workers=1:")
        print(hotspots)


# -- memory ------------------------------------------------------------------------------

def child(folder: str, workers: int | None) -> None:
    """Run in a fresh process: merge the folder, print peak memory as JSON."""
    import resource

    from xltool.round.merge import merge_paths

    def hwm_kib() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

    before = hwm_kib()
    result, seconds = C.timed(lambda: merge_paths([folder], show_progress=False, workers=workers))
    print(json.dumps({"main_kib": hwm_kib(), "before_kib": before, "seconds": seconds,
                      "workers_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                      "result": describe(result)}))


def measure(folder: Path, workers: int | None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(folder)]
    if workers:
        cmd += ["--workers", str(workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(args) -> None:
    small, large = args.small, args.large
    C.header(f"merge memory: peak RSS merging {small} vs {large} returns", large)
    if not have_merge():
        sys.exit(2)
    with C.scratch("merge-mem") as tmp:
        files, t_build = C.timed(lambda: C.build_returns(tmp / "large", large, workers=args.workers))
        print(f"built {large} filled returns through generate + fill in {t_build:.1f} s "
              f"({sum(f.stat().st_size for f in files) / large / 1024:.1f} KiB/file, "
              f"{sum(f.stat().st_size for f in files) / 2**20:.1f} MiB in all)")
        C.link_subset(files[:small], tmp / "small")
        runs = {}
        for label, workers in (("its pool", None), ("workers=1", 1)):
            runs[label] = (measure(tmp / "small", workers), measure(tmp / "large", workers))
    print(f"MergeResult: {runs['its pool'][1]['result']}")
    print()
    for label, (small_run, large_run) in runs.items():
        print(f"merge_paths ({label}):")
        print(f"  main process peak (VmHWM): {small_run['main_kib'] / 1024:7.1f} MiB for {small}, "
              f"{large_run['main_kib'] / 1024:7.1f} MiB for {large}  (after imports: {small_run['before_kib'] / 1024:.1f} MiB; "
              f"{small_run['seconds']:.1f} s / {large_run['seconds']:.1f} s)")
        if small_run["workers_kib"]:
            print(f"  largest worker peak     : {small_run['workers_kib'] / 1024:7.1f} MiB for {small}, "
                  f"{large_run['workers_kib'] / 1024:7.1f} MiB for {large}")
        r = large_run["main_kib"] / small_run["main_kib"]
        grow = (large_run["main_kib"] - small_run["main_kib"]) / (large - small)
        print(f"  ratio {large}/{small} main process (bar <= 1.5): {r:5.2f}  -> {C.verdict(r <= 1.5)}"
              f"   growth {grow:.1f} KiB per extra return")
        if small_run["workers_kib"]:
            rs = small_run["main_kib"] + small_run["workers_kib"]
            rl = large_run["main_kib"] + large_run["workers_kib"]
            print(f"  ratio {large}/{small} main + largest worker    : {rl / rs:5.2f}  -> {C.verdict(rl / rs <= 1.5)}")


def main() -> None:
    p = C.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--profile", action="store_true",
                   help="profile merge_paths in one process (done anyway when the bar is missed)")
    p.add_argument("--memory", action="store_true", help="compare peak RSS of merging --small and --large returns")
    p.add_argument("--small", type=int, default=300)
    p.add_argument("--large", type=int, default=1200)
    p.add_argument("--child", help=argparse_suppress())
    args = p.parse_args()
    if args.child:
        child(args.child, args.workers if "--workers" in sys.argv else None)
    elif args.memory:
        memory(args)
    else:
        speed(args)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
