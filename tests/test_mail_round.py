"""send and remind in a collected round folder: reminders that say what to do for each state, a
roster as offices keep it (two addresses, none), and deadlines that make sense (issue 13)."""

from __future__ import annotations

import email
import email.policy
import io
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, getaddresses
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from test_mail_common import run

from builders import consistent
from support.mailservers import SmtpServer, free_port
from xltool.form.fill import fill_bytes
from xltool.form.returns import from_book
from xltool.mail.compose import cn_date
from xltool.mail.mime import attachment_part, encoded_words
from xltool.mail.samplebox import ods_document
from xltool.office.xlsx import load_book
from xltool.round.dates import CST
from xltool.round.folder import Coordinator, init_round

YEAR = 2022
SENDER = "某某区政务公开办 <gkb@example.gov.cn>"
TODAY = datetime.now(CST).date()
DEADLINE = TODAY + timedelta(days=30)
ROSTER = [  # code, name, e-mail cell as an office keeps it
    ("101", "某某区甲局", "jia@example.gov.cn"),  # returns a good workbook: not reminded
    ("102", "某某区乙局", "yi@example.gov.cn；yi2@qq.com"),  # two addresses; never replies
    ("103", "某某区丙局", "bing@example.gov.cn"),  # replies with an .ods
    ("104", "某某区丁局", "ding@example.gov.cn"),  # its workbook comes from 105's address
    ("105", "某某区戊局", "wu@example.gov.cn"),  # sends 104's workbook filled with its own figures
    ("106", "某某区己局", "ji@example.gov.cn"),  # a return with a blank count
    ("107", "某某区庚局", ""),  # no address
]
NAMES = {code: name for code, name, _ in ROSTER}
ADDRESS = {code: cell.split("；")[0] for code, _, cell in ROSTER}
ARRIVED = datetime(YEAR + 1, 1, 6, 10, 0, tzinfo=CST)


def _workbook(dist: Path, code: str) -> Path:
    [path] = dist.glob(f"{code}_*.xlsx")
    return path


def _reply(code: str, attachments: list[tuple[str, bytes, tuple[str, str] | None]], hours: int) -> tuple[datetime, bytes]:
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(f"附件是{NAMES[code]}的年度报告报表，请查收。", "plain", "utf-8"))
    for name, data, mime_type in attachments:
        msg.attach(attachment_part(data, name, *([mime_type] if mime_type else [])))
    when = ARRIVED + timedelta(hours=hours)
    msg["From"] = formataddr((encoded_words(NAMES[code]), ADDRESS[code]))
    msg["To"] = "gkb@example.gov.cn"
    msg["Subject"] = encoded_words(f"{NAMES[code]}年度报告报表")
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<reply-{code}-{hours}@example.gov.cn>"
    return when, msg.as_bytes()


def _mbox(path: Path, messages: list[tuple[datetime, bytes]]) -> None:
    out = io.BytesIO()
    for when, raw in messages:
        out.write(f"From MAILER-DAEMON {when.astimezone(timezone.utc).strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
        for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
            out.write((b">" + line if line.startswith(b"From ") else line) + b"\n")
        out.write(b"\n")
    path.write_bytes(out.getvalue())


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    """A collected round: init, generate, the replies of PRODUCT.md's cases by mail, collect."""
    base = tmp_path_factory.mktemp("mail-round")
    roster = base / "名单.csv"
    roster.write_text("单位代码,单位名称,电子邮箱\n" + "".join(f"{c},{n},{e}\n" for c, n, e in ROSTER), encoding="utf-8")
    root = base / "本轮"
    init_round(root, year=YEAR, roster=roster, coordinator=Coordinator("100", "某某区人民政府", SENDER),
               deadline=DEADLINE)
    generated = run("generate", "--round", root)
    assert generated.exit_code == 0, generated.output
    dist = root / "下发"

    def filled(code: str, seed: int, **changes: Any) -> bytes:
        return fill_bytes(_workbook(dist, code).read_bytes(), {**consistent(seed), **changes})

    _mbox(base / "inbox.mbox", [
        _reply("101", [("甲局报表.xlsx", filled("101", 1), None)], 0),
        _reply("103", [("丙局报表.ods", ods_document(), ("application", "vnd.oasis.opendocument.spreadsheet"))], 1),
        _reply("105", [("戊局报表.xlsx", filled("104", 5), None)], 2),  # 104's workbook from 105's address
        _reply("106", [("己局报表.xlsx", filled("106", 6, **{"requests.new.natural_person": None}), None)], 3),
    ])
    collected = run("collect", "--round", root, base / "inbox.mbox")
    assert collected.exit_code == 0, collected.output
    return root


@pytest.fixture(scope="module")
def reminded(round_dir: Path) -> tuple[Any, dict[str, EmailMessage]]:
    """`xltool remind` run in the round with no flag: the messages it wrote to 发件箱/."""
    result = run("remind", "--round", round_dir)
    return result, _messages(round_dir / "发件箱")


def _messages(outbox: Path) -> dict[str, EmailMessage]:
    return {p.name.split("_", 1)[0]: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in outbox.glob("*.eml")}


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


def _attachment(msg: EmailMessage) -> tuple[str, bytes]:
    [part] = msg.iter_attachments()
    return part.get_filename() or "", part.get_content()


def _code_inside(data: bytes) -> str:
    return from_book(load_book(data)).agency_code


def _to(msg: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses([str(msg["To"])])]


def test_remind_says_what_to_do_for_each_state(round_dir: Path, reminded) -> None:
    result, messages = reminded
    assert result.exit_code == 1, result.output  # 107 has no address: listed, the others went out
    assert "未提交 2 个，无法使用 1 个，报表错发 2 个，有错误 1 个" in result.output
    assert "未提醒" in result.output and "107 某某区庚局：名单第8行没有填写邮箱" in result.output
    assert sorted(messages) == ["102", "103", "104", "105", "106"]
    deadline = cn_date(DEADLINE)

    missing = messages["102"]
    body = _body(missing)
    assert "【催报】" in str(missing["Subject"]) and "请忽略" not in body
    assert "没有收到贵单位可以使用的" in body and "重新附上填好的工作簿" in body and f"于{deadline}前" in body
    assert "已逾期" not in body and cn_date(TODAY) in body  # the letter carries today's date
    name, data = _attachment(missing)
    assert data == _workbook(round_dir / "下发", "102").read_bytes()  # the very workbook generate wrote
    assert f"《{name}》" in body

    unusable = _body(messages["103"])
    assert "丙局报表.ods" in unusable and "bing@example.gov.cn" in unusable and cn_date(ARRIVED.date()) in unusable
    assert _code_inside(_attachment(messages["103"])[1]) == "103"

    sender = _body(messages["105"])
    assert "贵单位邮箱 wu@example.gov.cn" in sender and "发来的是某某区丁局（104）的填报表" in sender
    assert "不能作为贵单位的报表" in sender and "请使用附件中贵单位自己的填报表" in sender
    assert _code_inside(_attachment(messages["105"])[1]) == "105"
    owner = _body(messages["104"])
    assert "某某区戊局（105）的邮箱 wu@example.gov.cn" in owner and "发来了贵单位的填报表" in owner and "请核实" in owner
    assert _code_inside(_attachment(messages["104"])[1]) == "104"

    failing = messages["106"]
    assert "【请修改】" in str(failing["Subject"]) and "未填写" in _body(failing)
    name, data = _attachment(failing)
    assert name.endswith("_审核意见.xlsx") and openpyxl.load_workbook(io.BytesIO(data)).sheetnames[0] == "审核意见"
    assert _code_inside(data) == "106"


def test_every_address_of_an_agency_in_to(reminded) -> None:
    _, messages = reminded
    assert _to(messages["102"]) == ["yi@example.gov.cn", "yi2@qq.com"]
    assert _to(messages["103"]) == ["bing@example.gov.cn"]


def test_send_mails_all_addresses_and_lists_the_agency_without_one(round_dir: Path, tmp_path: Path) -> None:
    result = run("send", "--round", round_dir, "--outbox", tmp_path)
    assert result.exit_code == 1, result.output
    assert "未发送" in result.output and "107 某某区庚局：名单第8行没有填写邮箱" in result.output
    messages = _messages(tmp_path)
    assert sorted(messages) == ["101", "102", "103", "104", "105", "106"]
    assert _to(messages["102"]) == ["yi@example.gov.cn", "yi2@qq.com"]
    assert f"请于{cn_date(DEADLINE)}前" in _body(messages["101"])


@pytest.mark.parametrize("command", ["send", "remind"])
def test_a_past_deadline_typed_is_refused(round_dir: Path, tmp_path: Path, command: str) -> None:
    for option in ("--deadline", "--new-deadline"):
        result = run(command, "--round", round_dir, "--outbox", tmp_path, option, "2022-01-15")
        assert result.exit_code == 2, result.output
        assert "2022-01-15" in result.output and TODAY.isoformat() in result.output
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.fixture(scope="module")
def overdue_round(round_dir: Path, tmp_path_factory) -> Path:
    """The same round, its deadline passed."""
    root = tmp_path_factory.mktemp("overdue") / "本轮"
    shutil.copytree(round_dir, root, ignore=shutil.ignore_patterns("发件箱"))
    (root / "发件箱").mkdir()
    toml = root / "round.toml"
    passed = TODAY - timedelta(days=3)
    toml.write_text(toml.read_text(encoding="utf-8").replace(f"deadline = {DEADLINE.isoformat()}",
                                                            f"deadline = {passed.isoformat()}"), encoding="utf-8")
    return root


def _overdue_bodies(root: Path, outbox: Path, *args: str, command: str = "remind") -> dict[str, str]:
    result = run(command, "--round", root, "--outbox", outbox, *args)
    assert result.exit_code == 1 and "已经过去" not in result.output, result.output  # 1: the agency without address
    return {code: _body(msg) for code, msg in _messages(outbox).items()}


def test_remind_after_the_rounds_deadline_says_it_is_overdue(overdue_round: Path, tmp_path: Path) -> None:
    passed = cn_date(TODAY - timedelta(days=3))
    bodies = _overdue_bodies(overdue_round, tmp_path / "a")
    assert sorted(bodies) == ["102", "103", "104", "105", "106"]
    for body in bodies.values():
        assert f"报送截止时间为{passed}，已逾期" in body and "尽快" in body and f"于{passed}前" not in body

    later = TODAY + timedelta(days=5)
    bodies = _overdue_bodies(overdue_round, tmp_path / "b", "--new-deadline", later.isoformat())
    for body in bodies.values():
        assert "已逾期" in body and f"于{cn_date(later)}前" in body and "尽快" not in body


def test_send_after_the_rounds_deadline_asks_for_soon(overdue_round: Path, tmp_path: Path) -> None:
    bodies = _overdue_bodies(overdue_round, tmp_path, command="send")
    assert "已逾期" in bodies["101"] and "请尽快" in bodies["101"]


def test_remind_through_smtp_sends_to_every_address(round_dir: Path, tmp_path: Path, smtp_server: SmtpServer) -> None:
    result = run("remind", "--round", round_dir, "--outbox", tmp_path, "--smtp",
                 f"smtp://{smtp_server.host}:{smtp_server.port}")
    assert result.exit_code == 1, result.output  # the agency without an address
    rcpt = {tuple(m.rcpt_tos) for m in smtp_server.messages}
    assert ("yi@example.gov.cn", "yi2@qq.com") in rcpt and len(smtp_server.messages) == 5


class _Refusing:
    """An SMTP server that has no mailbox for one address and accepts the others."""

    def __init__(self, refuse: str, received: list[list[str]]):
        self.refuse, self.received = refuse, received

    async def handle_RCPT(self, server, session, envelope, address: str, options) -> str:
        if address == self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(list(envelope.rcpt_tos))
        return "250 OK"


def test_a_refused_address_among_several_is_reported(round_dir: Path, tmp_path: Path) -> None:
    received: list[list[str]] = []
    port = free_port()
    controller = Controller(_Refusing("yi2@qq.com", received), hostname="127.0.0.1", port=port)
    controller.start()
    stop: Callable[[], None] = controller.stop
    try:
        result = run("remind", "--round", round_dir, "--outbox", tmp_path, "--smtp", f"smtp://127.0.0.1:{port}")
    finally:
        stop()
    assert result.exit_code == 1
    assert ["yi@example.gov.cn"] in received and len(received) == 5  # the other address still got it
    assert "部分邮箱被拒收" in result.output and "102 某某区乙局：yi2@qq.com（550" in result.output


def test_today_is_chinas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates are judged in China Standard Time: 23:30 UTC is already the next day there."""
    import xltool.mail.compose as compose

    class Late(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime(2023, 1, 14, 23, 30, tzinfo=timezone.utc).astimezone(tz)

    import xltool.round.dates as dates

    monkeypatch.setattr(dates, "datetime", Late)
    assert compose.today() == date(2023, 1, 15)
    assert compose.Deadline.resolve(date(2023, 1, 14)).passed == date(2023, 1, 14)
    assert compose.Deadline.resolve(date(2023, 1, 15)) == compose.Deadline(date(2023, 1, 15))
