"""`xltool remind`: the missing and the failing get a polite message with their annotated return."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from test_mail_common import WITH_ERRORS, run, sample_mbox, write_roster

from support.mailservers import SmtpServer
from xltool.form.returns import from_book
from xltool.mail.compose import cn_date, today
from xltool.office.xlsx import load_book

SENDER = "某某区政务公开办 <gkb@example.gov.cn>"
FUTURE = today() + timedelta(days=20)


@pytest.fixture
def collected(tmp_path: Path) -> Path:
    out = tmp_path / "returns"
    assert run("collect", sample_mbox(tmp_path), "-o", out).exit_code == 0
    return out


def _messages(outbox: Path) -> dict[str, email.message.EmailMessage]:
    return {p.name.split("_", 1)[0]: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in outbox.glob("*.eml")}


def test_remind_writes_one_message_per_missing_or_failing_agency(tmp_path: Path, collected: Path) -> None:
    result = run("remind", "--roster", write_roster(tmp_path), collected, "--from", SENDER, "--deadline", FUTURE.isoformat())
    assert result.exit_code == 0, result.output
    assert "无法使用 1 个，有错误 2 个" in result.output
    messages = _messages(tmp_path / "outbox")
    assert sorted(messages) == sorted(WITH_ERRORS | {"008"})

    unusable = messages["008"]  # its reply held only a 超大附件 link: said, with the blank workbook to fill
    body = unusable.get_body().get_content()
    assert "【请重新报送】" in unusable["Subject"] and "超大附件下载链接" in body and cn_date(FUTURE) in body
    [blank] = unusable.iter_attachments()  # no folder of issued workbooks given: a fresh one, its own
    assert blank.get_filename() == "008_某某区文化和旅游局_2021.xlsx" and f"《{blank.get_filename()}》" in body
    assert from_book(load_book(blank.get_content())).agency_code == "008"

    for code in WITH_ERRORS:
        msg = messages[code]
        body = msg.get_body().get_content()
        assert "【请修改】" in msg["Subject"] and "未填写" in body and "审核意见" in body
        [attachment] = msg.iter_attachments()
        assert attachment.get_filename().startswith(f"{code}_") and attachment.get_filename().endswith("_审核意见.xlsx")
        annotated = attachment.get_content()
        assert openpyxl.load_workbook(io.BytesIO(annotated)).sheetnames[0] == "审核意见"
        assert from_book(load_book(annotated)).agency_code == code  # still a return the clerk can fix and resend


def test_remind_through_smtp_resumes_the_same_day(tmp_path: Path, collected: Path, smtp_server: SmtpServer) -> None:
    args = ("remind", "--roster", write_roster(tmp_path), collected, "--from", SENDER,
            "--smtp", f"smtp://{smtp_server.host}:{smtp_server.port}")
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["mzj@example.gov.cn", "rsj@example.gov.cn",
                                                                   "wlj@example.gov.cn"]
    again = run(*args)
    assert again.exit_code == 0 and "跳过此前已提醒的 3 封" in again.output
    assert len(smtp_server.messages) == 3
