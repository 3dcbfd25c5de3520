"""Verify N filled returns: xltool against openpyxl, and against the unzip-and-parse floor.

Bars (PRODUCT.md): verifying 1,000 returns is at least 15x faster than reading each return with
openpyxl (formulas and values), measured side by side in one run; and, per return, within 2x of
merely unzipping the same files and parsing every XML part with lxml in one process.

Test data: N distinct returns, one per agency (own code, name and values, every error rule
holding), made through the product -- xltool.form.generate.workbook_bytes then xltool.form.fill.fill_bytes
-- in a temporary folder.

xltool:    xltool.round.verify.verify_paths([folder], show_progress=False): its own pool, 2 processes.
openpyxl:  per file load_workbook(f) and load_workbook(f, data_only=True), every cell of every
           sheet read; in one process, and split over 2 processes.
floor:     per file zipfile + lxml.etree.fromstring of every .xml/.rels member; one process.

    python benchmarks/bench_verify.py [--count 1000] [--profile]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C


def main() -> None:
    p = C.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--profile", action="store_true",
                   help="profile xltool's verify in one process (cProfile) and print the hotspots "
                        "(done anyway when a bar is missed)")
    args = p.parse_args()
    n, w = args.count, args.workers
    C.header("verify: xltool verify_paths vs openpyxl vs unzip+lxml floor", n)

    from xltool.round.verify import PARALLEL_FROM, verify_path, verify_paths

    xp = min(2, C.cores()) if n >= PARALLEL_FROM else 1  # verify_paths goes serial below PARALLEL_FROM files

    with C.scratch("verify") as tmp:
        folder = tmp / "returns"
        files, t_build = C.timed(lambda: C.build_returns(folder, n, workers=w))
        print(f"built {n} filled returns through generate + fill in {t_build:.1f} s "
              f"({sum(f.stat().st_size for f in files) / n / 1024:.1f} KiB/file)")

        # warm up once, each reader on a few files
        warm = files[:4]
        [verify_path(f) for f in warm]
        C.openpyxl_files(warm)
        C.floor_files(warm)

        results, t_xl = C.timed(lambda: verify_paths([folder], show_progress=False))
        statuses = {}
        for r in results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        assert len(results) == n, (len(results), n)

        _, t_xl1 = C.timed(lambda: verify_paths([folder], show_progress=False, workers=1))
        _, t_op2 = C.timed(lambda: C.openpyxl_parallel(C.openpyxl_files, files, w))
        _, t_op1 = C.timed(lambda: C.openpyxl_files(files))
        _, t_floor = C.timed(lambda: C.floor_files(files))

        # profile when asked, or when a bar is missed (openpyxl ratio on equal cores, or xltool's
        # own run against the one-process floor)
        missed = t_op2 / t_xl < 15 or t_xl / t_floor > 2
        hotspots = None
        if args.profile or missed:
            sample = files[:min(n, 200)]
            hotspots = C.profile(lambda: [verify_path(f) for f in sample])

    print(f"xltool verify results: {statuses}")
    print()
    print(f"xltool verify_paths, its pool ({xp} process(es)): {C.ms(t_xl, n)} per return ({t_xl:.2f} s)")
    print(f"xltool verify_paths, workers=1 (one process)  : {C.ms(t_xl1, n)} per return ({t_xl1:.2f} s)")
    print(f"openpyxl 2 loads + all cells, one process     : {C.ms(t_op1, n)} per return ({t_op1:.2f} s)")
    print(f"openpyxl 2 loads + all cells, {w} processes     : {C.ms(t_op2, n)} per return ({t_op2:.2f} s)")
    print(f"floor: unzip + lxml every part, one process   : {C.ms(t_floor, n)} per return ({t_floor:.2f} s)")
    print()
    r2, r1 = t_op2 / t_xl, t_op1 / t_xl
    print(f"openpyxl {w} processes / xltool {xp} (fair; bar >= 15)         : {r2:6.1f}  -> {C.verdict(r2 >= 15)}")
    print(f"openpyxl one process / xltool {xp} process(es) (bar >= 15)     : {r1:6.1f}  -> {C.verdict(r1 >= 15)}")
    print(f"openpyxl/xltool, both in one process                         : {t_op1 / t_xl1:6.1f}")
    f2, f1 = t_xl / t_floor, t_xl1 / t_floor
    print(f"xltool ({xp} process(es)) per return / floor (one process) (bar <= 2): {f2:6.2f}  -> {C.verdict(f2 <= 2)}")
    print(f"xltool (one process) per return / floor (one process)         : {f1:6.2f}  -> {C.verdict(f1 <= 2)}")
    if hotspots:
        print()
        print(f"cProfile of xltool verify_path over {min(n, 200)} returns, one process:")
        print(hotspots)


if __name__ == "__main__":
    main()
