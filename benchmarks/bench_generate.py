"""Generate N per-agency workbooks: xltool's real path against a bare XlsxWriter build.

Bar (PRODUCT.md): the full workbook, with all its formats, checks and validation, costs no more
per workbook than a bare XlsxWriter build of the same cells (names, locks, validation, formulas,
protection); both may use both cores.

xltool:  xltool.round.workbooks.generate_roster(agencies, 2021, out_dir, key=b"k") -- its own process
         pool (2 workers), files written.
bare:    per agency, a fresh XlsxWriter workbook with the same sheets, the same cells and
         strings (the agency's identity and signature put in), the same defined names, locked and
         unlocked cells, the same data validation on the input cells, the same formulas, and
         every sheet protected -- nothing else (no styling beyond the lock flag, no conditional
         formats, widths, merges, print setup or hidden sheets). Files written. Timed in one
         process and in 2 processes.

    python benchmarks/bench_generate.py [--count 1000]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

KEY = b"k"


def _bare_plan():
    """Everything the bare build needs that comes from xltool's layout (computed once)."""
    from xltool.form import layout as lay
    from xltool.form import writer
    from xltool.form.spec import get_spec

    spec = get_spec("gov-info-disclosure", "2021")
    L = lay.layout_for(spec)
    validation = getattr(writer, "_validation", None)
    cells = []  # (sheet index, row, col, kind, payload, validation or None)
    index = {s.name: n for n, s in enumerate(L.sheets)}
    for item in L.items:
        n = index[item.sheet]
        if item.formula:
            cells.append((n, item.row, item.col, "formula", "=" + item.formula, None))
        elif item.style.startswith("input"):
            dv = validation(spec, item) if validation and item.key else _minimal_validation(spec, item)
            cells.append((n, item.row, item.col, "input", None, dv))
        elif item.text:
            cells.append((n, item.row, item.col, "text", item.text.replace("{year}", str(C.YEAR)), None))
        else:
            cells.append((n, item.row, item.col, "blank", None, None))
    names = [(key, "=" + lay.sheet_ref(item.sheet, lay.a1(item.row, item.col, absolute=True)))
             for key, item in L.by_key.items() if key in spec.cells]
    return spec, [s.name for s in L.sheets], cells, names


def _minimal_validation(spec, item) -> dict:
    cell = spec.cells[item.key]
    if cell.type == "count":
        return {"validate": "integer", "criteria": ">=", "value": 0}
    if cell.type == "amount":
        return {"validate": "decimal", "criteria": ">=", "value": 0}
    return {"validate": "any", "input_title": cell.label[:32], "input_message": "请填写"}


_PLAN = None


def bare_build(job: tuple[str, str, str]) -> str:
    """One agency's bare workbook, built from scratch and written to `path`."""
    import xlsxwriter

    from xltool.form import layout as lay
    from xltool.form import writer

    global _PLAN
    if _PLAN is None:
        _PLAN = _bare_plan()
    spec, sheet_names, cells, names = _PLAN
    code, name, path = job
    subst = {lay.AGENCY_NAME: name, lay.AGENCY_CODE: code,
             lay.SIGNATURE: writer.signature(KEY, spec, C.YEAR, code, name)}
    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_numbers": False,
                                    "strings_to_urls": False})
    locked = wb.add_format({"locked": True})
    unlocked = wb.add_format({"locked": False})
    sheets = [wb.add_worksheet(n) for n in sheet_names]
    for n, row, col, kind, payload, dv in cells:
        ws = sheets[n]
        if kind == "formula":
            ws.write_formula(row, col, payload, locked)
        elif kind == "text":
            if "{{xltool:" in payload:
                for placeholder, value in subst.items():
                    payload = payload.replace(placeholder, value)
            ws.write_string(row, col, payload, locked)
        elif kind == "input":
            ws.write_blank(row, col, None, unlocked)
            ws.data_validation(row, col, row, col, dv)
        else:
            ws.write_blank(row, col, None, locked)
    for key, ref in names:
        wb.define_name(key, ref)
    for ws in sheets:
        ws.protect()
    wb.close()
    return path


def main() -> None:
    args = C.arg_parser(__doc__.split("\n")[0]).parse_args()
    n = args.count
    C.header("generate: xltool generate_roster vs bare XlsxWriter build", n)

    from xltool.round.workbooks import generate_roster

    roster = C.agencies(n)
    with C.scratch("generate") as tmp:
        # warm up once: imports, spec and layout, the template in this process, XlsxWriter
        warm = tmp / "warm"
        warm.mkdir()
        generate_roster(roster[:2], C.YEAR, warm, key=KEY)
        bare_build((roster[0].code, roster[0].name, str(warm / "bare.xlsx")))

        def bare_jobs(folder: Path):
            folder.mkdir()
            return [(a.code, a.name, str(folder / f"{a.code}_bare.xlsx")) for a in roster]

        out = tmp / "xltool"
        out.mkdir()
        files, t_xl = C.timed(lambda: generate_roster(roster, C.YEAR, out, key=KEY))
        assert len(files) == n

        out1 = tmp / "xltool1"
        out1.mkdir()
        _, t_xl1 = C.timed(lambda: generate_roster(roster, C.YEAR, out1, key=KEY, workers=1))

        jobs = bare_jobs(tmp / "bare1")
        _, t_bare1 = C.timed(lambda: [bare_build(j) for j in jobs])
        jobs = bare_jobs(tmp / "bare2")
        _, t_bare2 = C.timed(lambda: C.pool_map(bare_build, jobs, args.workers, chunksize=16))

        size_xl = sum(f.stat().st_size for f in out.iterdir()) / n
        size_bare = sum(f.stat().st_size for f in (tmp / "bare2").iterdir()) / n

    from xltool.round.workbooks import PARALLEL_FROM

    w = args.workers
    xp = min(2, C.cores()) if n >= PARALLEL_FROM else 1  # generate_roster goes serial below PARALLEL_FROM
    print(f"xltool generate_roster (its pool, {xp} process(es)): {C.ms(t_xl, n)} per workbook "
          f"({t_xl:.2f} s total, {size_xl / 1024:.1f} KiB/file)")
    print(f"xltool generate_roster (workers=1, one process)  : {C.ms(t_xl1, n)} per workbook  [for reference]")
    print(f"bare XlsxWriter, one process                      : {C.ms(t_bare1, n)} per workbook "
          f"({t_bare1:.2f} s total, {size_bare / 1024:.1f} KiB/file)")
    print(f"bare XlsxWriter, {w} processes                      : {C.ms(t_bare2, n)} per workbook "
          f"({t_bare2:.2f} s total)")
    print()
    r2, r1 = t_bare2 / t_xl, t_bare1 / t_xl
    print(f"ratio bare({w} processes)/xltool({xp}) (the bar, >= 1)   : {r2:6.2f}  -> {C.verdict(r2 >= 1)}")
    print(f"ratio bare(one process)/xltool({xp})                   : {r1:6.2f}")
    print(f"ratio bare(one process)/xltool(one process)           : {t_bare1 / t_xl1:6.2f}")


if __name__ == "__main__":
    main()
