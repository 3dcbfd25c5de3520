"""The record `collect` keeps of a returns folder: DIR/manifest.json.

Its source of truth is `messages`: every message (or loose file) seen and, for each attachment,
what was done with it and why. A message is identified by its Message-ID *and* a hash of its
content, so a correction sent under the same Message-ID is a message of its own. The other keys
are views derived from it on every save, for the commands and people that read the folder:
`current` (agency code -> the return that counts, by PRODUCT.md's rule below; a workbook another
roster agency's address sent counts for nobody, see replies.py), `agencies` (every
version with a note on why it is or is not current, the sealed scans and other attachments),
`unidentified` and `large_attachment_links`. Written atomically, and only when it changed, so a
second run over the same mail changes nothing.

Which version counts: the latest by arrival (IMAP INTERNALDATE, the mbox From_ line, Maildir
delivery time; a loose file's own file time), the Date header (and an .eml file's time) only as
a fallback; a time that is missing, later than the collection time, or before 1 January of
the return's statistics year is not believed, and such a version sorts last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.round.dates import doubt, parse_time
from xltool.util import atomic_write, no_surrogates

NAME = "manifest.json"
FORMAT = "xltool-collect"
VERSION = 1
RETURN_ACTIONS = ("saved", "duplicate")


def load(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a folder written by collect, or None (absent or unreadable)."""
    try:
        data = json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def current_returns(folder: str | Path) -> dict[str, Path] | None:
    """Agency code -> the return that counts, for a folder written by collect; None otherwise.

    The API for merge, status and verify: in a collected folder the current return is the one
    the manifest marks (the newest by message date), not the newest file.
    """
    data = load(folder)
    if data is None:
        return None
    return {code: Path(folder) / rel for code, rel in (data.get("current") or {}).items()}


class Manifest:
    """The manifest being built by one collect run."""

    def __init__(self, folder: Path, messages: list[dict[str, Any]], text: str | None):
        self.folder, self.messages, self._text = folder, messages, text
        self._keys = {m["key"]: i for i, m in enumerate(messages)}
        self._by_id: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[tuple[str, str], str] = {}
        for m in messages:
            self._index(m)

    @classmethod
    def open(cls, folder: Path) -> Manifest:
        path = folder / NAME
        if not path.exists():
            return cls(folder, [], None)
        text = path.read_text(encoding="utf-8", errors="replace")
        data = load(folder)
        messages = data.get("messages") if data is not None else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "key" in m for m in messages):
            raise UsageError(f"{path} 已损坏或不是 xltool 的收取记录。请换一个输出文件夹，或移走该文件后重新收取。")
        return cls(folder, messages, text)

    def known(self, key: str) -> bool:
        """Recorded already; a record of a message that failed is not known, so it is retried."""
        i = self._keys.get(key)
        return i is not None and not self.messages[i].get("error")

    def known_message(self, message_id: str, content: str) -> bool:
        """A message with this Message-ID and this content hash was recorded (a record written
        before content hashes were kept is known by its Message-ID alone)."""
        return any(r.get("content") in (None, content) for r in self._records(message_id))

    def known_download(self, message_id: str, size: int, arrived: str | None) -> bool:
        """Before downloading (IMAP): the same Message-ID, size and arrival as a recorded message."""
        return any(r.get("content") is None or (r.get("size") == size and r.get("date") == arrived)
                   for r in self._records(message_id))

    def message_key(self, message_id: str, content: str) -> str:
        """The key of a message: its Message-ID; a second message under the same Message-ID with
        other content (a correction) gets the content hash added."""
        if not any(r.get("content") not in (None, content) for r in self._by_id.get(message_id, ())):
            return message_id
        return f"{message_id} sha256:{content[:16]}"

    def _records(self, message_id: str) -> list[dict[str, Any]]:
        return [r for r in self._by_id.get(message_id, ()) if not r.get("error")]

    def stored(self, sha256: str, where: str) -> str | None:
        """The file already holding these bytes in that folder (dedupe by SHA-256)."""
        return self._files.get((sha256, where))

    def add(self, record: dict[str, Any]) -> None:
        """Record a message; it replaces the record of an earlier failed attempt at it."""
        record = _clean(record)
        i = self._keys.get(record["key"])
        if i is not None:
            old = self.messages[i]
            if old.get("message_id") in self._by_id:
                self._by_id[old["message_id"]].remove(old)
            self.messages[i] = record
        else:
            self._keys[record["key"]] = len(self.messages)
            self.messages.append(record)
        self._index(record)

    def remember(self, sha256: str, where: str, file: str) -> None:
        self._files.setdefault((sha256, where), file)

    def _index(self, record: dict[str, Any]) -> None:
        if record.get("message_id"):
            self._by_id.setdefault(record["message_id"], []).append(record)
        for a in record.get("attachments", ()):
            if a.get("file") and a.get("sha256"):
                self.remember(a["sha256"], Path(a["file"]).parent.as_posix(), a["file"])

    def current(self) -> dict[str, str]:
        return {code: a["current"] for code, a in sorted(agencies(self.messages).items()) if a["current"]}

    def save(self) -> bool:
        """Write the manifest if it changed; True when written."""
        text = json.dumps(build(self.messages), ensure_ascii=False, indent=1) + "\n"
        if text == self._text:
            return False
        atomic_write(self.folder / NAME, text.encode("utf-8", "replace"))  # _clean left no surrogate
        self._text = text
        return True


def _clean(value: Any) -> Any:
    """Every string of a record without lone surrogates (JSON and UTF-8 cannot hold them)."""
    if isinstance(value, str):
        return no_surrogates(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def build(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole manifest: the derived views, then the messages they come from."""
    found = agencies(messages)
    return {
        "format": FORMAT, "version": VERSION,
        "current": {code: a["current"] for code, a in sorted(found.items()) if a["current"]},
        "agencies": dict(sorted(found.items())),
        "unidentified": [dict(_about(m), **{k: a.get(k) for k in ("file", "name", "sha256", "reason")})
                         for m in messages for a in m.get("attachments", ()) if a["action"] == "unidentified"],
        "large_attachment_links": [dict(_about(m), url=url) for m in messages for url in m.get("links", ())],
        "messages": messages,
    }


def _about(message: dict[str, Any]) -> dict[str, Any]:
    return {"message": message["key"], "from": message.get("from"), "date": message.get("date")}


Blocked = Callable[[dict[str, Any], dict[str, Any]], "str | None"]


def agencies(messages: list[dict[str, Any]], blocked: Blocked | None = None) -> dict[str, dict[str, Any]]:
    """Per agency: its versions (one per SHA-256, ranked by the best message that carried it),
    the current one with the reason, and the other attachments of its messages.

    `blocked(message, attachment)` says why a message's return cannot be current (another roster
    agency's address sent it: `replies.mixup_note`, by default from the senders collect recorded);
    such a version is listed with that note and never current. An agency whose only versions are
    blocked is listed with `current` None."""
    if blocked is None:
        from xltool.round.replies import mixup_note

        blocked = mixup_note
    out: dict[str, dict[str, Any]] = {}
    ranks: dict[int, tuple[bool, datetime, int]] = {}
    for index, m in enumerate(messages):
        for a in m.get("attachments", ()):
            code = a.get("agency")
            if not code:
                continue
            agency = out.setdefault(code, {"name": "", "current": None, "versions": [], "attachments": []})
            if a["action"] in RETURN_ACTIONS:
                agency["name"] = a.get("agency_name") or agency["name"]
                _add_version(agency["versions"], ranks, a, m, index, blocked(m, a))
            elif a["action"] == "companion" and not any(x["sha256"] == a["sha256"] for x in agency["attachments"]):
                agency["attachments"].append({"file": a["file"], "name": a["name"], "kind": a.get("kind"),
                                              "sha256": a["sha256"], "date": m.get("date"), "message": m["key"]})
    for agency in out.values():
        versions = agency["versions"]
        ranked = [i for i, v in enumerate(versions) if id(v) in ranks]
        best = max(ranked, key=lambda i: ranks[id(versions[i])], default=None)
        for i, v in enumerate(versions):
            v["current"] = i == best
        if best is not None and len(versions) > 1:
            _explain(versions, best, ranks)
        agency["current"] = versions[best]["file"] if best is not None else None
    return out


def _add_version(versions: list[dict[str, Any]], ranks: dict[int, tuple[bool, datetime, int]],
                 a: dict[str, Any], m: dict[str, Any], index: int, blocked: str | None = None) -> None:
    rank, date, note = _rank(m, a, index)
    version = next((v for v in versions if v["sha256"] == a["sha256"]), None)
    if version is None:
        version = {"file": a["file"], "sha256": a["sha256"], "date": None, "year": a.get("year"),
                   "saved_at": a.get("saved_at"), "from": m.get("from"), "messages": []}
        versions.append(version)
        if blocked:
            version.update(date=date, note=blocked)
    if m["key"] not in version["messages"]:
        version["messages"].append(m["key"])
    if blocked or (id(version) in ranks and rank <= ranks[id(version)]):
        return
    ranks[id(version)] = rank
    version.update(date=date, **{"from": m.get("from")})
    version.pop("note", None)
    if note:
        version["note"] = note


_LABELS = {"arrival": "到达时间", "header": "邮件日期（Date）", "file": "文件时间"}
_EPOCH = datetime(1, 1, 2, tzinfo=timezone.utc)


def _rank(m: dict[str, Any], a: dict[str, Any], index: int) -> tuple[tuple[bool, datetime, int], str | None, str | None]:
    """(sort key, the date shown, a note) of one version as one message carried it. The first of
    the message's times that is there decides (arrival, else the Date header, else the file
    time); one that cannot be believed is not replaced by the next, which a sender controls
    more easily: the version sorts last, and the note says why."""
    candidates = [(_LABELS.get(m.get("dated_by", ""), "日期"), m.get("date")), ("邮件日期（Date）", m.get("sent")),
                  ("文件时间", m.get("file_time"))]
    year = a.get("year")
    year = year if isinstance(year, int) else None
    collected = parse_time(m.get("collected"))
    unreadable = []
    for label, text in dict.fromkeys((lbl, t) for lbl, t in candidates if t):
        when = parse_time(text)
        if when is None:
            unreadable.append(f"{label}“{text}”无法识别")
            continue
        problem = doubt(when, year, collected, f"收取时间 {m.get('collected')}")
        if problem:
            return (False, _EPOCH, index), text, f"{label} {text} {problem}：日期不可信，按规则排在最后。"
        note = f"{'；'.join(unreadable)}，改用{label}。" if unreadable else None
        return (True, when, index), text, note
    reason = "；".join(unreadable) if unreadable else "没有可用的日期"
    return (False, _EPOCH, index), None, f"{reason}：按规则排在最后。"


def _explain(versions: list[dict[str, Any]], best: int, ranks: dict[int, tuple[bool, datetime, int]]) -> None:
    """Say on every version why it is or is not the current one."""
    current = versions[best]
    trusted = ranks[id(current)][0]
    for v in versions:
        if id(v) not in ranks:  # blocked: its note says why
            continue
        why = ("当前版本：日期可信的版本中最新的一份。" if trusted else
               "当前版本：各版本的日期都不可信，采用最后收到的一份。") if v is current else f"未采用：当前版本是 {current['file']}。"
        v["note"] = f"{v['note']} {why}" if v.get("note") else why
