"""Replies judged by who sent them, through a real collected round folder: a workbook of another
roster agency from an agency's own address, an .ods, only a PDF, a fee in 元, a second and a
shared address, a sender not on the roster. status, merge and verify read the folder alike."""

from __future__ import annotations

import json
import mailbox
import shutil
from datetime import date, datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from test_mail_common import run as run_cli

from builders import consistent
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.mail import mime
from xltool.mail.samplebox import ods_document, tiny_pdf
from xltool.round.dates import CST
from xltool.round.folder import Coordinator, Round, init_round
from xltool.round.merge import merge_paths
from xltool.round.roster import load_roster
from xltool.round.status import status_paths
from xltool.round.verify import verify_paths

YEAR = 2021
DEADLINE = date(2022, 1, 15)
A, B, C, D, E, F, G1, G2, K, L = ("0012321", "0012322", "0012320", "0012323", "0012324", "0012325", "0012326",
                                  "0012327", "0012328", "0012329")
ROSTER = [
    (A, "审计局", "sj@audit.gov.cn"),
    (B, "市场监管局", "scj@example.gov.cn"),
    (C, "统计局", "tjj@example.gov.cn"),
    (D, "文旅局", "wlj@example.gov.cn"),
    (E, "财政局", "czj@example.gov.cn"),
    (F, "教育局", "jyj@example.gov.cn; jyj2021@qq.com"),
    (G1, "第一街道办事处", "jd@example.gov.cn"),
    (G2, "第二街道办事处", "jd@example.gov.cn"),
    (K, "民政局", "mzj@example.gov.cn"),
    (L, "司法局", ""),
]
NAMES = {code: name for code, name, _ in ROSTER}
FEE_IN_YUAN = 156822.26


def filled(rnd: Round, code: str, seed: int, **change) -> bytes:
    return fill_bytes(workbook_bytes(YEAR, code, NAMES[code], rnd.key()), consistent(seed) | change)


def message(sender: str, day: int, n: int, *attachments: tuple[bytes, str, tuple[str, str] | None]) -> mailbox.mboxMessage:
    msg = MIMEMultipart()
    msg["From"], msg["Message-ID"] = sender, f"<m{n}.{day}@example.gov.cn>"
    msg["Date"] = f"{day:02d} Jan 2022 09:{n:02d}:00 +0800"
    msg.attach(MIMEText("附件是本单位的年度报告报表，请查收。", "plain", "utf-8"))
    for data, name, kind in attachments:
        msg.attach(mime.attachment_part(data, name, *([kind] if kind else [])))
    out = mailbox.mboxMessage(msg.as_bytes())
    out.set_from(f"MAILER-DAEMON Mon Jan {day:2d} 01:{n:02d}:00 2022")  # arrival, in UTC
    return out


def write_mbox(path: Path, messages: list[mailbox.mboxMessage]) -> Path:
    box = mailbox.mbox(path)
    for m in messages:
        box.add(m)
    box.flush()
    return path


def build_round(root: Path) -> Round:
    """A round whose 收到/ holds every case of issue 13, collected from one mbox."""
    roster = root.parent / f"{root.name}-roster.csv"
    roster.write_text("单位编码,单位名称,电子邮箱\n" + "".join(f"{c},{n},{e}\n" for c, n, e in ROSTER), encoding="utf-8")
    rnd = init_round(root, year=YEAR, roster=roster, deadline=DEADLINE,
                     coordinator=Coordinator("001", "某某区人民政府", "政务公开办 <gkb@example.gov.cn>"))
    xlsx = None
    mails = [
        message("sj@audit.gov.cn", 5, 1, (filled(rnd, A, 1), "审计局.xlsx", xlsx)),
        # B, from its own address, sends A's workbook filled with B's figures
        message("scj@example.gov.cn", 6, 2, (filled(rnd, A, 2), "审计局年报.xlsx", xlsx)),
        message("tjj@example.gov.cn", 6, 3, (ods_document(), "报表.ods",
                                             ("application", "vnd.oasis.opendocument.spreadsheet"))),
        message("wlj@example.gov.cn", 6, 4, (tiny_pdf(), "年报.pdf", ("application", "pdf"))),
        message("czj@example.gov.cn", 7, 5, (filled(rnd, E, 5, **{"active.fees.amount": FEE_IN_YUAN}), "财政局.xlsx",
                                             xlsx)),
        message("jyj2021@qq.com", 7, 6, (filled(rnd, F, 6), "教育局.xlsx", xlsx),
                (tiny_pdf(), "盖章扫描件.pdf", ("application", "pdf"))),
        message("jd@example.gov.cn", 8, 7, (filled(rnd, G1, 7), "街道.xlsx", xlsx)),
        message("mzj@example.gov.cn", 8, 8, (filled(rnd, K, 8), "民政局.xlsx", xlsx)),
        # an address not on the roster sends A's workbook, later than A's own: a note, as before
        message("someone@163.com", 9, 9, (filled(rnd, A, 11), "审计局（转发）.xlsx", xlsx)),
        # K, after its return, writes again with no attachment
        message("mzj@example.gov.cn", 10, 10),
    ]
    result = run_cli("collect", write_mbox(root.parent / f"{root.name}.mbox", mails), "-o", rnd.received,
                     "--roster", rnd.roster)
    assert result.exit_code == 0, result.output
    return rnd


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Round:
    return build_round(tmp_path_factory.mktemp("replies") / "2021年度")


def status_of(rnd: Round, now: datetime, deadline: date | None = DEADLINE):
    report = status_paths(load_roster(rnd.roster), rnd.returns(), key=rnd.key(), deadline=deadline,
                          confirmations=rnd.confirmations, now=now, show_progress=False)
    return report, {a.agency.code: a for a in report.agencies}


AFTER = datetime(2022, 1, 20, 10, 0, tzinfo=CST)
BEFORE = datetime(2022, 1, 10, 10, 0, tzinfo=CST)


def test_collect_records_every_roster_agency_an_address_belongs_to(collected: Round) -> None:
    data = json.loads((collected.received / "manifest.json").read_text(encoding="utf-8"))
    senders = {m["from"]: m.get("sender_agencies") for m in data["messages"]}
    assert senders["jyj2021@qq.com"] == [F]  # the second address of the cell
    assert senders["jd@example.gov.cn"] == [G1, G2]  # one address, two agencies
    assert senders["someone@163.com"] is None
    mixed = next(m for m in data["messages"] if m["from"] == "scj@example.gov.cn")["attachments"][0]
    assert "市场监管局（0012322）的邮箱" in mixed["notes"][0]
    assert next(m for m in data["messages"] if m["from"] == "jyj2021@qq.com")["attachments"][0].get("notes") is None
    # the manifest's own view: the mixed-up workbook is current for nobody
    assert Path(data["current"][A]).name.startswith(A) and data["current"][A] != mixed["file"]
    assert [v["current"] for v in data["agencies"][A]["versions"] if v["file"] == mixed["file"]] == [False]


def test_status_states_reasons_and_notes(collected: Round) -> None:
    report, states = status_of(collected, AFTER)
    assert {c: s.state for c, s in states.items()} == {
        A: "ok", B: "sender-mismatch", C: "unusable", D: "unusable", E: "unconfirmed", F: "ok",
        G1: "ok", G2: "missing", K: "ok", L: "missing"}
    assert states[B].reason == f"发来的是审计局（{A}）的填报表"
    assert any(f"市场监管局（{B}）的邮箱 scj@example.gov.cn 发来了本单位的填报表" in n for n in states[A].notes)
    assert any("someone@163.com" in n and "不在名单中" in n for n in states[A].notes)
    assert "附件《报表.ods》" in states[C].reason and "保存为 .xlsx" in states[C].reason
    assert "PDF 文件《年报.pdf》" in states[D].reason and "请使用下发的 Excel 表" in states[D].reason
    assert "fee-unit-suspect" in states[E].reason
    assert any("没有附件的邮件" in n for n in states[K].notes)  # a later empty reply beside a usable return
    assert [m.owner for m in states[A].mixups] == [A] and [m.senders for m in states[B].mixups] == [(B,)]
    assert [u.what for u in states[C].unusable] == ["附件《报表.ods》"]
    assert states[F].attachments == ["盖章扫描件.pdf"]
    assert [a.agency.code for a in report.chase()] == [B, C, D, G2, L]
    assert {c for c, s in states.items() if s.overdue} == {B, C, D, G2, L}
    assert report.counts == {"missing": 2, "unusable": 2, "sender-mismatch": 1, "errors": 0, "unconfirmed": 1,
                             "warnings": 0, "ok": 4, "overdue": 5}


def test_overdue_starts_the_day_after_the_deadline(collected: Round) -> None:
    for now, expected in ((BEFORE, 0), (datetime(2022, 1, 15, 23, 59, tzinfo=CST), 0),
                          (datetime(2022, 1, 16, 0, 0, tzinfo=CST), 5)):
        assert status_of(collected, now)[0].counts["overdue"] == expected, now
    assert status_of(collected, AFTER, deadline=None)[0].counts["overdue"] == 0


def test_status_json_and_html_in_the_round(collected: Round) -> None:
    from click.testing import CliRunner

    from xltool.cli import cli

    result = CliRunner().invoke(cli, ["status", "--round", str(collected.root), "--json", "--html",
                                      str(collected.root / "进度.html")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    agencies = {a["code"]: a for a in data["agencies"]}
    assert (agencies[B]["state"], agencies[B]["reason"], agencies[B]["overdue"]) == \
        ("sender-mismatch", f"发来的是审计局（{A}）的填报表", True)  # today is long after 2022-01-15
    assert agencies[A]["notes"] and agencies[C]["state"] == "unusable"
    page = (collected.root / "进度.html").read_text(encoding="utf-8")
    assert "报表错发" in page and "逾期" in page and "发来的是审计局" in page and "<script" not in page


def test_merge_excludes_the_mixup_and_the_unconfirmed_fee(collected: Round) -> None:
    result = merge_paths(collected.returns(), roster=load_roster(collected.roster), key=collected.key(),
                         confirmations=collected.confirmations, show_progress=False)
    data = result.to_json()
    excluded = {(e["code"], Path(e["file"]).parent.name): e["codes"] for e in data["excluded"]}
    assert excluded == {(A, A): ["sender-mismatch"], (E, E): ["unconfirmed:fee-unit-suspect"]}
    assert sorted(i["code"] for i in data["included"]) == [A, F, G1, K]
    assert {m["code"]: m["state"] for m in data["missing"]} == {B: "sender-mismatch", C: "unusable", D: "unusable",
                                                                G2: "missing", L: "missing"}
    assert next(m for m in data["missing"] if m["code"] == C)["reason"].startswith("附件《报表.ods》")
    # the one A's workbook that counts is the one from an address not on the roster, not B's figures
    mixed = next(e["file"] for e in data["excluded"] if e["codes"] == ["sender-mismatch"])
    assert mixed not in [i["file"] for i in data["included"]]
    allowed = merge_paths(collected.returns(), roster=load_roster(collected.roster), key=collected.key(),
                          allow_errors=True, show_progress=False).to_json()
    fee = next(i for i in allowed["included"] if i["code"] == E)
    assert fee["unconfirmed"] == ["unconfirmed:fee-unit-suspect"]
    assert [e["codes"] for e in allowed["excluded"]] == [["sender-mismatch"]]


def test_verify_in_the_round_flags_the_mixup(collected: Round) -> None:
    results = verify_paths(collected.returns(), key=collected.key(), roster=load_roster(collected.roster),
                           show_progress=False)
    mixed = [r for r in results if any(f.code == "sender-mismatch" for f in r.findings)]
    assert len(mixed) == 1 and mixed[0].agency["code"] == A and mixed[0].status == "errors"
    [f] = [f for f in mixed[0].findings if f.code == "sender-mismatch"]
    assert (f.sheet, f.cell, f.key) == (None, None, None)
    assert "scj@example.gov.cn" in f.message and f"发来的是审计局（{A}）的填报表" in f.message and "重新报送" in f.message
    assert not any(f.code == "duplicate-return" for r in results for f in r.findings)
    assert len([r for r in results if r.agency and r.agency["code"] == A]) == 2


def test_an_old_manifest_with_one_sender_agency_is_still_read(collected: Round, tmp_path: Path) -> None:
    copy = tmp_path / "收到"
    shutil.copytree(collected.received, copy)
    data = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for m in data["messages"]:
        codes = m.pop("sender_agencies", None)
        if codes:
            m["sender_agency"] = codes[0]
    (copy / "manifest.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    from xltool.round.replies import judge

    replies = judge([copy])  # no roster: the senders as recorded
    assert [(m.owner, m.senders) for m in replies.unconfirmed()] == [(A, (B,))]
    assert sorted(replies.unusable) == [C, D, K]
