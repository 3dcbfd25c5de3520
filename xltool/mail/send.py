"""`xltool send`: mail each agency its own workbook.

The workbook is matched to the agency by its own metadata (the agency code `generate` wrote
into it), never by its file name, so a renamed or misfiled workbook cannot go to the wrong
office. It is attached byte for byte as it is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from xltool.errors import UsageError
from xltool.form.returns import FormError, read_return
from xltool.mail.compose import Deadline, Sender, cn_date, compose, render, today
from xltool.mail.deliver import DeliveryReport, MessageFailed, Outgoing, SendLog, deliver_all
from xltool.office.container import ContainerError
from xltool.round.roster import Agency
from xltool.util import safe_filename

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")


@dataclass(frozen=True)
class Workbook:
    """What send needs of a workbook, without keeping the parsed book in memory; the fields
    `verify.choose` reads to pick one of two workbooks of an agency."""

    file: str
    code: str
    year: int
    saved_at: str | None
    mtime: float
    sha256: str

    @property
    def path(self) -> Path:
        return Path(self.file)


@dataclass
class Workbooks:
    by_code: dict[str, Workbook] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find_workbooks(folder: Path) -> Workbooks:
    """The workbooks of a folder by the agency code inside them; of two for one agency, the one
    PRODUCT.md's rule picks (`verify.choose`), and the other is named."""
    from xltool.round.verify import choose

    if not folder.is_dir():
        raise UsageError(f"找不到工作簿文件夹：{folder}")
    found, groups = Workbooks(), dict[str, list[Workbook]]()
    for path in sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith(("~$", "."))):
        try:
            ret = read_return(path)
        except (ContainerError, FormError) as e:
            found.notes.append(f"{path.name}：{e.message}")
            continue
        book = Workbook(str(path), ret.agency_code, ret.year, ret.saved_at, path.stat().st_mtime, ret.sha256)
        groups.setdefault(book.code, []).append(book)
    for code, group in groups.items():
        used = found.by_code[code] = choose(group)
        found.notes += [f"单位 {code} 有多个工作簿：使用 {used.path.name}，未使用 {w.path.name}。" for w in group if w is not used]
    return found


@dataclass
class SendResult:
    report: DeliveryReport
    missing: list[Agency]  # no workbook for these
    notes: list[str]


def send(folder: Path, agencies: list[Agency], sender: Sender, transport, log: SendLog | None,
         deadline: date | Deadline | None = None, contact: str | None = None) -> SendResult:
    """Mail every roster agency its workbook, at every address the roster gives it; agencies
    without a workbook or without an address are reported, not guessed. `deadline` is the
    round's (a passed one makes the letter say 已逾期 and ask for 尽快, see `Deadline`)."""
    when = deadline if isinstance(deadline, Deadline) else Deadline.resolve(deadline)
    workbooks = find_workbooks(folder)
    roster_codes = {a.code for a in agencies}
    notes = workbooks.notes + [f"{w.path.name}：单位代码 {code} 不在名单中，未发送。"
                               for code, w in workbooks.by_code.items() if code not in roster_codes]
    jobs = [_job(a, workbooks.by_code[a.code], sender, when, contact)
            for a in agencies if a.code in workbooks.by_code]
    missing = [a for a in agencies if a.code not in workbooks.by_code]
    return SendResult(deliver_all(jobs, transport, log), missing, notes)


def _job(agency: Agency, book: Workbook, sender: Sender, when: Deadline, contact: str | None) -> Outgoing:
    def build() -> tuple[str, bytes]:
        subject, body = render("send", agency=agency, year=book.year, file_name=book.path.name, contact=contact,
                               coordinator=sender.name, today=cn_date(today()), **when.context())
        try:
            data = book.path.read_bytes()
        except OSError as e:
            raise MessageFailed(f"无法读取工作簿 {book.path.name}：{e.strerror or e}") from None
        return compose(sender, agency, subject, body, [(book.path.name, data)])

    return Outgoing(agency, f"send:{agency.code}:{book.sha256}", f"{agency.code}_{safe_filename(agency.name)}_填报通知.eml",
               build, {"file": book.path.name, "sha256": book.sha256})
