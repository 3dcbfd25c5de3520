"""Hostile mail, attachments and loose files in `xltool collect`, and server addresses in `send`
(issue 11). One poison costs its own item a manifest entry with the reason; every good return
beside it is saved, the manifest is written, and a re-run changes nothing and reports nothing
worse. Commands that could hang or blow up run in their own process under the guards of
tests/support/limited.py (30 s, about 1 GiB), and nothing outside the output folder may change.
"""

from __future__ import annotations

import functools
import io
import json
import mailbox
import os
import socket
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from email import encoders
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from test_mail_common import manifest, run, sample_returns, tree, write_roster
from test_mail_servers import Relay

from builders import consistent
from support.limited import hold_lock, release, run_limited, snapshot
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.mail import collect as collect_module
from xltool.mail import mime
from xltool.mail.samplebox import tiny_pdf

LONE_SURROGATE = b"=?utf-7?Q?+2D0-?="  # decodes to '\ud83d', which UTF-8 and JSON cannot hold
OVERFLOWING_DATE = "Fri, 31 Dec 9999 23:00:00 -1200"  # a valid header whose UTC time does not exist
LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z
GOOD = [f"{n}" for n in range(101, 141)]  # forty agencies that return in good order


@functools.cache
def blank_return(code: str) -> bytes:
    """A workbook of our form for one agency: what collect files (verify judges the figures)."""
    return workbook_bytes(2021, code, f"某某区第{code}局")


@functools.cache
def filled(code: str, seed: int) -> bytes:
    return fill_bytes(blank_return(code), consistent(seed))


def mail(attachments: list[tuple[str, bytes]], mid: str | None, date: str | None = None, sender: str = "a@x.cn",
         subject: str = "报送年报") -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["Subject"] = sender, mime.encoded_words(subject)
    if date:
        msg["Date"] = date
    if mid:
        msg["Message-ID"] = mid
    msg.attach(MIMEText("见附件", "plain", "utf-8"))
    for name, data in attachments:
        msg.attach(mime.attachment_part(data, name))
    return msg.as_bytes()


def poison(data: bytes, mid: str = "<poison@x>") -> bytes:
    """A return in a message whose Date overflows and whose From, Subject and file name decode to
    a lone surrogate."""
    raw = mail([("XNAMEX.xlsx", data)], mid, OVERFLOWING_DATE, sender="XFROMX <p@x.cn>", subject="XSUBJX")
    raw = raw.replace(mime.encoded_words("XSUBJX").encode(), b"XSUBJX")
    return raw.replace(b"XFROMX", LONE_SURROGATE).replace(b"XSUBJX", LONE_SURROGATE).replace(b"XNAMEX", LONE_SURROGATE)


def good_mail(n: int, code: str) -> bytes:
    return mail([(f"{code}年报.xlsx", blank_return(code))], f"<good-{n}@x>", f"Wed, 05 Jan 2022 {9 + n // 60:02d}:{n % 60:02d}:00 +0800")


def write_mbox(path: Path, messages: list[tuple[bytes, str]]) -> Path:
    """An mbox whose From_ lines carry the given arrival (asctime, UTC)."""
    box = mailbox.mbox(path)
    for raw, arrival in messages:
        msg = mailbox.mboxMessage(raw)
        msg.set_from(f"MAILER-DAEMON {arrival}")
        box.add(msg)
    box.flush()
    box.close()
    return path


def arrival(n: int) -> str:
    return f"Wed Jan  5 {1 + n // 60:02d}:{n % 60:02d}:00 2022"


def no_surrogates(out: Path) -> None:
    (out / "manifest.json").read_bytes().decode("utf-8")  # strict: the file is valid UTF-8
    assert "\\ud8" not in (out / "manifest.json").read_text(encoding="utf-8").lower()


def outside(folder: Path, out: Path) -> dict:
    """Snapshot of everything under `folder` except output folders (this one and its siblings)."""
    return {k: v for k, v in snapshot(folder).items() if not Path(k).parts[0].startswith(out.name.split("-")[0])}


def versions(out: Path, code: str) -> list[dict]:
    return manifest(out)["agencies"][code]["versions"]


def current_bytes(out: Path, code: str) -> bytes:
    return (out / manifest(out)["current"][code]).read_bytes()


# --- row 1: an overflowing Date, a 9999 file time, lone surrogates; the poison first -----------


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory) -> Path:
    """A folder of .eml files and loose files, and an mbox, each with the poison first and forty
    good returns after it; collected once each, in a guarded process."""
    root = tmp_path_factory.mktemp("poisoned")
    messages = [poison(blank_return("100"))] + [good_mail(n, code) for n, code in enumerate(GOOD)]
    folder = root / "inbox"
    folder.mkdir()
    for n, raw in enumerate(messages):
        (folder / f"{n:03d}.eml").write_bytes(raw)
    late = folder / "zz_far_future.xlsx"
    late.write_bytes(blank_return("150"))
    os.utime(late, (LAST_SECOND, LAST_SECOND))
    junk = folder / "zz_far_future.pdf"
    junk.write_bytes(tiny_pdf())
    os.utime(junk, (LAST_SECOND, LAST_SECOND))
    (folder / os.fsdecode("年报".encode("gbk") + b".xlsx")).write_bytes(blank_return("151"))  # a GBK name on disk
    write_mbox(root / "inbox.mbox", [(messages[0], "Fri Dec 31 23:00:00 9999")]
               + [(raw, arrival(n)) for n, raw in enumerate(messages[1:])])
    return root


@pytest.fixture(scope="module")
def poisoned_runs(poisoned: Path) -> dict[str, tuple]:
    runs = {}
    for kind, source in (("folder", poisoned / "inbox"), ("mbox", poisoned / "inbox.mbox")):
        before = outside(poisoned, poisoned / f"out-{kind}")
        first = run_limited("collect", source, "-o", poisoned / f"out-{kind}")
        runs[kind] = (first, before)
    return runs


@pytest.mark.parametrize("kind", ["folder", "mbox"])
def test_poison_first_costs_only_itself(poisoned: Path, poisoned_runs: dict, kind: str) -> None:
    out = poisoned / f"out-{kind}"
    first, before = poisoned_runs[kind]
    assert first.returncode == 0, first.stdout + first.stderr
    no_surrogates(out)
    data = manifest(out)
    expected = {"100", *GOOD} | ({"150", "151"} if kind == "folder" else set())
    assert set(data["current"]) == expected  # every good return, and the poison's own return
    [record] = [m for m in data["messages"] if m["key"] == "<poison@x>"]
    assert "\ufffd" in record["subject"] and "\ufffd" in record["from_name"]
    [attachment] = record["attachments"]
    assert attachment["action"] == "saved" and attachment["name"] == "\ufffd.xlsx"
    if kind == "folder":  # no arrival: the Date header is read, and it cannot be used
        assert any("无法识别或超出范围" in n for n in record["notes"])
        assert record["dated_by"] == "file"
    else:  # the From_ line of 9999: believed by nobody, noted, and still the agency's only version
        assert record["date"].startswith("9999-12-31T23:00:00")
        [version] = versions(out, "100")
        assert "晚于收取时间" in version["note"] and version["current"]
    assert "\ufffd" in first.stdout or "无法识别" in first.stdout
    assert outside(poisoned, out) == before


def test_loose_files_of_year_9999_and_non_utf8_names(poisoned: Path, poisoned_runs: dict) -> None:
    out = poisoned / "out-folder"
    data = manifest(out)
    late = next(m for m in data["messages"] if m["origin"] == "zz_far_future.xlsx")
    stored = datetime.fromtimestamp(os.stat(poisoned / "inbox" / "zz_far_future.xlsx").st_mtime, timezone.utc)
    assert stored.year > 2400  # ext4 keeps 9999 as 2446: whatever the disk holds, far in the future
    assert late["date"][:4] == str(stored.year) and late["dated_by"] == "file"
    [version] = versions(out, "150")
    assert "晚于收取时间" in version["note"] and "排在最后" in version["note"]
    junk = next(m for m in data["messages"] if m["origin"] == "zz_far_future.pdf")
    assert junk["attachments"][0]["action"] == "unidentified"
    assert (out / junk["attachments"][0]["file"]).is_file()
    assert any(m["origin"] == "年报.xlsx" for m in data["messages"])  # GBK bytes read as Chinese


@pytest.mark.parametrize("kind", ["folder", "mbox"])
def test_poison_rerun_changes_nothing(poisoned: Path, poisoned_runs: dict, kind: str) -> None:
    out = poisoned / f"out-{kind}"
    source = poisoned / "inbox" if kind == "folder" else poisoned / "inbox.mbox"
    before, first_messages = tree(out), len(manifest(out)["messages"])
    again = run_limited("collect", source, "-o", out, "--json")
    assert again.returncode == 0
    summary = json.loads(again.stdout)
    assert summary["messages"] == {"new": 0, "known": first_messages}
    assert not summary["failed"] and summary["error"] is None
    assert tree(out) == before


def test_poison_over_imap(tmp_path: Path, imap_server) -> None:
    """The same poison over a real IMAP server, then a correction under the same Message-ID."""
    imap_server.deliver(poison(blank_return("100")))
    for n, code in enumerate(GOOD[:10]):
        imap_server.deliver(good_mail(n, code))
    imap_server.deliver(mail([("年报.xlsx", filled("160", 1))], "<same@x>", "Wed, 05 Jan 2022 09:00:00 +0800"))
    out = tmp_path / "out"
    url = f"imap://{imap_server.user}@{imap_server.host}:{imap_server.port}/INBOX"
    env = {"XLTOOL_IMAP_PASSWORD": imap_server.password}
    first = run_limited("collect", url, "-o", out, env=env)
    assert first.returncode == 0, first.stdout + first.stderr + imap_server.log
    no_surrogates(out)
    assert set(manifest(out)["current"]) == {"100", "160", *GOOD[:10]}
    [record] = [m for m in manifest(out)["messages"] if m["message_id"] == "<poison@x>"]
    assert record["dated_by"] == "arrival" and "\ufffd" in record["subject"]
    assert any("无法识别或超出范围" in n for n in record["notes"])

    time.sleep(1.1)  # INTERNALDATE has whole seconds: the correction arrives later
    correction = filled("160", 2)
    imap_server.deliver(mail([("年报（更正）.xlsx", correction)], "<same@x>", "Wed, 05 Jan 2022 09:00:00 +0800"))
    second = run_limited("collect", url, "-o", out, env=env)
    assert second.returncode == 0
    assert current_bytes(out, "160") == correction
    assert len([m for m in manifest(out)["messages"] if m.get("message_id") == "<same@x>"]) == 2
    before = tree(out)
    relay = Relay(imap_server.port)
    relayed = f"imap://{imap_server.user}@{imap_server.host}:{relay.port}/INBOX"
    assert run_limited("collect", relayed, "-o", out, env=env).returncode == 0
    assert tree(out) == before
    assert b"BODY.PEEK[]" not in bytes(relay.client_bytes)  # known messages are not downloaded again
    relay.close()


def test_one_failing_message_is_recorded_and_retried(tmp_path: Path, monkeypatch) -> None:
    """Isolation itself: whatever goes wrong inside one message costs that message only; it is
    recorded with the reason, the good ones are saved, and the next run retries it."""
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "000.eml").write_bytes(mail([("x.xlsx", blank_return("100"))], "<bad@x>", "Wed, 05 Jan 2022 09:00:00 +0800",
                                          subject="触发故障"))
    for n, code in enumerate(GOOD[:5]):
        (folder / f"{n + 1:03d}.eml").write_bytes(good_mail(n, code))
    real_walk = mime.walk

    def walk(msg, cap=None):
        if "触发故障" in mime.header_text(msg, "subject"):
            raise RuntimeError("boom")
        return real_walk(msg, cap)

    monkeypatch.setattr(mime, "walk", walk)
    out = tmp_path / "out"
    first = run("collect", folder, "-o", out)
    assert first.exit_code == 1 and "处理时出错（RuntimeError）" in first.output
    data = manifest(out)
    assert set(data["current"]) == set(GOOD[:5])
    [bad] = [m for m in data["messages"] if m["key"] == "<bad@x>"]
    assert "RuntimeError" in bad["error"]
    monkeypatch.setattr(mime, "walk", real_walk)
    second = run("collect", folder, "-o", out)
    assert second.exit_code == 0, second.output
    data = manifest(out)
    assert set(data["current"]) == {"100", *GOOD[:5]} and len(data["messages"]) == 6
    assert "error" not in next(m for m in data["messages"] if m["key"] == "<bad@x>")


# --- row 2: archive bombs ----------------------------------------------------------------------


@functools.cache
def bombs() -> dict[int, bytes]:
    """A zip of 4 members of 49 MB each (zeros), and zips holding 12 and 200 of it."""
    buf = io.BytesIO()
    zeros = b"\0" * (49 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(4):
            zf.writestr(f"报表{i}.xlsx", zeros)
    inner = buf.getvalue()
    out = {}
    for n in (12, 200):
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for i in range(n):
                zf.writestr(f"inner{i}.zip", inner)
        out[n] = outer.getvalue()
    return out


def test_zip_bombs_cost_their_message_only(tmp_path: Path) -> None:
    assert len(bombs()[12]) < 20_000
    messages = [(mail([("报表.zip", bombs()[12]), ("年报.xlsx", blank_return("100"))], "<bomb12@x>"), arrival(0)),
                (mail([("全部.zip", bombs()[200])], "<bomb200@x>"), arrival(1))]
    messages += [(good_mail(n, code), arrival(n + 2)) for n, code in enumerate(GOOD[:8])]
    mbox = write_mbox(tmp_path / "bombs.mbox", messages)
    out = tmp_path / "out"
    before = outside(tmp_path, out)
    result = run_limited("collect", mbox, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    data = manifest(out)
    assert set(data["current"]) == {"100", *GOOD[:8]}
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert written < 5 << 20  # nothing of the 2.35 GB
    twelve = next(m for m in data["messages"] if m["key"] == "<bomb12@x>")["attachments"]
    refused = [a for a in twelve if a.get("archive", "").startswith("inner")]
    assert len(refused) == 48 and all("压缩炸弹" in a["reason"] and "file" not in a for a in refused)
    many = next(m for m in data["messages"] if m["key"] == "<bomb200@x>")["attachments"]
    assert "其余文件未处理" in many[0]["reason"] and len(many) <= collect_module.MESSAGE_ITEMS + 2
    assert outside(tmp_path, out) == before
    before_rerun = tree(out)
    again = run_limited("collect", mbox, "-o", out)
    assert again.returncode == 0 and tree(out) == before_rerun


def _random_zip(sizes: list[int]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, size in enumerate(sizes):
            zf.writestr(f"扫描件{i}.pdf", b"%PDF" + os.urandom(size))  # incompressible: counted in real bytes
    return buf.getvalue()


def test_budgets_count_actual_bytes_and_a_run_budget_defers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(collect_module, "MESSAGE_EXPANDED", 1 << 20)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail([("年报.xlsx", blank_return("100")), ("扫描.zip", _random_zip([400_000] * 4))],
                                        "<big@x>", "Wed, 05 Jan 2022 09:00:00 +0800"))
    out = tmp_path / "out"
    assert run("collect", folder, "-o", out).exit_code == 0
    [record] = manifest(out)["messages"]
    reasons = [a.get("reason", "") for a in record["attachments"] if a.get("archive")]
    assert sum("合计超过上限（1 MB）" in r for r in reasons) == 2  # two members fit, the rest refused
    assert manifest(out)["current"] == {"100": record["attachments"][0]["file"]}

    monkeypatch.setattr(collect_module, "RUN_WRITTEN", 200_000)
    for n, code in enumerate(GOOD[:3]):
        (folder / f"{n + 2}.eml").write_bytes(mail([(f"{code}.xlsx", blank_return(code)), ("扫描.pdf", b"%PDF" + os.urandom(90_000))],
                                                   f"<g{n}@x>", "Wed, 05 Jan 2022 10:00:00 +0800"))
    partial = run("collect", folder, "-o", out)
    assert partial.exit_code == 1 and "保存的文件已达上限" in partial.output and "下次运行" in partial.output
    assert 0 < len(manifest(out)["current"]) - 1 < 3
    monkeypatch.setattr(collect_module, "RUN_WRITTEN", 2048 << 20)
    assert run("collect", folder, "-o", out).exit_code == 0
    assert set(manifest(out)["current"]) == {"100", *GOOD[:3]}


# --- row 3: a FIFO, a link to /dev/zero, a link out of the source -------------------------------


def test_only_regular_files_inside_the_source_are_read(tmp_path: Path) -> None:
    usb = tmp_path / "U盘"
    usb.mkdir()
    for code in GOOD[:3]:
        (usb / f"{code}.xlsx").write_bytes(blank_return(code))
    os.mkfifo(usb / "return.xlsx")
    (usb / "zero.xlsx").symlink_to("/dev/zero")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.xlsx").write_bytes(blank_return("900"))
    (usb / "secret.xlsx").symlink_to(elsewhere / "secret.xlsx")
    (usb / "link-dir").symlink_to(elsewhere)
    (usb / "inside.xlsx").symlink_to(f"{GOOD[0]}.xlsx")  # a link to a file inside the source is fine
    out = tmp_path / "out"
    before = outside(tmp_path, out)
    result = run_limited("collect", usb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    data = manifest(out)
    assert set(data["current"]) == set(GOOD[:3])
    skipped = {m["origin"]: m["attachments"][0] for m in data["messages"] if m["key"].startswith("skipped:")}
    assert set(skipped) == {"return.xlsx", "zero.xlsx", "secret.xlsx", "link-dir"}
    assert all(a["action"] == "skipped" for a in skipped.values())
    assert "命名管道" in skipped["return.xlsx"]["reason"]
    assert all("来源文件夹之外" in skipped[k]["reason"] for k in ("zero.xlsx", "secret.xlsx", "link-dir"))
    secret = (elsewhere / "secret.xlsx").read_bytes()
    assert not any(p.read_bytes() == secret for p in out.rglob("*.xlsx"))
    assert "已跳过" in result.stdout
    assert outside(tmp_path, out) == before
    again = tree(out)
    assert run_limited("collect", usb, "-o", out).returncode == 0 and tree(out) == again


def test_a_fifo_as_the_source_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "inbox.mbox")
    result = run_limited("collect", tmp_path / "inbox.mbox", "-o", tmp_path / "out")
    assert result.returncode == 2 and "命名管道" in result.stderr


# --- rows 4 and 7: identity and time that cannot be gamed ---------------------------------------


def test_same_message_id_correction_is_collected_and_current(tmp_path: Path) -> None:
    draft, correction = filled("100", 1), filled("100", 2)
    mbox = write_mbox(tmp_path / "box.mbox", [
        (mail([("年报.xlsx", draft)], "<same@x>", "Wed, 05 Jan 2022 09:00:00 +0800"), arrival(0)),
        (mail([("年报.xlsx", correction)], "<same@x>", "Wed, 05 Jan 2022 09:00:00 +0800"), arrival(5))])
    out = tmp_path / "out"
    assert run("collect", mbox, "-o", out).exit_code == 0
    data = manifest(out)
    assert [m["message_id"] for m in data["messages"]] == ["<same@x>", "<same@x>"]
    assert len({m["key"] for m in data["messages"]}) == 2
    assert current_bytes(out, "100") == correction
    old, new = versions(out, "100")
    assert not old["current"] and "未采用" in old["note"] and new["current"] and "当前版本" in new["note"]
    before = tree(out)
    again = run("collect", mbox, "-o", out)
    assert again.exit_code == 0 and "此前已收取 2 封" in again.output and tree(out) == before


def test_implausible_dates_sort_last_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    draft, fixed = filled("100", 1), filled("100", 2)
    (folder / "1.eml").write_bytes(mail([("年报.xlsx", draft)], "<d1@x>", "Thu, 01 Jan 2099 09:00:00 +0800"))
    (folder / "2.eml").write_bytes(mail([("年报（更正）.xlsx", fixed)], "<c1@x>", None))  # no Date at all
    early, garbage = filled("101", 1), filled("101", 2)
    (folder / "3.eml").write_bytes(mail([("年报.xlsx", early)], "<d2@x>", "Mon, 01 Jun 2020 09:00:00 +0800"))
    (folder / "4.eml").write_bytes(mail([("年报.xlsx", garbage)], "<c2@x>", "上周五下午"))
    loose = tmp_path / "usb"
    loose.mkdir()
    (loose / "draft.xlsx").write_bytes(filled("102", 1))
    os.utime(loose / "draft.xlsx", (4070908800, 4070908800))  # 2099
    (loose / "final.xlsx").write_bytes(filled("102", 2))
    os.utime(loose / "final.xlsx", (1641430800, 1641430800))  # 2022-01-06
    out = tmp_path / "out"
    assert run("collect", folder, "-o", out).exit_code == 0
    assert run("collect", loose, "-o", out).exit_code == 0
    assert current_bytes(out, "100") == fixed and current_bytes(out, "101") == garbage
    assert current_bytes(out, "102") == filled("102", 2)
    [late, _] = versions(out, "100")
    assert "晚于收取时间" in late["note"] and "排在最后" in late["note"] and not late["current"]
    [before_year, _] = versions(out, "101")
    assert "早于统计年度的开始（2021年1月1日）" in before_year["note"]
    [draft_file, _] = versions(out, "102")
    assert "文件时间" in draft_file["note"] and "晚于收取时间" in draft_file["note"]
    notes = next(m for m in manifest(out)["messages"] if m["key"] == "<c2@x>")["notes"]
    assert any("上周五下午" in n and "无法识别" in n for n in notes)


# --- row 5: a 77-character attachment name ------------------------------------------------------


def test_long_names_are_bounded_in_bytes(tmp_path: Path) -> None:
    long = "某某区人民政府办公室关于报送二〇二一年度政府信息公开工作年度报告及相关材料的函盖章扫描件" * 2
    long = long[:77]
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail([(long + ".xlsx", blank_return("100")), (long + ".pdf", tiny_pdf())], "<l1@x>"))
    (folder / "2.eml").write_bytes(mail([(long + ".txt", "说明".encode())], "<l2@x>"))
    out = tmp_path / "out"
    result = run("collect", folder, "-o", out)
    assert result.exit_code == 0, result.output
    data = manifest(out)
    assert set(data["current"]) == {"100"}
    files = [a["file"] for m in data["messages"] for a in m["attachments"] if a.get("file")]
    assert len(files) == 3
    for rel in files:
        name = Path(rel).name
        assert len(name.encode("utf-8")) <= 255 and (out / rel).is_file()
    companion = data["agencies"]["100"]["attachments"][0]["file"]
    assert companion.startswith("100/attachments/") and companion.endswith(".pdf")
    assert any(f.startswith("unidentified/") and f.endswith(".txt") for f in files)


# --- row 6: two collects into one folder ---------------------------------------------------------


@pytest.fixture(scope="module")
def big_mbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("race")
    codes = [f"{n}" for n in range(200, 320)]
    return write_mbox(root / "big.mbox", [(good_mail(n, code), arrival(n)) for n, code in enumerate(codes)])


def _collect_process(source: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen([sys.executable, "-m", "xltool", "collect", str(source), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_two_concurrent_collects_never_lose_half(big_mbox: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    procs = [_collect_process(big_mbox, out) for _ in range(2)]
    results = [(p.wait(timeout=60), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert "正在使用输出文件夹" in err
    assert len(manifest(out)["messages"]) == 120 and len(manifest(out)["current"]) == 120


def test_a_held_folder_is_refused_and_kill_9_leaves_no_stale_lock(big_mbox: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = hold_lock(out)
    try:
        refused = run_limited("collect", big_mbox, "-o", out)
        assert refused.returncode == 2 and "正在使用输出文件夹" in refused.stderr
    finally:
        release(holder)  # SIGKILL
    killed = _collect_process(big_mbox, out)  # a real collect killed part-way
    deadline = time.monotonic() + 30
    while not (out / "manifest.json").exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.kill()
    killed.wait()
    killed.stdout.close()
    killed.stderr.close()
    after = run_limited("collect", big_mbox, "-o", out)
    assert after.returncode == 0, after.stderr
    assert len(manifest(out)["messages"]) == 120


# --- row 8: a workbook sent as an unnamed text/plain part ---------------------------------------


def test_workbook_in_an_unnamed_text_part_is_a_return(tmp_path: Path) -> None:
    msg = MIMEMultipart()
    msg["From"], msg["Message-ID"] = "a@x.cn", "<sniff@x>"
    msg.attach(MIMEText("年报见附件", "plain", "utf-8"))
    part = MIMEBase("text", "plain")
    part.set_payload(filled("100", 1))
    encoders.encode_base64(part)  # no file name, no disposition: what some clients send
    msg.attach(part)
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1.eml").write_bytes(msg.as_bytes())
    out = tmp_path / "out"
    assert run("collect", tmp_path / "mail", "-o", out).exit_code == 0
    [record] = manifest(out)["messages"]
    assert current_bytes(out, "100") == filled("100", 1)
    assert any("实为工作簿" in n for n in record["notes"]) and not any("没有附件" in n for n in record["notes"])


# --- row 9: passwords in server addresses ------------------------------------------------------


@pytest.mark.parametrize("source", ["imaps://u:PW-secret@imap.example.cn:99999/INBOX", "ftp://u:PW-secret@x/",
                                    "imap://u:PW-secret@127.0.0.1:1/INBOX", "imaps://u:PW-secret@x@imap.example.cn/INBOX",
                                    "imap://u:PW-secret/x@imap.example.cn:bad/INBOX"])
def test_password_in_source_url_is_refused_before_connecting(tmp_path: Path, source: str) -> None:
    result = run("collect", source, "-o", tmp_path / "out", env={"XLTOOL_IMAP_PASSWORD": "x"})
    assert result.exit_code == 2
    assert "PW-secret" not in result.output and "u:***@" in result.output
    assert "--password-file" in result.output and "XLTOOL_IMAP_PASSWORD" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_port_is_a_usage_error(tmp_path: Path) -> None:
    result = run("collect", "imaps://u@imap.example.cn:99999/INBOX", "-o", tmp_path / "out",
                 env={"XLTOOL_IMAP_PASSWORD": "x"})
    assert result.exit_code == 2 and "端口无效" in result.output and "1 到 65535" in result.output
    result = run("collect", "imap://u@[::1/INBOX", "-o", tmp_path / "out", env={"XLTOOL_IMAP_PASSWORD": "x"})
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["send", "remind"])
def test_password_in_smtp_url_is_refused_before_connecting(tmp_path: Path, command: str) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "001.xlsx").write_bytes(sample_returns()["001"])
    result = run(command, dist, "--roster", write_roster(tmp_path), "--from", "gkb@example.gov.cn",
                 "--smtp", f"smtp://gkb:PW-secret@127.0.0.1:{port}", "--outbox", tmp_path / "outbox")
    assert result.exit_code == 2, result.output
    assert "PW-secret" not in result.output and "gkb:***@" in result.output
    assert "--password-file" in result.output and "XLTOOL_SMTP_PASSWORD" in result.output
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()
    bad = run(command, dist, "--roster", tmp_path / "roster.csv", "--from", "gkb@example.gov.cn",
              "--smtp", "smtp://gkb@127.0.0.1:99999", "--outbox", tmp_path / "outbox")
    assert bad.exit_code == 2 and "端口无效" in bad.output


def test_time_helpers_survive_the_calendar_edge() -> None:
    edge = datetime.fromtimestamp(LAST_SECOND, timezone.utc)
    assert collect_module._iso(edge) == "9999-12-31T23:59:59+00:00"
    assert collect_module._stamp(edge) == "99991231T235959"
