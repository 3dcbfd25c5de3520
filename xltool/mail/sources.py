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
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import unquote

from xltool.errors import Unfinished, UsageError
from xltool.mail.mime import MAX_ATTACHMENT, decode_text, header_text
from xltool.mail.urls import parse_server, redact, refuse_password
from xltool.util import NotRegularFile, read_regular, read_secret

MAX_MESSAGE = 2 * MAX_ATTACHMENT  # one attachment at the cap, base64-encoded, and some text


class SourceError(Unfinished):
    """The source failed part-way (network, server)."""


@dataclass
class Envelope:
    origin: str  # where it was found, for the manifest and messages
    raw: bytes | None = None  # a mail message
    file_name: str | None = None  # ... or a loose file: its name and content
    data: bytes | None = None
    arrived: datetime | None = None  # arrival: IMAP INTERNALDATE, the mbox From_ line, Maildir delivery
    file_time: datetime | None = None  # a file's modification time (an .eml file or a loose file)
    message_id: str = ""  # known before download (IMAP), so a known message is not fetched
    too_large: int = 0  # size of a message or file not read because it is over the cap
    error: str | None = None  # could not be read this time: retried on the next run
    skipped: str | None = None  # never read, and why: not a regular file, a link out of the source


Known = Callable[[str, int, "datetime | None"], bool]  # (Message-ID, size, arrival) seen before?


def _time(seconds: float) -> datetime | None:
    """A file time as an aware datetime; None when the platform cannot represent it."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def message_id(raw: bytes) -> str:
    return header_text(BytesHeaderParser().parsebytes(raw), "message-id").strip()


def display_name(name: str) -> str:
    """A file name from the disk as text: a name that is not UTF-8 (GBK from a Windows USB stick)
    comes back from the OS as surrogate escapes; decode its bytes as Chinese text instead."""
    return decode_text(os.fsencode(name))


_FROM_LINE = re.compile(rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}:\d{2}:\d{2}) +(\d{4})")


def from_line_time(raw: bytes) -> datetime | None:
    """The delivery time on an mbox `From ` line (asctime, UTC by convention), or None."""
    first = raw.split(b"\n", 1)[0]
    m = _FROM_LINE.search(first) if first.startswith(b"From ") else None
    if m is None:
        return None
    try:
        text = b" ".join(m.groups()).decode("ascii")
        return datetime.strptime(text, "%b %d %H:%M:%S %Y").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


_KINDS = ((stat.S_ISFIFO, "命名管道"), (stat.S_ISCHR, "设备文件"), (stat.S_ISBLK, "设备文件"),
          (stat.S_ISSOCK, "套接字"), (stat.S_ISDIR, "文件夹"))


def _kind(mode: int) -> str:
    return next((text for test, text in _KINDS if test(mode)), "特殊文件")


class LocalSource:
    """mbox, Maildir, one .eml, or a folder (recursively): .eml files as messages, others loose.

    Only regular files are read, opened without following a last symlink and without blocking
    (a FIFO named return.xlsx never hangs the run); a symlink is followed only to a file inside
    the source; anything else gets an envelope saying why it was skipped."""

    filters_since = False

    def __init__(self, path: Path, exclude: Path | None = None):
        self.path, self.exclude = path, exclude.resolve() if exclude else None
        self.root = path.resolve()

    def __str__(self) -> str:
        return display_name(str(self.path))

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
            raise SourceError(f"无法读取邮箱文件 {self}：{e}") from None
        for n, key in enumerate(keys, 1):
            origin = f"{display_name(self.path.name)} 第{n}封"
            try:
                raw = box.get_bytes(key, from_=True)
            except (OSError, KeyError) as e:
                yield Envelope(origin, error=f"无法读取：{e}")
                continue
            head, _, body = raw.partition(b"\n") if raw.startswith(b"From ") else (b"", b"", raw)
            yield Envelope(origin, raw=body, arrived=from_line_time(head))

    def _maildir(self) -> Iterator[Envelope]:
        """new/ and cur/ in delivery order (file time, then name: how Maildir names sort); the
        file time is the delivery time."""
        files = [p for sub in ("new", "cur") for p in (self.path / sub).iterdir() if not p.name.startswith(".")]
        for path in sorted(files, key=lambda p: (_mtime_or_zero(p), p.name)):
            envelope = self._read(path, as_message=True)
            envelope.arrived, envelope.file_time = envelope.file_time, None
            yield envelope

    def _files(self) -> Iterator[Path]:
        for root, dirs, names in os.walk(self.path):
            links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
            yield from (Path(root, d) for d in links if not self._inside(Path(root, d).resolve()))
            dirs[:] = sorted(d for d in dirs if d not in links and not d.startswith(".")
                             and not self._excluded(Path(root, d)))
            yield from (Path(root, n) for n in names if not n.startswith((".", "~$")))

    def _excluded(self, path: Path) -> bool:
        return self.exclude is not None and path.resolve() == self.exclude

    def _inside(self, target: Path) -> bool:
        return target == self.root or target.is_relative_to(self.root)

    def _entry(self, path: Path) -> Envelope:
        return self._read(path, as_message=path.suffix.lower() == ".eml")

    def _read(self, path: Path, as_message: bool) -> Envelope:
        origin = display_name(str(path.relative_to(self.path)) if path != self.path else path.name)
        name = display_name(path.name)
        try:
            real = path
            if os.path.islink(path) and path != self.path:
                real = path.resolve()
                if not self._inside(real):
                    return Envelope(origin, file_name=name, skipped="这是一个指向来源文件夹之外的链接（符号链接），未读取。")
            mode = os.stat(real).st_mode
            if not stat.S_ISREG(mode):
                return Envelope(origin, file_name=name, skipped=f"不是普通文件（{_kind(mode)}），未读取。")
            data, size, mtime = _read_regular(real)
        except NotRegularFile as e:
            return Envelope(origin, file_name=name, skipped=f"不是普通文件（{_kind(e.mode)}），未读取。")
        except OSError as e:
            return Envelope(origin, error=f"无法读取：{e.strerror or e}")
        when = _time(mtime)
        if data is None:
            return Envelope(origin, file_name=name, too_large=size, file_time=when)
        if as_message:
            return Envelope(origin, raw=data, file_time=when)
        return Envelope(origin, file_name=name, data=data, file_time=when)


def _read_regular(path: Path) -> tuple[bytes | None, int, float]:
    """(content or None when over the cap, size, mtime) of a regular file, never following a last
    link nor blocking (util.read_regular)."""
    data, st = read_regular(path, MAX_MESSAGE, follow_links=False)
    return data, (len(data) if data is not None else max(st.st_size, MAX_MESSAGE + 1)), st.st_mtime


def _mtime_or_zero(path: Path) -> float:
    """A file's time for sorting; a file the mail server just moved sorts first and then reports
    that it cannot be read, to be retried."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def _is_mbox(path: Path) -> bool:
    """Whether a regular file starts like an mbox; opened without blocking (never a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            return stat.S_ISREG(os.fstat(fd).st_mode) and f.read(5) == b"From "
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
        server = parse_server(url, {"imap": 143, "imaps": 993}, "IMAP", "imap://用户名@服务器:端口/INBOX（或 imaps://…）")
        self.secure = server.scheme == "imaps"
        self.host, self.port, self.user = server.host, server.port, server.user
        self.folder = unquote(server.path.lstrip("/")) or "INBOX"
        if not self.user:
            raise UsageError("IMAP 地址应为 imap://用户名@服务器:端口/INBOX（或 imaps://…）。")
        if not (self.user.isascii() and password.isascii()):
            raise UsageError("IMAP 用户名和密码（授权码）只能包含英文字母、数字和符号。")
        self.password, self.since = password, since

    def envelopes(self, known: Known) -> Iterator[Envelope]:
        conn = self._connect()
        try:
            self._examine(conn)
            uids = self._search(conn)
            for start in range(0, len(uids), BATCH):
                batch = uids[start:start + BATCH]
                heads = self._heads(conn, batch)
                for uid in batch:
                    mid, size, arrived = heads.get(uid, ("", 0, None))
                    if mid and known(mid, size, arrived):
                        continue
                    origin = f"{self.folder} UID {uid.decode('ascii', 'replace')}"
                    if size > MAX_MESSAGE:
                        yield Envelope(origin, message_id=mid, too_large=size, arrived=arrived)
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

    def _heads(self, conn: imaplib.IMAP4, uids: list[bytes]) -> dict[bytes, tuple[str, int, datetime | None]]:
        """Message-ID, size and arrival of each message, so known and oversized ones are not
        downloaded (a message is known by its Message-ID and content; these three stand in for
        the content until it is downloaded)."""
        typ, data = conn.uid("FETCH", b",".join(uids).decode(),
                             "(RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        out = {}
        for item in data if typ == "OK" else ():
            if isinstance(item, tuple):
                uid, size = _FETCH_UID.search(item[0]), _FETCH_SIZE.search(item[0])
                if uid:
                    out[uid[1]] = (message_id(item[1]), int(size[1]) if size else 0, internal_date(item[0]))
        return out

    def _fetch(self, conn: imaplib.IMAP4, uid: bytes, origin: str) -> Envelope:
        typ, data = conn.uid("FETCH", uid.decode(), "(INTERNALDATE BODY.PEEK[])")
        item = next((x for x in data if isinstance(x, tuple)), None) if typ == "OK" else None
        if item is None:
            return Envelope(origin, error="服务器没有返回邮件内容")
        return Envelope(origin, raw=item[1], arrived=internal_date(item[0]))


_INTERNALDATE = re.compile(rb'INTERNALDATE "\s*(\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})"')


def internal_date(response: bytes) -> datetime | None:
    """The INTERNALDATE of a FETCH response as an aware UTC datetime (imaplib's own helper
    gives local time), or None."""
    m = _INTERNALDATE.search(response)
    if m is None:
        return None
    try:
        return datetime.strptime(m[1].decode("ascii"), "%d-%b-%Y %H:%M:%S %z").astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


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
    """The source a SOURCE argument names, or UsageError saying why it cannot be one. An address
    with a password in it is refused before anything else, and never shown with the password."""
    if re.match(r"(?i)[a-z][a-z0-9+.-]*://", spec):
        refuse_password(spec, "--password-file", "XLTOOL_IMAP_PASSWORD")
    if re.match(r"(?i)imaps?://", spec):
        parse_server(spec, {"imap": 143, "imaps": 993}, "IMAP", "imap://用户名@服务器:端口/INBOX（或 imaps://…）")
        secret = read_secret(password_file, "XLTOOL_IMAP_PASSWORD")
        if not secret:
            raise UsageError("请用 --password-file 或环境变量 XLTOOL_IMAP_PASSWORD 提供 IMAP 密码（授权码）。")
        return ImapSource(spec, secret.decode("utf-8", "replace"), since)
    if re.match(r"(?i)[a-z][a-z0-9+.-]*://", spec):
        raise UsageError(f"不支持的地址：{redact(spec)}。邮箱服务器请用 imap:// 或 imaps://。")
    path = Path(spec)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise UsageError(f"找不到邮箱或文件夹：{spec}") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise UsageError(f"{spec} 不是邮箱文件或文件夹（{_kind(mode)}），无法读取。")
    if exclude is not None and path.resolve() == exclude.resolve():
        raise UsageError("来源文件夹不能与输出文件夹相同。")
    return LocalSource(path, exclude)
