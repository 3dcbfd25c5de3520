"""The record `collect` keeps of a returns folder: DIR/manifest.json.

Its source of truth is `messages`: every message (or loose file) seen and, for each attachment,
what was done with it and why. The other keys are views derived from it on every save, for the
commands and people that read the folder: `current` (agency code -> the return that counts: the
newest by message date), `agencies` (every version, the sealed scans and other attachments),
`unidentified` and `large_attachment_links`. Written atomically, and only when it changed, so a
second run over the same mail changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.util import atomic_write

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
        self._keys = {m["key"] for m in messages}
        self._files: dict[tuple[str, str], str] = {}
        for m in messages:
            self._index(m)

    @classmethod
    def open(cls, folder: Path) -> Manifest:
        path = folder / NAME
        if not path.exists():
            return cls(folder, [], None)
        text = path.read_text(encoding="utf-8")
        data = load(folder)
        messages = data.get("messages") if data is not None else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "key" in m for m in messages):
            raise UsageError(f"{path} 已损坏或不是 xltool 的收取记录。请换一个输出文件夹，或移走该文件后重新收取。")
        return cls(folder, messages, text)

    def known(self, key: str) -> bool:
        return key in self._keys

    def stored(self, sha256: str, where: str) -> str | None:
        """The file already holding these bytes in that folder (dedupe by SHA-256)."""
        return self._files.get((sha256, where))

    def add(self, record: dict[str, Any]) -> None:
        self.messages.append(record)
        self._keys.add(record["key"])
        self._index(record)

    def remember(self, sha256: str, where: str, file: str) -> None:
        self._files.setdefault((sha256, where), file)

    def _index(self, record: dict[str, Any]) -> None:
        for a in record.get("attachments", ()):
            if a.get("file") and a.get("sha256"):
                self.remember(a["sha256"], Path(a["file"]).parent.as_posix(), a["file"])

    def current(self) -> dict[str, str]:
        return {code: a["current"] for code, a in sorted(_agencies(self.messages).items())}

    def save(self) -> bool:
        """Write the manifest if it changed; True when written."""
        text = json.dumps(build(self.messages), ensure_ascii=False, indent=1) + "\n"
        if text == self._text:
            return False
        atomic_write(self.folder / NAME, text.encode("utf-8"))
        self._text = text
        return True


def build(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole manifest: the derived views, then the messages they come from."""
    agencies = _agencies(messages)
    return {
        "format": FORMAT, "version": VERSION,
        "current": {code: a["current"] for code, a in sorted(agencies.items())},
        "agencies": dict(sorted(agencies.items())),
        "unidentified": [dict(_about(m), **{k: a.get(k) for k in ("file", "name", "sha256", "reason")})
                         for m in messages for a in m.get("attachments", ()) if a["action"] == "unidentified"],
        "large_attachment_links": [dict(_about(m), url=url) for m in messages for url in m.get("links", ())],
        "messages": messages,
    }


def _about(message: dict[str, Any]) -> dict[str, Any]:
    return {"message": message["key"], "from": message.get("from"), "date": message.get("date")}


def _agencies(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per agency: its versions (one per SHA-256, dated by the newest message that carried it),
    the current one, and the other attachments of its messages."""
    out: dict[str, dict[str, Any]] = {}
    for m in messages:
        for a in m.get("attachments", ()):
            code = a.get("agency")
            if not code:
                continue
            agency = out.setdefault(code, {"name": "", "current": None, "versions": [], "attachments": []})
            if a["action"] in RETURN_ACTIONS:
                agency["name"] = a.get("agency_name") or agency["name"]
                _add_version(agency["versions"], a, m)
            elif a["action"] == "companion" and not any(x["sha256"] == a["sha256"] for x in agency["attachments"]):
                agency["attachments"].append({"file": a["file"], "name": a["name"], "kind": a.get("kind"),
                                              "sha256": a["sha256"], "date": m.get("date"), "message": m["key"]})
    for agency in out.values():
        versions = agency["versions"]
        newest = max(range(len(versions)), key=lambda i: (versions[i]["date"] or "", i), default=None)
        for i, v in enumerate(versions):
            v["current"] = i == newest
        agency["current"] = versions[newest]["file"] if newest is not None else None
    return {code: a for code, a in out.items() if a["current"]}


def _add_version(versions: list[dict[str, Any]], a: dict[str, Any], m: dict[str, Any]) -> None:
    date = m.get("date") or ""
    for v in versions:
        if v["sha256"] == a["sha256"]:
            v["date"] = max(v["date"] or "", date) or None
            if m["key"] not in v["messages"]:
                v["messages"].append(m["key"])
            return
    versions.append({"file": a["file"], "sha256": a["sha256"], "date": date or None, "year": a.get("year"),
                     "saved_at": a.get("saved_at"), "from": m.get("from"), "messages": [m["key"]]})
