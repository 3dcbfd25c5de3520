"""The audit page of `verify --html`: one self-contained HTML page, one row per report or workbook
verified — agency, year, source (file, kind, publication date, how it came to be), the number of
errors and warnings, and every finding in Chinese with where it points — sortable by its column
headers (a few lines of script; without script the rows stay in their default order, errors
first) and printable on A4 with the table header repeated on every page.

Everything shown comes from files and web pages, so everything is hostile: the page is rendered
with autoescape on and its script reads only data attributes, never markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xltool.findings import CATALOGUE, STATE_TEXT, Finding
from xltool.published.document import KIND_NAMES
from xltool.round.dates import CST
from xltool.round.verify import FileResult, summary

STATUS_ORDER = {"errors": 0, "warnings": 1, "ok": 2}  # the default order: errors first


@dataclass(frozen=True)
class ShownFinding:
    severity: str  # error | warning
    code: str
    title: str  # the catalogue's few words
    location: str  # the document's own place, or sheet and cell of a workbook; "" when the finding has none
    message: str


@dataclass
class AuditRow:
    """One report or workbook as the page shows it."""

    file: str  # the file's name (the full path is in `path`)
    path: str
    status: str
    name: str  # "" when no agency could be read
    code: str
    year: int | None
    kind: str
    published: str | None  # a report's publication date, as the page showed it (ISO)
    notes: list[str]
    errors: int
    warnings: int
    findings: list[ShownFinding]
    paired: list[str] = field(default_factory=list)  # the cross-year pair verify checked in the same run

    @property
    def kind_text(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def rank(self) -> int:
        return STATUS_ORDER.get(self.status, len(STATUS_ORDER))


def location(f: Finding) -> str:
    """Where a finding points, in words: a published document's own place (第4页第2个表格第4行第5格),
    or a workbook's sheet and cell."""
    if f.location:
        return f.location
    if f.sheet and f.cell:
        return f"“{f.sheet}”表 {f.cell}"
    if f.sheet:
        return f"“{f.sheet}”表"
    return ""


def shown(f: Finding) -> ShownFinding:
    entry = CATALOGUE.get(f.code)
    return ShownFinding(f.severity, f.code, entry.title if entry else f.code, location(f), f.message)


def row_of(r: FileResult) -> AuditRow:
    source = r.source or {}
    notes = list(r.notes)
    if source.get("trial_format"):
        notes.append(f"按{source['trial_format']}读取。")
    errors = sum(f.severity == "error" for f in r.findings)
    # errors first, each group in the order verify found them
    found = sorted(r.findings, key=lambda f: f.severity != "error")
    return AuditRow(Path(r.file).name, r.file, r.status, (r.agency or {}).get("name") or "",
                    (r.agency or {}).get("code") or "", r.year, r.kind, source.get("published"), notes, errors,
                    len(r.findings) - errors, [shown(f) for f in found], [r.paired_text] if r.paired_with else [])


def in_order(rows: Iterable[AuditRow]) -> list[AuditRow]:
    """The default order: errors first, then warnings, then passed; more errors first; then by agency and year."""
    return sorted(rows, key=lambda r: (r.rank, -r.errors, -r.warnings, r.name or "\uffff", r.year or 0, r.file))


def audit_rows(results: Iterable[FileResult]) -> list[AuditRow]:
    """The page's rows in their default order."""
    return in_order(row_of(r) for r in results)


def render_html(results: Sequence[FileResult], title: str | None = None, *, checked: Sequence[str] = (),
                previous: str | None = None, now: datetime | None = None) -> str:
    """The audit page of verify's results. `checked`: the files and folders verified (named in the
    page's heading); `previous`: last year's reports or figures given with --previous, if any."""
    from jinja2 import Environment, select_autoescape

    from xltool.form.spec import latest_spec
    from xltool.resources import TemplateLoader

    rows = audit_rows(results)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r.kind_text] = kinds.get(r.kind_text, 0) + 1
    env = Environment(loader=TemplateLoader(), autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("audit.html.j2").render(
        title=title or f"{latest_spec().title} 检查结果", rows=rows, counts=summary(results), kinds=kinds,
        state_text=STATE_TEXT, checked=list(checked), previous=previous,
        generated=(now or datetime.now(CST)).astimezone(CST).strftime("%Y-%m-%d %H:%M"))

