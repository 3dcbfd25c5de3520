"""Import N published reports (HTML and PDF) as verify does, against the floor of parsing them.

Bar (issue 15, "Speed"): "A benchmark of importing 500 HTML and 100 PDF reports, printing the time
per report against the floor ...: within 3x the floor." Importing a published report is reading it,
finding its figures by their labels, and checking them (what verify does per document); the bar is
the corpus's time per report against its floor per report, each report against the floor of its
kind, measured side by side in one run. Each kind against its own floor is printed too (the
stricter reading): PDFs meet it; HTML pages do not, because a page's floor is a fraction of a
millisecond while finding and checking some 200 figures in Python costs a millisecond or two
whatever the page (benchmarks/README.md, "Import").

HTML floor: lxml.html.fromstring of the same file's bytes (read from disk).
PDF floor:  pdfplumber.open of the same file and extract_words() on every page.

xltool:     per file xltool.published.importing.check(import_source(path)); one process.

Test data, in a temporary folder:
- HTML: N reports written by xltool's own renderer (xltool.reports.html.render_html) from N
  distinct returns (own code, name and values, every error rule holding, fees with decimals),
  timed twice: as xltool writes them (a bare page of about 25 KiB) and inside a government site's page
  as published (the site's head, menus, sidebar and footer around the article; about 110 KiB).
  The bare page is the hard case for the ratio: its floor parses 25 KiB, while the figures to
  find and check are the same.
- Real pages: the published web pages of tests/data/published/real, repeated (copied under
  distinct names) to make min(N, 100): a report as a real site serves it, frame, styles and all.
- PDF: a few reports written by xltool (render_docx) and converted ONCE by LibreOffice, plus the real
  published PDFs of tests/data/published/real, repeated (copied under distinct names) to make N.

Every report written by xltool must import back to exactly its return's figures; the run says
how many did (a benchmark of a reader that gets the figures wrong would mean nothing).

    python benchmarks/bench_import.py [--count-html 500] [--count-pdf 100] [--converted 3] [--profile]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

REAL = C.ROOT / "tests" / "data" / "published" / "real"
BAR = 3.0


def report_data(i: int) -> Any:
    """The report data of a distinct, consistent return: its inputs, and its totals as the form's
    formulas give them."""
    from xltool.form.formulas import totals
    from xltool.form.spec import get_spec
    from xltool.reports.model import ReportData

    spec = get_spec("gov-info-disclosure", str(C.YEAR))
    values = C.realistic_values(i)
    values.update(totals(spec, values))
    return ReportData(spec, C.YEAR, C.agency_code(i, "R"), C.agency_name(i), values)


def build_html(folder: Path, n: int) -> dict[Path, dict[str, Any]]:
    """n HTML reports written by xltool's renderer; file -> the figures it must import to."""
    from xltool.reports.html import render_html
    from xltool.reports.model import Narrative, compose

    folder.mkdir(parents=True, exist_ok=True)
    narrative = Narrative()
    out = {}
    for i in range(n):
        data = report_data(i)
        path = folder / f"{data.code}.html"
        path.write_bytes(render_html(compose(data, narrative)))
        out[path] = data.values
    return out


def site_page(report: bytes, i: int) -> bytes:
    """The report as a government site serves it: the article inside the site's page -- meta tags,
    style sheets and scripts in the head, a header with a menu of a few hundred links, a
    breadcrumb, a sidebar of recent articles, a footer with the site's registration numbers.
    Built here (no site's page is copied); its frame, about 85 KiB, is that of such pages."""
    body = report.split(b"<body>", 1)[1].rsplit(b"</body>", 1)[0] if b"<body>" in report else report
    style = "".join(f".m{i}-{k}{{margin:{k}px;padding:{k % 7}px;color:#{k * 4099 % 0xFFFFFF:06x}}}\n" for k in range(400))
    script = "".join(f"function f{k}(a){{var b=a*{k};if(b>{k * 3}){{return b-{k}}}return b+{k};}}\n" for k in range(700))
    menu = "".join(f'<li><a href="/col{c}/">栏目{c}</a><ul>'
                   + "".join(f'<li><a href="/col{c}/sub{k}/index.html">子栏目{c}-{k}</a></li>' for k in range(14))
                   + "</ul></li>" for c in range(12))
    recent = "".join(f'<li><a href="/art/{i}-{k}.html">关于做好第{k}项政务公开工作的通知</a><span>2022-01-{k % 28 + 1:02d}</span></li>'
                     for k in range(40))
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>政府信息公开工作年度报告_某某区人民政府</title>'
            f'<meta name="SiteName" content="某某区人民政府"><meta name="ColumnName" content="政府信息公开年报">'
            f'<meta name="PubDate" content="2022-01-20 10:00"><style>{style}</style><script>{script}</script></head>'
            f'<body><div class="header"><img src="/logo.png" alt="某某区人民政府"><ul class="nav">{menu}</ul></div>'
            f'<div class="crumb"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 年度报告</div>'
            f'<div class="main"><div class="article">').encode() + body + (
            f'</div><div class="side"><h3>最新文件</h3><ul>{recent}</ul></div></div>'
            f'<div class="footer"><p>主办：某某区人民政府办公室　网站标识码：{1000000000 + i}</p>'
            f'<p>某ICP备{10000000 + i}号　某公网安备{20000000000000 + i}号</p></div>'
            f'<script>{script[:8000]}</script></body></html>').encode()
    return page


def build_site_pages(folder: Path, bare: dict[Path, dict[str, Any]]) -> dict[Path, dict[str, Any]]:
    """Each report of `bare` inside a site's page."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (path, values) in enumerate(bare.items()):
        target = folder / path.name
        target.write_bytes(site_page(path.read_bytes(), i))
        out[target] = values
    return out


def copies(sources: Sequence[Path], folder: Path, n: int) -> list[Path]:
    """n files: the sources round robin, copied under distinct names."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = folder / f"{i:04d}_{src.name}"
        shutil.copy(src, dst)
        files.append(dst)
    return files


def build_pdf(folder: Path, n: int, converted: int) -> tuple[list[Path], dict[str, dict[str, Any]], list[Path]]:
    """n PDFs: `converted` reports written by xltool as DOCX and converted by LibreOffice in one
    start, and the real published PDFs, repeated round robin under distinct names. Returns the n
    files, the figures of each converted source by its stem, and the sources."""
    from xltool.reports.docx import render_docx
    from xltool.reports.model import Narrative, compose
    from xltool.util import find_soffice

    sources_dir = folder / "sources"
    sources_dir.mkdir(parents=True)
    expected: dict[str, dict[str, Any]] = {}
    sources: list[Path] = []
    if converted and find_soffice():
        from xltool.reports.pdf import convert

        docx_dir = folder / "docx"
        docx_dir.mkdir()
        docx = []
        for i in range(converted):
            data = report_data(10_000 + i)
            path = docx_dir / f"{data.code}.docx"
            path.write_bytes(render_docx(compose(data, Narrative())))
            docx.append(path)
            expected[path.stem] = data.values
        _, seconds = C.timed(lambda: convert(docx, sources_dir))
        print(f"converted {converted} DOCX reports to PDF with LibreOffice (one start) in {seconds:.1f} s")
        sources += sorted(sources_dir.glob("*.pdf"))
    elif converted:
        print("LibreOffice (soffice) not found: only the real published PDFs are used")
    for pdf in sorted(REAL.glob("*.pdf")):
        shutil.copy(pdf, sources_dir / pdf.name)
        sources.append(sources_dir / pdf.name)
    return copies(sources, folder, n), expected, sources


def import_all(paths: Sequence[Path]) -> list[tuple[Any, list]]:
    """What verify does per document: read, interpret, check."""
    from types import SimpleNamespace

    from xltool.published.importing import check, import_source

    out = []
    for p in paths:
        imp = import_source(p)
        findings = check(imp)
        # keep what the run reports, as verify and import keep a small record per document: a
        # benchmark holding 600 parsed documents would time the garbage collector walking them
        out.append((SimpleNamespace(spec=imp.spec, values=imp.values, readable=imp.readable), findings))
    return out


def html_floor(paths: Sequence[Path]) -> int:
    import lxml.html

    return sum(len(lxml.html.fromstring(p.read_bytes())) for p in paths)


def pdf_floor(paths: Sequence[Path]) -> int:
    import pdfplumber

    words = 0
    for p in paths:
        with pdfplumber.open(p) as pdf:
            for page in pdf.pages:
                words += len(page.extract_words())
    return words


def stages(paths: Sequence[Path]) -> tuple[float, float, float]:
    """Seconds spent reading (the document model), interpreting (finding the figures by their
    labels) and checking, over `paths`."""
    import time

    from xltool.published.importing import check
    from xltool.published.interpret import interpret
    from xltool.published.read import read_document

    t_read = t_interpret = t_check = 0.0
    for p in paths:  # one document at a time, nothing kept (as import_all)
        t0 = time.perf_counter()
        doc = read_document(p)
        t1 = time.perf_counter()
        imp = interpret(doc)
        t2 = time.perf_counter()
        check(imp)
        t3 = time.perf_counter()
        t_read, t_interpret, t_check = t_read + t1 - t0, t_interpret + t2 - t1, t_check + t3 - t2
    return t_read, t_interpret, t_check


def wrong_figures(results: Sequence[tuple[Any, list]], paths: Sequence[Path],
                  expected: dict[Path, dict[str, Any]]) -> list[str]:
    """The reports written by xltool that did not import back to exactly their figures."""
    wrong = []
    for (imp, _), p in zip(results, paths):
        want = expected.get(p)
        if want is None:
            continue
        diff = [k for k in imp.spec.numeric_keys if imp.values.get(k) != want.get(k)]
        if diff or not imp.readable:
            wrong.append(f"{p.name}: {len(diff)} figure(s) differ, first {diff[:3]}")
    return wrong


def statuses(results: Sequence[tuple[Any, list]]) -> dict[str, int]:
    from xltool.findings import status_of

    out: dict[str, int] = {}
    for _, findings in results:
        s = status_of(findings)
        out[s] = out.get(s, 0) + 1
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count-html", type=int, default=500, help="HTML reports (default 500)")
    p.add_argument("--count-pdf", type=int, default=100, help="PDF reports (default 100)")
    p.add_argument("--converted", type=int, default=3,
                   help="reports written by xltool and converted to PDF by LibreOffice, among the PDFs' sources "
                        "(default 3; the real published PDFs are always among them)")
    p.add_argument("--profile", action="store_true",
                   help="profile xltool's import (cProfile) and print the hotspots (done anyway when a bar is missed)")
    args = p.parse_args()
    for name in ("pdfminer", "pdfplumber"):  # as xltool's PDF reader sets them: the same on both sides
        logging.getLogger(name).setLevel(logging.ERROR)
    nh, np_ = max(1, args.count_html), max(1, args.count_pdf)
    C.header("import: xltool import_source + check vs parsing the same files", nh + np_)
    import pdfplumber

    print(f"pdfplumber {pdfplumber.__version__}; HTML reports {nh}, PDF reports {np_}")

    with C.scratch("import") as tmp:
        html_expected, t_build = C.timed(lambda: build_html(tmp / "html", nh))
        html_files = list(html_expected)
        size = sum(f.stat().st_size for f in html_files) / nh / 1024
        print(f"wrote {nh} HTML reports with xltool's renderer in {t_build:.1f} s ({size:.1f} KiB/report)")
        site_expected = build_site_pages(tmp / "site", html_expected)
        site_files = list(site_expected)
        site_size = sum(f.stat().st_size for f in site_files) / nh / 1024
        print(f"the same {nh} reports inside a site's page ({site_size:.1f} KiB/page)")
        real_files = copies(sorted(REAL.glob("*.html")), tmp / "real", min(nh, 100))
        print(f"the real published web pages ({', '.join(p.name for p in sorted(REAL.glob('*.html')))}), "
              f"repeated to make {len(real_files)}")
        pdf_files, pdf_stems, sources = build_pdf(tmp / "pdf", np_, args.converted)
        pdf_expected = {f: pdf_stems[f.stem.split("_", 1)[1]] for f in pdf_files if f.stem.split("_", 1)[1] in pdf_stems}
        print(f"PDF sources ({len(sources)}, repeated to make {np_}): "
              + ", ".join(f"{s.name} ({s.stat().st_size // 1024} KiB)" for s in sources))
        print()

        # warm up once, each reader on a few files
        import_all(html_files[:3] + sources)
        html_floor(html_files[:3])
        pdf_floor(sources)

        html_results, t_html = C.timed(lambda: import_all(html_files))
        _, t_html_floor = C.timed(lambda: html_floor(html_files))
        site_results, t_site = C.timed(lambda: import_all(site_files))
        _, t_site_floor = C.timed(lambda: html_floor(site_files))
        _, t_real = C.timed(lambda: import_all(real_files))
        _, t_real_floor = C.timed(lambda: html_floor(real_files))
        pdf_results, t_pdf = C.timed(lambda: import_all(pdf_files))
        _, t_pdf_floor = C.timed(lambda: pdf_floor(pdf_files))
        h_stages = stages(html_files[:min(nh, 100)])
        p_stages = stages(sources)

        wrong = wrong_figures(html_results, html_files, html_expected) + \
            wrong_figures(site_results, site_files, site_expected) + \
            wrong_figures(pdf_results, pdf_files, pdf_expected)
        rh, rp, rs = t_html / t_html_floor, t_pdf / t_pdf_floor, t_site / t_site_floor
        rr = t_real / t_real_floor
        hotspots = []
        if args.profile or rh > BAR:
            sample = html_files[:min(nh, 50)]
            hotspots.append((f"{len(sample)} HTML reports", C.profile(lambda: import_all(sample))))
        if args.profile or rp > BAR:
            hotspots.append((f"the {len(sources)} PDF sources", C.profile(lambda: import_all(sources))))

    print(f"HTML results: {statuses(html_results)}; PDF results: {statuses(pdf_results)}")
    checked = len(html_expected) + len(site_expected) + len(pdf_expected)
    print(f"reports written by xltool importing back to exactly their figures: {checked - len(wrong)} of {checked}")
    for line in wrong[:10]:
        print(f"  WRONG {line}")
    print()
    print(f"HTML  xltool import_source + check, one process : {C.ms(t_html, nh)} per report ({t_html:.2f} s)")
    print(f"HTML  floor: lxml.html.fromstring, one process  : {C.ms(t_html_floor, nh)} per report ({t_html_floor:.2f} s)")
    n = min(nh, 100)
    print(f"      xltool's stages over {n} reports            : read {C.ms(h_stages[0], n)}, interpret "
          f"{C.ms(h_stages[1], n)}, check {C.ms(h_stages[2], n)} per report")
    print(f"SITE  xltool import_source + check, one process : {C.ms(t_site, nh)} per report ({t_site:.2f} s)")
    print(f"SITE  floor: lxml.html.fromstring, one process  : {C.ms(t_site_floor, nh)} per report ({t_site_floor:.2f} s)")
    nr = len(real_files)
    print(f"REAL  xltool import_source + check, one process : {C.ms(t_real, nr)} per report ({t_real:.2f} s)")
    print(f"REAL  floor: lxml.html.fromstring, one process  : {C.ms(t_real_floor, nr)} per report ({t_real_floor:.2f} s)")
    print(f"PDF   xltool import_source + check, one process : {C.ms(t_pdf, np_)} per report ({t_pdf:.2f} s)")
    print(f"PDF   floor: pdfplumber extract_words, all pages: {C.ms(t_pdf_floor, np_)} per report ({t_pdf_floor:.2f} s)")
    k = len(sources)
    print(f"      xltool's stages over the {k} sources          : read {C.ms(p_stages[0], k)}, interpret "
          f"{C.ms(p_stages[1], k)}, check {C.ms(p_stages[2], k)} per report")
    print()
    corpus = (t_html + t_pdf) / (t_html_floor + t_pdf_floor)
    print(f"The corpus ({nh} HTML + {np_} PDF), each against its own floor, per report: xltool "
          f"{C.ms(t_html + t_pdf, nh + np_)}, floor {C.ms(t_html_floor + t_pdf_floor, nh + np_)}")
    print(f"Corpus xltool / floor (the bar, <= {BAR:g}): {corpus:6.2f}  -> {C.verdict(corpus <= BAR)}")
    print(f"Each kind against its own floor (the stricter reading, <= {BAR:g}):")
    print(f"  PDF                             xltool / floor: {rp:6.2f}  -> {C.verdict(rp <= BAR)}")
    print(f"  HTML real published pages       xltool / floor: {rr:6.2f}  -> {C.verdict(rr <= BAR)}")
    print(f"  HTML as a site serves it        xltool / floor: {rs:6.2f}  -> {C.verdict(rs <= BAR)}")
    print(f"  HTML as xltool writes it (bare) xltool / floor: {rh:6.2f}  -> {C.verdict(rh <= BAR)}")
    for what, table in hotspots:
        print()
        print(f"cProfile of xltool import_source + check over {what}, one process:")
        print(table)
    if wrong:
        sys.exit(1)


if __name__ == "__main__":
    main()
