"""Verification of returns: is each file intact, valid and consistent, and what must be fixed.

`verify_path` checks one file; `verify_paths` expands folders, checks many files on both cores,
and names the returns an agency sent twice (PRODUCT.md's rule for which one counts)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from xltool.checks import Context, families
from xltool.findings import Finding, finding, status_of
from xltool.form.returns import RETURN_SUFFIXES, FormError, Return, from_book, read_bounded, read_meta
from xltool.form.spec import Spec, Superseded, latest_spec
from xltool.office.book import Book
from xltool.office.container import ContainerError, wps_format
from xltool.office.xlsx import load_book
from xltool.published.document import KIND_NAMES, is_document
from xltool.round import dates
from xltool.round.dates import parse_time
from xltool.util import parallel_map

if TYPE_CHECKING:
    from xltool.round.replies import Replies
    from xltool.round.roster import Agency

PARALLEL_FROM = 24


@dataclass
class FileResult:
    file: str
    agency: dict[str, str] | None
    findings: list[Finding]
    ret: Return | None = None
    saved_at: str | None = None
    mtime: float = 0.0
    values: dict[str, Any] = field(default_factory=dict)
    year: int | None = None  # the statistics year, to judge how plausible saved_at is
    kind: str = "xlsx"  # xlsx for workbooks; html | docx | pdf | text for a published report
    source: dict[str, Any] | None = None  # a document's: file, sha256, kind, published; an imported workbook's origin
    notes: list[str] = field(default_factory=list)  # said beside the findings (an imported workbook)
    paired_with: dict[str, Any] | None = None  # last year's return in the same run it was checked against

    @property
    def paired_text(self) -> str:
        """What the cross-year check of this run compared, in Chinese."""
        p = self.paired_with or {}
        what = "报表" if p.get("kind") == "xlsx" else "报告"
        return f"已与本次同时检查的{p.get('year')}年度{what}（{Path(p.get('file', '')).name}）对照，核对了上年结转与现行有效件数。"

    @property
    def status(self) -> str:
        return status_of(self.findings)

    @property
    def document(self) -> bool:
        """A published report read as a return (not a workbook)."""
        return self.kind != "xlsx"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "agency": self.agency, "status": self.status, "kind": self.kind, "year": self.year,
               "findings": [f.to_json() for f in self.findings]}
        if self.source is not None:
            out["source"] = self.source
        if self.notes:
            out["notes"] = list(self.notes)
        if self.paired_with:
            out["paired_with"] = dict(self.paired_with)
        return out


def _file_findings(book: Book) -> list[Finding]:
    out = []
    if book.kind == "xls":
        out.append(finding("file-legacy-format", "这是旧版 Excel（.xls）文件：已读取数值，但无法核对合计公式是否完整。"))
    elif book.kind == "et":
        out.append(finding("file-wps-format", wps_format(True)))
    if book.has_macros:
        out.append(finding("file-has-macros", "工作簿中含有宏（VBA 代码）：宏未运行，已被忽略。"))
    return out


def _superseded_format(book: Book) -> tuple[Spec, Superseded] | None:
    """The format a workbook without our identity is in, when its labels are an old format's."""
    texts = {c.value for s in book.sheets.values() for c in s.cells.values() if c.type == "s"}
    spec = latest_spec()
    return next(((spec, f) for f in spec.superseded if texts & set(f.labels)), None)


def _form_error(book: Book, error: FormError) -> Finding:
    found = None if read_meta(book) else _superseded_format(book)
    if found:
        spec, old = found
        return finding("form-unknown", f"这是{old.name}（{old.basis}）的报表，已不再适用。"
                                       f"请使用下发的{spec.basis}格式填报表重新填写。")
    return finding("form-unknown", error.message)


def verify_return(ret: Return, *, key: bytes | None = None,
                  previous: Mapping[str, Any] | None = None) -> list[Finding]:
    ctx = Context(ret, key, previous)
    findings = _file_findings(ret.book)
    for family in families():
        findings.extend(family.check(ctx))
    return findings


def verify_bytes(data: bytes, file: str, *, key: bytes | None = None,
                 previous: Mapping[str, Mapping[str, Any]] | None = None, mtime: float = 0.0) -> FileResult:
    try:
        book = load_book(data)
        try:
            ret = from_book(book, file, hashlib.sha256(data).hexdigest())
        except FormError as e:
            return FileResult(file, None, _file_findings(book) + [_form_error(book, e)], saved_at=book.modified,
                              mtime=mtime)
        prev = last_year(previous, ret.agency_code, ret.agency_name)
        findings = verify_return(ret, key=key, previous=prev)
    except ContainerError as e:  # also a damaged sheet, parsed only when a check reads it
        return FileResult(file, None, [finding(e.code, e.message)], mtime=mtime)
    except (ValueError, LookupError, TypeError, ArithmeticError, RecursionError) as e:
        # a defect xltool has not met yet: this file costs only itself, the folder run goes on
        return FileResult(file, None, [finding("file-unreadable", f"读取本文件时遇到无法处理的内容（{type(e).__name__}），"
                                                                  f"已跳过；其他文件照常审核。")], mtime=mtime)
    result = FileResult(file, {"code": ret.agency_code, "name": ret.agency_name}, findings, ret,
                        saved_at=book.modified, mtime=mtime, values=ret.values, year=ret.year)
    origin = ret.source.get("imported_from")
    if origin:
        result.source = {"kind": "xlsx", "imported_from": origin}
        result.notes.append(f"本表由已发布的报告导入（{KIND_NAMES.get(origin['kind'], origin['kind'])}，{origin.get('file') or ''}），"
                            "不是该单位填报并签章的报表。")
    return result


def last_year(previous: Mapping[str, Mapping[str, Any]] | None, code: str, name: str) -> Mapping[str, Any] | None:
    """Last year's figures of an agency: by its code, else by its name (a published report has
    no code; the name matched with the year and the report's title stripped)."""
    if previous is None:
        return None
    if code and code in previous:
        return previous[code]
    from xltool.published.names import find_by_name

    return find_by_name(previous, name)


def verify_document(path: Path, previous: Mapping[str, Mapping[str, Any]] | None = None, mtime: float = 0.0) -> FileResult:
    """A published report (HTML, Word, PDF, text) verified as printed (PRODUCT.md, "Published reports")."""
    from xltool.published.importing import check, import_source

    imp = import_source(path)
    prev = last_year(previous, imp.agency_code, imp.agency_name)
    findings = check(imp, prev)
    doc = imp.document
    agency = {"code": imp.agency_code, "name": imp.agency_name} if imp.readable else None
    values = {k: imp.values.get(k) for k in imp.spec.numeric_keys} if imp.readable else {}
    return FileResult(str(path), agency, findings, None, mtime=mtime, values=values, year=imp.year, kind=doc.kind,
                      source={"file": doc.file, "sha256": doc.sha256, "kind": doc.kind,
                              "published": doc.published.isoformat() if doc.published else None,
                              "form_version": imp.spec.version if imp.readable else None,
                              "trial_format": imp.trial.name if imp.trial else None})


def verify_path(path: str | os.PathLike, *, key: bytes | None = None,
                previous: Mapping[str, Mapping[str, Any]] | None = None) -> FileResult:
    """Verify one file: a workbook, or a published report (by its suffix). `previous` maps agency
    code (or a published report's agency name) -> last year's values."""
    path = Path(path)
    if is_document(path.name) and path.suffix.lower() not in RETURN_SUFFIXES:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        return verify_document(path, previous, mtime)
    try:
        data = read_bounded(path)
        mtime = path.stat().st_mtime
    except ContainerError as e:
        return FileResult(str(path), None, [finding(e.code, e.message)])
    return verify_bytes(data, str(path), key=key, previous=previous, mtime=mtime)


def expand(paths: Iterable[str | os.PathLike], replies: Replies | None = None) -> list[Path]:
    """Files named, and the files inside folders named (recursively, hidden files and our own
    manifests left out). In a folder written by `collect`, only the usable current returns, as
    `replies` judged them (by default from the senders collect recorded): a workbook another
    roster agency's address sent is current for nobody."""
    folders = [Path(p) for p in paths]
    if replies is None:
        from xltool.round.replies import judge

        replies = judge(folders)
    out: list[Path] = []
    for p in folders:
        if p.is_dir():
            if p in replies.returns:
                out.extend(sorted(replies.returns[p].values()))
                out.extend(sorted(replies.documents.get(p, {})))  # tried as reports (claim_documents)
                continue
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not _ignored(f, p)))
        else:
            out.append(p)
    return out


def _ignored(f: Path, root: Path) -> bool:
    rel = f.relative_to(root).parts
    # import's own records (<name>.json beside the workbook it made) are not returns
    return (any(part.startswith(".") for part in rel) or f.name in ("manifest.json",) or f.name.startswith("~$")
            or f.suffix.lower() == ".json")


def _worker(args) -> FileResult:
    path, key, previous = args
    result = verify_path(path, key=key, previous=previous)
    result.ret = None  # the Return holds the parsed book: too heavy to send between processes
    return result


def verify_paths(paths: Iterable[str | os.PathLike], *, key: bytes | None = None,
                 previous: Mapping[str, Mapping[str, Any]] | None = None, workers: int | None = None,
                 show_progress: bool = True, roster: Sequence[Agency] | None = None,
                 confirmations: Any = None) -> list[FileResult]:
    """Verify every return under `paths`. In a folder written by collect: the usable current
    returns, and each workbook another roster agency's address sent (judged with `roster` when
    given, else as collect recorded the senders), which carries a `sender-mismatch` error until
    confirmed (`confirmations`: the round's 确认记录.json, or a loaded record)."""
    from xltool.round.confirm import load
    from xltool.round.replies import judge

    paths = list(paths)
    replies = judge(paths, roster, load(confirmations))
    mixups = {Path(m.file): m for m in replies.unconfirmed()}
    jobs = [(f, key, previous) for f in [*expand(paths, replies), *sorted(mixups)]]
    results = parallel_map(_worker, jobs, "审核", parallel_from=PARALLEL_FROM, workers=workers,
                           show_progress=show_progress)
    for r in results:
        mixup = mixups.get(Path(r.file))
        if mixup is not None:
            r.findings.insert(0, finding("sender-mismatch", mixup.message()))
    from xltool.published.names import name_codes, pair_years
    from xltool.round.replies import claim_documents

    results = claim_documents(results, replies)
    name_codes(results, roster)
    if previous is None:
        results = pair_years(results, lambda f, prev: verify_path(f, key=key, previous=prev))
    mark_duplicates([r for r in results if Path(r.file) not in mixups])
    return results


def summary(results: Iterable[FileResult]) -> dict[str, int]:
    """verify's summary (PRODUCT.md, "Findings"): files, ok, warnings, errors."""
    statuses = [r.status for r in results]
    return {"files": len(statuses), **{s: statuses.count(s) for s in ("ok", "warnings", "errors")}}


def exit_status(results: Iterable[FileResult]) -> int:
    """0 when no return has an error (warnings allowed), 1 when one has."""
    return 1 if any(r.status == "errors" for r in results) else 0


class Dated(Protocol):
    """What choosing among an agency's workbooks reads (FileResult, merge's Scanned, send's Workbook)."""

    @property
    def file(self) -> str: ...
    @property
    def saved_at(self) -> str | None: ...
    @property
    def mtime(self) -> float: ...


class Candidate(Dated, Protocol):
    @property
    def agency(self) -> dict[str, str] | None: ...


D = TypeVar("D", bound=Dated)
C = TypeVar("C", bound=Candidate)


def doubt(when: str | datetime | None, year: int | None, now: datetime) -> str | None:
    """Why a save time cannot be trusted to order versions (PRODUCT.md: missing, later than now,
    or before 1 January of the statistics year), in words; None when it is plausible."""
    at = parse_time(when)
    if at is None:
        return "没有记录时间" if not when else f"时间“{str(when)[:40]}”无法识别"
    problem = dates.doubt(at, year, now if now.tzinfo else now.replace(tzinfo=timezone.utc))
    return f"时间 {at:%Y-%m-%d %H:%M} {problem}" if problem else None


def plausible(when: str | datetime | None, year: int | None, now: datetime) -> datetime | None:
    """The time when it can order versions, else None: implausible times sort last."""
    return None if doubt(when, year, now) else parse_time(when)


def _year(r: Any) -> int | None:
    """The statistics year of a candidate: FileResult and send's Workbook carry `year`, merge's
    Scanned carries it in `form`."""
    year = getattr(r, "year", None)
    if year is None and getattr(r, "form", None):
        year = r.form[2]
    return year if isinstance(year, int) else None


def _file_time(mtime: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(mtime, timezone.utc) if mtime else None
    except (OverflowError, OSError, ValueError):  # a file time past the year 9999
        return None


def _order(r: Dated, now: datetime) -> tuple:
    saved = plausible(r.saved_at, _year(r), now)
    filed = plausible(_file_time(r.mtime), None, now)
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    workbook = not from_document(r)  # an agency's workbook always wins over its document
    return workbook, saved is not None, saved or oldest, filed is not None, filed or oldest, r.file


def from_document(r: Any) -> bool:
    """A published report, or a workbook import made from one (FileResult or merge's Scanned)."""
    return bool(getattr(r, "kind", "xlsx") != "xlsx" or getattr(r, "origin", None)
                or (getattr(r, "source", None) or {}).get("imported_from"))


def choose(results: Iterable[D], now: datetime | None = None) -> D:
    """Which of an agency's returns counts (PRODUCT.md): the newest by the workbook's own save
    time, then by file time; a time that is missing, later than now, or before 1 January of the
    statistics year sorts last (a draft saved "in 2099" never beats the correction)."""
    now = now or datetime.now(timezone.utc)
    return max(results, key=lambda r: _order(r, now))


def superseded_note(used: Dated, other: Dated, now: datetime | None = None) -> str:
    """Why `other` is not the return used, for the duplicate-return finding and the notes."""
    now = now or datetime.now(timezone.utc)
    name = Path(used.file).name
    if from_document(other) and not from_document(used):
        return f"本份来自已发布的报告，该单位自己报送的 Excel 填报表 {name} 优先"
    why = doubt(other.saved_at, _year(other), now)
    if why:
        return f"本份的保存{why}，不可信，按规则排在后面；采用的是 {name}"
    used_doubt = doubt(used.saved_at, _year(used), now)
    if used_doubt:  # both implausible: file time decided
        return f"两份的保存时间都不可信，按文件时间采用较新的 {name}"
    saved = plausible(used.saved_at, _year(used), now)
    if saved is None or saved == plausible(other.saved_at, _year(other), now):
        return f"保存时间相同，按文件时间采用较新的 {name}"
    return f"采用的是保存时间较新的 {name}（{saved:%Y-%m-%d %H:%M}）"


def duplicates(results: Iterable[C], now: datetime | None = None) -> dict[str, tuple[C, list[C]]]:
    by_code: dict[str, list[C]] = {}
    for r in results:
        if r.agency and r.agency.get("code"):
            by_code.setdefault(r.agency["code"], []).append(r)
    out = {}
    for code, group in by_code.items():
        if len(group) > 1:
            used = choose(group, now)
            out[code] = (used, [r for r in group if r is not used])
    return out


def mark_duplicates(results: list[FileResult]) -> None:
    for code, (used, others) in duplicates(results).items():
        for r in others:
            r.findings.append(finding("duplicate-return", f"单位（代码 {code}）报送了多份报表：本份未采用。"
                                                          f"{superseded_note(used, r)}。"))
