"""`xltool remind`: a polite message to each agency that has not returned, or whose return has
errors, listing the findings, with the annotated copy of its return attached so the clerk can
fix that very file and send it back.

The log key includes the day: a re-run on the same day resumes after a failure, and the next
round of reminders (another day) goes out again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xltool.mail.compose import Sender, cn_date, compose, render
from xltool.mail.deliver import DeliveryReport, MessageFailed, Outgoing, SendLog, deliver_all
from xltool.round.roster import Agency
from xltool.util import safe_filename

MAX_LISTED = 30  # findings in the body; the annotated copy lists them all


@dataclass
class Case:
    agency: Agency
    state: str  # missing | errors
    file: Path | None = None
    findings: list[Any] = field(default_factory=list)
    year: int | None = None


def cases(path: Path, agencies: list[Agency], key: bytes | None) -> list[Case]:
    """Every roster agency that is missing or whose return has errors, decided as `status`
    decides (the same rule for which return counts), with all the findings of that return."""
    from xltool.round.status import status_paths
    from xltool.round.verify import verify_path

    out = []
    for state in status_paths(agencies, [path], key=key, show_progress=False).chase():
        if state.state == "missing":
            out.append(Case(state.agency, "missing"))
            continue
        assert state.file is not None  # chased for its findings: it has a return
        result = verify_path(state.file, key=key)
        findings = sorted(result.findings, key=lambda f: f.severity != "error")
        out.append(Case(state.agency, "errors", Path(state.file), findings, result.ret.year if result.ret else None))
    return out


def remind(path: Path, agencies: list[Agency], sender: Sender, transport, log: SendLog | None,
           key: bytes | None = None, year: int | None = None, deadline: date | None = None,
           contact: str | None = None) -> tuple[list[Case], DeliveryReport]:
    todo = cases(path, agencies, key)
    year = year or _common_year(todo) or date.today().year - 1
    jobs = [_job(c, sender, year, deadline, contact) for c in todo]
    return todo, deliver_all(jobs, transport, log)


def _common_year(todo: list[Case]) -> int | None:
    years = Counter(c.year for c in todo if c.year)
    return years.most_common(1)[0][0] if years else None


def _job(case: Case, sender: Sender, year: int, deadline: date | None, contact: str | None) -> Outgoing:
    agency = case.agency
    stem = f"{agency.code}_{safe_filename(agency.name)}_{case.year or year}"
    annotated_name = f"{stem}_审核意见.xlsx"

    def build() -> tuple[str, bytes]:
        attachments = _annotated(case, annotated_name)
        subject, body = render("remind", agency=agency, state=case.state, year=case.year or year,
                               findings=case.findings[:MAX_LISTED], more=max(0, len(case.findings) - MAX_LISTED),
                               annotated_name=annotated_name if attachments else None,
                               deadline=cn_date(deadline) if deadline else None, contact=contact,
                               coordinator=sender.name, today=cn_date(date.today()))
        return compose(sender, agency, subject, body, attachments)

    key = f"remind:{agency.code}:{date.today().isoformat()}:{case.state}"
    return Outgoing(agency, key, f"{stem}_{'催报' if case.state == 'missing' else '审核意见'}.eml", build,
               {"state": case.state, "file": case.file.name if case.file else None})


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
