"""Confirmed figures (PRODUCT.md, "Confirmed figures"): the round's `确认记录.json`.

A figure warning (the catalogue's `figure_warning`: fee-unit-suspect, rule-stock-continuity, …)
casts doubt on a number merge adds up, so a return carrying one is summed only once the
coordinator has confirmed it for that very version of the return (its SHA-256): a new version
needs a new confirmation. A `sender-mismatch` the coordinator knows to be legitimate (one office
filling for another) is confirmed the same way, for that workbook.

The file: `{"format": "xltool-confirmations", "version": 1, "confirmations": [{"code", "finding",
"keys": [...], "sha256", "note", "by", "at"}, ...]}`, written atomically. A file that is not
one (hand-edited, truncated, hostile) is a UsageError naming it, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool.errors import UsageError
from xltool.findings import FIGURE_WARNINGS
from xltool.round.dates import CST, minute
from xltool.util import NotRegularFile, atomic_write, read_regular

if TYPE_CHECKING:
    from xltool.round.replies import Mixup

FORMAT = "xltool-confirmations"
VERSION = 1
MAX_BYTES = 16 * 1024 * 1024  # thousands of confirmations fit in far less
SENDER_MISMATCH = "sender-mismatch"


@dataclass(frozen=True)
class Confirmation:
    code: str  # the agency code given to `confirm`
    finding: str
    keys: tuple[str, ...]  # the instances confirmed; () for a finding that points at no cell
    sha256: str  # of the return (or the mixed-up workbook) confirmed
    note: str
    by: str
    at: str  # ISO time, China time

    def covers(self, key: str | None) -> bool:
        return not self.keys or key in self.keys

    def to_json(self) -> dict[str, Any]:
        return dict(asdict(self), keys=list(self.keys))

    @property
    def text(self) -> str:
        """For the merged workbook and the terminal: which finding, why, who, when."""
        return f"{self.finding}：{self.note}（{self.by}，{minute(self.at)}）"


@dataclass
class Confirmations:
    path: Path | None = None
    entries: list[Confirmation] = field(default_factory=list)

    def covering(self, code: str, sha256: str | None,
                 figures: Iterable[tuple[str, str | None]]) -> tuple[list[str], list[Confirmation]]:
        """For a return of agency `code` with these figure warnings (code, key): the finding
        codes still unconfirmed, and the confirmations that cover the others."""
        unconfirmed: dict[str, None] = {}
        used: dict[Confirmation, None] = {}
        for finding, key in figures:
            found = next((c for c in self.entries if c.code == code and c.finding == finding
                          and c.sha256 == sha256 and c.covers(key)), None)
            if found is None:
                unconfirmed[finding] = None
            else:
                used[found] = None
        return list(unconfirmed), list(used)

    def mixup(self, mixup: Mixup) -> Confirmation | None:
        """The confirmation that makes a mixed-up workbook count as its owner's return."""
        return next((c for c in self.entries if c.finding == SENDER_MISMATCH and c.sha256 == mixup.sha256
                     and c.code in (mixup.owner, *mixup.senders)), None)

    def add(self, entries: Iterable[Confirmation]) -> None:
        """Record confirmations and write the file atomically."""
        assert self.path is not None  # loaded from a round's file
        self.entries.extend(entries)
        data = {"format": FORMAT, "version": VERSION, "confirmations": [c.to_json() for c in self.entries]}
        try:
            atomic_write(self.path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        except OSError as e:
            raise UsageError(f"无法写入确认记录 {self.path}：{e.strerror or e}。") from None


def load(path: str | os.PathLike | Confirmations | None) -> Confirmations:
    """The confirmations of a round (none when the file does not exist yet); UsageError naming
    the file when it is not a confirmation record."""
    if isinstance(path, Confirmations):
        return path
    if path is None:
        return Confirmations()
    path = Path(path)

    def broken(why: str) -> UsageError:
        return UsageError(f"确认记录 {path} 无法使用：{why}。请从备份恢复该文件，或移走它后用 xltool confirm 重新确认。")

    try:
        data, _ = read_regular(path, MAX_BYTES)
        if data is None:
            raise broken(f"文件过大（超过 {MAX_BYTES // (1024 * 1024)} MB）")
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        return Confirmations(path)
    except NotRegularFile:
        raise broken("不是普通文件") from None
    except UnicodeDecodeError:
        raise broken("不是 UTF-8 文本") from None
    except OSError as e:
        raise broken(f"无法读取（{e.strerror or e}）") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise broken("不是有效的 JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("confirmations"), list):
        raise broken("不是 xltool 的确认记录")
    entries = []
    for n, item in enumerate(data["confirmations"], 1):
        entry = _entry(item)
        if entry is None:
            raise broken(f"第 {n} 条记录不完整或格式不对")
        entries.append(entry)
    return Confirmations(path, entries)


_TEXT_FIELDS = ("code", "finding", "sha256", "note", "by", "at")


def _entry(item: Any) -> Confirmation | None:
    if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in _TEXT_FIELDS):
        return None
    keys = item.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    return Confirmation(item["code"], item["finding"], tuple(keys), item["sha256"], item["note"], item["by"], item["at"])


def login_name() -> str:
    """Who confirms, by default: the login name (an office PC may have none the system can tell)."""
    try:
        return getpass.getuser() or "（未知用户）"
    except Exception:  # no USER/LOGNAME and no passwd entry: a container, a service account
        return "（未知用户）"


def now_text() -> str:
    return datetime.now(CST).isoformat(timespec="seconds")


def figure_findings(findings: Iterable[Any]) -> tuple[tuple[str, str | None], ...]:
    """(code, key) of the figure warnings among findings: what needs confirming."""
    return tuple(dict.fromkeys((f.code, f.key) for f in findings if f.code in FIGURE_WARNINGS))


# --- confirming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    """What `confirm` recorded, and the instances it covers, in Chinese, for the output."""

    agency: str
    entries: list[Confirmation]
    instances: list[str]
    file: str


def confirm(rnd: Any, agency_code: str, target: str, note: str, by: str | None = None) -> Confirmed:
    """Record the coordinator's confirmation of `target` (FINDING or FINDING@KEY) on the agency's
    current return in the round's 确认记录.json; UsageError (exit 2) saying why and what to do
    when the finding is unknown, an error other than sender-mismatch, or not on that return."""
    from xltool.findings import CATALOGUE
    from xltool.round.replies import judge
    from xltool.round.roster import load_roster

    code, _, key = target.partition("@")
    if not note.strip():
        raise UsageError("请用 --note 写明确认的理由（如“已电话核实，单位为万元”）。")
    entry = CATALOGUE.get(code)
    if entry is None:
        raise UsageError(f"没有问题代码“{code}”。可以确认的是数字存疑的警告（{'、'.join(sorted(FIGURE_WARNINGS))}）"
                         f"和 {SENDER_MISMATCH}；问题代码见 xltool status 或 xltool verify 的输出。")
    if entry.severity == "error" and code != SENDER_MISMATCH:
        raise UsageError(f"{code}（{entry.title}）是错误，不能确认：错误须由该单位改正报表后重新报送"
                         "（xltool remind 会把审核意见和批注版发给它）。可以确认的只有警告和 sender-mismatch。")
    roster = load_roster(rnd.roster) if rnd.roster else None
    agency = next((a for a in roster or () if a.code == agency_code), None)
    if roster is not None and agency is None:
        raise UsageError(f"名单中没有单位代码“{agency_code}”。")
    name = f"{agency.name}（{agency_code}）" if agency else agency_code
    confirmations = load(rnd.confirmations)
    replies = judge(rnd.returns(), roster, confirmations)
    who, at = by or login_name(), now_text()
    if code == SENDER_MISMATCH:
        if key:
            raise UsageError(f"{SENDER_MISMATCH} 针对整份报表，不能加 @{key}。")
        mixups = list({m.sha256: m for m in replies.mixups_of(agency_code) if not m.confirmed}.values())
        if not mixups:
            raise UsageError(f"{name}没有待确认的 {SENDER_MISMATCH}（其他单位邮箱发来的填报表）。请先运行 xltool status 查看。")
        entries = [Confirmation(agency_code, code, (), m.sha256, note.strip(), who, at) for m in mixups]
        confirmations.add(entries)
        return Confirmed(agency_code, entries, [m.message() for m in mixups], "、".join(m.file for m in mixups))
    result = _current(rnd, agency_code, replies)
    if result is None:
        raise UsageError(f"没有找到{name}的当前报表，无法确认 {code}。请先运行 xltool status 查看。")
    instances = [f for f in result.findings if f.code == code and (not key or f.key == key)]
    if not instances or result.ret is None:
        present = "、".join(dict.fromkeys(f.code for f in result.findings)) or "无"
        raise UsageError(f"{name}的当前报表 {result.file} 中没有 {target} 问题（该报表的问题：{present}）。"
                         "请核对单位代码和问题代码，或先运行 xltool status 查看。")
    keys = tuple(dict.fromkeys(f.key for f in instances if f.key))
    entries = [Confirmation(agency_code, code, keys, result.ret.sha256, note.strip(), who, at)]
    confirmations.add(entries)
    return Confirmed(agency_code, entries, [f.message for f in instances], result.file)


def _current(rnd: Any, agency_code: str, replies: Any) -> Any:
    """The agency's current return in the round, verified as status and merge verify it (with
    the round's key and last year's figures), or None."""
    from xltool.round.previous import load_previous
    from xltool.round.verify import choose, expand, verify_path

    current = replies.current.get(agency_code)
    files = [f for f in expand(rnd.returns(), replies)
             if f == current or not any(f in r.values() for r in replies.returns.values())]
    previous = load_previous(rnd.previous) if rnd.previous and rnd.previous.exists() else None
    key = rnd.key()
    results = [r for r in (verify_path(f, key=key, previous=previous) for f in files)
               if r.agency and r.agency["code"] == agency_code]
    return choose(results) if results else None
