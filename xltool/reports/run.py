"""`xltool report` as a library call: inputs in, report files out.

INPUT is a return, a merged workbook (read the same way), a `read --json` file, or a folder of
returns; OUT is a file whose suffix names the format, or a folder that gets one file per agency
and format, named <code>_<name>.<ext>. A return with errors gets no report unless errors are
allowed, and then its report is marked 草稿 (draft). Every file is written whole or not at all.

The coordinator's own report (its merged workbook, or any input carrying its code) takes its
narrative, contacts and date of issue from the round (`Own`). Every report's parts printed as
未填报 are in the Outcome, per agency, as the composed report recorded them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from xltool.errors import UsageError
from xltool.form.returns import RETURN_SUFFIXES, Return, read_return
from xltool.office.container import ContainerError
from xltool.reports import pdf
from xltool.reports.docx import render_docx
from xltool.reports.html import render_html
from xltool.reports.markdown import render_markdown
from xltool.reports.model import (
    Narrative,
    Report,
    ReportData,
    compose,
    from_json,
    from_return,
    with_contacts,
)
from xltool.reports.narrative import TemplateProblem
from xltool.round.dates import today
from xltool.round.verify import duplicates, expand, superseded_note, verify_path, verify_paths
from xltool.util import (
    atomic_write,
    bounded_filename,
    check_writable_dir,
    output_lock,
    parallel_map,
    progress,
    refuse_overlap,
    safe_filename,
)

FORMATS = ("html", "docx", "md", "pdf")
DEFAULT_FORMATS = ("html", "docx", "md")  # those that need no outside program
SUFFIXES = {".html": "html", ".htm": "html", ".docx": "docx", ".md": "md", ".pdf": "pdf"}
SHOWN_PROBLEMS = 3
PARALLEL_FROM, CHUNK = 16, 8  # agencies before worker processes pay; agencies a worker takes at a time
NAME_CHARS, CODE_CHARS = 60, 40  # of a report's file name, <code>_<name>.<ext>; bytes bounded too


@dataclass(frozen=True)
class Plan:
    """Where the reports go: one file (`single`), or a folder with one file per format."""

    output: Path
    formats: tuple[str, ...]
    single: bool
    fragment: bool = False

    def target(self, data: ReportData, fmt: str) -> Path:
        if self.single:
            return self.output
        return self.output / bounded_filename(data.name[:NAME_CHARS], f".{fmt}",
                                              keep=f"{safe_filename(data.code, CODE_CHARS)}_")


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. an older duplicate return left out
    refused: list[str] = field(default_factory=list)  # returns with errors, unusable inputs: exit 1
    failed: list[str] = field(default_factory=list)  # the narrative template failed for an agency: exit 2
    unfilled: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (agency, parts printed as 未填报)

    @property
    def status(self) -> int:
        return 2 if self.failed else 1 if self.refused else 0


def plan(output: str | Path, formats: str | None = None, fragment: bool = False) -> Plan:
    """Read OUT and --format; anything unknown is a usage error, found before any work."""
    out = Path(output)
    suffix = out.suffix.lower()
    wanted = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in formats.split(",") if f.strip())) \
        if formats else ()
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise UsageError(f"不支持的格式“{'、'.join(unknown)}”：--format 可选 {','.join(FORMATS)}。")
    if suffix in SUFFIXES and not out.is_dir():
        if wanted and wanted != (SUFFIXES[suffix],):
            raise UsageError(f"输出文件 {out.name} 的格式由扩展名决定（{SUFFIXES[suffix]}），与 --format 不一致。"
                             "要输出多种格式，请把 -o 设为一个文件夹。")
        result = Plan(out, (SUFFIXES[suffix],), True, fragment)
    elif suffix and not out.is_dir():
        raise UsageError(f"不认识输出文件的扩展名“{out.suffix}”：请用 .html、.docx、.md 或 .pdf；"
                         "或把 -o 设为一个文件夹，用 --format 选择格式（如 --format html,docx,pdf）。")
    else:
        result = Plan(out, wanted or DEFAULT_FORMATS, False, fragment)
    if fragment and "html" not in result.formats:
        raise UsageError("--fragment 只用于 HTML 输出（.html）。")
    if "pdf" in result.formats:
        pdf.require_soffice()
    return result


@dataclass(frozen=True)
class Own:
    """The coordinator's own report: which input it is (its code, or the merged workbook's
    path) and what the round gives it (narrative, contact details, date of issue)."""

    code: str
    narrative: Narrative
    contact: Mapping[str, str] = field(default_factory=dict)
    issued: date | None = None
    path: Path | None = None

    def matches(self, input_path: str | Path, data: ReportData) -> bool:
        same_file = self.path is not None and Path(input_path).resolve() == self.path.resolve()
        return same_file or data.code == self.code

    def apply(self, data: ReportData) -> ReportData:
        return with_contacts(data, self.contact, self.issued or today())


# -- inputs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """One agency's input, loaded when its turn comes (a folder may hold thousands): a return
    (`file`, its error messages, and the parsed `ret` when verify kept it) or read `data`.
    Without `ret` and `data` it is small and goes to a worker process as it is."""

    label: str
    file: str | None = None
    problems: tuple[str, ...] = ()
    ret: Return | None = field(default=None, compare=False, repr=False)
    data: ReportData | None = field(default=None, compare=False, repr=False)

    def load(self) -> ReportData:
        if self.data is not None:
            return self.data
        assert self.file is not None
        return from_return(self.ret if self.ret is not None else read_return(self.file), list(self.problems))

    @property
    def portable(self) -> bool:
        return self.data is None and self.file is not None


def _who(result) -> str:
    a = result.agency
    return f"{a['name']}（{a['code']}）" if a else Path(result.file).name


def _errors(result) -> list[str]:
    return [f.message for f in result.findings if f.severity == "error"]


def _refusal(result) -> str:
    """The agency, how many errors, the first few (as verify words them), and what to do."""
    errors = _errors(result)
    shown = "".join(f"\n    {e}" for e in errors[:SHOWN_PROBLEMS])
    more = f"\n    ……另有 {len(errors) - SHOWN_PROBLEMS} 处（xltool verify 可列出全部）" if len(errors) > SHOWN_PROBLEMS else ""
    return (f"{_who(result)}：报表有 {len(errors)} 处错误，未生成报告。请改正后重新报送；"
            f"确需先出草稿的，加 --allow-errors。{shown}{more}")


def _returns(folder: Path) -> list[Path]:
    files = [f for f in expand([folder]) if f.suffix.lower() in RETURN_SUFFIXES]
    if not files:
        raise UsageError(f"文件夹 {folder} 中没有找到报表（.xlsx）。")
    return files


def sources(path: str | Path, allow_errors: bool, outcome: Outcome) -> list[Source]:
    """The inputs to report on; returns with errors are refused into `outcome` unless allowed."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"找不到输入：{path}")
    if path.is_file() and path.suffix.lower() == ".json":
        data = from_json(path)
        return _checked_json(data, allow_errors, outcome)
    if path.is_file():
        result = verify_path(path)
        if result.ret is None:
            raise _unreadable(result)
        results = [result]
    else:
        results = verify_paths(_returns(path))
        pairs = [(used, r) for used, others in duplicates(results).values() for r in others]
        outcome.notes += [f"{_who(r)}：{Path(r.file).name} 不是该单位采用的报表，未生成报告。{superseded_note(used, r)}。"
                          for used, r in pairs]
        superseded = [r for _, r in pairs]
        results = [r for r in results if all(r is not s for s in superseded)]
    out = []
    for result in results:
        if result.agency is None:
            outcome.refused.append(f"{Path(result.file).name}：{'；'.join(_errors(result))}")
        elif _errors(result) and not allow_errors:
            outcome.refused.append(_refusal(result))
        else:
            out.append(Source(_who(result), str(result.file), tuple(_errors(result)), result.ret))
    return out


def _unreadable(result) -> Exception:
    message = "；".join(_errors(result)) or "无法读取。"
    return ContainerError("file-unreadable", f"{Path(result.file).name}：{message}")


def _checked_json(data: ReportData, allow_errors: bool, outcome: Outcome) -> list[Source]:
    label = f"{data.name}（{data.code}）"
    if data.problems and not allow_errors:
        outcome.refused.append(f"{label}：{'；'.join(data.problems)}，未生成报告。"
                               "（请补全后重新导出；确需先出草稿的，加 --allow-errors。）")
        return []
    return [Source(label, data=data)]


# -- outputs ------------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[Report, Plan], bytes]] = {
    "html": lambda report, p: render_html(report, p.fragment),
    "md": lambda report, _: render_markdown(report),
    "docx": lambda report, _: render_docx(report),
}


@dataclass
class Done:
    """What writing one agency's reports gave: sent back from a worker process, so small."""

    label: str
    written: list[Path] = field(default_factory=list)
    draft: bool = False
    unfilled: tuple[str, ...] = ()
    failed: str | None = None
    pdf_jobs: list[pdf.PdfJob] = field(default_factory=list)


def report_one(source: Source, p: Plan, narrative: Narrative, own: Own | None, input_path: str | Path) -> Done:
    """Compose one agency's report and write every format but PDF (returned as a job, converted
    in batches); a narrative that fails on this agency's figures is `failed` (raised for one file)."""
    data = source.load()
    words = narrative
    if own is not None and own.matches(input_path, data):
        data, words = own.apply(data), own.narrative
    elif own is not None and own.issued is not None:  # the round's date of issue is every report's
        data = replace(data, issued=own.issued)
    done = Done(source.label)
    try:
        report = compose(data, words)
    except TemplateProblem as e:  # the coordinator's template failed on this agency's figures
        if p.single:
            raise
        done.failed = f"{source.label}：未生成报告。{e}"
        return done
    done.draft, done.unfilled = report.draft, report.unfilled
    docx: bytes | None = None
    for fmt in p.formats:
        target = p.target(report.data, fmt)
        if fmt in ("docx", "pdf"):
            docx = docx or render_docx(report)
        if fmt == "pdf":
            done.pdf_jobs.append(pdf.PdfJob(docx or b"", target, report.texts()))
            continue
        atomic_write(target, docx if fmt == "docx" and docx else RENDERERS[fmt](report, p))
        done.written.append(target)
    return done


def _report_task(task: tuple[Source, Plan, Narrative, Own | None, str]) -> Done:
    return report_one(*task)


def write_reports(input_path: str | Path, p: Plan, narrative: Narrative, *, allow_errors: bool = False,
                  own: Own | None = None) -> Outcome:
    """Compose and write every report; the Outcome says what was written, refused or failed, and
    what each report printed as 未填报. `own` is the coordinator's own report, if one is among them."""
    outcome = Outcome()
    if p.single and Path(input_path).is_dir():
        raise UsageError("输入是一个文件夹时，-o 应为输出文件夹（每个单位一份报告）。")
    refuse_overlap(p.output, [input_path], output_is_dir=not p.single)
    todo = sources(input_path, allow_errors, outcome)
    check_writable_dir(p.output.parent if p.single else p.output)
    with contextlib.nullcontext() if p.single else output_lock(p.output, "另一个 xltool report"):
        _compose_all(todo, p, narrative, outcome, own, input_path)
    return outcome


def _compose_all(todo: list[Source], p: Plan, narrative: Narrative, outcome: Outcome, own: Own | None,
                 input_path: str | Path) -> None:
    """Every agency's reports: in worker processes on every core when there are many (each
    re-reads its return; the document and tables that are the same for all are built once per
    process), then the PDFs in batches, one LibreOffice start per worker."""
    if len(todo) >= PARALLEL_FROM and all(s.portable for s in todo):
        tasks = [(replace(s, ret=None), p, narrative, own, str(input_path)) for s in todo]
        results = parallel_map(_report_task, tasks, "成文", parallel_from=PARALLEL_FROM, chunksize=CHUNK)
    else:
        results = [report_one(s, p, narrative, own, input_path) for s in progress(todo, len(todo), "成文")]
    pdf_jobs: list[pdf.PdfJob] = []
    for done in results:
        if done.failed:
            outcome.failed.append(done.failed)
            continue
        if done.draft:
            outcome.drafts.append(done.label)
        if done.unfilled:
            outcome.unfilled.append((done.label, done.unfilled))
        outcome.written += done.written
        pdf_jobs += done.pdf_jobs
    pdf.write_pdfs(pdf_jobs)
    outcome.written += [job.target for job in pdf_jobs]
