"""A whole round for N agencies (default 2,000), step by step, as a coordinator runs it.

Realistic figures (benchmarks/_common.realistic_values), one return in five wrong (a column that
does not balance). Steps, each timed as wall time on this machine's cores:

  generate   one locked, signed workbook per agency (the roster)
  fill       every workbook filled from one JSON lines file (the clerks' figures), in one call
  verify     every return verified, with an annotated copy of each return that has findings
  status     the status page (HTML) over the returns
  merge      the merged workbook
  reports    HTML and DOCX for every agency whose return has no error, and for the merged one,
             plus the merged one's PDF

Then, apart from the round's total: the per-document PDF time on a batch of 100 agencies,
against LibreOffice's own batch conversion of the same DOCX files in one start.

Bars (issue 14, 2 cores): the round within 3 minutes; DOCX at most 0.1 s per agency (wall
time per document in the batch, all cores); PDF at most 1.5 x LibreOffice's own per document.
Nothing here is a test: it prints figures and verdicts.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from _common import YEAR, agencies, arg_parser, header, realistic_values, scratch, timed, verdict

ROUND_BAR = 180.0
DOCX_BAR = 0.1
PDF_RATIO_BAR = 1.5
WRONG_EVERY = 5  # one return in five has an error
PDF_BATCH = 100


def _json(value):
    """An amount as a JSON number (a float's shortest repr gives back the 2-decimal figure)."""
    return float(value) if isinstance(value, Decimal) else value


def write_data(path: Path, roster) -> None:
    """The clerks' figures, one JSON line per agency; every fifth return does not balance."""
    with open(path, "w", encoding="utf-8") as f:
        for i, a in enumerate(roster):
            values = realistic_values(i)
            if i % WRONG_EVERY == 0:
                values["requests.new.natural_person"] += 1  # 本年新收 + 上年结转 ≠ 办理结果 + 结转下年度
            f.write(json.dumps({"agency": {"code": a.code, "name": a.name}, "values": values},
                               ensure_ascii=False, default=_json) + "\n")


def fill_all(dist: Path, data: Path, out: Path) -> int:
    """The clerks fill their workbooks: `xltool fill` over the folder, one call."""
    from click.testing import CliRunner

    from xltool.cli import cli

    result = CliRunner().invoke(cli, ["fill", str(dist), "--data", str(data), "-o", str(out)])
    if result.exit_code != 0:
        raise SystemExit(f"fill failed ({result.exit_code}): {result.output[-2000:]}")
    return len(list(out.glob("*.xlsx")))


def soffice_own(docx: list[Path], out: Path) -> None:
    """LibreOffice's own batch conversion: one start, every file, a fresh profile, the same font
    mapping as the product's (xltool.reports.pdf.convert)."""
    from xltool.reports import pdf

    out.mkdir(parents=True, exist_ok=True)
    pdf.convert(docx, out)


def main() -> None:
    p = arg_parser(__doc__.splitlines()[0], default_count=2000)
    p.add_argument("--pdf-batch", type=int, default=PDF_BATCH, help="agencies in the PDF batch (default 100)")
    args = p.parse_args()
    n = args.count
    header("round: generate, fill, verify + annotate, status, merge, reports", n)

    from xltool.reports import Narrative, plan, write_reports
    from xltool.round.annotate import annotate_results
    from xltool.round.merge import merge_paths, write_merged_workbook
    from xltool.round.status import render_html, status_paths
    from xltool.round.verify import summary, verify_paths
    from xltool.round.workbooks import generate_roster
    from xltool.util import atomic_write

    roster = agencies(n)
    key = os.urandom(32)
    with scratch("round") as work:
        data = work / "figures.jsonl"
        write_data(data, roster)
        steps: list[tuple[str, float, str]] = []

        files, t = timed(lambda: generate_roster(roster, YEAR, work / "下发", key, None))
        steps.append(("generate", t, f"{len(files)} workbooks"))
        filled, t = timed(lambda: fill_all(work / "下发", data, work / "收到"))
        steps.append(("fill", t, f"{filled} returns"))

        def verify():
            results = verify_paths([work / "收到"], key=key)
            return results, annotate_results(results, work / "批注")

        (results, annotated), t = timed(verify)
        counts = summary(results)
        steps.append(("verify + annotate", t, f"{counts['ok']} ok, {counts['warnings']} warnings, "
                                              f"{counts['errors']} errors; {len(annotated.written)} annotated"))

        def status():
            report = status_paths(roster, [work / "收到"], key=key)
            atomic_write(work / "进度.html", render_html(report).encode("utf-8"))
            return report

        report, t = timed(status)
        steps.append(("status page", t, f"{report.counts}"))

        def merge():
            result = merge_paths([work / "收到"], roster=roster, key=key)
            write_merged_workbook(result, work / "汇总.xlsx", YEAR, "C00000", "某某市人民政府", key)
            return result

        merged, t = timed(merge)
        steps.append(("merge", t, f"{len(merged.included)} included, {len(merged.excluded)} excluded"))

        def reports():
            each = write_reports(work / "收到", plan(work / "报告", "html,docx"), Narrative(None))
            own = write_reports(work / "汇总.xlsx", plan(work / "汇总报告", "html,docx,pdf"), Narrative(None))
            return each, own

        (each, own), t = timed(reports)
        docx = [f for f in each.written if f.suffix == ".docx"]
        steps.append(("reports", t, f"{len(each.written)} agency files ({len(docx)} DOCX), "
                                    f"{len(own.written)} for the merged one (html, docx, pdf)"))

        total = sum(s[1] for s in steps)
        print(f"{'step':<20}{'wall time':>12}   what")
        for name, seconds, what in steps:
            print(f"{name:<20}{seconds:>10.1f} s   {what}")
        print(f"{'total':<20}{total:>10.1f} s")
        print()
        print(f"the round for {n} agencies (bar <= {ROUND_BAR:.0f} s)      : {total:7.1f} s -> "
              f"{verdict(total <= ROUND_BAR)}")

        # DOCX alone, for its own bar: wall time per document in a batch on all cores
        ok = [Path(r.file) for r in results if r.status != "errors"]
        batch = work / "docx-batch"
        batch.mkdir()
        for f in ok:
            os.link(f, batch / f.name)
        docx_run, t = timed(lambda: write_reports(batch, plan(work / "docx-only", "docx"), Narrative(None)))
        per_docx = t / max(1, len(docx_run.written))
        print(f"DOCX per agency, batch of {len(docx_run.written)} (bar <= {DOCX_BAR} s): {per_docx:7.3f} s -> "
              f"{verdict(per_docx <= DOCX_BAR)}")

        # PDF on a batch of agencies, against LibreOffice's own batch conversion of the same DOCX
        k = min(args.pdf_batch, len(ok))
        pdf_in = work / "pdf-batch"
        pdf_in.mkdir()
        for f in ok[:k]:
            os.link(f, pdf_in / f.name)
        pdf_run, t_pdf = timed(lambda: write_reports(pdf_in, plan(work / "pdf-out", "pdf"), Narrative(None)))
        same_docx = [work / "docx-only" / (p.stem + ".docx") for p in pdf_run.written]
        _, t_lo = timed(lambda: soffice_own(same_docx, work / "lo-out"))
        per_pdf, per_lo = t_pdf / max(1, k), t_lo / max(1, k)
        print(f"PDF per agency, batch of {k}                  : {per_pdf:7.3f} s (xltool: DOCX, conversion, checks)")
        print(f"LibreOffice's own batch conversion, one start : {per_lo:7.3f} s per document")
        print(f"PDF / LibreOffice's own (bar <= {PDF_RATIO_BAR})             : {per_pdf / per_lo:7.2f}   -> "
              f"{verdict(per_pdf / per_lo <= PDF_RATIO_BAR)}")


if __name__ == "__main__":
    sys.exit(main())
