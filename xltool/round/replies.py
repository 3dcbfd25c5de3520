"""Replies judged by who sent them (PRODUCT.md, "Status states"): one reading of a collected
folder for status, merge, verify and remind.

From the manifest `collect` wrote (and the roster, when given; else the senders collect recorded):
- each agency's usable current return: the manifest's ranking (latest by arrival), except that a
  workbook whose identity is roster agency X, sent from an address that belongs only to other
  roster agencies, is current for nobody (a `Mixup`) until the coordinator confirms it
  (`xltool confirm X sender-mismatch`). A sender not on the roster, or a loose file, is a note;
- the replies from an agency's address that gave no return of any agency (`Unusable`): an
  `.ods`, a broken workbook, no attachment, only a document. A document beside a workbook is an
  attachment (collect's `companion`), never an unusable reply.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool.form.returns import RETURN_SUFFIXES
from xltool.published.document import is_document
from xltool.round.dates import minute, parse_time
from xltool.round.manifest import RETURN_ACTIONS, agencies, load
from xltool.round.roster import Agency, by_address

if TYPE_CHECKING:
    from xltool.round.confirm import Confirmation, Confirmations

SENDER_MISMATCH = "sender-mismatch"
ODS_KIND = "ODS 表格"  # collect's kind for an OpenDocument spreadsheet


@dataclass(frozen=True)
class Mixup:
    file: str  # path of the workbook as saved in the collected folder
    owner: str  # code of the agency the workbook belongs to (its identity)
    owner_name: str
    senders: tuple[str, ...]  # codes of the roster agencies whose address sent it
    sender_names: tuple[str, ...]
    address: str  # the From address
    date: str | None  # arrival (ISO text as in the manifest)
    sha256: str
    confirmed: bool = False

    @property
    def who_sent(self) -> str:
        return "、".join(f"{n}（{c}）" for n, c in zip(self.sender_names, self.senders))

    def reason(self, code: str) -> str:
        """The mix-up from one side, for status's reason (PRODUCT.md, "Status states")."""
        if code == self.owner:
            return f"{self.who_sent}的邮箱 {self.address} 发来了本单位的填报表"
        return f"发来的是{self.owner_name}（{self.owner}）的填报表"

    def message(self) -> str:
        """For the sender-mismatch finding on the workbook: who sent it, whose it is, what to do."""
        when = f"（{minute(self.date)}）" if self.date else ""
        return (f"{self.who_sent}的邮箱 {self.address}{when}发来的是{self.owner_name}（{self.owner}）的填报表，"
                "不计为任何单位的报表。")


@dataclass(frozen=True)
class Unusable:
    what: str  # what arrived, in Chinese: "附件《报表.ods》", "没有附件的邮件", "Word 文档《年报.docx》"
    reason: str  # why it cannot be used and what to do, in Chinese
    address: str
    date: str | None


@dataclass
class Replies:
    """What the collected folders among some paths say about each agency."""

    returns: dict[Path, dict[str, Path]] = field(default_factory=dict)  # folder -> agency code -> usable current return
    dates: dict[str, str | None] = field(default_factory=dict)  # arrival of that return
    mixups: list[Mixup] = field(default_factory=list)
    unusable: dict[str, list[Unusable]] = field(default_factory=dict)  # by the sending agency's code
    notes: dict[str, list[str]] = field(default_factory=dict)  # about the current return: who sent it
    confirmed: dict[str, Confirmation] = field(default_factory=dict)  # workbook sha256 -> its mix-up's confirmation
    # folder -> document file -> the sending agency's code: the Word, PDF or web page an agency
    # sent with no workbook, which is its return if its tables import (PRODUCT.md, the duplicate rule)
    documents: dict[Path, dict[Path, str]] = field(default_factory=dict)

    @property
    def folders(self) -> list[Path]:
        """The collected folders judged."""
        return list(self.returns)

    @property
    def current(self) -> dict[str, Path]:
        """Agency code -> its usable current return (in the last folder that has one)."""
        return {code: f for returns in self.returns.values() for code, f in returns.items()}

    def mixups_of(self, code: str) -> list[Mixup]:
        """The mix-ups that concern an agency, as the owner of the workbook or as its sender."""
        return [m for m in self.mixups if code == m.owner or code in m.senders]

    def unconfirmed(self) -> list[Mixup]:
        """One per workbook: the mix-ups that keep a workbook out of every agency's returns."""
        seen: dict[str, Mixup] = {}
        for m in self.mixups:
            if not m.confirmed:
                seen.setdefault(m.file, m)
        return list(seen.values())

    def mixup_for(self, file: str | os.PathLike) -> Mixup | None:
        return next((m for m in self.unconfirmed() if Path(m.file) == Path(file)), None)

    def without_return(self, code: str) -> tuple[str, str | None]:
        """The state and reason of an agency with no usable return: sender-mismatch > unusable > missing."""
        mixups = [m for m in self.mixups_of(code) if not m.confirmed]
        if mixups:
            return SENDER_MISMATCH, "；".join(dict.fromkeys(m.reason(code) for m in mixups))
        unusable = self.unusable.get(code)
        if unusable:
            last = unusable[-1]
            return "unusable", f"{last.what}：{last.reason}"
        return "missing", None

    def notes_of(self, code: str) -> list[str]:
        """For an agency with a usable current return: who sent it when that is worth saying, the
        mix-ups that concern it, and unusable replies that came after it."""
        out = list(self.notes.get(code, ()))
        for m in self.mixups_of(code):
            if m.confirmed:
                c = self.confirmed.get(m.sha256)
                by = f"（{c.by}，{minute(c.at)}：{c.note}）" if c else ""
                out.append(f"{m.owner_name}（{m.owner}）的填报表由{m.who_sent}的邮箱 {m.address} 代为报送，已确认{by}。")
            elif code == m.owner:
                out.append(f"另有{m.reason(code)}（{_day(m.date)}），未采用。")
            else:
                out.append(f"本单位的邮箱 {m.address} 还发来了{m.owner_name}（{m.owner}）的填报表（{_day(m.date)}），"
                           "未计入任何单位。")
        since = parse_time(self.dates.get(code))
        for u in self.unusable.get(code, ()):
            when = parse_time(u.date)
            if since is None or when is None or when > since:
                out.append(f"{_day(u.date)}又收到{u.what}，无法使用：{u.reason}")
        return out


def _day(date: str | None) -> str:
    return minute(date) if date else "日期不明"


# --- who sent a message --------------------------------------------------------------------------


def senders(message: dict[str, Any], addresses: dict[str, list[Agency]] | None = None) -> tuple[str, ...]:
    """Codes of the roster agencies whose address sent a message: by the roster when given (all
    of an agency's addresses; one address may be several agencies'), else as collect recorded
    them (`sender_agencies`, or `sender_agency` in a manifest written before)."""
    if addresses is not None:
        address = str(message.get("from") or "").lower()
        return tuple(a.code for a in addresses.get(address, ())) if address else ()
    recorded = message.get("sender_agencies")
    if recorded is None:
        recorded = [message["sender_agency"]] if message.get("sender_agency") else []
    return tuple(c for c in recorded if isinstance(c, str)) if isinstance(recorded, list) else ()


def mismatch(message: dict[str, Any], attachment: dict[str, Any], addresses: dict[str, list[Agency]] | None = None,
             codes: set[str] | None = None) -> tuple[str, ...]:
    """The sending agencies when a return is a mix-up: its identity is a roster agency (any code
    without a roster) and its sender's address belongs only to other roster agencies; else ()."""
    owner = attachment.get("agency")
    if not owner or attachment.get("action") not in RETURN_ACTIONS or (codes is not None and owner not in codes):
        return ()
    sent_by = senders(message, addresses)
    return sent_by if sent_by and owner not in sent_by else ()


def mixup_note(message: dict[str, Any], attachment: dict[str, Any]) -> str | None:
    """Why the manifest does not make a return current: the senders collect recorded."""
    sent_by = mismatch(message, attachment)
    if not sent_by:
        return None
    return _blocked_note(message.get("from"), sent_by)


def _blocked_note(address: Any, sent_by: Sequence[str]) -> str:
    return (f"发件人 {address} 是名单中其他单位（{'、'.join(sent_by)}）的邮箱：不作为任何单位的报表"
            "（见 xltool status；确为代为报送的，用 xltool confirm 确认）。")


# --- judging folders -------------------------------------------------------------------------------


def judge(paths: Iterable[str | os.PathLike], roster: Sequence[Agency] | None = None,
          confirmations: Confirmations | None = None) -> Replies:
    """The replies in the collected folders among `paths` (other paths are not judged)."""
    out = Replies()
    for p in map(Path, paths):
        data = load(p) if p.is_dir() else None
        messages = data.get("messages") if data else None
        if isinstance(messages, list):
            _judge_folder(out, p, [m for m in messages if isinstance(m, dict)], roster, confirmations)
        elif data is not None and isinstance(data.get("current"), dict):  # the views only: take them as they are
            out.returns[p] = {c: p / f for c, f in data["current"].items() if isinstance(c, str) and isinstance(f, str)}
    return out


def _judge_folder(out: Replies, folder: Path, messages: list[dict[str, Any]], roster: Sequence[Agency] | None,
                  confirmations: Confirmations | None) -> None:
    addresses = by_address(list(roster)) if roster is not None else None
    codes = {a.code for a in roster} if roster is not None else None
    names = {a.code: a.name for a in roster or ()}
    emails = {a.code: {e.lower() for e in a.emails} for a in roster or ()}
    for m in messages:  # names of agencies without a roster: as their workbooks say
        for a in m.get("attachments") or ():
            if isinstance(a, dict) and a.get("agency") and a.get("agency_name"):
                names.setdefault(a["agency"], a["agency_name"])
    mixups: dict[tuple[str, str], Mixup] = {}

    def blocked(m: dict[str, Any], a: dict[str, Any]) -> str | None:
        sent_by = mismatch(m, a, addresses, codes)
        if not sent_by:
            return None
        owner = a["agency"]
        mix = Mixup(str(folder / a["file"]), owner, names.get(owner, owner), sent_by,
                    tuple(names.get(c, c) for c in sent_by), str(m.get("from") or ""), m.get("date"), a["sha256"])
        found = confirmations.mixup(mix) if confirmations is not None else None
        if found is not None:
            mix = Mixup(**{**mix.__dict__, "confirmed": True})
            out.confirmed[mix.sha256] = found
        mixups.setdefault((mix.sha256, mix.address.lower()), mix)
        return None if mix.confirmed else _blocked_note(m.get("from"), sent_by)

    found = agencies(messages, blocked)
    current = out.returns[folder] = {}
    out.mixups.extend(mixups.values())
    for code, agency in found.items():
        if not agency["current"]:
            continue
        current[code] = folder / agency["current"]
        version = next(v for v in agency["versions"] if v["current"])
        out.dates[code] = version.get("date")
        sender = str(version.get("from") or "").lower()
        if sender and code in emails and emails[code] and sender not in emails[code] and not any(
                m.owner == code and m.sha256 == version["sha256"] for m in mixups.values()):
            out.notes.setdefault(code, []).append(f"本报表由 {sender} 发来，该邮箱不在名单中（已按报表中的单位代码采用）。")
    for m in sorted(messages, key=lambda m: str(m.get("date") or "")):
        sent_by = senders(m, addresses)
        attachments = [a for a in m.get("attachments") or () if isinstance(a, dict)]
        if m.get("error") or not sent_by or any(a.get("action") in RETURN_ACTIONS for a in attachments):
            continue
        what, reason = why_unusable(m, attachments)
        for code in sent_by:
            out.unusable.setdefault(code, []).append(Unusable(what, reason, str(m.get("from") or ""), m.get("date")))
            if code not in current:  # the latest document an agency sent, tried as its report
                for a in attachments:
                    if a.get("kind") and a.get("file") and is_document(str(a["file"])) and \
                            a.get("action") not in ("ignored", "skipped", "too-large"):
                        docs = out.documents.setdefault(folder, {})
                        for f in [f for f, c in docs.items() if c == code]:
                            del docs[f]
                        docs[folder / a["file"]] = code


def claim_documents(results: list[Any], replies: Replies) -> list[Any]:
    """The documents agencies sent without a workbook: one whose tables imported is the sending
    agency's return (its code given to it); one that did not is no return at all (the agency
    stays unusable, with the reason). Other results pass unchanged. Works on verify's FileResult
    and merge's Scanned alike."""
    senders = {f: code for docs in replies.documents.values() for f, code in docs.items()}
    if not senders:
        return results
    out = []
    for r in results:
        code = senders.get(Path(r.file))
        if code is None:
            out.append(r)
        elif r.agency:
            r.agency = {"code": code, "name": r.agency.get("name") or code}
            out.append(r)
    return out


def why_unusable(message: dict[str, Any], attachments: list[dict[str, Any]]) -> tuple[str, str]:
    """What arrived in a reply that gave no return, and why it cannot be used, in Chinese."""
    items = [a for a in attachments if a.get("action") not in ("ignored", "archive", "skipped")]
    if not items:
        if message.get("links"):
            return "超大附件下载链接", ("邮件中只有超大附件的下载链接，附件未能自动收取：请在邮箱中打开链接下载，"
                                  "或请该单位把填报表（.xlsx）直接作为附件发送。")
        return "没有附件的邮件", "邮件中没有附件：请把填好的 .xlsx 填报表作为附件发送。"

    def named(group: list[dict[str, Any]], label: str = "附件") -> str:
        return "、".join(f"{a.get('kind') if label == 'kind' else label}《{a.get('name') or '（无文件名）'}》"
                        for a in group[:3]) + (f"等 {len(group)} 个文件" if len(group) > 3 else "")

    ods = [a for a in items if a.get("kind") == ODS_KIND or str(a.get("name") or "").lower().endswith(".ods")]
    if ods:
        return named(ods), ("这是 OpenDocument 表格（.ods），不是下发的填报表：请用 Excel/WPS 打开下发的 .xlsx "
                            "填报表填写后保存为 .xlsx 报送。")
    books = [a for a in items if str(a.get("name") or "").lower().endswith(RETURN_SUFFIXES) and not a.get("kind")]
    if books:
        return named(books), f"{books[0].get('reason') or '无法作为报表读取。'}请使用下发的填报表填写后重新报送。"
    large = [a for a in items if a.get("action") == "too-large"]
    if large:
        return named(large), str(large[0].get("reason") or "文件过大，未保存。")
    documents = [a for a in items if a.get("kind")]
    if documents:
        return named(documents, "kind"), ("其中没有能读出的年度报告表格（不是年度报告，或表格是图片）：请使用下发的 Excel 表，"
                                           "在下发的 .xlsx 填报表中填写后作为附件报送。")
    return named(items), f"{items[0].get('reason') or '无法识别。'}请使用下发的 Excel 表填写后报送。"
