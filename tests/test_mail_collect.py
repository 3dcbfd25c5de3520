"""`xltool collect` from local mail: the sample mailbox's cases, every local source form, bad input."""

from __future__ import annotations

import mailbox
import zipfile
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from test_mail_common import RETURNED, manifest, outcome, run, sample_mbox, sample_returns, tree, write_roster

from xltool.mail import mime
from xltool.mail.samplebox import tiny_pdf
from xltool.round.manifest import current_returns


@pytest.fixture
def collected(tmp_path: Path) -> Path:
    out = tmp_path / "returns"
    result = run("collect", sample_mbox(tmp_path), "-o", out, "--roster", write_roster(tmp_path))
    assert result.exit_code == 0, result.output
    return out


def test_sample_mailbox_one_current_return_per_agency(collected: Path) -> None:
    data = manifest(collected)
    assert sorted(data["current"]) == RETURNED
    for code, rel in data["current"].items():
        assert (collected / rel).read_bytes() == sample_returns()[code], code  # the corrected version, not the draft
    assert current_returns(collected) == {code: collected / rel for code, rel in data["current"].items()}
    draft, final = data["agencies"]["002"]["versions"]
    assert (draft["current"], final["current"]) == (False, True)
    assert len(final["messages"]) == 2  # the resend was recognised as the same file


def test_sample_mailbox_accounts_for_every_message_and_attachment(tmp_path: Path, collected: Path) -> None:
    data = manifest(collected)
    raw = mailbox.mbox(tmp_path / "inbox.mbox")
    assert len(data["messages"]) == len(raw) == 12
    assert {m["key"] for m in data["messages"]} == {msg["Message-ID"] for msg in raw}
    for msg, record in zip(raw, data["messages"]):
        attachments = mime.walk(mime.parse(msg.as_bytes())).attachments
        names = [a.name for a in attachments]
        if any(n.endswith(".zip") for n in names):
            names += ["004_某某区财政局_2021年度政府信息公开工作年度报告.xlsx", "盖章页.pdf"]
        assert [a.get("name") for a in record["attachments"]] == names
        for a in record["attachments"]:
            assert a["action"] in ("saved", "duplicate", "companion", "unidentified", "archive")
            assert a["action"] == "archive" or (collected / a["file"]).is_file()
    actions = [a["action"] for m in data["messages"] for a in m["attachments"]]
    assert actions.count("saved") == 8 and actions.count("duplicate") == 1
    assert {x["name"] for a in data["agencies"].values() for x in a["attachments"]} == {
        "某某区教育局年度报告报表（盖章扫描件）.pdf", "盖章页.pdf"}
    assert sorted(u["name"] for u in data["unidentified"]) == ["IMG_20220106_101500.png", "某某区自然资源局年度报告.docx"]
    assert all("没有报送表" in u["reason"] for u in data["unidentified"])
    assert all((collected / u["file"]).is_file() for u in data["unidentified"])
    [link] = {x["url"].split("&mode")[0] for x in data["large_attachment_links"]}
    assert link.startswith("https://mail.qq.com/cgi-bin/ftnExs_download")
    forwarded = next(m for m in data["messages"] if m["from"] == "leader.003@qq.com")
    assert "不是名单中该单位的邮箱" in forwarded["attachments"][0]["notes"][0]
    assert any("没有附件" in n for m in data["messages"] for n in m.get("notes", ()))


def test_second_run_changes_nothing(tmp_path: Path, collected: Path) -> None:
    before = tree(collected)
    result = run("collect", tmp_path / "inbox.mbox", "-o", collected, "--roster", tmp_path / "roster.csv")
    assert result.exit_code == 0, result.output
    assert "新邮件（或文件）0 封，此前已收取 12 封" in result.output
    assert tree(collected) == before


def test_output_names_what_needs_a_person(collected: Path, tmp_path: Path) -> None:
    result = run("collect", tmp_path / "inbox.mbox", "-o", tmp_path / "again", "--roster", tmp_path / "roster.csv")
    for text in ("新保存报表 8 份", "无法识别的附件", "超大附件链接", "ftnExs_download", "尚未收到报表的单位 1 个：008",
                 "leader.003@qq.com"):
        assert text in result.output


def test_json_summary(tmp_path: Path) -> None:
    import json

    result = run("collect", sample_mbox(tmp_path), "-o", tmp_path / "out", "--json")
    data = json.loads(result.stdout)
    assert sorted(data["current"]) == RETURNED and data["messages"]["new"] == 12 and data["missing"] == []


def _as_maildir(mbox: Path, folder: Path) -> Path:
    box = mailbox.Maildir(folder, create=True)
    for msg in mailbox.mbox(mbox):
        box.add(mailbox.MaildirMessage(msg))
    return folder


def _as_eml_folder(mbox: Path, folder: Path) -> Path:
    folder.mkdir()
    for n, msg in enumerate(mailbox.mbox(mbox), 1):
        (folder / f"{n:02d}.eml").write_bytes(msg.as_bytes())
    return folder


@pytest.mark.parametrize("convert", [_as_maildir, _as_eml_folder], ids=["maildir", "eml-folder"])
def test_every_local_source_gives_the_same_result(tmp_path: Path, collected: Path, convert) -> None:
    source = convert(tmp_path / "inbox.mbox", tmp_path / "converted")
    out = tmp_path / "again"
    assert run("collect", source, "-o", out, "--roster", tmp_path / "roster.csv").exit_code == 0
    assert outcome(out) == outcome(collected)


def test_plain_folder_of_files(tmp_path: Path) -> None:
    usb = tmp_path / "U盘"
    (usb / "教育局").mkdir(parents=True)
    (usb / "教育局" / "年报 (2).xlsx").write_bytes(sample_returns()["001"])
    (usb / "财政局年报.xlsx").write_bytes(sample_returns()["004"])
    (usb / "扫描件.pdf").write_bytes(tiny_pdf())
    (usb / "说明.xlsx").write_bytes("这不是表格".encode("gbk"))
    (usb / ".~lock.年报.xlsx#").write_bytes(b"lock")
    out = tmp_path / "out"
    assert run("collect", usb, "-o", out).exit_code == 0
    data = manifest(out)
    assert sorted(data["current"]) == ["001", "004"]
    assert {u["name"] for u in data["unidentified"]} == {"扫描件.pdf", "说明.xlsx"}
    assert all("不是 Excel 工作簿" in u["reason"] for u in data["unidentified"])
    assert len(data["messages"]) == 4
    before = tree(out)
    assert run("collect", usb, "-o", out).exit_code == 0 and tree(out) == before


def test_newest_by_arrival_not_mailbox_order(tmp_path: Path) -> None:
    from xltool.form.fill import fill_bytes

    final = sample_returns()["001"]
    draft = fill_bytes(final, {"narrative.other": "初稿"})
    box = mailbox.mbox(tmp_path / "box.mbox")
    for data, day, n in ((final, 9, 1), (draft, 5, 2)):  # the newer message comes first in the file
        msg = mailbox.mboxMessage(_mail_with(data, "年报.xlsx", f"Wed, {day:02d} Jan 2022 09:00:00 +0800", f"<m{n}@x>"))
        msg.set_from(f"MAILER-DAEMON Wed Jan {day:2d} 01:00:00 2022")  # arrival: the From_ line, in UTC
        box.add(msg)
    box.flush()
    out = tmp_path / "out"
    assert run("collect", tmp_path / "box.mbox", "-o", out).exit_code == 0
    assert (out / manifest(out)["current"]["001"]).read_bytes() == final


def _mail_with(data: bytes, name: str, date: str | None, message_id: str | None, sender: str = "a@x.cn") -> bytes:
    msg = MIMEMultipart()
    msg["From"] = sender
    if date:
        msg["Date"] = date
    if message_id:
        msg["Message-ID"] = message_id
    msg.attach(MIMEText("见附件", "plain", "utf-8"))
    msg.attach(mime.attachment_part(data, name))
    return msg.as_bytes()


def test_since_skips_older_mail_until_asked(tmp_path: Path) -> None:
    mbox = sample_mbox(tmp_path)
    out = tmp_path / "out"
    assert run("collect", mbox, "-o", out, "--since", "2022-01-06").exit_code == 0
    early = manifest(out)
    assert early["messages"] and all(m["date"] >= "2022-01-06" for m in early["messages"])
    assert run("collect", mbox, "-o", out).exit_code == 0
    assert len(manifest(out)["messages"]) == 12


def test_message_without_id_is_not_collected_twice(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(_mail_with(sample_returns()["001"], "年报.xlsx", None, None))
    out = tmp_path / "out"
    for _ in range(2):
        assert run("collect", tmp_path / "mail", "-o", out).exit_code == 0
    [message] = manifest(out)["messages"]
    assert message["key"].startswith("sha256:") and message["attachments"][0]["action"] == "saved"


def test_code_not_in_roster_is_kept_and_noted(tmp_path: Path) -> None:
    from xltool.form.generate import workbook_bytes

    stranger = workbook_bytes(2021, "999", "外单位")
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(_mail_with(stranger, "x.xlsx", "Wed, 05 Jan 2022 09:00:00 +0800", "<s@x>"))
    out = tmp_path / "out"
    result = run("collect", tmp_path / "mail", "-o", out, "--roster", write_roster(tmp_path))
    assert result.exit_code == 0 and "不在名单中" in result.output
    assert list(manifest(out)["current"]) == ["999"]


def test_agency_code_is_never_a_path(tmp_path: Path) -> None:
    from xltool.form.generate import workbook_bytes

    hostile = _rewrite_code(workbook_bytes(2021, "001", "某局"))
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(_mail_with(hostile, "x.xlsx", None, "<h@x>"))
    out = tmp_path / "out"
    assert run("collect", tmp_path / "mail", "-o", out).exit_code == 0
    [u] = manifest(out)["unidentified"]
    assert "单位代码“../../x”无效" in u["reason"] and not (tmp_path / "x").exists()


def _rewrite_code(data: bytes) -> bytes:
    """The workbook with its metadata's agency code replaced by a path."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info).replace(b">001<", b">../../x<"))
    return buf.getvalue()


def test_documents_beside_returns_of_two_agencies_stay_unidentified(tmp_path: Path) -> None:
    msg = MIMEMultipart()
    msg["Message-ID"] = "<two@x>"
    for code in ("001", "002"):
        msg.attach(mime.attachment_part(sample_returns()[code], f"{code}.xlsx"))
    msg.attach(mime.attachment_part(tiny_pdf(), "盖章.pdf", ("application", "pdf")))
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(msg.as_bytes())
    out = tmp_path / "out"
    assert run("collect", tmp_path / "mail", "-o", out).exit_code == 0
    [pdf] = manifest(out)["unidentified"]
    assert "多个单位" in pdf["reason"]


# --- bad input ------------------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                    'spreadsheetml.sheet.main+xml"/></Types>')
        zf.writestr("xl/workbook.xml", b" " * (80 * 1024 * 1024))
    return buf.getvalue()


def _entity_attack() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample_returns()["001"])) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/workbook.xml":
                data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data.split(b"?>", 1)[1]
            dst.writestr(info, data)
    return buf.getvalue()


def test_hostile_and_broken_attachments_are_kept_with_a_reason(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(mime, "MAX_ATTACHMENT", 1024 * 1024)
    msg = MIMEMultipart()
    msg["Message-ID"] = "<bad@x>"
    msg["From"] = "jyj@example.gov.cn"
    cases = {"炸弹.xlsx": _zip_bomb(), "实体.xlsx": _entity_attack(), "改名.xlsx": b"<html><table>",
             "空.xlsx": b"", "巨大.pdf": b"%PDF" + b"0" * (2 * 1024 * 1024), "坏.zip": b"PK\x03\x04broken"}
    for name, data in cases.items():
        msg.attach(mime.attachment_part(data, name))
    msg.attach(mime.attachment_part(b"%PDF-1.4", "UNDECODABLE.pdf", ("application", "pdf")))
    raw = msg.as_bytes().replace(b"UNDECODABLE", b"\x81\xff\xfe")
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "bad.eml").write_bytes(raw + b"\r\n--unterminated")
    out = tmp_path / "out"
    result = run("collect", tmp_path / "mail", "-o", out, "--roster", write_roster(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    [record] = manifest(out)["messages"]
    got = {a["name"]: (a["action"], a.get("reason", "")) for a in record["attachments"]}
    assert got["炸弹.xlsx"][0] == "unidentified" and "压缩炸弹" in got["炸弹.xlsx"][1]
    assert got["实体.xlsx"][0] == "unidentified" and "DOCTYPE" in got["实体.xlsx"][1]
    assert got["改名.xlsx"][0] == "unidentified" and "网页" in got["改名.xlsx"][1]
    assert got["空.xlsx"][0] == "ignored"
    assert got["巨大.pdf"][0] == "too-large" and "过大" in got["巨大.pdf"][1]
    assert got["坏.zip"][0] == "unidentified"
    [odd] = [n for n in got if n.endswith(".pdf") and "\ufffd" in n]
    assert got[odd][0] == "unidentified"
    assert {p.name.split("_", 2)[2] for p in (out / "unidentified").iterdir()} >= {"炸弹.xlsx", "实体.xlsx", "改名.xlsx", "坏.zip"}
    assert not list(out.rglob("*.part")) and not list(out.rglob(".xltool-*"))


def test_missing_mailbox_is_a_usage_error(tmp_path: Path) -> None:
    result = run("collect", tmp_path / "nowhere.mbox", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "找不到邮箱或文件夹" in result.output
    result = run("collect", "pop3://mail.example.cn/", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "imap://" in result.output


def test_corrupt_manifest_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{half", encoding="utf-8")
    result = run("collect", sample_mbox(tmp_path), "-o", out)
    assert result.exit_code == 2 and "已损坏" in result.output
    assert (out / "manifest.json").read_text(encoding="utf-8") == "{half"


def test_unreadable_file_fails_and_a_rerun_retries_it(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "good.eml").write_bytes(_mail_with(sample_returns()["001"], "年报.xlsx", "Wed, 05 Jan 2022 09:00:00 +0800", "<g@x>"))
    later = mail / "incoming" / "later.eml"
    (mail / "bad.eml").symlink_to("incoming/later.eml")  # not readable this time (say, still being copied)
    out = tmp_path / "out"
    result = run("collect", mail, "-o", out)
    assert result.exit_code == 1 and "bad.eml：无法读取" in result.output and "重新运行会重试" in result.output
    assert list(manifest(out)["current"]) == ["001"]
    later.parent.mkdir()
    later.write_bytes(_mail_with(sample_returns()["002"], "年报.xlsx", "Thu, 06 Jan 2022 09:00:00 +0800", "<l@x>"))
    assert run("collect", mail, "-o", out).exit_code == 0
    assert sorted(manifest(out)["current"]) == ["001", "002"]


def test_current_returns_is_none_for_other_folders(tmp_path: Path) -> None:
    assert current_returns(tmp_path) is None
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}', encoding="utf-8")
    assert current_returns(tmp_path) is None


def test_roster_is_checked_first(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n,某局\n", encoding="utf-8")
    result = run("collect", sample_mbox(tmp_path), "-o", tmp_path / "out", "--roster", bad)
    assert result.exit_code == 2 and "单位代码为空" in result.output

