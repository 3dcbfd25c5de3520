"""Where returns come from: an mbox file, a Maildir, a folder of .eml files or of loose files
(returns that came by USB or chat), or an IMAP mailbox, read without changing anything.

A source yields `Envelope`s in a stable order. One that cannot be read carries an `error` and
is retried on the next run; a source that fails as a whole (the server hangs up) raises
`SourceError` after yielding what it had, so the collector keeps that and a re-run resumes.
"""

from __future__ import annotations

import base64
import imaplib
import mailbox
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from xltool.errors import Unfinished, UsageError
from xltool.mail.mime import MAX_ATTACHMENT, header_text
from xltool.util import read_secret

MAX_MESSAGE = 2 * MAX_ATTACHMENT  # one attachment at the cap, base64-encoded, and some text


class SourceError(Unfinished):
    """The source failed part-way (network, server)."""


@dataclass
class Envelope:
    origin: str  # where it was found, for the manifest and messages
    raw: bytes | None = None  # a mail message
    file_name: str | None = None  # ... or a loose file: its name and content
    data: bytes | None = None
    fallback_date: datetime | None = None  # delivery or file time, when the message has no Date
    message_id: str = ""  # known before download (IMAP), so a known message is not fetched
    too_large: int = 0  # size of a message or file not read because it is over the cap
    error: str | None = None  # could not be read this time


Known = Callable[[str], bool]


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def message_id(raw: bytes) -> str:
    return header_text(BytesHeaderParser().parsebytes(raw), "message-id").strip()


class LocalSource:
    """mbox, Maildir, one .eml, or a folder (recursively): .eml files as messages, others loose."""

    filters_since = False

    def __init__(self, path: Path, exclude: Path | None = None):
        self.path, self.exclude = path, exclude.resolve() if exclude else None

    def __str__(self) -> str:
        return str(self.path)

    def envelopes(self, known: Known) -> Iterator[Envelope]:
        if self.path.is_dir() and (self.path / "cur").is_dir() and (self.path / "new").is_dir():
            yield from self._maildir()
        elif self.path.is_dir():
            yield from (self._entry(p) for p in sorted(self._files()))
        elif _is_mbox(self.path):
            yield from self._mbox()
        else:
            yield self._entry(self.path)

    def _mbox(self) -> Iterator[Envelope]:
        try:
            box = mailbox.mbox(self.path, create=False)
            keys = list(box.iterkeys())
        except (OSError, mailbox.Error) as e:
            raise SourceError(f"无法读取邮箱文件 {self.path}：{e}") from None
        for n, key in enumerate(keys, 1):
            origin = f"{self.path.name} 第{n}封"
            try:
                yield Envelope(origin, raw=box.get_bytes(key))
            except (OSError, KeyError) as e:
                yield Envelope(origin, error=f"无法读取：{e}")

    def _maildir(self) -> Iterator[Envelope]:
        """new/ and cur/ in delivery order (file time, then name: how Maildir names sort)."""
        files = [p for sub in ("new", "cur") for p in (self.path / sub).iterdir()
                 if p.is_file() and not p.name.startswith(".")]
        for path in sorted(files, key=lambda p: (_mtime_or_zero(p), p.name)):
            yield self._read(path, as_message=True)

    def _files(self) -> Iterator[Path]:
        for root, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not self._excluded(Path(root, d)))
            yield from (Path(root, n) for n in names if not n.startswith((".", "~$")))

    def _excluded(self, path: Path) -> bool:
        return self.exclude is not None and path.resolve() == self.exclude

    def _entry(self, path: Path) -> Envelope:
        return self._read(path, as_message=path.suffix.lower() == ".eml")

    def _read(self, path: Path, as_message: bool) -> Envelope:
        origin = str(path.relative_to(self.path)) if path != self.path else path.name
        try:
            size, when = path.stat().st_size, _mtime(path)
            if size > MAX_MESSAGE:
                return Envelope(origin, file_name=path.name, too_large=size, fallback_date=when)
            data = path.read_bytes()
        except OSError as e:
            return Envelope(origin, error=f"无法读取：{e.strerror or e}")
        if as_message:
            return Envelope(origin, raw=data, fallback_date=when)
        return Envelope(origin, file_name=path.name, data=data, fallback_date=when)


def _mtime_or_zero(path: Path) -> float:
    """A file's time for sorting; a file the mail server just moved sorts first and then reports
    that it cannot be read, to be retried."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


# --- IMAP ---------------------------------------------------------------------------------------


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): 已发送 -> &XfJT0ZAB-."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            b64 = base64.b64encode("".join(run).encode("utf-16-be")).rstrip(b"=").replace(b"/", b",")
            out.append("&" + b64.decode("ascii") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
BATCH = 200
TIMEOUT = 60


class ImapSource:
    """An IMAP folder, strictly read-only: EXAMINE and BODY.PEEK[], so nothing is marked read,
    moved or deleted. 163, QQ and Coremail want the ID command before the folder is opened."""

    filters_since = True

    def __init__(self, url: str, password: str, since: date | None = None):
        parts = urlsplit(url)
        self.secure = parts.scheme.lower() == "imaps"
        self.host, self.user = parts.hostname or "", unquote(parts.username or "")
        try:
            self.port = parts.port or (993 if self.secure else 143)
        except ValueError:
            raise UsageError(f"IMAP 地址中的端口无效：{url}") from None
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        if not self.host or not self.user:
            raise UsageError("IMAP 地址应为 imap://用户名@服务器:端口/INBOX（或 imaps://…）。")
        if not (self.user.isascii() and password.isascii()):
            raise UsageError("IMAP 用户名和密码（授权码）只能包含英文字母、数字和符号。")
        self.password, self.since = password, since

    def __str__(self) -> str:
        return f"{'imaps' if self.secure else 'imap'}://{self.user}@{self.host}:{self.port}/{self.folder}"

    def envelopes(self, known: Known) -> Iterator[Envelope]:
        conn = self._connect()
        try:
            self._examine(conn)
            uids = self._search(conn)
            for start in range(0, len(uids), BATCH):
                batch = uids[start:start + BATCH]
                heads = self._heads(conn, batch)
                for uid in batch:
                    mid, size = heads.get(uid, ("", 0))
                    if mid and known(mid):
                        continue
                    origin = f"{self.folder} UID {uid.decode('ascii', 'replace')}"
                    if size > MAX_MESSAGE:
                        yield Envelope(origin, message_id=mid, too_large=size)
                    else:
                        yield self._fetch(conn, uid, origin)
        except (imaplib.IMAP4.abort, OSError) as e:
            raise SourceError(f"与 IMAP 服务器 {self.host} 的连接中断（{_reason(e)}）。已收取的邮件已保存，"
                              "重新运行会从中断处继续。") from None
        except imaplib.IMAP4.error as e:
            raise SourceError(f"IMAP 服务器 {self.host} 返回错误：{_reason(e)}。") from None
        finally:
            _close(conn)

    def _connect(self) -> imaplib.IMAP4:
        conn: imaplib.IMAP4
        try:
            if self.secure:
                conn = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=TIMEOUT)
                if "STARTTLS" in conn.capabilities:
                    conn.starttls(ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as e:
            raise SourceError(f"无法连接 IMAP 服务器 {self.host}:{self.port}（{_reason(e)}）。"
                              "请检查服务器地址、端口和网络。") from None
        try:
            conn.login(self.user, self.password)
        except imaplib.IMAP4.abort as e:
            _close(conn)
            raise SourceError(f"IMAP 服务器 {self.host} 在登录时断开了连接（{_reason(e)}）。") from None
        except imaplib.IMAP4.error:
            _close(conn)
            raise UsageError(f"IMAP 登录失败：用户名 {self.user} 或密码不正确。163、QQ 等邮箱需使用“客户端授权码”，"
                             "而不是网页登录密码，并需在邮箱设置中开启 IMAP 服务。") from None
        try:  # ID: required by 163 before SELECT; servers that do not know it may say BAD or NO
            conn.xatom("ID", '("name" "xltool" "version" "1" "vendor" "xltool")')
        except imaplib.IMAP4.error:
            pass
        return conn

    def _examine(self, conn: imaplib.IMAP4) -> None:
        typ, _ = conn.select(_quoted(imap_utf7(self.folder)), readonly=True)
        if typ != "OK":
            raise UsageError(f"邮箱中没有文件夹“{self.folder}”。收件箱请写 INBOX。")

    def _search(self, conn: imaplib.IMAP4) -> list[bytes]:
        criteria = ("SINCE", self.since.strftime("%d-%b-%Y")) if self.since else ("ALL",)
        typ, data = conn.uid("SEARCH", None, *criteria)  # type: ignore[arg-type]  # None: no CHARSET
        if typ != "OK":
            raise SourceError(f"IMAP 服务器 {self.host} 拒绝了搜索命令。")
        return (data[0] or b"").split()

    def _heads(self, conn: imaplib.IMAP4, uids: list[bytes]) -> dict[bytes, tuple[str, int]]:
        """Message-ID and size of each message, so known and oversized ones are not downloaded."""
        typ, data = conn.uid("FETCH", b",".join(uids).decode(), "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        out = {}
        for item in data if typ == "OK" else ():
            if isinstance(item, tuple):
                uid, size = _FETCH_UID.search(item[0]), _FETCH_SIZE.search(item[0])
                if uid:
                    out[uid[1]] = (message_id(item[1]), int(size[1]) if size else 0)
        return out

    def _fetch(self, conn: imaplib.IMAP4, uid: bytes, origin: str) -> Envelope:
        typ, data = conn.uid("FETCH", uid.decode(), "(INTERNALDATE BODY.PEEK[])")
        item = next((x for x in data if isinstance(x, tuple)), None) if typ == "OK" else None
        if item is None:
            return Envelope(origin, error="服务器没有返回邮件内容")
        when = imaplib.Internaldate2tuple(item[0])
        fallback = datetime(*when[:6], tzinfo=timezone.utc) if when else None
        return Envelope(origin, raw=item[1], fallback_date=fallback)


def _reason(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "超时"
    if isinstance(e, ConnectionRefusedError):
        return "连接被拒绝"
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return text or type(e).__name__


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except Exception:  # already gone: nothing to tidy
        pass


def open_source(spec: str, *, since: date | None = None, password_file: str | None = None,
                exclude: Path | None = None) -> LocalSource | ImapSource:
    """The source a SOURCE argument names, or UsageError saying why it cannot be one."""
    if re.match(r"(?i)imaps?://", spec):
        secret = read_secret(password_file, "XLTOOL_IMAP_PASSWORD")
        if not secret:
            raise UsageError("请用 --password-file 或环境变量 XLTOOL_IMAP_PASSWORD 提供 IMAP 密码（授权码）。")
        return ImapSource(spec, secret.decode("utf-8", "replace"), since)
    if re.match(r"(?i)[a-z][a-z0-9+.-]*://", spec):
        raise UsageError(f"不支持的地址：{spec}。邮箱服务器请用 imap:// 或 imaps://。")
    path = Path(spec)
    if not path.exists():
        raise UsageError(f"找不到邮箱或文件夹：{spec}")
    if exclude is not None and path.resolve() == exclude.resolve():
        raise UsageError("来源文件夹不能与输出文件夹相同。")
    return LocalSource(path, exclude)
