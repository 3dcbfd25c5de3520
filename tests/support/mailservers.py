"""Real mail servers on loopback for the tests: aiosmtpd for SMTP, Dovecot for IMAP.

Why real servers: ``send``/``remind`` and ``collect`` must be proven against the
protocol as servers speak it (AUTH, greetings, literals, folder names), not
against mocks that agree with our own assumptions.  Both servers listen on
127.0.0.1 on a free port and keep every file in a throw-away directory, so they
never touch or collide with a system instance.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_SEQUENCE = itertools.count(1)
TEST_USER = "user"
TEST_PASSWORD = "secret"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------


@dataclass
class ReceivedMessage:
    """One accepted SMTP transaction, as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None  # the AUTH user, None when the client did not log in


class _Recorder:
    """aiosmtpd handler that keeps every message instead of relaying it."""

    def __init__(self, messages: list[ReceivedMessage]) -> None:
        self.messages = messages

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data
        self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                             bytes(envelope.original_content or envelope.content), login))
        return "250 OK"


@dataclass
class SmtpServer:
    """A running aiosmtpd server; ``messages`` fills as mail arrives."""

    host: str
    port: int
    user: str
    password: str
    messages: list[ReceivedMessage] = field(default_factory=list)
    _controller: Controller | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_smtp_server(auth_required: bool = False) -> SmtpServer:
    """Start aiosmtpd on loopback offering AUTH PLAIN/LOGIN for TEST_USER/TEST_PASSWORD.

    AUTH is offered without TLS (loopback only) so client code can be tested with a
    password; with ``auth_required`` a client that does not log in is refused.
    """
    server = SmtpServer("127.0.0.1", free_port(), TEST_USER, TEST_PASSWORD)

    def authenticator(_srv: Any, _session: Any, _env: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (mechanism in ("PLAIN", "LOGIN") and isinstance(data, LoginPassword)
              and data.login == server.user.encode() and data.password == server.password.encode())
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    controller = Controller(_Recorder(server.messages), hostname=server.host, port=server.port,
                            authenticator=authenticator, auth_require_tls=False,
                            auth_required=auth_required, enable_SMTPUTF8=True)
    controller.start()
    server._controller = controller
    return server


# --- IMAP ---------------------------------------------------------------------------

DOVECOT = "/usr/sbin/dovecot"


def find_dovecot() -> str | None:
    """Path of the dovecot binary, or None when dovecot-imapd is not installed."""
    return shutil.which("dovecot") or (DOVECOT if os.access(DOVECOT, os.X_OK) else None)


_CONF = """\
# Throw-away test instance: everything under {root}, loopback only, no TLS.
instance_name = xltool-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class ImapServer:
    """A running Dovecot serving one user's Maildir over plain IMAP on loopback."""

    host: str
    port: int
    user: str
    password: str
    root: Path
    maildir: Path
    uid: int
    gid: int
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> str:
        """Dovecot's log so far (for failure messages)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def folder_path(self, folder: str = "INBOX") -> Path:
        """Maildir++ layout: INBOX is the top directory, others are ``.Name``."""
        path = self.maildir if folder.upper() == "INBOX" else self.maildir / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        for p in (path, path / "cur", path / "new", path / "tmp"):
            os.chown(p, self.uid, self.gid)
        return path

    def deliver(self, raw: bytes, folder: str = "INBOX", date: float | None = None) -> Path:
        """Put a message into the Maildir as a local delivery agent would.

        Messages get UIDs in the order they were delivered.  Written in tmp/ and renamed into new/ (the Maildir rule, so Dovecot never sees
        half a file), owned by the mail user.  ``date`` (epoch seconds) becomes the
        file's mtime, which Dovecot reports as the message's INTERNALDATE.
        """
        box = self.folder_path(folder)
        # Dovecot numbers new mail in file-name order: time, then a zero-padded sequence.
        name = f"{int(time.time())}.Q{next(_SEQUENCE):09d}_{uuid.uuid4().hex}.xltool-test"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, self.uid, self.gid)
        if date is not None:
            os.utime(tmp, (date, date))
        final = box / "new" / name
        os.rename(tmp, final)
        return final

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # master and children at once: no 1 s shutdown wait
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:  # dovecot's children share its process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_imap_server(timeout: float = 20) -> ImapServer:
    """Start a private Dovecot on 127.0.0.1 and wait for its IMAP greeting.

    Needs root: Dovecot switches to the ``dovecot``/``dovenull`` users, and refuses to
    run its login process as root, so the mail user is the ``dovecot`` system user.
    """
    dovecot = find_dovecot()
    if dovecot is None:
        raise RuntimeError("dovecot not found (install dovecot-imapd)")
    if os.geteuid() != 0:
        raise RuntimeError("the Dovecot test server must be started as root")
    mail_user = pwd.getpwnam("dovecot")
    uid, gid = mail_user.pw_uid, mail_user.pw_gid
    # Not pytest's tmp_path: that is mode 0700, and dovecot's processes run as other users.
    root = Path(tempfile.mkdtemp(prefix="xltool-dovecot-"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    os.chown(home, uid, gid)
    port = free_port()
    (root / "users").write_text(f"{TEST_USER}:{{PLAIN}}{TEST_PASSWORD}:{uid}:{gid}::{home}::\n")
    conf = root / "dovecot.conf"
    conf.write_text(_CONF.format(root=root, port=port, uid=uid))
    server = ImapServer("127.0.0.1", port, TEST_USER, TEST_PASSWORD, root, home / "Maildir", uid, gid)
    server.folder_path("INBOX")
    with (root / "stderr.log").open("wb") as err:
        server._proc = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        _wait_for_greeting(server, timeout)
    except BaseException:
        stderr = (root / "stderr.log").read_text(errors="replace")
        log = server.log
        server.stop()
        raise RuntimeError(f"dovecot did not start:\n{stderr}\n{log}") from None
    return server


def _wait_for_greeting(server: ImapServer, timeout: float) -> None:
    """Poll until the port accepts and says ``* OK``; give up if dovecot exits."""
    deadline = time.monotonic() + timeout
    while True:
        assert server._proc is not None
        if server._proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with status {server._proc.returncode}")
        try:
            with socket.create_connection((server.host, server.port), timeout=2) as s:
                if s.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no IMAP greeting on port {server.port} within {timeout:.0f} s")
        time.sleep(0.1)
