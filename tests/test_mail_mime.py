"""File names, attachments and links as Chinese mail clients write them."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import zipfile
from email.header import decode_header, make_header
from email.mime.multipart import MIMEMultipart

import pytest

from xltool.mail import mime
from xltool.mail.archive import ArchiveError, is_archive, members
from xltool.mail.samplebox import gbk_zip, tiny_pdf
from xltool.mail.sources import imap_utf7

NAME = "年报.xlsx"
GBK = NAME.encode("gbk")


def part(disposition: bytes, content_type: bytes = b"application/octet-stream") -> email.message.Message:
    """One attachment part with these raw header bytes, parsed as from the wire."""
    raw = (b"Content-Type: " + content_type + b"\r\nContent-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: " + disposition + b"\r\n\r\nUEsDBA==\r\n")
    return mime.parse(raw)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


@pytest.mark.parametrize("header", [
    pytest.param(b"attachment; filename*=UTF-8''%E5%B9%B4%E6%8A%A5.xlsx", id="rfc2231-utf8"),
    pytest.param(b"attachment; filename*=gbk''%C4%EA%B1%A8.xlsx", id="rfc2231-gbk"),
    pytest.param(b"attachment;\r\n filename*0*=gbk''%C4%EA;\r\n filename*1*=%B1%A8.xlsx", id="rfc2231-continued"),
    pytest.param(b"attachment; filename*0*=utf-8'zh-cn'%E5%B9%B4; filename*1=\"\xe6\x8a\xa5.xlsx\"", id="rfc2231-mixed-sections"),
    pytest.param(b'attachment; filename="=?gb2312?B?' + b64(GBK) + b'?="', id="rfc2047-quoted-gb2312"),
    pytest.param(b"attachment; filename==?UTF-8?Q?=E5=B9=B4=E6=8A=A5.xlsx?=", id="rfc2047-unquoted-q"),
    pytest.param(b'attachment; filename="=?GBK?B?' + b64(GBK[:3]) + b'?=\r\n =?GBK?B?' + b64(GBK[3:]) + b'?="',
                 id="rfc2047-character-split-across-words"),
    pytest.param(b'attachment; filename="=?utf-8*zh?B?' + b64(NAME.encode()) + b'?="', id="rfc2047-with-language"),
    pytest.param(b'attachment; filename="' + GBK + b'"', id="raw-gbk"),
    pytest.param(b'attachment; filename="' + NAME.encode("utf-8") + b'"', id="raw-utf8"),
    pytest.param(b"attachment; filename=" + GBK, id="raw-gbk-unquoted"),
    pytest.param(b"attachment; filename*=iso-8859-1''%C4%EA%B1%A8.xlsx", id="mislabelled-latin1"),
    pytest.param(b'attachment; filename="C:\\Users\\clerk\\Desktop\\' + GBK + b'"', id="windows-path"),
    pytest.param(b'attachment; filename*=UTF-8\'\'%C4%EA%FF.xlsx; filename="' + GBK + b'"', id="clean-form-wins"),
])
def test_filename_forms(header: bytes) -> None:
    assert mime.filename(part(header)) == NAME


def test_filename_from_content_type_name() -> None:
    msg = part(b"attachment", b'application/vnd.ms-excel; name="=?GB18030?B?' + b64(GBK) + b'?="')
    assert mime.filename(msg) == NAME


def test_undecodable_name_is_kept_not_fatal() -> None:
    name = mime.filename(part(b'attachment; filename="\x81\xff\xfe.xlsx"'))
    assert name.endswith(".xlsx") and "\ufffd" in name


def test_no_name() -> None:
    assert mime.filename(part(b"attachment")) is None


def test_headers_in_raw_gbk_and_encoded_words() -> None:
    raw = (b"From: =?gb2312?B?" + b64("教育局".encode("gbk")) + b"?= <JYJ@Example.gov.cn>\r\n"
           b"Subject: \xbb\xd8\xb8\xb4 " + b"=?utf-8?Q?=E5=B9=B4=E6=8A=A5?=\r\n"
           b"Date: Wed, 05 Jan 2022 09:00:00 +0800\r\n\r\nbody\r\n")
    msg = mime.parse(raw)
    assert mime.sender(msg) == ("教育局", "jyj@example.gov.cn")
    assert mime.header_text(msg, "subject") == "回复 年报"
    assert mime.message_date(msg).isoformat() == "2022-01-05T09:00:00+08:00"


def test_nonsense_date_is_none() -> None:
    assert mime.message_date(mime.parse(b"Date: yesterday-ish\r\n\r\nx")) is None


def _nested() -> bytes:
    """An attachment inline, one in a forwarded message, one in a forward sent as .eml."""
    inner = MIMEMultipart()
    inner.attach(mime.attachment_part(b"in-forward", "转发内.xlsx"))
    eml = mime.attachment_part(b"", "原邮件.eml", ("application", "octet-stream"))
    inner_eml = MIMEMultipart()
    inner_eml.attach(mime.attachment_part(b"in-eml", "eml内.xlsx"))
    eml.set_payload(base64.encodebytes(inner_eml.as_bytes()).decode())
    outer = MIMEMultipart()
    alt = MIMEMultipart("related")
    alt.attach(email.mime.text.MIMEText("<p>见附件</p>", "html", "utf-8"))
    logo = mime.attachment_part(b"\x89PNGlogo", "x", ("image", "png"))
    del logo["Content-Disposition"]
    logo.replace_header("Content-Type", "image/png")
    logo["Content-ID"] = "<logo@x>"
    alt.attach(logo)
    outer.attach(alt)
    inline = mime.attachment_part(b"inline-workbook", "内嵌.xlsx")
    inline.replace_header("Content-Disposition", "inline; filename*=UTF-8''%E5%86%85%E5%B5%8C.xlsx")
    outer.attach(inline)
    outer.attach(email.mime.message.MIMEMessage(inner))
    outer.attach(eml)
    return outer.as_bytes()


def test_walk_finds_attachments_in_any_structure() -> None:
    walked = mime.walk(mime.parse(_nested()))
    found = {a.name: (a.data, a.forwarded, a.inline_image) for a in walked.attachments}
    assert found["内嵌.xlsx"] == (b"inline-workbook", False, False)
    assert found["转发内.xlsx"] == (b"in-forward", True, False)
    assert found["eml内.xlsx"] == (b"in-eml", True, False)
    assert [a.inline_image for a in walked.attachments if a.name == ""] == [True]
    assert walked.bodies == ["<p>见附件</p>"]


def test_walk_caps_attachments_without_decoding_them() -> None:
    msg = MIMEMultipart()
    msg.attach(mime.attachment_part(b"x" * 5000, "大.xlsx"))
    [att] = mime.walk(mime.parse(msg.as_bytes()), cap=1000).attachments
    assert att.data is None and att.size >= 5000


def test_broken_mime_is_read_as_far_as_it_goes() -> None:
    raw = (b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           b'Content-Type: application/octet-stream; name="a.xlsx"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
           b"UEsDBA=\r\n")  # bad padding, no closing boundary
    walked = mime.walk(mime.parse(raw))
    assert [a.name for a in walked.attachments] == ["a.xlsx"]
    assert walked.defects


def test_deep_nesting_stops() -> None:
    raw = b""
    for i in range(40):
        raw += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
    walked = mime.walk(mime.parse(raw + b"Content-Type: text/plain\r\n\r\nx\r\n"))
    assert walked.truncated


# --- zip attachments ------------------------------------------------------------------------------


def test_zip_member_names_in_gbk_and_utf8() -> None:
    gbk = members(gbk_zip({"报表/年报.xlsx": b"a", "盖章页.pdf": tiny_pdf()}))
    assert [(m.name, m.problem) for m in gbk] == [("年报.xlsx", None), ("盖章页.pdf", None)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("年报.xlsx", b"a")  # Python sets the UTF-8 flag
        zf.writestr("__MACOSX/._年报.xlsx", b"junk")
    assert [m.name for m in members(buf.getvalue())] == ["年报.xlsx"]


def test_zip_limits_and_damage() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.xlsx", b"\0" * (3 * 1024 * 1024))
    import xltool.mail.mime as m

    old, m.MAX_ATTACHMENT = m.MAX_ATTACHMENT, 1024 * 1024
    try:
        [member] = members(buf.getvalue())
    finally:
        m.MAX_ATTACHMENT = old
    assert member.data is None and "过大" in member.problem
    encrypted = bytearray(gbk_zip({"a.xlsx": b"x"}))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = encrypted.find(sig)
        encrypted[i + flag_at] |= 1
    [member] = members(bytes(encrypted))
    assert "加密" in member.problem
    with pytest.raises(ArchiveError):
        members(b"PK\x03\x04 not really a zip")


def test_office_files_are_not_archives() -> None:
    from xltool.form.generate import workbook_bytes

    assert not is_archive(workbook_bytes(2021, "001", "某某局"))
    assert is_archive(gbk_zip({"a.xlsx": b"x"}))


# --- links to oversized attachments ---------------------------------------------------------------


def test_large_attachment_links() -> None:
    qq = '<a href="https://mail.qq.com/cgi-bin/ftnExs_download?t=exs_ftn_download&amp;k=1&amp;code=2">年报.zip</a>'
    netease = "请下载：https://mail.163.com/large-attachment-download/index.html?p=X&file=Y。"
    coremail = "超大附件：年报.rar https://mail.example.gov.cn/coremail/XT/download.jsp?fid=9 (2022-02-01到期)"
    ordinary = "单位网站：https://www.example.gov.cn/xxgk/ 欢迎访问"
    assert mime.large_attachment_links([qq, netease, coremail, ordinary]) == [
        "https://mail.qq.com/cgi-bin/ftnExs_download?t=exs_ftn_download&k=1&code=2",
        "https://mail.163.com/large-attachment-download/index.html?p=X&file=Y",
        "https://mail.example.gov.cn/coremail/XT/download.jsp?fid=9",
    ]


# --- writing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["001_某某区教育局_2021.xlsx",
                                  "123_某某市某某区人力资源和社会保障局（某某区公务员局）政府信息公开工作年度报告_2021.xlsx",
                                  "plain.xlsx"])
def test_outgoing_names_read_right_everywhere(name: str) -> None:
    data = bytes(range(256)) * 10
    msg = MIMEMultipart()
    msg.attach(mime.attachment_part(data, name))
    raw = msg.as_bytes()
    assert all(len(line) <= 998 for line in raw.splitlines())
    [att] = email.message_from_bytes(raw, policy=email.policy.default).iter_attachments()
    assert att.get_filename() == name and att.get_content() == data  # RFC 2231, as modern clients read it
    [legacy] = [p for p in email.message_from_bytes(raw, policy=email.policy.compat32).walk() if p.get_filename()]
    assert str(make_header(decode_header(legacy.get_filename()))) == name  # the RFC 2047 fallback
    [ours] = mime.walk(mime.parse(raw)).attachments
    assert (ours.name, ours.data) == (name, data)


def test_imap_folder_names() -> None:
    assert imap_utf7("INBOX") == "INBOX"
    assert imap_utf7("已发送") == "&XfJT0ZAB-"
    assert imap_utf7("R&D 报表") == "R&-D &YqWIaA-"
