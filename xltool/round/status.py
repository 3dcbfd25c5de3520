"""Where the round stands: each roster agency as missing, ok, warnings or errors, with its first
findings and its e-mail address for chasing; as a table, JSON, or a self-contained HTML page."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from xltool.findings import STATE_TEXT, Finding
from xltool.round.merge import Scanned, scan
from xltool.round.roster import Agency
from xltool.round.verify import choose

STATES = ("missing", "errors", "warnings", "ok")  # the order a coordinator works through them


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
        return {s: sum(a.state == s for a in self.agencies) for s in ("missing", "ok", "warnings", "errors")}

    def chase(self) -> list[AgencyState]:
        """Agencies to write to: no return, or a return with errors."""
        return [a for a in self.agencies if a.state in ("missing", "errors")]

    def to_json(self) -> dict[str, Any]:
        return {"agencies": [a.to_json() for a in self.agencies], "counts": self.counts}


def round_status(roster: Sequence[Agency], scanned: Sequence[Scanned]) -> StatusReport:
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
        if not got:
            states.append(AgencyState(a, "missing"))
            continue
        used = choose(got)
        states.append(AgencyState(a, used.status, used.file, used.first, used.count,
                                  [s.file for s in got if s is not used]))
    return StatusReport(states, unmatched)


def status_paths(roster: Sequence[Agency], paths: Iterable[str | os.PathLike], *, key: bytes | None = None,
                 workers: int | None = None, show_progress: bool = True) -> StatusReport:
    paths = list(paths)
    report = round_status(roster, scan(paths, key=key, workers=workers, show_progress=show_progress, label="检查"))
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


def render_html(report: StatusReport, title: str | None = None) -> str:
    """A self-contained page (no outside resources), every value escaped: a return is hostile input."""
    from jinja2 import Environment, select_autoescape

    from xltool.form.spec import latest_spec
    from xltool.resources import TemplateLoader

    title = title or f"{latest_spec().title} 报送进度"

    env = Environment(loader=TemplateLoader(), autoescape=select_autoescape(default=True,
                      default_for_string=True), trim_blocks=True, lstrip_blocks=True)
    order = {s: i for i, s in enumerate(STATES)}
    rows = sorted(report.agencies, key=lambda a: order[a.state])
    return env.get_template("status.html.j2").render(
        title=title, generated=datetime.now().strftime("%Y-%m-%d %H:%M"), counts=report.counts,
        agencies=rows, state_text=STATE_TEXT, chase=[a for a in report.chase() if a.agency.email],
        unmatched=report.unmatched, basename=lambda p: Path(p).name if p else "")
