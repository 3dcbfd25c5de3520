"""Where the round stands: each roster agency in one of PRODUCT.md's "Status states", with the
reason, whether it is overdue, its first findings, notes and its e-mail address for chasing; as a
table, JSON, or a self-contained HTML page.

Who returned what is read as `replies` judges it (a workbook another roster agency's address
sent counts for nobody; a reply with nothing usable makes the agency `unusable`), and figure
warnings as the round's confirmations settle them (`unconfirmed` until confirmed)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from xltool.findings import CATALOGUE, STATE_TEXT, Finding
from xltool.round.confirm import Confirmation, Confirmations
from xltool.round.confirm import load as load_confirmations
from xltool.round.dates import CST
from xltool.round.merge import Scanned, scan
from xltool.round.replies import Mixup, Replies, Unusable, judge
from xltool.round.roster import Agency
from xltool.round.verify import choose

# The order a coordinator works through them.
STATES = ("missing", "unusable", "sender-mismatch", "errors", "unconfirmed", "warnings", "ok")
NO_RETURN = ("missing", "unusable", "sender-mismatch")  # no usable return: these can be overdue
CHASED = ("missing", "unusable", "sender-mismatch", "errors")  # unconfirmed is the coordinator's decision


@dataclass
class AgencyState:
    agency: Agency
    state: str
    file: str | None = None
    findings: tuple[Finding, ...] = ()  # the first ones, errors first
    count: int = 0  # all findings
    superseded: list[str] = field(default_factory=list)  # older returns of the agency, not used
    attachments: list[str] = field(default_factory=list)  # what else came by mail: the sealed scan, …
    reason: str | None = None  # unusable / sender-mismatch / unconfirmed: why, in Chinese
    overdue: bool = False  # past the deadline with no usable return
    notes: list[str] = field(default_factory=list)  # a mix-up beside a usable return, …
    mixups: list[Mixup] = field(default_factory=list)  # as the sender or the owner of the workbook
    unusable: list[Unusable] = field(default_factory=list)  # replies from its address with nothing usable
    confirmations: list[Confirmation] = field(default_factory=list)  # the figure warnings confirmed

    def to_json(self) -> dict[str, Any]:
        a = self.agency
        return {"code": a.code, "name": a.name, "email": a.email, "state": self.state, "reason": self.reason,
                "overdue": self.overdue, "file": self.file, "findings": [f.to_json() for f in self.findings],
                "notes": list(self.notes)}


@dataclass
class StatusReport:
    agencies: list[AgencyState]
    unmatched: list[Scanned]  # files that are no roster agency's return: unreadable, or code not on the roster

    @property
    def counts(self) -> dict[str, int]:
        counts = {s: sum(a.state == s for a in self.agencies) for s in STATES}
        return counts | {"overdue": sum(a.overdue for a in self.agencies)}

    def chase(self) -> list[AgencyState]:
        """Agencies to write to: nothing usable received, or a return with errors (not an
        unconfirmed one: confirming is the coordinator's decision)."""
        return [a for a in self.agencies if a.state in CHASED]

    def to_json(self) -> dict[str, Any]:
        return {"agencies": [a.to_json() for a in self.agencies], "counts": self.counts}


def overdue_from(deadline: date) -> datetime:
    """00:00 China time on the day after the deadline."""
    return datetime.combine(deadline + timedelta(days=1), time(), CST)


def unconfirmed_reason(code: str, findings: Sequence[str]) -> str:
    names = "、".join(f"{CATALOGUE[f].title}（{f}）" for f in findings)
    return (f"有待确认的数字：{names}。请向该单位核实：数字无误的，用 xltool confirm {code} {findings[0]} --note 说明 "
            "确认后计入汇总；有误的，请该单位改正后重新报送。")


def round_status(roster: Sequence[Agency], scanned: Sequence[Scanned], *, replies: Replies | None = None,
                 confirmations: Confirmations | None = None, deadline: date | None = None,
                 now: datetime | None = None) -> StatusReport:
    replies = replies or Replies()
    confirmations = confirmations or Confirmations()
    now = now or datetime.now(timezone.utc)
    late = deadline is not None and now >= overdue_from(deadline)
    by_code: dict[str, list[Scanned]] = {}
    unmatched = []
    codes = {a.code for a in roster}
    for s in scanned:
        if s.agency and s.agency["code"] in codes:
            by_code.setdefault(s.agency["code"], []).append(s)
        else:
            unmatched.append(s)
    states = []
    for a in roster:
        got = by_code.get(a.code)
        mixups, unusable = replies.mixups_of(a.code), list(replies.unusable.get(a.code, ()))
        if not got:
            state, reason = replies.without_return(a.code)
            states.append(AgencyState(a, state, reason=reason, overdue=late, mixups=mixups, unusable=unusable))
            continue
        used = choose(got, now)
        unconfirmed, confirmed = confirmations.covering(a.code, used.sha256, used.figures)
        state, reason = used.status, None
        if state != "errors" and unconfirmed:
            state, reason = "unconfirmed", unconfirmed_reason(a.code, unconfirmed)
        states.append(AgencyState(a, state, used.file, used.first, used.count, [s.file for s in got if s is not used],
                                  reason=reason, notes=replies.notes_of(a.code), confirmations=confirmed,
                                  mixups=mixups, unusable=unusable))
    return StatusReport(states, unmatched)


def status_paths(roster: Sequence[Agency], paths: Iterable[str | os.PathLike], *, key: bytes | None = None,
                 deadline: date | None = None, confirmations: Any = None, now: datetime | None = None,
                 previous: Mapping[str, Mapping[str, Any]] | None = None, workers: int | None = None,
                 show_progress: bool = True) -> StatusReport:
    """Each roster agency's state. `confirmations`: the round's 确认记录.json (a path) or a loaded
    record; `deadline` makes agencies with no usable return overdue from the next day; `now` for
    tests; `previous` (last year's figures by agency code) for the checks across years."""
    paths = list(paths)
    confirmations = load_confirmations(confirmations)
    replies = judge(paths, roster, confirmations)
    scanned = scan(paths, key=key, previous=previous, replies=replies, workers=workers, show_progress=show_progress,
                   label="检查")
    report = round_status(roster, scanned, replies=replies, confirmations=confirmations, deadline=deadline, now=now)
    companions = collected_attachments(paths)
    for a in report.agencies:
        a.attachments = companions.get(a.agency.code, [])
    return report


def collected_attachments(paths: Iterable[str | os.PathLike]) -> dict[str, list[str]]:
    """Agency code -> the other attachments of its messages (a signed and sealed scan, usually),
    from the manifest of folders written by `collect`; empty where there is none."""
    from xltool.round.manifest import load

    out: dict[str, list[str]] = {}
    for p in map(Path, paths):
        data = load(p) if p.is_dir() else None
        for code, agency in ((data or {}).get("agencies") or {}).items():
            for a in agency.get("attachments") or ():
                out.setdefault(code, []).append(str(a.get("name") or a.get("file") or ""))
    return out


def render_html(report: StatusReport, title: str | None = None, *, year: int | None = None,
                coordinator: str | None = None) -> str:
    """A self-contained page (no outside resources), every value escaped: a return is hostile input.
    `year` and `coordinator` (the round's statistics year and the coordinating office) head the page."""
    from jinja2 import Environment, select_autoescape

    from xltool.form.spec import latest_spec
    from xltool.resources import TemplateLoader

    title = title or (f"{year}年度{latest_spec().title} 报送进度" if year else f"{latest_spec().title} 报送进度")

    env = Environment(loader=TemplateLoader(), autoescape=select_autoescape(default=True,
                      default_for_string=True), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("status.html.j2").render(
        title=title, year=year, coordinator=coordinator, generated=datetime.now(CST).strftime("%Y-%m-%d %H:%M"),
        counts=report.counts, agencies=in_order(report.agencies), states=STATES, state_text=STATE_TEXT,
        chase=[a for a in report.chase() if a.agency.email],
        unmatched=report.unmatched, basename=lambda p: Path(p).name if p else "")


def in_order(agencies: Iterable[AgencyState]) -> list[AgencyState]:
    """The order a coordinator works through them: by state (STATES), overdue first within one."""
    order = {s: i for i, s in enumerate(STATES)}
    return sorted(agencies, key=lambda a: (order[a.state], not a.overdue))
