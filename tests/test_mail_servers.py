"""send through a real SMTP server (aiosmtpd) and collect from a real IMAP server (Dovecot), both
on loopback; a relay between client and server records what the client said, or cuts the line
part-way to prove that a re-run resumes."""

from __future__ import annotations

import email
import email.policy
import email.utils
import imaplib
import json
import mailbox
import re
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from test_mail_common import ROSTER, agencies, manifest, outcome, run, sample_mbox, tree, write_roster

from support.mailservers import ImapServer, SmtpServer
from xltool.form.returns import from_book
from xltool.mail.compose import cn_date, today
from xltool.office.xlsx import load_book
from xltool.round.workbooks import generate_roster

SENDER = "某某区政务公开办 <gkb@example.gov.cn>"
DEADLINE = today() + timedelta(days=20)  # a date typed on the command line must not be past


class Relay:
    """A TCP relay to a server. Records what the client sends; with `limit`, cuts every
    connection once that many bytes went `direction` ("up" to the server, "down" to the client)
    and refuses new ones, as a server that goes away does."""

    def __init__(self, port: int, limit: int | None = None, direction: str = "up"):
        self.target, self.limit, self.direction = port, limit, direction
        self.client_bytes = bytearray()
        self.counted = 0
        self.cut = False
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "down"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while data := src.recv(65536):
                if direction == "up":
                    self.client_bytes += data
                if self.limit is not None and direction == self.direction:
                    self.counted += len(data)
                    if self.counted > self.limit:
                        self.close()
                        return
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            _shut(s)

    def close(self) -> None:
        self.cut = True
        _shut(self.listener)
        for s in self.sockets:
            _shut(s)


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


# --- send ---------------------------------------------------------------------------------------


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    out = tmp_path / "dist"
    out.mkdir()
    generate_roster(agencies(), 2021, out, None)
    return out


def _send(tmp_path: Path, dist: Path, server: SmtpServer, port: int | None = None, scheme: str = "smtp"):
    password = tmp_path / "smtp-password"
    password.write_text(server.password + "\n", encoding="utf-8")
    return run("send", dist, "--roster", write_roster(tmp_path), "--from", SENDER,
               "--smtp", f"{scheme}://{server.user}@{server.host}:{port or server.port}", "--password-file", password,
               "--outbox", tmp_path / "outbox", "--deadline", DEADLINE.isoformat(), "--contact", "张三 0451-12345678")


def test_send_delivers_each_agency_its_own_workbook(tmp_path: Path, dist: Path, smtp_server: SmtpServer) -> None:
    result = _send(tmp_path, dist, smtp_server)
    assert result.exit_code == 0, result.output
    assert len(smtp_server.messages) == len(ROSTER)
    emails = {code: address for code, _, address in ROSTER}
    for got in smtp_server.messages:
        assert got.login == smtp_server.user and got.mail_from == "gkb@example.gov.cn"
        msg = email.message_from_bytes(got.raw, policy=email.policy.default)
        [attachment] = msg.iter_attachments()
        name, data = attachment.get_filename(), attachment.get_content()
        assert data == (dist / name).read_bytes()  # byte-identical to the generated workbook
        code = from_book(load_book(data)).agency_code
        agency = next(a for a in agencies() if a.code == code)
        assert name == f"{code}_{agency.name}_2021.xlsx"  # the Chinese name reads right
        assert got.rcpt_tos == [emails[code]] and msg["To"].addresses[0].addr_spec == emails[code]
        assert agency.name in msg["Subject"] and cn_date(DEADLINE) in msg.get_body().get_content()
        assert msg["From"].addresses[0].display_name == "某某区政务公开办"
    log = [json.loads(line) for line in (tmp_path / "outbox" / "sent.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(entry["code"] for entry in log) == sorted(emails)

    again = _send(tmp_path, dist, smtp_server)
    assert again.exit_code == 0 and "跳过此前已发送的 8 封" in again.output
    assert len(smtp_server.messages) == len(ROSTER)


def test_send_resumes_after_the_server_hangs_up(tmp_path: Path, dist: Path, smtp_server: SmtpServer) -> None:
    relay = Relay(smtp_server.port, limit=100_000)  # about two and a half messages
    first = _send(tmp_path, dist, smtp_server, port=relay.port)
    assert relay.cut and first.exit_code == 1
    assert "连接中断" in first.output or "无法连接" in first.output
    sent_first = len(smtp_server.messages)
    assert 0 < sent_first < len(ROSTER)

    second = _send(tmp_path, dist, smtp_server)
    assert second.exit_code == 0, second.output
    received = [email.message_from_bytes(m.raw)["To"] for m in smtp_server.messages]
    assert len(received) <= len(ROSTER) + 1  # at most the message in flight twice
    assert {m.rcpt_tos[0] for m in smtp_server.messages} == {address for _, _, address in ROSTER}


def test_send_dry_run_writes_the_outbox(tmp_path: Path, dist: Path) -> None:
    result = run("send", dist, "--roster", write_roster(tmp_path), "--from", SENDER)
    assert result.exit_code == 0, result.output
    outbox = tmp_path / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == len(ROSTER) and not (outbox / "sent.jsonl").exists()
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert "请尽快" in msg.get_body().get_content()  # no deadline given


def test_send_matches_by_metadata_not_file_name(tmp_path: Path, dist: Path) -> None:
    first, second = sorted(dist.glob("*.xlsx"))[:2]
    swap = dist / "swap"
    first.rename(swap)
    second.rename(first)
    swap.rename(second)  # each file now carries the other agency's name
    (dist / "README.txt.xlsx").write_text("不是工作簿", encoding="utf-8")
    result = run("send", dist, "--roster", write_roster(tmp_path), "--from", SENDER)
    assert result.exit_code == 0, result.output
    assert "README.txt.xlsx" in result.output  # named, not sent
    for eml in (tmp_path / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        [attachment] = msg.iter_attachments()
        code = from_book(load_book(attachment.get_content())).agency_code
        assert next(a.email for a in agencies() if a.code == code) == msg["To"].addresses[0].addr_spec


def test_send_reports_agencies_without_a_workbook(tmp_path: Path, dist: Path) -> None:
    next(dist.glob("003_*.xlsx")).unlink()
    result = run("send", dist, "--roster", write_roster(tmp_path), "--from", SENDER)
    assert result.exit_code == 1 and "003 某某区民政局" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(ROSTER) - 1


def test_send_bad_usage(tmp_path: Path, dist: Path, smtp_server: SmtpServer, monkeypatch) -> None:
    roster = write_roster(tmp_path)
    assert run("send", dist, "--roster", roster, "--from", "not-an-address").exit_code == 2
    monkeypatch.delenv("XLTOOL_SMTP_PASSWORD", raising=False)
    result = run("send", dist, "--roster", roster, "--from", SENDER, "--smtp", f"smtp://u@127.0.0.1:{smtp_server.port}")
    assert result.exit_code == 2 and "XLTOOL_SMTP_PASSWORD" in result.output
    wrong = run("send", dist, "--roster", roster, "--from", SENDER, "--smtp", f"smtp://user@127.0.0.1:{smtp_server.port}",
                env={"XLTOOL_SMTP_PASSWORD": "wrong"})
    assert wrong.exit_code == 2 and "SMTP 登录失败" in wrong.output and not smtp_server.messages
    tls = _send(tmp_path, dist, smtp_server, scheme="smtps")  # TLS to a plain server
    assert tls.exit_code == 1 and "无法连接" in tls.output and "Traceback" not in tls.output


# --- collect over IMAP --------------------------------------------------------------------------


def _fill(imap: ImapServer, mbox: Path) -> None:
    box = mailbox.mbox(mbox)
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        date = email.utils.parsedate_to_datetime(email.message_from_bytes(raw)["Date"]).timestamp()
        imap.deliver(raw, date=date)


def _collect_imap(imap: ImapServer, out: Path, *extra, port: int | None = None, password: str | None = None):
    url = f"imap://{imap.user}@{imap.host}:{port or imap.port}/INBOX"
    return run("collect", url, "-o", out, *extra, env={"XLTOOL_IMAP_PASSWORD": password or imap.password})


@pytest.fixture
def from_mbox(tmp_path: Path) -> Path:
    out = tmp_path / "from-mbox"
    assert run("collect", sample_mbox(tmp_path), "-o", out, "--roster", write_roster(tmp_path)).exit_code == 0
    return out


def test_imap_gives_the_same_result_read_only(tmp_path: Path, imap_server: ImapServer, from_mbox: Path) -> None:
    _fill(imap_server, tmp_path / "inbox.mbox")
    relay = Relay(imap_server.port)
    out = tmp_path / "from-imap"
    result = _collect_imap(imap_server, out, "--roster", tmp_path / "roster.csv", port=relay.port)
    assert result.exit_code == 0, result.output + imap_server.log
    assert outcome(out) == outcome(from_mbox)

    said = bytes(relay.client_bytes)
    assert b'ID ("name" "xltool"' in said and b"EXAMINE" in said and b"BODY.PEEK[]" in said
    for verb in (b" SELECT ", b" STORE ", b" EXPUNGE", b" COPY ", b" MOVE ", b" DELETE "):
        assert verb not in said
    conn = imaplib.IMAP4(imap_server.host, imap_server.port)
    conn.login(imap_server.user, imap_server.password)
    conn.select("INBOX", readonly=True)
    _, flags = conn.fetch("1:*", "(FLAGS)")
    conn.logout()
    assert len(flags) == 12 and not any(b"\\Seen" in f for f in flags)

    before = tree(out)
    again = _collect_imap(imap_server, out, "--roster", tmp_path / "roster.csv")
    assert again.exit_code == 0 and "此前已收取 12 封" in again.output
    assert tree(out) == before


def test_imap_resumes_after_the_connection_drops(tmp_path: Path, imap_server: ImapServer, from_mbox: Path) -> None:
    _fill(imap_server, tmp_path / "inbox.mbox")
    relay = Relay(imap_server.port, limit=150_000, direction="down")  # a few messages in
    out = tmp_path / "from-imap"
    first = _collect_imap(imap_server, out, "--roster", tmp_path / "roster.csv", port=relay.port)
    assert relay.cut and first.exit_code == 1, first.output
    assert "连接中断" in first.output and "重新运行会从中断处继续" in first.output
    partial = manifest(out)["messages"]
    assert 0 < len(partial) < 12

    second = _collect_imap(imap_server, out, "--roster", tmp_path / "roster.csv")
    assert second.exit_code == 0, second.output
    assert outcome(out) == outcome(from_mbox)


def test_imap_since_searches_on_the_server(tmp_path: Path, imap_server: ImapServer) -> None:
    _fill(imap_server, sample_mbox(tmp_path))
    out = tmp_path / "out"
    assert _collect_imap(imap_server, out, "--since", "2022-01-07").exit_code == 0
    recent = manifest(out)["messages"]
    assert 0 < len(recent) < 12 and all(m["date"] >= "2022-01-07" for m in recent)
    assert all(re.fullmatch(r"INBOX UID \d+", m["origin"]) for m in recent)  # a number, not b'17'
    assert _collect_imap(imap_server, out).exit_code == 0
    assert len(manifest(out)["messages"]) == 12


def test_imap_errors_are_clear(tmp_path: Path, imap_server: ImapServer) -> None:
    out = tmp_path / "out"
    url = f"imap://{imap_server.user}@{imap_server.host}:{imap_server.port}/已发送"
    missing = run("collect", url, "-o", out, env={"XLTOOL_IMAP_PASSWORD": imap_server.password})
    assert missing.exit_code == 2 and "没有文件夹“已发送”" in missing.output
    tls = run("collect", f"imaps://{imap_server.user}@{imap_server.host}:{imap_server.port}/INBOX", "-o", out,
              env={"XLTOOL_IMAP_PASSWORD": imap_server.password})
    assert tls.exit_code == 1 and "无法连接" in tls.output
    nobody = run("collect", f"imap://{imap_server.host}:{imap_server.port}/INBOX", "-o", out,
                 env={"XLTOOL_IMAP_PASSWORD": "x"})
    assert nobody.exit_code == 2
    wrong = _collect_imap(imap_server, out, password="wrong")  # last: Dovecot slows down logins after a failure
    assert wrong.exit_code == 2 and "IMAP 登录失败" in wrong.output and "授权码" in wrong.output
    for result in (wrong, missing, tls, nobody):
        assert "Traceback" not in result.output
