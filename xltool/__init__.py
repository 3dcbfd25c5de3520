"""xltool: the yearly 政府信息公开工作年度报告 round, from locked workbooks to the final report.

The Python API: the whole round as functions; the command line (`xltool.cli`) is a thin layer
over them. Paths may be `str` or `Path`; a roster is a file or a list of `Agency`; `previous`
is last year's returns (any form `--previous` takes) or figures already loaded. Errors are
`xltool.errors.XltoolError`, with a Chinese message and the exit status the CLI would use.

    import xltool
    data = xltool.generate(2021, "001", "某某局")              # bytes of a locked workbook
    data = xltool.fill(data, {"requests.new.natural_person": 5})
    filled = xltool.fill_folder("下发/", "数据.jsonl", "已填/")   # matched by the agency code inside
    ret = xltool.read("001.xlsx")                              # ret.to_json(): the return as data
    result = xltool.verify("001.xlsx")                         # result.status, result.findings
    results = xltool.verify_paths(["收到/"], annotate="批注/")
    merged = xltool.merge(["收到/"], roster="roster.csv")       # merged.values, .included, .excluded
    xltool.report("汇总.xlsx", "报告/", formats="html,docx")
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from xltool.errors import XltoolError

if TYPE_CHECKING:
    from xltool.form.fill import Filled
    from xltool.form.returns import Return
    from xltool.form.spec import Spec
    from xltool.mail.collect import Summary as CollectSummary
    from xltool.mail.remind import Case
    from xltool.mail.send import SendResult
    from xltool.reports.run import Outcome
    from xltool.round.merge import MergeResult
    from xltool.round.roster import Agency
    from xltool.round.status import StatusReport
    from xltool.round.verify import FileResult

PathLike: TypeAlias = "str | os.PathLike[str]"
Roster: TypeAlias = "PathLike | Sequence[Agency]"
Previous: TypeAlias = "PathLike | Mapping[str, Mapping[str, Any]]"

__all__ = ["XltoolError", "collect", "fill", "fill_folder", "generate", "generate_roster", "get_spec", "merge", "read", "remind",
           "report", "send", "status", "verify", "verify_paths"]


def _agencies(roster: Roster | None) -> list[Agency] | None:
    from xltool.round.roster import load_roster

    if roster is None:
        return None
    if isinstance(roster, (str, os.PathLike)):
        return load_roster(Path(roster))
    return list(roster)


def _previous(previous: Previous | None) -> Mapping[str, Mapping[str, Any]] | None:
    from xltool.round.previous import load_previous

    if previous is None or isinstance(previous, Mapping):
        return previous
    return load_previous(Path(previous))


def get_spec(form: str = "gov-info-disclosure", version: str | None = None) -> Spec:
    """A form spec: the given version, or the newest."""
    from xltool.form import spec

    return spec.get_spec(form, version) if version else spec.latest_spec(form)


def generate(year: int, agency_code: str, agency_name: str, *, key: bytes | None = None,
             previous: Previous | None = None) -> bytes:
    """One agency's locked workbook; last year's carried-over figures typed in when given."""
    from xltool.form.generate import agency_workbook

    figures = _previous(previous)
    return agency_workbook(year, agency_code, agency_name, key, (figures or {}).get(agency_code.strip()))


def generate_roster(roster: Roster, year: int, out_dir: PathLike, *, key: bytes | None = None,
                    previous: Previous | None = None) -> list[str]:
    """One workbook per roster agency into a folder, on both cores; the paths written."""
    from xltool.round.workbooks import generate_roster as run
    from xltool.util import check_writable_dir, refuse_overlap

    refuse_overlap(out_dir, [roster if isinstance(roster, (str, os.PathLike)) else None,
                             previous if isinstance(previous, (str, os.PathLike)) else None], output_is_dir=True)
    check_writable_dir(Path(out_dir))
    return run(_agencies(roster) or [], year, Path(out_dir), key, _previous(previous))


def fill(workbook: bytes, values: Mapping[str, Any]) -> bytes:
    """The workbook with values typed in by canonical key ({key: value} or the read --json shape)."""
    from xltool.form.fill import fill_bytes, values_from_payload

    return fill_bytes(workbook, values_from_payload(values))


def fill_folder(folder: PathLike, data: PathLike, out_dir: PathLike, *, show_progress: bool = False) -> Filled:
    """Every workbook of a folder filled, on both cores, with the values for the agency code inside
    it, from `data`: a folder of JSON (read --json output, or {key: value} with a "code") or a JSON
    lines file; written to `out_dir` under the input's name. `.without_data` lists the workbooks no
    data was for (`.exit_status` 1), `.unused` the data no workbook had."""
    from xltool.form.fill import fill_folder as run

    return run(folder, data, out_dir, show_progress=show_progress)


def read(path: PathLike) -> Return:
    """One return read as data (`.to_json()` is PRODUCT.md's "return as data")."""
    from xltool.form.returns import read_return

    return read_return(path)


def verify(path: PathLike, *, key: bytes | None = None, previous: Previous | None = None) -> FileResult:
    """One file verified: `.status` and `.findings`."""
    from xltool.round.verify import verify_path

    return verify_path(path, key=key, previous=_previous(previous))


def verify_paths(paths: Iterable[PathLike], *, key: bytes | None = None, previous: Previous | None = None,
                 annotate: PathLike | None = None, show_progress: bool = False, roster: Roster | None = None,
                 confirmations: PathLike | None = None) -> list[FileResult]:
    """Files and folders verified on both cores; with `annotate`, annotated copies written there.
    With `roster`, a workbook a collected folder got from another roster agency's address gets
    `sender-mismatch` (unless `confirmations`, the round's 确认记录.json, says it was legitimate)."""
    from xltool.round.annotate import annotate_results
    from xltool.round.verify import verify_paths as run
    from xltool.util import check_writable_dir, refuse_overlap

    paths = list(paths)
    if annotate is not None:
        refuse_overlap(annotate, [*paths, previous if not isinstance(previous, Mapping) else None], output_is_dir=True,
                       writes_returns=True)
    results = run(paths, key=key, previous=_previous(previous), show_progress=show_progress,
                  roster=_agencies(roster), confirmations=confirmations)
    if annotate is not None:
        check_writable_dir(Path(annotate))
        annotate_results(results, Path(annotate), show_progress=show_progress)
    return results


def merge(paths: Iterable[PathLike], *, roster: Roster | None = None, key: bytes | None = None,
          allow_errors: bool = False, output: PathLike | None = None, agency_code: str | None = None,
          agency_name: str | None = None, confirmations: PathLike | None = None,
          previous: Previous | None = None) -> MergeResult:
    """The returns consolidated; with `output`, the merged workbook written there too. A return
    with a figure warning counts only when `confirmations` (the round's 确认记录.json) confirms it."""
    from xltool.form.generate import checked_code
    from xltool.round.merge import DEFAULT_CODE, merge_paths, write_merged_workbook
    from xltool.util import output_lock, refuse_overlap

    paths = list(paths)
    if output is None:
        return merge_paths(paths, roster=_agencies(roster), key=key, allow_errors=allow_errors, show_progress=False,
                           confirmations=confirmations, previous=_previous(previous))
    code = checked_code(agency_code or DEFAULT_CODE)
    refuse_overlap(output, [*paths, roster if isinstance(roster, (str, os.PathLike)) else None], output_is_dir=False)
    with output_lock(Path(output).parent, "另一个 xltool merge"):
        result = merge_paths(paths, roster=_agencies(roster), key=key, allow_errors=allow_errors, show_progress=False,
                             confirmations=confirmations, previous=_previous(previous))
        write_merged_workbook(result, output, code=code, name=agency_name)
    return result


def status(roster: Roster, paths: Iterable[PathLike], *, key: bytes | None = None, deadline: date | None = None,
           confirmations: PathLike | None = None, previous: Previous | None = None) -> StatusReport:
    """Who is missing, whose reply is unusable or another agency's, who passed, who failed and
    why; `overdue` from the day after `deadline`."""
    from xltool.round.status import status_paths

    return status_paths(_agencies(roster) or [], paths, key=key, deadline=deadline, confirmations=confirmations,
                        previous=_previous(previous), show_progress=False)


def report(input_path: PathLike, output: PathLike, *, formats: str | None = None, narrative: PathLike | None = None,
           allow_errors: bool = False) -> Outcome:
    """The final report(s): the format from OUTPUT's suffix, or `formats` when OUTPUT is a folder."""
    from xltool.reports import Narrative, plan, write_reports

    return write_reports(Path(input_path), plan(Path(output), formats), Narrative(Path(narrative) if narrative else None),
                         allow_errors=allow_errors)


def collect(source: str, out_dir: PathLike, *, roster: Roster | None = None, since: date | None = None,
            password_file: PathLike | None = None) -> CollectSummary:
    """Returns filed by their own agency code from an mbox, Maildir, folder or IMAP mailbox."""
    from xltool.mail.collect import collect as run
    from xltool.mail.sources import open_source

    out = Path(out_dir)
    src = open_source(source, since=since, password_file=str(password_file) if password_file else None, exclude=out)
    return run(src, out, _agencies(roster), since)


def send(folder: PathLike, roster: Roster, sender: str, *, outbox: PathLike, smtp: str | None = None,
         password_file: PathLike | None = None, deadline: date | None = None, new_deadline: date | None = None,
         contact: str | None = None) -> SendResult:
    """Each agency mailed its own workbook at every address of the roster (to the outbox as .eml
    without `smtp`); agencies without a usable address are in `.report.unmailable`. A `deadline` that
    has passed makes the letter say 已逾期 and ask for `new_deadline` (never past) or 尽快."""
    from xltool.mail.compose import Deadline, Sender
    from xltool.mail.deliver import transport_for
    from xltool.mail.send import send as run

    who = Sender.parse(sender)
    when = Deadline.resolve(deadline, new_deadline)
    transport, log = transport_for(smtp, str(password_file) if password_file else None, who, Path(outbox), "sent.jsonl")
    return run(Path(folder), _agencies(roster) or [], who, transport, log, when, contact)


def remind(path: PathLike | Sequence[PathLike], roster: Roster, sender: str, *, outbox: PathLike,
           smtp: str | None = None, password_file: PathLike | None = None, key: bytes | None = None,
           year: int | None = None, deadline: date | None = None, new_deadline: date | None = None,
           contact: str | None = None, workbooks: PathLike | None = None,
           previous: Previous | None = None) -> list[Case]:
    """Every agency to chase (missing, unusable, sender-mismatch, errors) written to with what to
    do: its blank workbook (from `workbooks`, the folder generate wrote, else made afresh) or its
    annotated return. Deadlines as `send`."""
    from xltool.mail.compose import Deadline, Sender
    from xltool.mail.deliver import transport_for
    from xltool.mail.remind import remind as run

    who = Sender.parse(sender)
    when = Deadline.resolve(deadline, new_deadline)
    transport, log = transport_for(smtp, str(password_file) if password_file else None, who, Path(outbox),
                                   "reminded.jsonl")
    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    todo, _ = run(paths, _agencies(roster) or [], who, transport, log, key, year, when, contact,
                  workbooks=Path(workbooks) if workbooks else None, previous=previous)
    return todo
