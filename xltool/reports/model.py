"""What a report says, before it is drawn: the title, the preamble, the six sections in the
spec's order, the figures, and whether it is a draft.

The data comes from a return (or a merged workbook, which is read the same way) or from a
`read --json` file; the prose from the narrative templates (narrative.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.form import returndata
from xltool.form.returns import Return, normalise
from xltool.form.spec import FormNotFound, Spec, Table, get_spec, latest_spec
from xltool.reports import narrative as nv
from xltool.reports.grid import shown_rows
from xltool.round.dates import cn_date, today

DRAFT = "草稿"
DRAFT_NOTE = "草稿：本报告所依据的报表尚有错误，数字未经核实，不得对外公开。"


@dataclass
class ReportData:
    """One agency's figures and texts, whatever file they came from."""

    spec: Spec
    year: int
    code: str
    name: str
    values: dict[str, Any]  # numeric keys -> int | Decimal | None; text keys -> str
    source: str = ""
    problems: list[str] = field(default_factory=list)  # error-level findings: make it a draft
    issued: date | None = None  # the date of issue (落款), given for the coordinator's own report

    @property
    def draft(self) -> bool:
        return bool(self.problems) or any(self.values.get(k) is None for k in self.spec.numeric_keys)

    def text(self, key: str) -> str:
        value = self.values.get(key)
        return value.strip() if isinstance(value, str) else ""


def from_return(ret: Return, problems: list[str] | None = None) -> ReportData:
    return ReportData(ret.spec, ret.year, ret.agency_code, ret.agency_name, dict(ret.values), ret.file,
                      list(problems or []))


def with_contacts(data: ReportData, contact: Mapping[str, str], issued: date | None) -> ReportData:
    """The data with each contact field it lacks taken from `contact` ({"phone": "…"}), and the
    date of issue: the coordinator's own report, whose merged workbook carries no contacts."""
    values = dict(data.values)
    for name, text in contact.items():
        key = f"contact.{name}"
        if key in data.spec.text_keys and not data.text(key) and text.strip():
            values[key] = text.strip()
    return replace(data, values=values, issued=issued)


def _number(value: Any) -> int | Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return normalise(Decimal(str(value)))


def from_json(path: Path) -> ReportData:
    """A `read --json` file (PRODUCT.md, "The return as data"); blanks stay blanks."""
    data = returndata.parse(returndata.load_json(path))
    if data is None or data.agency is None:
        raise UsageError(f"{path} 不是 xltool read --json 的输出（缺少 agency 或 values）。")
    try:
        form = data.form or "gov-info-disclosure"  # a JSON without them: the newest form
        spec = get_spec(form, data.form_version) if data.form_version else latest_spec(form)
    except FormNotFound:
        raise UsageError(f"{path} 的表单“{data.form}”版本“{data.form_version}”不是本工具支持的格式。") from None
    values: dict[str, Any] = {k: _number(data.values.get(k)) for k in spec.numeric_keys}
    for section, texts in data.texts.items():
        values.update({k: str(texts.get(k.split(".", 1)[1]) or "")
                       for k in spec.text_keys if k.startswith(section + ".")})
    blanks = [spec.cells[k].label for k in spec.numeric_keys if values[k] is None]
    problems = [f"有 {len(blanks)} 项数字空白或不是数字，第一项：{blanks[0]}"] if blanks else []
    agency = data.agency
    try:
        year = int(data.year or "")
    except (TypeError, ValueError):
        raise UsageError(f"{path} 中没有有效的统计年度（year）。") from None
    return ReportData(spec, year, str(agency.get("code", "")), str(agency.get("name", "")), values, str(path),
                      problems)


# -- the namespace narrative templates see ------------------------------------------------

def namespace(data: ReportData) -> nv.Namespace:
    """Every figure by its canonical key (requests.new.total), and also flat under values["…"];
    the contacts; agency.name / agency.code, year, the format's basis, and issued (the date of
    issue as printed, or empty)."""
    spec = data.spec
    flat: dict[str, Any] = {k: data.values.get(k) for k in spec.numeric_keys}
    flat.update({k: data.text(k) for k in spec.text_keys if k.startswith("contact.")})
    return nv.nest({**flat, "agency.name": data.name, "agency.code": data.code, "year": data.year,
                    "basis": spec.basis, "issued": cn_date(data.issued) if data.issued else "",
                    "values": nv.Namespace("values", flat)})


# -- the report ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    id: str  # the spec's section id: an anchor for the website (#review)
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None


@dataclass
class Report:
    data: ReportData
    title: str
    preamble: tuple[str, ...]
    sections: list[Section]
    unfilled: tuple[str, ...] = ()  # the parts printed as 未填报, by their official names
    closing: tuple[str, ...] = ()  # the 落款: who issues it and when (the date of issue, default today)

    @property
    def draft(self) -> bool:
        return self.data.draft

    @property
    def values(self) -> dict[str, Any]:
        return self.data.values

    @property
    def title_lines(self) -> tuple[str, ...]:
        """The title as printed: the agency name on its line(s), then 「{year}年政府信息公开工作年度报告」
        whole on the next, as the reference report prints it (GB/T 9704: never break inside a word)."""
        name = self.data.name
        if name and self.title.startswith(name) and len(self.title) > len(name):
            return name, self.title[len(name):]
        return (self.title,)

    def texts(self) -> tuple[str, ...]:
        """Everything a reader sees, in order: to check that a rendering lost nothing."""
        out = [self.title, *self.preamble]
        for s in self.sections:
            out.append(s.heading)
            if s.table:
                out += [c.text for row in shown_rows(s.table, self.values) for c in row]
            out += s.paragraphs
        return (*out, *self.closing)


def paragraphs(text: str) -> tuple[str, ...]:
    """Prose as paragraphs: one per line, indentation (half- or full-width) dropped."""
    return tuple(line.strip(" \t\u3000") for line in text.splitlines() if line.strip(" \t\u3000"))


class Narrative:
    """Which text each part of the report gets: a block of the coordinator's --narrative file,
    else the return's own text, else the shipped default.

    The return's own text is data, printed exactly as the clerk typed it: `{{ 7*7 }}` in a
    narrative cell is those nine characters, never a template (a clerk's cell must not compute
    what the report publishes). Expressions live only in the coordinator's file and the defaults."""

    def __init__(self, file: str | Path | None = None):
        self.custom = nv.load_file(file) if file else None
        if self.custom:
            known = nv.block_names(nv.load_default(latest_spec()))
            unknown = nv.block_names(self.custom) - known
            if unknown:
                raise nv.TemplateProblem(self.custom.where, None,
                                         f"未知的段落 {'、'.join(sorted(unknown))}；可用的段落："
                                         f"{'、'.join(sorted(known))}")

    def block(self, name: str, spec: Spec, ns: nv.Namespace, gaps: list[str] | None = None) -> str:
        custom = self.custom if self.custom and name in nv.block_names(self.custom) else None
        return nv.render(custom or nv.load_default(spec), ns, name, gaps)

    def section(self, section: Mapping[str, Any], data: ReportData, ns: nv.Namespace,
                gaps: list[str] | None = None) -> tuple[str, ...]:
        """A narrative section: its figures sentence (if the defaults have one), then its prose."""
        sid = section["id"]
        own = data.text(section["narrative"])
        if own and not (self.custom and sid in nv.block_names(self.custom)):
            prose = own
        else:
            prose = self.block(sid, data.spec, ns, gaps)
        has_figures = f"{sid}_figures" in nv.block_names(nv.load_default(data.spec))
        figures = self.block(f"{sid}_figures", data.spec, ns, gaps) if has_figures else ""
        return paragraphs(figures) + paragraphs(prose)


def title(data: ReportData) -> str:
    return f"{data.name}{data.year}年{data.spec.title}"


WHOLE_SECTION = "本部分"  # what a section's block calls the section itself in `unfilled`


def _section_gaps(heading: str, parts: list[str]) -> list[str]:
    """A section's gaps by official name: the section's heading, or "heading：part"."""
    return [heading if part == WHOLE_SECTION else f"{heading}：{part}" for part in parts]


def compose(data: ReportData, narrative: Narrative) -> Report:
    """The whole report for one agency: title, preamble and the spec's sections in order, and
    every part the narrative had to print as 未填报 (recorded as it was printed)."""
    ns = namespace(data)
    unfilled: list[str] = []
    preamble = paragraphs(narrative.block("preamble", data.spec, ns, unfilled))
    sections = []
    for s in data.spec.sections:
        if "table" in s:
            sections.append(Section(s["id"], s["heading"], table=data.spec.table(s["table"])))
            continue
        gaps: list[str] = []
        sections.append(Section(s["id"], s["heading"], paragraphs=narrative.section(s, data, ns, gaps)))
        unfilled += _section_gaps(s["heading"], gaps)
    closing = (data.name, cn_date(data.issued or today()))  # the 落款: who issues it, and when
    return Report(data, title(data), preamble, sections, tuple(dict.fromkeys(unfilled)), closing)
