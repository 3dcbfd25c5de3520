"""`xltool import`: published reports read into returns. Per document, the return JSON (PRODUCT.md:
values, raw, narrative, source with the location of every figure, and the findings verify would
give), and with `to_workbook` our locked workbook filled with the figures as printed, its hidden
sheet recording the document's kind and SHA-256 — so an agency that only sent a document joins the
round like any other, and verify still says where its figures came from.

One document costs only itself: an unreadable one is a line with its finding, the others go on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xltool.errors import XltoolError
from xltool.findings import Finding, status_of
from xltool.published.document import SUFFIXES, is_document
from xltool.published.names import matches
from xltool.round.roster import Agency
from xltool.util import atomic_write, bounded_filename, parallel_map

PARALLEL_FROM = 8


@dataclass
class Job:
    source: str  # a path or a web address
    json_path: str
    out_dir: str
    to_workbook: bool
    key: bytes | None = None
    agencies: tuple[tuple[str, str], ...] = ()  # the roster's (code, name), to name a report's agency
    code: str | None = None  # --agency-code / --agency-name, for one document
    name: str | None = None
    year: int | None = None  # the round's year: a report of another year gets no workbook
    timeout: float = 20.0


@dataclass
class Outcome:
    """What one document gave: for the terminal, --json and the exit status."""

    source: str
    kind: str
    readable: bool
    agency: dict[str, str]
    year: int | None
    findings: list[Finding]
    output: str | None = None
    workbook: str | None = None
    problem: str | None = None  # why no workbook was written, when one was asked for
    figures: int = 0

    @property
    def status(self) -> str:
        return status_of(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, "kind": self.kind, "imported": self.readable, "status": self.status,
                "agency": self.agency, "year": self.year, "figures": self.figures, "output": self.output,
                "workbook": self.workbook, "workbook_problem": self.problem,
                "findings": [f.to_json() for f in self.findings]}


def expand(sources: Sequence[str]) -> list[str]:
    """Files and addresses named, and the documents inside folders named (hidden files left out)."""
    out: list[str] = []
    for s in sources:
        p = Path(s)
        if not s.lower().startswith(("http://", "https://")) and p.is_dir():
            out.extend(str(f) for f in sorted(p.rglob("*"))
                       if f.is_file() and is_document(f.name) and not any(x.startswith(".") for x in f.parts))
        else:
            out.append(s)
    return out


def output_stem(source: str) -> str:
    if source.lower().startswith(("http://", "https://")):
        parts = urlsplit(source)
        return bounded_filename((parts.netloc + parts.path).strip("/").replace("/", "_"), limit=120)
    p = Path(source)
    stem = p.name[: -len(p.suffix)] if p.suffix.lower() in SUFFIXES else p.name
    return bounded_filename(stem, limit=120)


def plan(sources: Sequence[str], out_dir: Path, *, to_workbook: bool, key: bytes | None = None,
         roster: Sequence[Agency] | None = None, code: str | None = None, name: str | None = None,
         year: int | None = None, timeout: float = 20.0) -> list[Job]:
    """One job per document; output names made unique (two 报告.pdf from two folders)."""
    taken: set[str] = set()
    jobs = []
    agencies = tuple((a.code, a.name) for a in roster or ())
    for s in expand(sources):
        stem = output_stem(s)
        candidate, n = stem, 2
        while candidate.lower() in taken:
            candidate, n = f"{stem}_{n}", n + 1
        taken.add(candidate.lower())
        jobs.append(Job(s, str(out_dir / f"{candidate}.json"), str(out_dir), to_workbook, key, agencies, code, name,
                        year, timeout))
    return jobs


def run(jobs: list[Job], *, workers: int | None = None, show_progress: bool = True) -> list[Outcome]:
    return parallel_map(import_one, jobs, "导入", parallel_from=PARALLEL_FROM, workers=workers,
                        show_progress=show_progress, chunksize=2)


def import_one(job: Job) -> Outcome:
    from xltool.published.importing import check, import_source

    imp = import_source(job.source, timeout=job.timeout)
    findings = check(imp)
    code, name = _identity(job, imp.agency_name)
    imp.agency_code = code or imp.agency_code
    agency = {"code": imp.agency_code, "name": name or imp.agency_name}
    figures = sum(1 for k in imp.spec.numeric_keys if imp.values.get(k) is not None)
    result = Outcome(job.source, imp.document.kind, imp.readable, agency, imp.year, findings, figures=figures)
    document = imp.to_json()
    document["agency"] = agency
    document["findings"] = [f.to_json() for f in findings]
    atomic_write(job.json_path, (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    result.output = job.json_path
    if job.to_workbook:
        _workbook(job, imp, result)
    return result


def _identity(job: Job, printed: str) -> tuple[str, str]:
    """(code, name): as given on the command line, else the roster's agency of the printed name."""
    if job.code or job.name:
        return job.code or "", job.name or printed
    found = matches(job.agencies, printed)
    return found[0] if len(found) == 1 else ("", printed)


def _workbook(job: Job, imp: Any, result: Outcome) -> None:
    """Our workbook filled with the figures as printed: the inputs, and a printed total only
    where it differs from what its inputs add up to (so verify finds what the page got wrong)."""
    from xltool.form import calc
    from xltool.form.fill import fill_bytes
    from xltool.form.generate import checked_code, checked_name, workbook_bytes
    from xltool.round.workbooks import file_name

    if not imp.readable:
        result.problem = "报告中的表格未能读入，没有生成填报表。"
        return
    code, name = result.agency["code"], result.agency["name"]
    year = imp.year or job.year
    if not code:
        result.problem = (f"无法确定“{name or '（报告未写明单位）'}”的单位代码：名单中没有同名单位。"
                          "请用 --agency-code 和 --agency-name 指明后再导入这一份。")
        return
    if year is None:
        result.problem = "报告中没有找到统计年度，没有生成填报表。"
        return
    if job.year is not None and year != job.year:
        result.problem = f"这是 {year} 年度的报告，与本轮（{job.year} 年度）不同，没有生成填报表。"
        return
    spec = imp.spec
    inputs = {k: v for k, v in imp.values.items() if k in spec.cells and not spec.cells[k].is_total}
    computed = calc.totals(spec, {k: v for k, v in inputs.items() if spec.cells[k].numeric})
    typed = {k: imp.values[k] for k in spec.total_keys
             if imp.values.get(k) is not None and computed.get(k) is not None and imp.values[k] != computed[k]}
    try:
        data = workbook_bytes(year, checked_code(code), checked_name(name or code), job.key)
        data = fill_bytes(data, {**{k: v for k, v in inputs.items() if v not in (None, "")}, **typed},
                          meta={"imported_kind": imp.document.kind, "imported_sha256": imp.document.sha256,
                                "imported_unstated": " ".join(k for k, e in imp.entries.items() if e.kind == "missing"
                                                              and k in spec.cells and spec.cells[k].numeric),
                                "imported_file": Path(imp.document.file).name if "://" not in imp.document.file
                                else imp.document.file})
    except XltoolError as e:
        result.problem = f"无法生成填报表：{e.message}"
        return
    path = Path(job.out_dir) / file_name(Agency(code, name or code, ""), year)
    atomic_write(path, data)
    result.workbook = str(path)


def summary(results: Sequence[Outcome]) -> dict[str, int]:
    return {"documents": len(results), "imported": sum(r.readable for r in results),
            "unreadable": sum(not r.readable for r in results), "workbooks": sum(bool(r.workbook) for r in results),
            "errors": sum(r.status == "errors" for r in results), "warnings": sum(r.status == "warnings" for r in results)}

