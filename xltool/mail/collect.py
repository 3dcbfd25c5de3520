"""Collect the returns from a mailbox or folder into DIR, by each workbook's own metadata.

Every attachment goes through the same safe reader as verify (zip-bomb and entity limits). A
workbook of our form is filed under its agency code, whoever sent it and whatever its name;
every version is kept and the manifest says which is current (PRODUCT.md: the latest by arrival,
dates that cannot be believed last; with a roster, each message records every roster agency its
sender's address belongs to, and a workbook another roster agency's address sent is current for
nobody, see round/replies.py); the scan, photo or Word report that came with it is kept
beside it; anything else is kept in DIR/unidentified/ with the reason. Nothing is lost and
nothing is saved twice (SHA-256), and `manifest.json` accounts for every message, attachment and
skipped file, so a second run over the same mail changes nothing.

One bad item costs that item only: a message that cannot be processed gets a record with the
reason (and is retried on the next run), and the run goes on. Budgets are in bytes and counts,
never in time: per message and per run, for what archives expand to and what is written.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from xltool.errors import Unfinished
from xltool.form.generate import AGENCY_CODE
from xltool.form.returns import FormError, Return, from_book
from xltool.mail import mime
from xltool.mail.archive import Allowance, ArchiveError, is_archive, members
from xltool.mail.sources import Envelope, SourceError, message_id
from xltool.office.container import ContainerError, MiB
from xltool.office.xlsx import load_book
from xltool.round.dates import CST
from xltool.round.manifest import Manifest
from xltool.round.replies import ODS_KIND
from xltool.round.roster import Agency, by_address
from xltool.util import MAX_NAME_BYTES, atomic_write, bounded_filename, check_writable_dir, output_lock, safe_filename

SAVE_EVERY = 50  # messages between manifest saves; files are saved first, so a crash loses no file
MAX_ARCHIVE_DEPTH = 2
UNIDENTIFIED = "unidentified"

# Budgets, tied to what a reply can honestly hold (a return is well under 1 MB, a sealed scan a
# few MB): what the archives of one message may expand to and how many files they may hold,
# what one message may write; and for the whole run, so that many messages at the per-message
# budget cannot fill the disk either. A message over a run budget waits for the next run.
MESSAGE_EXPANDED = 100 * MiB
MESSAGE_ITEMS = 300
MESSAGE_WRITTEN = 150 * MiB
RUN_EXPANDED = 1024 * MiB
RUN_WRITTEN = 2048 * MiB


@dataclass
class Incoming:
    """One attachment (or zip member) on its way into the manifest."""

    name: str
    data: bytes | None
    size: int
    archive: str | None = None
    action: str = ""
    reason: str | None = None
    ret: Return | None = None
    kind: str | None = None  # a document that may accompany a return (scan, photo, Word report)
    agency: str | None = None
    file: str | None = None
    notes: list[str] = field(default_factory=list)
    sha256: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest() if self.data is not None else None


@dataclass
class Summary:
    new_messages: int = 0
    known_messages: int = 0
    saved: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    companions: int = 0
    unidentified: list[dict[str, Any]] = field(default_factory=list)
    too_large: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason): retried next run
    source_error: str | None = None
    current: dict[str, str] = field(default_factory=dict)
    missing: list[Agency] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and self.source_error is None


class _Deferred(Unfinished):
    """A run budget is spent: this message waits for the next run (nothing of it was written)."""


def collect(source, out: Path, roster: list[Agency] | None = None, since: date | None = None) -> Summary:
    """Read every new message of `source` into `out`; a failure part-way keeps what was done.

    The output folder is locked for the whole run: a second collect into it is refused (exit 2)
    rather than made to wait, since a scheduled re-run simply tries again, and a run that waits
    behind a stuck one would look stuck itself."""
    check_writable_dir(out)
    with output_lock(out, "另一个 xltool collect 命令"):
        manifest = Manifest.open(out)
        collector = _Collector(manifest, out, roster, None if source.filters_since else since)
        try:
            for n, envelope in enumerate(source.envelopes(collector.known_download), 1):
                collector.take(envelope)
                if n % SAVE_EVERY == 0:
                    manifest.save()
        except SourceError as e:
            collector.summary.source_error = e.message
        finally:
            manifest.save()
        return collector.finish()


class _Collector:
    def __init__(self, manifest: Manifest, out: Path, roster: list[Agency] | None, since: date | None):
        self.manifest, self.out, self.since = manifest, out, since
        self.roster = {a.code: a for a in roster} if roster else None
        self.by_address = by_address(roster or [])
        self.summary = Summary()
        self.collected = _iso(datetime.now(timezone.utc))
        self.run_expanded = self.run_written = 0
        self.allowance = Allowance(0)
        self.items_left = 0

    def known_download(self, mid: str, size: int, arrived: datetime | None) -> bool:
        """For a source that can skip known messages before downloading them (IMAP)."""
        seen = self.manifest.known_download(mid, size, _iso(arrived))
        self.summary.known_messages += seen
        return seen

    def _known(self, key: str) -> bool:
        seen = self.manifest.known(key)
        self.summary.known_messages += seen
        return seen

    def take(self, env: Envelope) -> None:
        if env.error:
            self.summary.failed.append((env.origin, env.error))
            return
        key = ""
        try:
            if env.raw is not None:
                key, mid, content = self._identity(env.raw)
                record = self._message(env, key, mid, content)
            elif env.skipped is not None:
                record = self._skipped(env)
            elif env.file_name is not None:
                record = self._loose(env)
            else:
                record = self._oversized(env)
        except OSError as e:  # the output folder: disk full, permissions
            self.summary.failed.append((env.origin, f"无法保存：{e.strerror or e}"))
            return
        except _Deferred as e:
            self.summary.failed.append((env.origin, e.message))
            return
        except Exception as e:  # hostile input met a gap: this message only; recorded, retried next run
            reason = f"处理时出错（{type(e).__name__}），已跳过，下次运行时重试。"
            self.summary.failed.append((env.origin, reason))
            self.manifest.add({"key": key or f"error:{env.origin}", "origin": env.origin, "error": reason,
                               "collected": self.collected, "attachments": []})
            return
        if record is not None:
            self.manifest.add(record)
            self.summary.new_messages += 1

    # --- one message ----------------------------------------------------------------------------

    def _identity(self, raw: bytes) -> tuple[str, str, str]:
        """(key, Message-ID, content hash): a message is the same message only when both agree."""
        content = _content_digest(raw)
        mid = message_id(raw)[:500]
        if not mid:
            return "sha256:" + _raw_digest(raw), "", content
        return self.manifest.message_key(mid, content), mid, content

    def _message(self, env: Envelope, key: str, mid: str, content: str) -> dict[str, Any] | None:
        assert env.raw is not None  # called for messages only
        if self.manifest.known_message(mid, content) if mid else self.manifest.known(key):
            self.summary.known_messages += 1
            return None
        msg = mime.parse(env.raw)
        sent = mime.message_date(msg)
        when, dated_by = next(((t, by) for t, by in ((env.arrived, "arrival"), (sent, "header"),
                                                     (env.file_time, "file")) if t), (None, None))
        if self.since and when and _local_date(when) < self.since:
            return None
        name, addr = mime.sender(msg)
        walked = mime.walk(msg)
        self._start_message(env.origin)
        items = [i for a in walked.attachments for i in self._classify(a.name, a.data, a.size, inline=a.inline_image)]
        self._end_expansion()
        self._assign_companions(items)
        for item in items:
            self._check_return(item, addr)
        self._store_all(items, _stamp(when))
        notes = _message_notes(walked, items)
        header = mime.header_text(msg, "date")
        if header and sent is None:
            notes.append(f"邮件日期“{header[:80]}”无法识别或超出范围，未使用。")
        record = {"key": key, "origin": env.origin, "message_id": mid or None, "content": content,
                  "size": len(env.raw), "from": addr or None, "from_name": name or None,
                  "subject": mime.header_text(msg, "subject"), "date": _iso(when), "dated_by": dated_by,
                  "sent": _iso(sent) if dated_by != "header" else None,
                  "file_time": _iso(env.file_time) if dated_by != "file" else None,
                  "collected": self.collected, "sender_agencies": self._sender_agencies(addr),
                  "attachments": [self._entry(i) for i in items],
                  "links": mime.large_attachment_links(walked.bodies), "notes": notes,
                  "defects": sorted(set(walked.defects))}
        self._summarise(record, items)
        return _compact(record)

    def _loose(self, env: Envelope) -> dict[str, Any] | None:
        """A file that came by USB or chat: one attachment without a message, dated by its file
        time (with the same limits on what time can be believed as a message's)."""
        data = env.data
        key = "file:" + (hashlib.sha256(data).hexdigest() if data is not None else f"{env.origin}:{env.too_large}")
        if self._known(key):
            return None
        self._start_message(env.origin)
        items = self._classify(env.file_name or "", data, env.too_large or len(data or b""))
        self._end_expansion()
        for item in items:
            self._check_return(item, "")
        self._store_all(items, _stamp(env.file_time))
        record = {"key": key, "origin": env.origin, "date": _iso(env.file_time),
                  "dated_by": "file" if env.file_time else None, "collected": self.collected,
                  "attachments": [self._entry(i) for i in items]}
        self._summarise(record, items)
        return _compact(record)

    def _skipped(self, env: Envelope) -> dict[str, Any] | None:
        """A FIFO, a device, a link out of the source: never read, recorded with the reason."""
        key = f"skipped:{env.origin}"
        if self._known(key):
            return None
        entry = self._entry(Incoming(env.file_name or "", None, 0, action="skipped", reason=env.skipped))
        self.summary.skipped.append(dict(entry, origin=env.origin))
        return _compact({"key": key, "origin": env.origin, "collected": self.collected, "attachments": [entry]})

    def _oversized(self, env: Envelope) -> dict[str, Any] | None:
        """A message too large to download: recorded, so the coordinator fetches it by hand."""
        key = env.message_id or f"oversized:{env.origin}"
        if self._known(key):
            return None
        note = f"邮件过大（{env.too_large / MiB:.1f} MB），未下载，请在邮箱中手工查看。"
        self.summary.too_large.append({"origin": env.origin, "reason": note})
        return {"key": key, "origin": env.origin, "message_id": env.message_id or None, "date": _iso(env.arrived),
                "collected": self.collected, "attachments": [], "notes": [note]}

    # --- budgets ----------------------------------------------------------------------------------

    def _start_message(self, origin: str) -> None:
        run_left = RUN_EXPANDED - self.run_expanded
        self.run_bound = run_left < MESSAGE_EXPANDED
        over = (f"本次运行解压的数据已达上限（{RUN_EXPANDED // MiB} MB）。" if self.run_bound else
                f"一封邮件中的压缩包解压后合计超过上限（{MESSAGE_EXPANDED // MiB} MB），其余文件未解压，"
                "请在邮箱中手工查看，或请报送单位解压后直接报送 .xlsx 报表。")
        self.allowance = Allowance(max(0, min(MESSAGE_EXPANDED, run_left)), over)
        self.items_left = MESSAGE_ITEMS

    def _end_expansion(self) -> None:
        self.run_expanded += self.allowance.used
        if self.run_bound and self.allowance.refused:
            raise _Deferred(f"本次运行解压的数据已达上限（{RUN_EXPANDED // MiB} MB），此邮件留待下次运行时处理。")

    # --- what each attachment is ---------------------------------------------------------------

    def _classify(self, name: str, data: bytes | None, size: int, archive: str | None = None,
                  depth: int = 0, inline: bool = False) -> list[Incoming]:
        item = Incoming(name, data, size, archive)
        if data is None:
            item.action = "too-large"
            item.reason = f"文件过大（{size / MiB:.1f} MB，上限 {mime.MAX_ATTACHMENT // MiB} MB），未保存，请手工查看。"
        elif inline:
            item.action, item.reason = "ignored", "正文中的图片（如签名档图标），不是附件。"
        elif not data:
            item.action, item.reason = "ignored", "空附件（0 字节）。"
        elif is_archive(data):
            return self._expand(item, depth)
        else:
            _identify(item)
        return [item]

    def _expand(self, item: Incoming, depth: int) -> list[Incoming]:
        if depth >= MAX_ARCHIVE_DEPTH:
            item.action, item.reason = "unidentified", "压缩包内又套了压缩包，请解压后直接报送 .xlsx 报表。"
            return [item]
        if self.items_left <= 0:
            item.action, item.reason = "unidentified", (f"邮件中的文件过多（超过 {MESSAGE_ITEMS} 个），此压缩包未解压，"
                                                        "请在邮箱中手工查看。")
            return [item]
        assert item.data is not None  # an archive that was read
        try:
            inner = members(item.data, self.allowance)
        except ArchiveError as e:
            item.action, item.reason = "unidentified", e.message
            return [item]
        item.data = None  # an archive is not stored: only its members are
        out, count, rest = [item], 0, False
        for m in inner:
            if self.items_left <= 0:
                rest = True
                break
            count += 1
            self.items_left -= 1
            if m.data is None:
                out.append(Incoming(m.name, None, m.size, item.name, "unidentified", m.problem))
            else:
                out.extend(self._classify(m.name, m.data, m.size, item.name, depth + 1))
        item.action = "archive"
        item.reason = f"压缩包，含 {count} 个文件，已逐个处理。" + (
            f"其余文件未处理：一封邮件最多处理 {MESSAGE_ITEMS} 个文件，请在邮箱中手工查看。" if rest else "")
        return out
    def _assign_companions(self, items: list[Incoming]) -> None:
        """Documents beside a return (the sealed scan, a Word report) belong to its agency; without
        a return, or with returns of several agencies, they are kept as unidentified."""
        agencies = {i.ret.agency_code for i in items if i.ret is not None}
        for item in items:
            if item.kind is None:
                continue
            if len(agencies) == 1:
                item.action, item.agency, item.reason = "companion", next(iter(agencies)), None
            else:
                item.action = "unidentified"
                item.reason = ("邮件含多个单位的报表，无法确定此附件的归属。" if agencies else
                               "邮件中没有报送表。" + (item.reason or ""))

    def _check_return(self, item: Incoming, sender: str) -> None:
        """Notes about a return: a code not in the roster, another name, an unexpected sender
        (another roster agency's address: then it is current for nobody, see replies.py)."""
        if item.ret is None or self.roster is None:
            return
        code, agency = item.agency, self.roster.get(item.agency or "")
        if agency is None:
            item.notes.append(f"单位代码“{code}”不在名单中。")
            return
        if item.ret.agency_name != agency.name:
            item.notes.append(f"报表中的单位名称“{item.ret.agency_name}”与名单中的“{agency.name}”不一致。")
        others = [a for a in self.by_address.get(sender, ()) if a.code != agency.code]
        if not sender or not agency.emails or sender in {e.lower() for e in agency.emails}:
            return
        if others:
            who = "、".join(f"{a.name}（{a.code}）" for a in others)
            item.notes.append(f"发件人 {sender} 是名单中{who}的邮箱，发来的却是{agency.name}（{agency.code}）的报表："
                              "不作为任何单位的报表（见 xltool status；确为代为报送的，用 xltool confirm 确认）。")
        else:
            item.notes.append(f"发件人 {sender} 不是名单中该单位的邮箱 {agency.email}（已按报表中的单位代码归档）。")

    def _sender_agencies(self, addr: str) -> list[str]:
        """Every roster agency the sender's address belongs to (one address may serve several)."""
        return [a.code for a in self.by_address.get(addr, ())] if addr else []

    # --- saving ---------------------------------------------------------------------------------

    def _store_all(self, items: list[Incoming], stamp: str) -> None:
        """Save the message's files, returns first, within the message's budget; a message that
        would pass the run's budget waits for the next run, before anything of it is written."""
        todo = [i for i in items if i.data is not None and i.action in ("return", "companion", "unidentified")]
        todo.sort(key=lambda i: i.action != "return")
        new = {i.sha256: len(i.data or b"") for i in todo if self.manifest.stored(i.sha256 or "", _where(i)) is None}
        if self.run_written + min(sum(new.values()), MESSAGE_WRITTEN) > RUN_WRITTEN:
            raise _Deferred(f"本次运行保存的文件已达上限（{RUN_WRITTEN // MiB} MB），此邮件留待下次运行时处理。")
        written = 0
        for item in todo:
            size = len(item.data or b"")
            if self.manifest.stored(item.sha256 or "", _where(item)) is None and written + size > MESSAGE_WRITTEN:
                item.action = "too-large"
                item.reason = (f"一封邮件保存的文件合计超过上限（{MESSAGE_WRITTEN // MiB} MB），此文件未保存，"
                               "请在邮箱中手工查看。")
                continue
            written += self._store(item, stamp)
        self.run_written += written

    def _store(self, item: Incoming, stamp: str) -> int:
        """Save one file (unless the same bytes are already there); the bytes written."""
        sha = item.sha256
        assert sha is not None and item.data is not None  # set with the data
        where = _where(item)
        if item.action == "return":
            assert item.agency is not None and item.ret is not None  # a return is identified
            name = f"{item.agency}_{stamp}_{sha[:8]}.{item.ret.book.kind}"
        else:
            name = _file_name(f"{stamp}_{sha[:8]}_", _safe_name(item))
        existing = self.manifest.stored(sha, where)
        if item.action == "return":
            item.action = "duplicate" if existing else "saved"
        item.file = existing or f"{where}/{name}"
        if existing is not None:
            return 0
        path = self.out / item.file
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, item.data)
        self.manifest.remember(sha, where, item.file)
        return len(item.data)

    def _entry(self, item: Incoming) -> dict[str, Any]:
        ret = item.ret
        return {"name": item.name or None, "size": item.size, "sha256": item.sha256, "action": item.action,
                "agency": item.agency, "agency_name": ret.agency_name if ret else None,
                "year": ret.year if ret else None, "saved_at": ret.saved_at if ret else None,
                "kind": item.kind, "archive": item.archive, "file": item.file, "reason": item.reason,
                "notes": item.notes or None}

    def _summarise(self, record: dict[str, Any], items: list[Incoming]) -> None:
        s = self.summary
        for item, entry in zip(items, record["attachments"]):
            about = dict(entry, origin=record["origin"], **{"from": record.get("from")})
            if item.action == "saved":
                s.saved.append(about)
            s.duplicates += item.action == "duplicate"
            s.companions += item.action == "companion"
            if item.action == "unidentified":
                s.unidentified.append(about)
            if item.action == "too-large":
                s.too_large.append(about)
            s.notes.extend(f"{record['origin']}：{n}" for n in item.notes)
        s.notes.extend(f"{record['origin']}（{record.get('from') or '无发件人'}）：{n}" for n in record.get("notes", ()))
        s.links.extend({"origin": record["origin"], "from": record.get("from"), "url": url}
                       for url in record.get("links", ()))

    def finish(self) -> Summary:
        self.summary.current = current = self.manifest.current()
        if self.roster is not None:
            self.summary.missing = [a for code, a in self.roster.items() if code not in current]
        return self.summary


# --- identifying one file -------------------------------------------------------------------------


def _identify(item: Incoming) -> None:
    """Read the file as a return with the safe reader; else say what it is and why it is no return."""
    assert item.data is not None and item.sha256 is not None  # only what was read is identified
    try:
        ret = from_book(load_book(item.data), item.name, item.sha256)
    except (ContainerError, FormError) as e:
        item.kind = document_kind(item.data)
        item.action, item.reason = "unidentified", e.message
        return
    except Exception as e:  # hostile input must never stop the run or lose the file
        item.action, item.reason = "unidentified", f"读取时出错（{type(e).__name__}），无法识别。"
        return
    if not AGENCY_CODE.match(ret.agency_code):  # the code names a folder: never trust it as a path
        item.action, item.reason = "unidentified", f"报表中的单位代码“{ret.agency_code[:40]}”无效，无法确定是哪个单位的报表。"
        return
    item.action, item.ret, item.agency = "return", ret, ret.agency_code


_MAGIC = ((b"%PDF", "PDF 文件"), (b"\xff\xd8\xff", "图片"), (b"\x89PNG", "图片"), (b"GIF8", "图片"),
          (b"II*\x00", "图片"), (b"MM\x00*", "图片"))
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def document_kind(data: bytes) -> str | None:
    """What kind of document accompanies a return, by content: a scan (PDF, image, OFD) or a
    Word report; None for anything else."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "图片"
    if data.startswith(_OLE) and "WordDocument".encode("utf-16-le") in data:
        return "Word 文档"
    if data.startswith(b"PK\x03\x04"):
        if data[30:38] == b"mimetype" and data[38:38 + len(ODS_MIMETYPE)] == ODS_MIMETYPE:
            return ODS_KIND  # OpenDocument: the mimetype member first and stored
        try:
            names = [n.lower() for n in zipfile.ZipFile(io.BytesIO(data)).namelist()]
        except Exception:
            return None
        if any(n.startswith("word/") for n in names):
            return "Word 文档"
        if "ofd.xml" in names:
            return "OFD 文件"
    return None


# --- small helpers ---------------------------------------------------------------------------------


def _raw_digest(raw: bytes) -> str:
    """A message's identity when it has no Message-ID: line endings vary between mbox and IMAP."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def _content_digest(raw: bytes) -> str:
    """What a message says, beside its Message-ID: the hash of its body (the part after the
    headers, which servers add to on delivery), line endings as mbox and IMAP differ."""
    text = raw.replace(b"\r\n", b"\n")
    _, sep, body = text.partition(b"\n\n")
    return hashlib.sha256((body if sep else text).rstrip(b"\n")).hexdigest()


def _local(when: datetime) -> datetime:
    """In China Standard Time, or in UTC for a time at the very edge of the calendar (9999-12-31
    23:59:59Z has no CST equivalent)."""
    try:
        return when.astimezone(CST)
    except OverflowError:
        return when.astimezone(timezone.utc)


def _local_date(when: datetime) -> date:
    return _local(when).date()


def _stamp(when: datetime | None) -> str:
    return _local(when).strftime("%Y%m%dT%H%M%S") if when else "00000000T000000"


def _iso(when: datetime | None) -> str | None:
    return _local(when).isoformat(timespec="seconds") if when else None


def _where(item: Incoming) -> str:
    """The folder of a file: the agency's, its attachments, or unidentified/."""
    if item.action == "return":
        return item.agency or UNIDENTIFIED
    return f"{item.agency}/attachments" if item.action == "companion" else UNIDENTIFIED


def _file_name(prefix: str, name: str) -> str:
    """`prefix` + the name, at most 255 bytes of UTF-8 (77 Chinese characters are 231 bytes), cut
    in the middle of the name so that the prefix and the extension stay."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    return bounded_filename(stem, "." + ext if ext else "", keep=prefix)


_EXTENSIONS = {"PDF 文件": ".pdf", "图片": ".jpg", "Word 文档": ".doc", "OFD 文件": ".ofd", ODS_KIND: ".ods"}


def _safe_name(item: Incoming) -> str:
    return safe_filename(item.name, MAX_NAME_BYTES) if item.name else "附件" + _EXTENSIONS.get(item.kind or "", ".bin")


def _message_notes(walked: mime.Walk, items: list[Incoming]) -> list[str]:
    notes = []
    if all(i.action == "ignored" for i in items):
        notes.append("邮件没有附件。")
    if walked.sniffed:
        notes.append("邮件中没有文件名、标为正文（text/plain）的部分实为工作簿，已按附件处理。")
    if walked.truncated:
        notes.append("邮件结构嵌套过深或部件过多，其余部分已跳过。")
    if walked.defects:
        notes.append("邮件格式不规范（见 defects），已尽量读取。")
    return notes


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out empty fields: the manifest is read by people too."""
    out = {k: v for k, v in record.items() if v not in (None, [], "")}
    out["attachments"] = [{k: v for k, v in a.items() if v is not None} for a in record.get("attachments", [])]
    return out
