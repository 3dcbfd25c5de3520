"""The test harness itself works: LibreOffice recalculates, SMTP receives, IMAP serves.

If these fail, every test that relies on the "real parts" is meaningless, so they
are checked on their own, with the smallest possible inputs.
"""

from __future__ import annotations

import imaplib
import smtplib
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from support.libreoffice import LibreOffice
from support.mailservers import ImapServer, SmtpServer


def test_libreoffice_recalculates_named_cells(libreoffice: LibreOffice, tmp_path: Path) -> None:
    src, out = tmp_path / "demo.xlsx", tmp_path / "out" / "demo.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("演示")
    ws.write_blank("A1", None)
    ws.write_formula("B1", "=A1*2", None, 0)
    wb.define_name("demo.a", "='演示'!$A$1")
    wb.define_name("demo.b", "='演示'!$B$1")
    wb.close()

    result = libreoffice.roundtrip(src, out, set={"demo.a": 21}, read_names=["demo.a", "demo.b"],
                                   read_cells=[("演示", "C1")])

    assert result["names"]["demo.a"] == {"value": 21.0, "string": "21", "formula": "", "type": "VALUE"}
    assert result["names"]["demo.b"]["type"] == "FORMULA"
    assert result["names"]["demo.b"]["value"] == 42
    assert result["cells"] == [{"value": None, "string": "", "formula": "", "type": "EMPTY"}]
    assert result["sheets"] == ["演示"]
    assert result["protected"] == {"演示": False}
    assert out.is_file()
    saved = openpyxl.load_workbook(out)
    assert {"demo.a", "demo.b"} <= set(saved.defined_names)
    assert saved["演示"]["A1"].value == 21
    assert saved["演示"]["B1"].value == "=A1*2"


def test_smtp_server_receives_with_login(smtp_server: SmtpServer) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "office@example.org", "agency@example.org", "年度报告"
    msg.set_content("请填写附件。")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login(smtp_server.user, smtp_server.password)
        client.send_message(msg)

    [got] = smtp_server.messages
    assert got.mail_from == "office@example.org"
    assert got.rcpt_tos == ["agency@example.org"]
    assert got.login == smtp_server.user
    assert b"Subject: =?utf-8?b?" in got.raw


def test_smtp_server_rejects_wrong_password(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client, \
            pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(smtp_server.user, "wrong")


def test_imap_server_serves_delivered_mail(imap_server: ImapServer) -> None:
    raws = [b"From: a@example.org\r\nSubject: one\r\n\r\nfirst\r\n",
            b"From: b@example.org\r\nSubject: two\r\n\r\nsecond\r\n"]
    for raw in raws:
        imap_server.deliver(raw)

    client = imaplib.IMAP4(imap_server.host, imap_server.port, timeout=10)
    try:
        client.login(imap_server.user, imap_server.password)
        assert client.select("INBOX", readonly=True)[0] == "OK"  # readonly: EXAMINE
        status, data = client.search(None, "ALL")
        assert status == "OK" and data[0].split() == [b"1", b"2"]
        fetched = []
        for num in data[0].split():
            status, parts = client.fetch(num, "(BODY.PEEK[])")
            assert status == "OK"
            fetched.append(parts[0][1])
        assert fetched == raws
    finally:
        client.logout()


def test_imap_server_rejects_wrong_password(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4(imap_server.host, imap_server.port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.login(imap_server.user, "wrong")
    finally:
        client.shutdown()
