"""Delivering composed messages: to an outbox of .eml files for review, or through SMTP with a log
that makes a re-run resume where a failure stopped.

The log (JSON lines) gets one line right after each message the server accepted, written and
synced before the next is sent; a re-run skips the logged ones. So after a crash at most the
one message in flight can go twice, and a refused or failed message is simply tried again.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.errors import Unfinished, UsageError
from xltool.mail.urls import parse_server, refuse_password
from xltool.round.roster import Agency
from xltool.util import atomic_write, check_writable_dir, progress, read_secret

if TYPE_CHECKING:
    from xltool.mail.compose import Sender

TIMEOUT = 60


class DeliveryStopped(Unfinished):
    """The server cannot be reached any more; the rest waits for a re-run."""


class MessageFailed(Unfinished):
    """This one message was refused; the others go on."""


@dataclass
class Outgoing:
    agency: Agency
    key: str  # what makes this message this message, for the log (agency and attachment)
    eml_name: str
    build: Callable[[], tuple[str, bytes]]  # (Message-ID, raw), built only when it is sent
    about: dict = field(default_factory=dict)  # extra facts for the log line (file, sha256)


@dataclass
class DeliveryReport:
    sent: list[Agency] = field(default_factory=list)
    skipped: list[Agency] = field(default_factory=list)  # already in the log
    failed: list[tuple[Agency, str]] = field(default_factory=list)
    refused: list[tuple[Agency, str]] = field(default_factory=list)  # sent, but not to some of its addresses
    unmailable: list[tuple[Agency, str]] = field(default_factory=list)  # the roster gives no usable address: why
    written: list[Path] = field(default_factory=list)  # .eml files of a dry run
    stopped: str | None = None  # why the run stopped early

    @property
    def complete(self) -> bool:
        """Every agency got its message at every address (exit 0); otherwise the command exits 1."""
        return not (self.failed or self.refused or self.unmailable or self.stopped)


@dataclass(frozen=True)
class Delivered:
    """What became of one message: the .eml written (dry run), or the addresses the server refused
    while it accepted the others."""

    written: Path | None = None
    refused: tuple[str, ...] = ()


class Outbox:
    """The dry run: each message as an .eml file to read before anything is sent."""

    def __init__(self, folder: Path):
        check_writable_dir(folder)
        self.folder = folder

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def deliver(self, job: Outgoing, raw: bytes) -> Delivered:
        path = self.folder / job.eml_name
        atomic_write(path, raw)
        return Delivered(written=path)


class Smtp:
    """`smtp://user@host:port` (STARTTLS when offered) or `smtps://user@host:port`."""

    def __init__(self, url: str, password_file: str | None, envelope_from: str):
        refuse_password(url, "--password-file", "XLTOOL_SMTP_PASSWORD")
        server = parse_server(url, {"smtp": 25, "smtps": 465}, "SMTP", "smtp://用户名@服务器:端口 或 smtps://…")
        self.secure = server.scheme == "smtps"
        self.host, self.port, self.user = server.host, server.port, server.user
        secret = read_secret(password_file, "XLTOOL_SMTP_PASSWORD")
        if self.user and not secret:
            raise UsageError("请用 --password-file 或环境变量 XLTOOL_SMTP_PASSWORD 提供 SMTP 密码（授权码）。")
        self.password = secret.decode("utf-8", "replace") if secret else ""
        if not (self.user.isascii() and self.password.isascii()):
            raise UsageError("SMTP 用户名和密码（授权码）只能包含英文字母、数字和符号。")
        self.envelope_from = envelope_from
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> Smtp:
        self.conn = self._connect()
        return self

    def __exit__(self, *exc) -> None:
        self._drop(polite=True)

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        conn: smtplib.SMTP
        try:
            if self.secure:
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
                conn.ehlo()
                if conn.has_extn("starttls"):
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
            if self.user:
                conn.login(self.user, self.password)
            return conn
        except smtplib.SMTPAuthenticationError:
            raise UsageError(f"SMTP 登录失败：用户名 {self.user} 或密码不正确。163、QQ 等邮箱需使用“客户端授权码”，"
                             "并需在邮箱设置中开启 SMTP 服务。") from None
        except smtplib.SMTPNotSupportedError:
            raise UsageError(f"SMTP 服务器 {where} 不支持登录，请去掉地址中的用户名，或换用 smtps://。") from None
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryStopped(f"无法连接 SMTP 服务器 {where}（{e}）。请检查服务器地址、端口和网络。") from None

    def _drop(self, polite: bool = False) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.quit() if polite else conn.close()
        except Exception:  # already gone
            pass

    def deliver(self, job: Outgoing, raw: bytes) -> Delivered:
        """Send one message to every address of the agency (one RCPT TO each); reconnect once if
        the server hung up (they do, after N messages). A refused address among several is
        reported while the others get the message."""
        for _attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = self._connect()
                refused = self.conn.sendmail(self.envelope_from, list(job.agency.emails), raw)
                return Delivered(refused=tuple(_refusals(refused)))
            except smtplib.SMTPRecipientsRefused as e:
                raise MessageFailed("服务器拒收收件人：" + "；".join(_refusals(e.recipients))) from None
            except smtplib.SMTPResponseException as e:
                if e.smtp_code >= 500:
                    raise MessageFailed(f"服务器拒收（{e.smtp_code} {_text(e.smtp_error)}）") from None
                self._drop()
                reason = f"{e.smtp_code} {_text(e.smtp_error)}"
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                self._drop()
                reason = str(e) or type(e).__name__
        raise DeliveryStopped(f"与 SMTP 服务器 {self.host} 的连接中断（{reason}）。已发送的邮件已记录，"
                              "重新运行会从中断处继续。")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict) -> list[str]:
    return [f"{address}（{code} {_text(why)}）" for address, (code, why) in recipients.items()]


class SendLog:
    """JSON lines: one per accepted message. A torn last line (a crash) is ignored."""

    def __init__(self, path: Path):
        self.path, self.keys = path, set()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as e:
            raise UsageError(f"无法读取发送记录 {path}：{e.strerror or e}") from None
        for line in lines:
            try:
                self.keys.add(json.loads(line)["key"])
            except (ValueError, KeyError, TypeError):
                continue

    def record(self, job: Outgoing, message_id: str, refused: tuple[str, ...] = ()) -> None:
        line = {"key": job.key, "code": job.agency.code, "name": job.agency.name, "to": job.agency.email,
                "message_id": message_id, "time": datetime.now().astimezone().isoformat(timespec="seconds"),
                **({"refused": list(refused)} if refused else {}), **job.about}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.keys.add(job.key)


def deliver_all(jobs: list[Outgoing], transport: Outbox | Smtp, log: SendLog | None) -> DeliveryReport:
    """Deliver each job not yet in the log; one refusal does not stop the others. An agency the
    roster gives no usable address is listed with the reason, never an abort."""
    report = DeliveryReport(unmailable=[(j.agency, why) for j in jobs if (why := j.agency.cannot_mail())])
    jobs = [j for j in jobs if j.agency.emails]
    todo = [j for j in jobs if log is None or j.key not in log.keys]
    report.skipped = [j.agency for j in jobs if log is not None and j.key in log.keys]
    try:
        with transport:
            for job in progress(todo, len(todo), "发送"):
                try:
                    message_id, raw = job.build()
                    done = transport.deliver(job, raw)
                except MessageFailed as e:
                    report.failed.append((job.agency, e.message))
                    continue
                if log is not None:
                    log.record(job, message_id, done.refused)
                if done.written is not None:
                    report.written.append(done.written)
                refused = [*done.refused, *(f"{a}（名单中的邮箱格式不正确，未发往此地址）" for a in job.agency.bad_addresses)]
                if refused:
                    report.refused.append((job.agency, "；".join(refused)))
                report.sent.append(job.agency)
    except DeliveryStopped as e:
        report.stopped = e.message
    return report


def transport_for(smtp: str | None, password_file: str | None, sender: Sender, outbox: Path,
                  log_name: str) -> tuple[Outbox | Smtp, SendLog | None]:
    """Where messages go: the outbox folder as .eml files for review, or an SMTP server, with a
    log in the outbox so that a re-run skips what was sent."""
    if smtp is None:
        return Outbox(outbox), None
    transport = Smtp(smtp, password_file, sender.address)  # a password in the address is refused first
    check_writable_dir(outbox)
    return transport, SendLog(outbox / log_name)
