"""A sample mailbox of replies, as a coordinator's inbox really looks, for the demo and tests.

Built at run time from returns the product made, so it never goes stale when the form changes.
The messages show what collect must cope with: a reply with the sealed scan beside the return,
a draft followed by a corrected version and a duplicate resend, a forward (message/rfc822) from
another address, a zip whose member name is GBK, a file name in raw GBK bytes and one in quoted
GB2312 RFC 2047, a wrong attachment (a Word file and a photo) before the right one, a message
whose attachment was forgotten, and a QQ Mail 超大附件 download link.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from xltool.form.fill import fill_bytes
from xltool.mail.mime import XLSX_TYPE, attachment_part, encoded_words
from xltool.round.dates import CST
from xltool.round.roster import Agency, load_roster
from xltool.util import atomic_write

COORDINATOR = "政务公开办 <gkb@example.gov.cn>"
_GBK_MARK = "GBK-NAME-PLACEHOLDER"


def build_sample_mailbox(returns: Mapping[str, bytes], roster: list[Agency] | str | Path, path: str | Path,
                         coordinator: str = COORDINATOR, *, mixups: Mapping[str, str] | None = None,
                         ods: Iterable[str] = ()) -> list[str]:
    """Write an mbox of realistic replies carrying `returns` (code -> workbook bytes) to `path`;
    returns one Chinese line per message saying what it shows.

    `mixups` maps a sender's code to another agency's code: the sender's reply, from its own
    address, carries `returns[sender]`, which the caller made on the other agency's workbook.
    The agencies in `ods` reply with a LibreOffice .ods instead of the workbook."""
    agencies = load_roster(roster) if isinstance(roster, (str, Path)) else list(roster)
    box = _Box(coordinator, _year(returns))
    mixups, ods = dict(mixups or {}), set(ods)
    with_returns = [a for a in agencies if a.code in returns and a.code not in mixups]
    cases = (_plain_with_scan, _versions, _forward, _zipped, _raw_gbk, _wrong_then_right)
    for i, agency in enumerate(with_returns):
        (cases[i] if i < len(cases) else _plain)(box, agency, returns[agency.code])
    names = {a.code: a.name for a in agencies}
    for agency in agencies:
        if agency.code in mixups:
            _wrong_agency(box, agency, returns[agency.code], names.get(mixups[agency.code], mixups[agency.code]))
        if agency.code in ods:
            _ods_reply(box, agency)
    without = [a for a in agencies if a.code not in returns and a.code not in ods and a.code not in mixups.values()]
    _large_link(box, without[0] if without else with_returns[-1])
    if len(with_returns) > 4:
        _forgot_attachment(box, with_returns[4])
    atomic_write(path, box.mbox())
    return box.notes


def _year(returns: Mapping[str, bytes]) -> int:
    from xltool.form.returns import from_book
    from xltool.office.xlsx import load_book

    first = next(iter(returns.values()), None)
    return from_book(load_book(first)).year if first else datetime.now().year - 1


class _Box:
    def __init__(self, coordinator: str, year: int):
        self.coordinator, self.year = coordinator, year
        self.start = datetime(year + 1, 1, 5, 9, 0, tzinfo=CST)
        self.messages: list[tuple[datetime, bytes]] = []
        self.notes: list[str] = []

    def add(self, msg: MIMEMultipart, sender: str, subject: str, hours: float, note: str,
            gbk_name: str | None = None) -> None:
        when = self.start + timedelta(hours=hours)
        msg["From"] = sender
        name, addr = parseaddr(self.coordinator)
        msg["To"] = formataddr((encoded_words(name) if name else "", addr))
        msg["Subject"] = encoded_words(subject)
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<sample-{len(self.messages) + 1}.{self.year}@example.gov.cn>"
        msg["MIME-Version"] = "1.0"
        raw = msg.as_bytes()
        if gbk_name:  # a header in raw GBK bytes, as some clients still write
            raw = raw.replace(_GBK_MARK.encode("ascii"), gbk_name.encode("gbk"))
        self.messages.append((when, raw))
        self.notes.append(note)

    def mbox(self) -> bytes:
        out = io.BytesIO()
        for when, raw in sorted(self.messages, key=lambda m: m[0]):
            utc = when.astimezone(timezone.utc)  # the From_ line is the delivery time, in UTC by convention
            out.write(f"From MAILER-DAEMON {utc.strftime('%a %b %d %H:%M:%S %Y')}\n".encode("ascii"))
            for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
                out.write((b">" + line if line.startswith(b"From ") else line) + b"\n")
            out.write(b"\n")
        return out.getvalue()


def _sender(agency: Agency) -> str:
    return formataddr((encoded_words(agency.name), agency.email or f"{agency.code}@example.gov.cn"))


def _mail(text: str, html: str | None = None) -> MIMEMultipart:
    msg = MIMEMultipart("mixed")
    plain = MIMEText(text, "plain", "utf-8")
    if html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(plain)
        alternative.attach(MIMEText(html, "html", "utf-8"))
        msg.attach(alternative)
    else:
        msg.attach(plain)
    return msg


def _workbook_name(agency: Agency, year: int) -> str:
    return f"{agency.code}_{agency.name}_{year}年度政府信息公开工作年度报告.xlsx"


def _reply(agency: Agency, year: int) -> str:
    return f"政务公开办：\n\n    附件是{agency.name}{year}年度政府信息公开工作年度报告报表，请查收。\n\n{agency.name}\n"


# --- the cases ------------------------------------------------------------------------------------


def _plain(box: _Box, agency: Agency, data: bytes) -> None:
    msg = _mail(_reply(agency, box.year))
    msg.attach(attachment_part(data, _workbook_name(agency, box.year)))
    box.add(msg, _sender(agency), f"回复：{agency.name}年度报告报表", 24 + len(box.messages),
            f"{agency.code}：正常回复，报表为附件")


def _plain_with_scan(box: _Box, agency: Agency, data: bytes) -> None:
    msg = _mail(_reply(agency, box.year) + "另附签字盖章的扫描件。\n")
    msg.attach(attachment_part(data, _workbook_name(agency, box.year)))
    msg.attach(attachment_part(tiny_pdf(), f"{agency.name}年度报告报表（盖章扫描件）.pdf", ("application", "pdf")))
    box.add(msg, _sender(agency), f"{agency.name}{box.year}年度政府信息公开工作年度报告", 1,
            f"{agency.code}：报表与盖章扫描件（PDF）同封")


def _versions(box: _Box, agency: Agency, data: bytes) -> None:
    draft = fill_bytes(data, {"narrative.other": "（初稿，待审核）"})
    for hours, payload, subject, note in (
            (2, draft, "年度报告报表（初稿）", "初稿，后被更正"),
            (50, data, "年度报告报表（更正版，以此为准）", "更正后的新版本：应为当前版本"),
            (75, data, "再次发送：年度报告报表（更正版）", "重复发送同一文件")):
        msg = _mail(_reply(agency, box.year))
        msg.attach(attachment_part(payload, _workbook_name(agency, box.year)))
        box.add(msg, _sender(agency), f"{agency.name}{subject}", hours, f"{agency.code}：{note}")


def _forward(box: _Box, agency: Agency, data: bytes) -> None:
    inner = _mail(_reply(agency, box.year))
    gb2312 = base64.b64encode(_workbook_name(agency, box.year).encode("gbk")).decode("ascii")
    inner.attach(_named_part(data, f'"=?gb2312?B?{gb2312}?="'))
    inner["From"], inner["Subject"] = _sender(agency), encoded_words("年度报告报表")
    outer = _mail("转发经办人的邮件，请查收。\n")
    outer.attach(MIMEMessage(inner))
    box.add(outer, formataddr(("", f"leader.{agency.code}@qq.com")), f"转发：{agency.name}年度报告报表", 5,
            f"{agency.code}：由领导从个人邮箱转发（message/rfc822），附件名为引号内的 RFC 2047（GB2312）编码")


def _zipped(box: _Box, agency: Agency, data: bytes) -> None:
    msg = _mail(_reply(agency, box.year) + "文件较多，已压缩。\n")
    archive = gbk_zip({_workbook_name(agency, box.year): data, "盖章页.pdf": tiny_pdf()})
    msg.attach(attachment_part(archive, f"{agency.name}年报.zip", ("application", "zip")))
    box.add(msg, _sender(agency), f"{agency.name}年度报告（压缩包）", 8,
            f"{agency.code}：报表和盖章页装在 zip 里，文件名为 GBK 编码")


def _raw_gbk(box: _Box, agency: Agency, data: bytes) -> None:
    msg = _mail(_reply(agency, box.year))
    msg.attach(_named_part(data, f'"{_GBK_MARK}"'))
    box.add(msg, _sender(agency), f"{agency.name}年度报告报表", 30, f"{agency.code}：附件名是未编码的 GBK 字节",
            gbk_name=_workbook_name(agency, box.year))


def _named_part(data: bytes, name: str) -> MIMEBase:
    """A workbook attachment whose name parameters are written exactly as given (client quirks)."""
    part = attachment_part(data, "x.xlsx")
    part.replace_header("Content-Type", f"{XLSX_TYPE[0]}/{XLSX_TYPE[1]}; name={name}")
    part.replace_header("Content-Disposition", f"attachment; filename={name}")
    return part


def _wrong_then_right(box: _Box, agency: Agency, data: bytes) -> None:
    msg = _mail(_reply(agency, box.year))
    msg.attach(attachment_part(word_document(f"{agency.name}{box.year}年度政府信息公开工作年度报告"),
                               f"{agency.name}年度报告.docx",
                               ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")))
    msg.attach(attachment_part(tiny_png(), "IMG_20220106_101500.png", ("image", "png")))
    box.add(msg, _sender(agency), f"{agency.name}年度报告", 3, f"{agency.code}：发错了附件（Word 文稿和照片）")
    msg = _mail("不好意思，刚才发错了，报表见附件。\n")
    msg.attach(attachment_part(data, _workbook_name(agency, box.year)))
    box.add(msg, _sender(agency), f"回复：{agency.name}年度报告", 4, f"{agency.code}：随后补发正确的报表")


def _wrong_agency(box: _Box, agency: Agency, data: bytes, owner: str) -> None:
    msg = _mail(_reply(agency, box.year))
    msg.attach(attachment_part(data, _workbook_name(agency, box.year)))
    box.add(msg, _sender(agency), f"{agency.name}年度报告报表", 20,
            f"{agency.code}：从本单位邮箱发来的却是{owner}的填报表（填的是本单位的数字）")


def _ods_reply(box: _Box, agency: Agency) -> None:
    msg = _mail(_reply(agency, box.year) + "用 LibreOffice 填的，请查收。\n")
    msg.attach(attachment_part(ods_document(), f"{agency.name}年度报告报表.ods",
                               ("application", "vnd.oasis.opendocument.spreadsheet")))
    box.add(msg, _sender(agency), f"{agency.name}年度报告报表", 26,
            f"{agency.code}：另存成了 .ods 格式，不是下发的 Excel 表")


def _forgot_attachment(box: _Box, agency: Agency) -> None:
    box.add(_mail("报表已填好，请查收。\n"), _sender(agency), f"{agency.name}年度报告报表", 29,
            f"{agency.code}：忘了添加附件")


def _large_link(box: _Box, agency: Agency) -> None:
    url = ("https://mail.qq.com/cgi-bin/ftnExs_download?t=exs_ftn_download&k=2a6b3f1e9c0d&code=7e1f"
           f"&fid={agency.code}")
    name = f"{agency.name}年度报告及台账.zip"
    html = (f"<div>政务公开办：</div><div>报表和台账较大，用超大附件发送，请下载。</div>"
            f"<div style=\"padding:8px\"><b>从QQ邮箱发来的超大附件</b><br>"
            f"<a href=\"{url}\">{name}</a> (126.4M, 2022年02月04日 10:21 到期)<br>"
            f"<a href=\"{url}&amp;mode=page\">进入下载页面</a></div>")
    text = f"政务公开办：\n报表和台账较大，用超大附件发送，请下载。\n从QQ邮箱发来的超大附件\n{name}\n{url}\n"
    box.add(_mail(text, html), _sender(agency), f"{agency.name}年度报告（超大附件）", 40,
            f"{agency.code}：超大附件，只有下载链接，需手工下载")


# --- small real files -----------------------------------------------------------------------------


def gbk_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip whose member names are GBK without the UTF-8 flag, as Windows and WinRAR write them."""
    buf = io.BytesIO()
    names = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(files.items()):
            raw = name.encode("gbk")
            mark = f"~{i:03d}".ljust(len(raw), "~").encode("ascii")
            names[mark] = raw
            zf.writestr(mark.decode("ascii"), data)
    out = buf.getvalue()
    for mark, raw in names.items():  # same length: local header and central directory stay valid
        out = out.replace(mark, raw)
    return out


def tiny_pdf() -> bytes:
    """A valid one-page PDF (a stand-in for a sealed scan)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def tiny_png() -> bytes:
    """A valid 1x1 PNG (a stand-in for a phone photo)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def ods_document() -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice's own format is laid out (the mimetype
    member first and stored)."""
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body>'
               '<office:spreadsheet><table:table table:name="Sheet1"><table:table-row><table:table-cell>'
               '<text:p>政府信息公开工作年度报告</text:p></table:table-cell></table:table-row></table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def word_document(title: str) -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading(title, level=1)
    doc.add_paragraph("（文字稿）")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
