"""Outgoing messages: Chinese subject and body from the Jinja2 templates in templates/mail/,
the workbook attached under a name every common client shows.

The templates run in Jinja2's sandbox: they are meant to be edited by the office that runs the
round, and the text they print (agency names, findings) comes from outside.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from xltool.errors import UsageError
from xltool.mail.mime import XLSX_TYPE, attachment_part, encoded_words
from xltool.resources import TemplateLoader, template_display
from xltool.round.dates import cn_date, today
from xltool.round.roster import EMAIL, Agency

SMTP_POLICY = compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class Sender:
    name: str
    address: str

    @classmethod
    def parse(cls, text: str) -> Sender:
        """`gkb@example.gov.cn` or `某某区政务公开办 <gkb@example.gov.cn>`."""
        name, address = parseaddr(text or "")
        if not EMAIL.match(address):
            raise UsageError(f"发件地址“{text}”无效，应为 gkb@example.gov.cn 或 \"某某区政务公开办 <gkb@example.gov.cn>\"。")
        return cls(name.strip(), address)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


def refuse_past(value: date | None, option: str, now: date | None = None) -> None:
    """A date the user asks the agencies to keep must not be over already (exit 2)."""
    now = now or today()
    if value is not None and value < now:
        raise UsageError(f"{option} {value.isoformat()} 已经过去（今天是 {now.isoformat()}）。"
                         "请给出今天或以后的日期；本轮截止日期已过时，可用 --new-deadline 给出新的报送日期，"
                         "不给则邮件请对方尽快报送。")


@dataclass(frozen=True)
class Deadline:
    """What a letter says about the date: the round's deadline when it has passed (已逾期), and the
    date the return is asked for (None: 尽快). Never a date already past."""

    ask: date | None = None
    passed: date | None = None

    @classmethod
    def resolve(cls, deadline: date | None, new_deadline: date | None = None, now: date | None = None) -> Deadline:
        """`deadline` is the round's (or the one typed, checked by the command); `new_deadline`
        the date asked for once it has passed, refused when it is past itself."""
        now = now or today()
        refuse_past(new_deadline, "--new-deadline", now)
        if deadline is not None and deadline < now:
            return cls(new_deadline, deadline)
        return cls(new_deadline or deadline)

    def context(self) -> dict[str, str | None]:
        """The template's `deadline` (ask by) and `overdue` (the deadline that passed), in Chinese."""
        return {"deadline": cn_date(self.ask) if self.ask else None,
                "overdue": cn_date(self.passed) if self.passed else None}


@functools.lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=TemplateLoader("mail"), autoescape=False,
                               undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["cn_date"] = cn_date
    return env


def render(kind: str, **context) -> tuple[str, str]:
    """(subject, body) from templates/mail/<kind>_subject.txt and <kind>_body.txt."""
    try:
        subject = _environment().get_template(f"{kind}_subject.txt").render(**context)
        body = _environment().get_template(f"{kind}_body.txt").render(**context)
    except TemplateError as e:
        raise UsageError(f"邮件模板 {template_display('mail', kind + '_*.txt')} 有误：{e}") from None
    return " ".join(subject.split()), body


def compose(sender: Sender, agency: Agency, subject: str, body: str,
            attachments: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """(Message-ID, the message as CRLF bytes, ready for SMTP or an .eml file)."""
    msg = MIMEMultipart("mixed")
    msg["From"] = formataddr((encoded_words(sender.name), sender.address)) if sender.name else sender.address
    msg["To"] = ", ".join(formataddr((encoded_words(agency.name), a)) for a in agency.emails)
    msg["Subject"] = Header(subject, "utf-8", header_name="Subject")  # type: ignore[assignment]  # encoded when sent
    msg["Date"] = format_datetime(datetime.now().astimezone())
    message_id = make_msgid(idstring=agency.code, domain=sender.domain)
    msg["Message-ID"] = message_id
    text = MIMEText(body, "plain", "utf-8")
    del text["MIME-Version"]
    msg.attach(text)
    for name, data in attachments:
        msg.attach(attachment_part(data, name, XLSX_TYPE))
    return message_id, msg.as_bytes(policy=SMTP_POLICY)

