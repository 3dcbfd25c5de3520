"""Merging returns: the consolidated figures, which returns were summed, and what was left out and why.

Merge streams: each file is verified on both cores and only a compact `Scanned` record comes back
(its numeric values as one row, its identity and a few findings), never the parsed workbook, so
memory grows by one row per return. Every input file ends up in exactly one place: `included`,
`excluded`, or `duplicates[].superseded` (an older return of an agency whose newer one counts).

Which returns are left out, and the code given for it:
- unreadable or not our form: the file's error codes (file-unreadable, form-unknown, …);
- with errors (unless `allow_errors`): the error codes;
- with a figure warning not confirmed for that very version (unless `allow_errors`):
  `unconfirmed:<finding>` (PRODUCT.md, "Confirmed figures");
- in a folder written by collect, a workbook another roster agency's address sent, not
  confirmed: `sender-mismatch` (see replies.py);
- with a roster, an agency code not on it: `not-in-roster` (the roster sets the scope of the merge).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.findings import STATE_TEXT, Finding
from xltool.form import calc
from xltool.form.spec import Spec, get_spec, latest_spec
from xltool.office.package import MAIN, REL
from xltool.office.xlsx import cell_string
from xltool.published.document import KIND_NAMES
from xltool.published.names import name_codes
from xltool.round.confirm import Confirmation, Confirmations, figure_findings
from xltool.round.confirm import load as load_confirmations
from xltool.round.replies import SENDER_MISMATCH, Replies, claim_documents, judge
from xltool.round.roster import Agency
from xltool.round.verify import PARALLEL_FROM, duplicates, expand, superseded_note, verify_path
from xltool.util import atomic_write, parallel_map

NOT_IN_ROSTER = "not-in-roster"
UNCONFIRMED = "unconfirmed:"  # + the figure warning's code
DEFAULT_CODE = "MERGED"
KEEP_FINDINGS = 5  # per return: enough to say why, bounded whatever the file holds
DETAIL_SHEET = "各单位明细"
NOTES_SHEET = "未汇总说明"


# --- scanning: one compact record per file ------------------------------------------------------


@dataclass(slots=True)
class Scanned:
    """What merge and status keep of one file. Duck-compatible with `verify.FileResult` for
    `verify.duplicates`/`choose` (agency, saved_at, mtime, file)."""

    file: str
    agency: dict[str, str] | None
    status: str
    error_codes: tuple[str, ...]  # distinct codes of its errors, all of them
    first: tuple[Finding, ...]  # the first findings, errors first
    count: int  # how many findings in all
    form: tuple[str, str, int] | None = None  # (form, version, year)
    row: tuple[Any, ...] | None = None  # numeric values in the spec's numeric_keys order
    saved_at: str | None = None
    mtime: float = 0.0
    sha256: str | None = None
    figures: tuple[tuple[str, str | None], ...] = ()  # (code, key) of every figure warning: to be confirmed
    kind: str = "xlsx"  # xlsx, or the kind of a published report read as the return
    origin: str | None = None  # a published report's kind, for a document or a workbook imported from one

    @property
    def document(self) -> bool:
        return self.kind != "xlsx"


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.severity != "error")


def _scan_one(args) -> Scanned:
    path, key, previous = args
    result = verify_path(path, key=key, previous=previous)
    ordered = _ordered(result.findings)
    codes = tuple(dict.fromkeys(f.code for f in ordered if f.severity == "error"))
    scanned = Scanned(result.file, result.agency, result.status, codes, tuple(ordered[:KEEP_FINDINGS]),
                      len(ordered), saved_at=result.saved_at, mtime=result.mtime, figures=figure_findings(ordered))
    ret = result.ret
    if ret is not None:
        scanned.sha256 = ret.sha256
        scanned.form = (ret.spec.form, ret.spec.version, ret.year)
        scanned.row = tuple(ret.values.get(k) for k in ret.spec.numeric_keys)
        scanned.origin = (result.source or {}).get("imported_from", {}).get("kind")
    elif result.document and result.agency and result.values and result.year:
        # a published report whose tables imported: its figures as printed (PRODUCT.md, the duplicate rule)
        spec = latest_spec()
        scanned.sha256 = (result.source or {}).get("sha256")
        scanned.form = (spec.form, spec.version, result.year)
        scanned.row = tuple(result.values.get(k) for k in spec.numeric_keys)
    scanned.kind = result.kind
    if result.document:
        scanned.origin = result.kind
    return scanned


def scan(paths: Iterable[str | os.PathLike], *, key: bytes | None = None, workers: int | None = None,
         show_progress: bool = True, label: str = "审核", previous: Mapping[str, Mapping[str, Any]] | None = None,
         replies: Replies | None = None) -> list[Scanned]:
    """Verify every file under `paths` (folders expanded as `verify` does: in a collected folder
    the usable current returns as `replies` judged them), keeping per file only a `Scanned` record."""
    paths = list(paths)
    replies = replies if replies is not None else judge(paths)
    jobs = [(f, key, previous) for f in expand(paths, replies)]
    scanned = parallel_map(_scan_one, jobs, label, parallel_from=PARALLEL_FROM, workers=workers,
                           show_progress=show_progress)
    return claim_documents(scanned, replies)


def check_one_form(scanned: Sequence[Scanned]) -> tuple[str, str, int] | None:
    """The (form, version, year) all readable returns share; UsageError when they differ."""
    groups: dict[tuple[str, str, int], list[str]] = {}
    for s in scanned:
        if s.form:
            groups.setdefault(s.form, []).append(Path(s.file).name)
    if len(groups) > 1:
        parts = [f"{year}年度（{form} {version}）{len(files)} 份，如 {'、'.join(files[:3])}"
                 for (form, version, year), files in sorted(groups.items(), key=lambda g: g[0][2])]
        raise UsageError("不同年度或不同格式的报表不能一起汇总：" + "；".join(parts) + "。请把不同年度的报表放在不同文件夹中分别汇总。")
    return next(iter(groups), None)


# --- merging --------------------------------------------------------------------------------------


@dataclass
class Included:
    code: str
    name: str
    file: str
    status: str
    row: tuple[Any, ...]
    findings: tuple[Finding, ...] = ()
    error_codes: tuple[str, ...] = ()
    confirmations: list[Confirmation] = field(default_factory=list)  # the figure warnings confirmed
    unconfirmed: list[str] = field(default_factory=list)  # figure warnings let in unconfirmed by allow_errors
    origin: str | None = None  # read from a published report of this kind (html, docx, pdf, text)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "file": self.file}
        if self.origin:
            out["source"] = self.origin
        if self.unconfirmed:
            out["unconfirmed"] = [f"unconfirmed:{f}" for f in self.unconfirmed]
        if self.confirmations:
            out["confirmed"] = [{"finding": c.finding, "keys": list(c.keys), "note": c.note, "by": c.by, "at": c.at}
                                for c in self.confirmations]
        return out


@dataclass
class Excluded:
    code: str | None
    name: str | None
    file: str
    codes: list[str]
    reason: str  # Chinese, for the 未汇总说明 sheet and the terminal

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "file": self.file, "codes": list(self.codes)}


@dataclass
class Duplicate:
    code: str
    name: str
    used: str
    superseded: list[str]
    notes: list[str] = field(default_factory=list)  # per superseded file: why it is not the one used

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "used": self.used, "superseded": list(self.superseded), "notes": list(self.notes)}


@dataclass
class MergeResult:
    spec: Spec
    year: int
    values: dict[str, int | Decimal]
    included: list[Included] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    missing: list[Agency] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    missing_states: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # code -> (state, reason)

    def missing_state(self, agency: Agency) -> tuple[str, str | None]:
        return self.missing_states.get(agency.code, ("missing", None))

    @property
    def input_values(self) -> dict[str, int | Decimal]:
        return {k: self.values[k] for k in self.spec.numeric_keys if not self.spec.cells[k].is_total}

    @property
    def complete(self) -> bool:
        """Nothing excluded and nobody missing (what --strict asks for)."""
        return not self.excluded and not self.missing

    def to_json(self) -> dict[str, Any]:
        from xltool.form.returns import json_number

        return {
            "values": {k: json_number(v) for k, v in self.values.items()},
            "included": [i.to_json() for i in self.included],
            "excluded": [e.to_json() for e in self.excluded],
            "missing": [{"code": a.code, "name": a.name, "email": a.email, "state": state, "reason": reason}
                        for a in self.missing for state, reason in [self.missing_state(a)]],
            "duplicates": [d.to_json() for d in self.duplicates],
        }


def _first_messages(s: Scanned, n: int = 2) -> str:
    return " ".join(f.message for f in s.first[:n])


def merge_scanned(scanned: Sequence[Scanned], *, roster: Sequence[Agency] | None = None,
                  allow_errors: bool = False, replies: Replies | None = None,
                  confirmations: Confirmations | None = None, now: datetime | None = None) -> MergeResult:
    replies = replies or Replies()
    confirmations = confirmations or Confirmations()
    mixups = replies.unconfirmed()
    if not scanned and not mixups:
        raise UsageError("没有可汇总的报表：给出的文件夹中没有找到任何文件。")
    form = check_one_form(scanned)
    if form is None:
        raise UsageError(f"没有可汇总的报表：{len(scanned) + len(mixups)} 个文件都无法读取、不是本工具的填报表"
                         "或由其他单位的邮箱发来（"
                         + "、".join([*(Path(s.file).name for s in scanned[:5]), *(Path(m.file).name for m in mixups[:5])])
                         + "）。")
    spec = get_spec(form[0], form[1])
    name_codes(scanned, roster)  # a published report has a name, no code
    dups = duplicates(scanned, now)
    superseded = {id(r) for _, others in dups.values() for r in others}
    in_roster = {a.code for a in roster} if roster is not None else None
    result = MergeResult(spec, form[2], {})
    for code, (used, others) in dups.items():
        result.duplicates.append(Duplicate(code, (used.agency or {}).get("name", ""), used.file,
                                           [r.file for r in others], [superseded_note(used, r, now) for r in others]))
    for m in mixups:
        result.excluded.append(Excluded(m.owner, m.owner_name, m.file, [SENDER_MISMATCH],
                                        m.message() + "如确为代为报送，用 xltool confirm 确认后计入。"))
    for s in scanned:
        if id(s) in superseded:
            continue
        unconfirmed, confirmed = (confirmations.covering(s.agency["code"], s.sha256, s.figures) if s.agency
                                  else ([], []))
        excluded = _why_excluded(s, in_roster, allow_errors, unconfirmed)
        if excluded:
            result.excluded.append(excluded)
        else:
            assert s.agency is not None and s.row is not None  # a return with either is excluded
            result.included.append(Included(s.agency["code"], s.agency["name"], s.file, s.status, s.row, s.first,
                                            s.error_codes, confirmed, unconfirmed, s.origin))
    if roster is not None:
        returned = {s.agency["code"] for s in scanned if s.agency}
        result.missing = [a for a in roster if a.code not in returned]
        result.missing_states = {a.code: replies.without_return(a.code) for a in result.missing}
    if not result.included:
        raise UsageError(f"没有可汇总的报表：{len(result.excluded)} 份报表都未能汇总（"
                         + "；".join(f"{Path(e.file).name}：{'、'.join(e.codes)}" for e in result.excluded[:5])
                         + "）。有错误的报表可在改正后重新汇总，待确认的数字可用 xltool confirm 确认，"
                           "或加 --allow-errors 照常计入。")
    result.values = sum_rows(spec, (i.row for i in result.included))
    return result


def _why_excluded(s: Scanned, in_roster: set[str] | None, allow_errors: bool,
                  unconfirmed: Sequence[str] = ()) -> Excluded | None:
    if s.agency is None or s.row is None:
        return Excluded(None, None, s.file, list(s.error_codes), "无法读取或不是本工具的填报表：" + _first_messages(s))
    codes: list[str] = []
    reasons: list[str] = []
    if in_roster is not None and s.agency["code"] not in in_roster:
        codes.append(NOT_IN_ROSTER)
        reasons.append(f"单位代码 {s.agency['code']} 不在名单中")
    if s.status == "errors" and not allow_errors:
        codes.extend(s.error_codes)
        reasons.append("报表有错误：" + _first_messages(s))
    if unconfirmed and not allow_errors:
        codes.extend(f"{UNCONFIRMED}{f}" for f in unconfirmed)
        reasons.append("数字待确认（" + "、".join(unconfirmed) + "）：核实无误后用 xltool confirm 确认")
    if not codes:
        return None
    return Excluded(s.agency["code"], s.agency["name"], s.file, codes, "；".join(reasons))


def sum_rows(spec: Spec, rows: Iterable[tuple[Any, ...]]) -> dict[str, int | Decimal]:
    """Every numeric key: the inputs summed exactly (counts as int, amounts as Decimal; a blank or
    text counts as nothing, which only a return let in by --allow-errors can hold), the totals
    recomputed from the summed inputs."""
    keys = spec.numeric_keys
    inputs = [i for i, k in enumerate(keys) if not spec.cells[k].is_total]
    sums: list[int | Decimal] = [Decimal(0) if spec.cells[keys[i]].type == "amount" else 0 for i in range(len(keys))]
    for row in rows:
        for i in inputs:
            v = row[i]
            if calc.is_number(v):
                sums[i] += v if not isinstance(v, float) else Decimal(repr(v))
    values = {keys[i]: sums[i] for i in inputs}
    values.update(calc.totals(spec, values))
    return {k: values[k] for k in keys}


def merge_paths(paths: Iterable[str | os.PathLike], *, roster: Sequence[Agency] | None = None,
                key: bytes | None = None, allow_errors: bool = False, workers: int | None = None,
                show_progress: bool = True, confirmations: Any = None, now: datetime | None = None,
                previous: Mapping[str, Mapping[str, Any]] | None = None) -> MergeResult:
    """Verify and merge the returns under `paths`. `confirmations`: the round's 确认记录.json (a
    path) or a loaded record; without one no figure warning is confirmed. `now` orders versions
    whose save time lies in the future (tests). Raises UsageError when there is nothing to merge
    or the returns are of different years or forms."""
    paths = list(paths)
    confirmations = load_confirmations(confirmations)
    replies = judge(paths, roster, confirmations)
    scanned = scan(paths, key=key, previous=previous, replies=replies, workers=workers, show_progress=show_progress,
                   label="汇总")
    return merge_scanned(scanned, roster=roster, allow_errors=allow_errors, replies=replies,
                         confirmations=confirmations, now=now)


# --- the merged workbook --------------------------------------------------------------------------


def default_name(result: MergeResult) -> str:
    return f"汇总（{len(result.included)}个单位）"


def merged_workbook_bytes(result: MergeResult, year: int | None = None, code: str = DEFAULT_CODE,
                          name: str | None = None, key: bytes | None = None) -> bytes:
    """A return like any other for the coordinating body (the official tables, the summed inputs,
    totals as formulas with their saved values), plus the sheets 各单位明细 and 未汇总说明.
    Narrative and contacts are left empty: the coordinator writes its own."""
    from xltool.form.fill import fill_bytes
    from xltool.form.generate import workbook_bytes

    data = workbook_bytes(year or result.year, code, name or default_name(result), key)
    data = fill_bytes(data, result.input_values)
    notes = list(_note_rows(result))
    return add_sheets(data, [
        ExtraSheet(DETAIL_SHEET, _detail_rows(result), len(result.included) + 2, 5 + len(result.spec.numeric_keys), 2, 2),
        ExtraSheet(NOTES_SHEET, notes, len(notes), len(notes[0]), 1, 0)])


def write_merged_workbook(result: MergeResult, out_path: str | os.PathLike, year: int | None = None,
                          code: str = DEFAULT_CODE, name: str | None = None, key: bytes | None = None) -> None:
    data = merged_workbook_bytes(result, year, code, name, key)
    try:
        atomic_write(out_path, data)
    except OSError as e:
        raise UsageError(f"无法写入 {out_path}：{e.strerror or e}（文件是否正在 Excel/WPS 中打开，或文件夹不可写？）") from None


def _detail_rows(result: MergeResult) -> Iterator[list[Any]]:
    spec = result.spec
    keys = spec.numeric_keys
    yield ["单位代码", "单位名称", "审核结果", "文件"] + [spec.cells[k].label for k in keys] + ["确认记录"]
    yield ["code", "name", "status", "file"] + list(keys) + ["confirmations"]
    for i in result.included:
        state = STATE_TEXT["unconfirmed"] + "（按 --allow-errors 计入）" if i.unconfirmed else STATE_TEXT.get(i.status, i.status)
        origin = f"（由已发布的{KIND_NAMES.get(i.origin, i.origin)}报告导入）" if i.origin else ""
        yield [i.code, i.name, state, Path(i.file).name + origin] + list(i.row) + ["；".join(c.text for c in i.confirmations)]


def _note_rows(result: MergeResult) -> Iterator[list[Any]]:
    yield ["类别", "单位代码", "单位名称", "文件", "问题代码", "说明"]
    for e in result.excluded:
        yield [_excluded_kind(e), e.code or "", e.name or "", e.file, "、".join(e.codes), e.reason]
    for d in result.duplicates:
        for f, note in zip(d.superseded, d.notes):
            yield ["重复报送，未采用", d.code, d.name, f, "duplicate-return", note]
    for a in result.missing:
        state, reason = result.missing_state(a)
        yield [STATE_TEXT[state], a.code, a.name, "", state if state != "missing" else "",
               f"{reason or '名单中的单位未报送报表'}；邮箱：{a.email or '（名单中未填）'}"]
    for i in result.included:
        if i.status == "errors":
            yield ["有错误，已按 --allow-errors 计入", i.code, i.name, i.file, "、".join(i.error_codes),
                   "空白或非数字按 0 计入。" + " ".join(f.message for f in i.findings[:2])]
        if i.unconfirmed:
            yield ["数字待确认，已按 --allow-errors 计入", i.code, i.name, i.file,
                   "、".join(f"{UNCONFIRMED}{f}" for f in i.unconfirmed), "未经确认的数字已计入汇总，请核实。"]
    if not (result.excluded or result.duplicates or result.missing):
        yield ["（无）", "", "", "", "", "全部报表均已汇总，没有遗漏。"]


def _excluded_kind(e: Excluded) -> str:
    if NOT_IN_ROSTER in e.codes:
        return "不在名单中"
    if e.code is None:
        return "无法读取"
    if SENDER_MISMATCH in e.codes:
        return "其他单位的邮箱发来，未汇总"
    if all(c.startswith(UNCONFIRMED) for c in e.codes):
        return "数字待确认，未汇总"
    return "有错误，未汇总"


# --- adding plain sheets to a finished workbook, streaming -----------------------------------------



def _text(v: str) -> str:
    from xml.sax.saxutils import escape

    return escape(cell_string(str(v)))


def _cell(ref: str, v: Any, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if v is None or v == "":
        return ""
    if calc.is_number(v):
        from xltool.office.package import number_text

        return f'<c r="{ref}"{s}><v>{number_text(v)}</v></c>'
    # outside text is always written as text, never as a formula
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(v)}</t></is></c>'


def _header_style(styles: Any) -> int:
    """A bold, wrapped header style appended to a workbook's styles; its index."""
    from lxml import etree

    ns = f"{{{MAIN}}}"
    fonts, xfs = styles.find(ns + "fonts"), styles.find(ns + "cellXfs")
    assert fonts is not None and xfs is not None  # our own workbook's styles
    font = etree.SubElement(fonts, ns + "font")
    etree.SubElement(font, ns + "b")
    etree.SubElement(font, ns + "sz", val="11")
    etree.SubElement(font, ns + "name", val="宋体")
    fonts.set("count", str(len(fonts)))
    xf = etree.SubElement(xfs, ns + "xf", numFmtId="0", fontId=str(len(fonts) - 1), fillId="0", borderId="0",
                          xfId="0", applyFont="1", applyAlignment="1")
    etree.SubElement(xf, ns + "alignment", wrapText="1", vertical="center")
    xfs.set("count", str(len(xfs)))
    return len(xfs) - 1


@dataclass
class ExtraSheet:
    """A plain sheet to append: header rows frozen (and the first columns), an autofilter on the
    last header row. `rows` is iterated once, while it is written."""

    name: str
    rows: Iterable[list[Any]]
    nrows: int
    ncols: int
    header_rows: int = 1
    freeze_cols: int = 0

    @property
    def filter_ref(self) -> str:
        from xltool.office.cells import a1

        return f"{a1(self.header_rows - 1, 0, True)}:{a1(max(self.nrows, self.header_rows) - 1, max(self.ncols, 1) - 1, True)}"


def _write_sheet(out: Any, sheet: ExtraSheet, header_style: int) -> None:
    from xltool.office.cells import a1, col_letter

    top = a1(sheet.header_rows, sheet.freeze_cols)
    split = (f'xSplit="{sheet.freeze_cols}" ' if sheet.freeze_cols else "") + f'ySplit="{sheet.header_rows}"'
    pane = "bottomRight" if sheet.freeze_cols else "bottomLeft"
    out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" '
              f'xmlns:r="{REL}"><sheetViews><sheetView workbookViewId="0">'
              f'<pane {split} topLeftCell="{top}" activePane="{pane}" state="frozen"/>'
              f'<selection pane="{pane}" activeCell="{top}" sqref="{top}"/></sheetView></sheetViews>'
              '<sheetFormatPr defaultRowHeight="15"/>'
              f'<cols><col min="1" max="2" width="16" customWidth="1"/>'
              f'<col min="3" max="{max(sheet.ncols, 3)}" width="18" customWidth="1"/></cols><sheetData>'.encode())
    letters = [col_letter(c) for c in range(sheet.ncols)]  # not a1(): its cache would grow with the rows
    for n, row in enumerate(sheet.rows):
        style = header_style if n < sheet.header_rows else 0
        cells = "".join(_cell(f"{letters[c]}{n + 1}", v, style) for c, v in enumerate(row))
        out.write(f'<row r="{n + 1}">{cells}</row>'.encode())
    out.write(f'</sheetData><autoFilter ref="{sheet.filter_ref.replace("$", "")}"/>'
              '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
              '</worksheet>'.encode())


def add_sheets(data: bytes, sheets: list[ExtraSheet]) -> bytes:
    """The workbook `data` with plain sheets appended, each streamed into the zip; the header
    style added to its styles."""
    from xltool.office.cells import sheet_ref
    from xltool.office.package import Package

    package = Package.open(data)
    header_style = _header_style(package.styles())
    for sheet in sheets:
        package.add_sheet(sheet.name, functools.partial(_write_sheet, sheet=sheet, header_style=header_style))
        package.define_name("_xlnm._FilterDatabase", sheet_ref(sheet.name, sheet.filter_ref),
                            local_sheet=len(package.sheets()) - 1, hidden=True)
    return package.save()
