"""`xltool remind`: a message to each agency the round must chase, saying what to do.

- `missing` (nothing received): its blank workbook attached, and: if you did send it, reply
  again with the workbook attached (it never arrived in a usable form).
- `unusable` (a reply came, nothing in it usable): what arrived, when and from which address, why
  it cannot be used, and its blank workbook.
- `sender-mismatch` (another agency's workbook came from its address, or its workbook from
  another agency's address): the mix-up explained from its side, and its own blank workbook.
- `errors`: the findings, with the annotated copy of its return to fix and send back.

States as `status` decides them (PRODUCT.md, "Status states"). The blank workbook is the one
generate wrote (found by the agency code inside it, as send finds it), else a fresh one with the
round's key. The log key includes the day and the state: a re-run on the same day resumes after
a failure, an agency whose state changed is written to again, and the next day's reminders go
out again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from xltool.mail.compose import Deadline, Sender, cn_date, compose, render, today
from xltool.mail.deliver import DeliveryReport, MessageFailed, Outgoing, SendLog, deliver_all
from xltool.round.annotate import annotated_name
from xltool.round.replies import Mixup, Unusable
from xltool.round.roster import Agency
from xltool.util import safe_filename

MAX_LISTED = 30  # findings in the body; the annotated copy lists them all
Previous: TypeAlias = "str | os.PathLike[str] | Mapping[str, Mapping[str, Any]] | None"  # last year's returns, or figures
LETTER = {"missing": "催报", "unusable": "无法使用", "sender-mismatch": "报表错发", "errors": "审核意见"}


@dataclass
class Case:
    agency: Agency
    state: str  # missing | unusable | sender-mismatch | errors
    file: Path | None = None
    findings: list[Any] = field(default_factory=list)
    year: int | None = None
    reason: str | None = None  # status's reason, in Chinese
    mixups: list[Mixup] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)


def cases(paths: Path | Sequence[Path], agencies: list[Agency], key: bytes | None, *, confirmations: Any = None,
          previous: Mapping[str, Mapping[str, Any]] | None = None) -> list[Case]:
    """Every roster agency to chase, decided as `status` decides (the same rule for which return
    counts, the same reading of who sent what, the same confirmations and last year's figures),
    with all the findings of a failing return."""
    from xltool.round.status import status_paths
    from xltool.round.verify import verify_path

    report = status_paths(agencies, _paths(paths), key=key, confirmations=confirmations, previous=previous,
                          show_progress=False)
    out = []
    for state in report.chase():
        case = Case(state.agency, state.state, reason=state.reason,
                    mixups=[m for m in state.mixups if not m.confirmed], unusable=list(state.unusable))
        if state.state == "errors" and state.file is not None:
            result = verify_path(state.file, key=key, previous=previous)
            case.file = Path(state.file)
            case.findings = sorted(result.findings, key=lambda f: f.severity != "error")
            case.year = result.ret.year if result.ret else None
        out.append(case)
    return out


def _paths(paths: Path | Sequence[Path]) -> list[Path]:
    return [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]


def remind(paths: Path | Sequence[Path], agencies: list[Agency], sender: Sender, transport, log: SendLog | None,
           key: bytes | None = None, year: int | None = None, deadline: date | Deadline | None = None,
           contact: str | None = None, *, workbooks: Path | None = None, previous: Previous = None,
           confirmations: Any = None) -> tuple[list[Case], DeliveryReport]:
    """Write to every agency to chase; `workbooks` is the folder generate wrote (下发/), whose
    blank workbooks are attached, and `previous` last year's returns (any form --previous takes,
    or their figures) for the carried-over cells of fresh ones."""
    from xltool.round.previous import load_previous

    figures = load_previous(Path(previous)) if isinstance(previous, (str, os.PathLike)) else previous
    todo = cases(paths, agencies, key, confirmations=confirmations, previous=figures)
    year = year or _common_year(todo) or today().year - 1
    when = deadline if isinstance(deadline, Deadline) else Deadline.resolve(deadline)
    blanks = BlankWorkbooks(workbooks, year, key, figures)
    jobs = [_job(c, sender, year, when, contact, blanks) for c in todo]
    return todo, deliver_all(jobs, transport, log)


def _common_year(todo: list[Case]) -> int | None:
    years = Counter(c.year for c in todo if c.year)
    return years.most_common(1)[0][0] if years else None


class BlankWorkbooks:
    """An agency's blank workbook: the one generate wrote into `folder` for this year (matched by
    the agency code inside it, never by file name), else a fresh one with the round's key."""

    def __init__(self, folder: Path | None, year: int, key: bytes | None,
                 previous: Mapping[str, Mapping[str, Any]] | None = None):
        self.folder, self.year, self.key, self.previous = folder, year, key, previous or {}
        self._found: dict[str, Any] | None = None

    def _written(self) -> dict[str, Any]:
        from xltool.mail.send import find_workbooks

        if self._found is None:
            self._found = {}
            if self.folder is not None and self.folder.is_dir():
                self._found = {code: w for code, w in find_workbooks(self.folder).by_code.items() if w.year == self.year}
        return self._found

    def get(self, agency: Agency) -> tuple[str, bytes]:
        from xltool.form.generate import agency_workbook
        from xltool.round.workbooks import file_name

        book = self._written().get(agency.code)
        if book is not None:
            try:
                return book.path.name, book.path.read_bytes()
            except OSError as e:
                raise MessageFailed(f"无法读取工作簿 {book.path.name}：{e.strerror or e}") from None
        data = agency_workbook(self.year, agency.code, agency.name, self.key, self.previous.get(agency.code))
        return file_name(agency, self.year), data


def _job(case: Case, sender: Sender, year: int, when: Deadline, contact: str | None,
         blanks: BlankWorkbooks) -> Outgoing:
    agency = case.agency
    stem = f"{agency.code}_{safe_filename(agency.name)}_{case.year or year}"

    def build() -> tuple[str, bytes]:
        attachments = (_annotated(case, annotated_name(agency.code, agency.name)) if case.state == "errors"
                       else [blanks.get(agency)])
        subject, body = render("remind", agency=agency, state=case.state, year=case.year or year,
                               findings=case.findings[:MAX_LISTED], more=max(0, len(case.findings) - MAX_LISTED),
                               attached=attachments[0][0] if attachments else None,
                               arrivals=[_arrival(u) for u in case.unusable], **_mixups(case),
                               contact=contact, coordinator=sender.name, today=cn_date(today()), **when.context())
        return compose(sender, agency, subject, body, attachments)

    key = f"remind:{agency.code}:{today().isoformat()}:{case.state}"
    return Outgoing(agency, key, f"{stem}_{LETTER[case.state]}.eml", build,
                    {"state": case.state, "file": case.file.name if case.file else None})


def _on(when: str | None) -> str:
    """"于2023年1月10日" for a message's date (as the people in the round read it), "" without one."""
    from xltool.round.dates import CST, parse_time

    moment = parse_time(when) if when else None
    return f"于{cn_date(moment.astimezone(CST).date())}" if moment else ""


def _arrival(u: Any) -> dict[str, str]:
    return {"what": u.what, "reason": u.reason, "address": u.address, "on": _on(u.date)}


def _mixups(case: Case) -> dict[str, list[dict[str, str]]]:
    """The mix-ups from this agency's side: workbooks of others its address sent, and its own
    workbook sent from another agency's address."""
    code = case.agency.code
    sent = [{"address": m.address, "on": _on(m.date), "owner": m.owner_name, "owner_code": m.owner}
            for m in case.mixups if m.owner != code]
    received = [{"address": m.address, "on": _on(m.date), "senders": m.who_sent}
                for m in case.mixups if m.owner == code]
    return {"sent_other": sent, "sent_by_other": received}


def _annotated(case: Case, name: str) -> list[tuple[str, bytes]]:
    """The return with its findings marked; none when it cannot be rewritten (the body still
    lists every finding)."""
    if case.file is None:
        return []
    from xltool.round.annotate import annotate_bytes

    try:
        data = case.file.read_bytes()
    except OSError as e:
        raise MessageFailed(f"无法读取报表 {case.file}：{e.strerror or e}") from None
    try:
        return [(name, annotate_bytes(data, case.findings, f"{case.agency.name}（{case.agency.code}）"))]
    except Exception:  # a file our reader accepted but that cannot be rewritten (as annotate_results)
        return []
