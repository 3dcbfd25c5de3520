"""xltool status: who is missing, who passed, who failed and why — as text, JSON and an HTML page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import require
from test_merge import make_return, roster_file, runner

from xltool.commands.merge import status as status_command
from xltool.round.roster import load_roster
from xltool.round.status import render_html, status_paths

CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script>某局&amp;"


@pytest.fixture
def round_(tmp_path: Path):
    returns = tmp_path / "returns"
    make_return(returns, "001", "某某市教育局", seed=1)
    make_return(returns, "002", "某某市公安局", seed=2, change={"requests.new.natural_person": None})
    make_return(returns, "003", "某某市财政局", seed=3, change={"active.fees.amount": 250000})  # 元, not 万元
    old, _ = make_return(returns, "003", "某某市财政局", seed=4, file="003_old.xlsx",
                         change={"requests.new.commercial": None})
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    make_return(returns, "777", "外区单位", seed=7)
    (returns / "broken.xlsx").write_bytes(b"PK\x03\x04 truncated")
    roster = roster_file(tmp_path, [("001", "某某市教育局", "a@x.gov.cn"), ("002", "某某市公安局", "b@x.gov.cn"),
                                    ("003", "某某市财政局", "c@x.gov.cn"), ("004", HOSTILE, "d@x.gov.cn")])
    return returns, roster


def run(*args: str) -> tuple[int, str, str]:
    result = runner().invoke(status_command, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_each_roster_agency_gets_its_state(round_):
    returns, roster = round_
    report = status_paths(load_roster(roster), [returns], show_progress=False)
    states = {a.agency.code: a for a in report.agencies}
    # 003's fee in 元 is a figure warning: it waits for the coordinator's confirmation
    assert {c: a.state for c, a in states.items()} == {"001": "ok", "002": "errors", "003": "unconfirmed", "004": "missing"}
    assert states["002"].findings[0].code == "value-blank"
    assert states["003"].findings[0].code == "fee-unit-suspect"  # the newest return counts, not the older broken one
    assert "fee-unit-suspect" in states["003"].reason and "xltool confirm 003" in states["003"].reason
    assert [Path(f).name for f in states["003"].superseded] == ["003_old.xlsx"]
    assert report.counts == {"missing": 1, "unusable": 0, "sender-mismatch": 0, "errors": 1, "unconfirmed": 1,
                             "warnings": 0, "ok": 1, "overdue": 0}
    assert [a.agency.email for a in report.chase()] == ["b@x.gov.cn", "d@x.gov.cn"]
    assert sorted(Path(s.file).name for s in report.unmatched) == ["777_2021.xlsx", "broken.xlsx"]


def test_json_shape(round_):
    returns, roster = round_
    code, stdout, stderr = run("--roster", str(roster), str(returns), "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert set(data) == {"agencies", "counts"}
    assert data["counts"] == {"missing": 1, "unusable": 0, "sender-mismatch": 0, "errors": 1, "unconfirmed": 1,
                              "warnings": 0, "ok": 1, "overdue": 0}
    first = data["agencies"][0]
    assert set(first) == {"code", "name", "email", "state", "reason", "overdue", "file", "findings", "notes"}
    missing = next(a for a in data["agencies"] if a["state"] == "missing")
    assert (missing["code"], missing["name"], missing["email"], missing["file"], missing["findings"]) == \
        ("004", HOSTILE, "d@x.gov.cn", None, [])
    errors = next(a for a in data["agencies"] if a["state"] == "errors")
    assert errors["findings"][0]["code"] == "value-blank" and errors["findings"][0]["cell"] == "D7"


def test_text_output_names_states_and_chase_emails(round_):
    returns, roster = round_
    code, stdout, _ = run("--roster", str(roster), str(returns))
    assert code == 0
    assert "未提交" in stdout and "有错误  某某市公安局（002）" in stdout
    assert "催报邮箱：b@x.gov.cn; d@x.gov.cn" in stdout
    assert "名单外" in stdout and "broken.xlsx" in stdout


@pytest.mark.parametrize("case", ["bad-roster", "missing-path", "html-inside-input"])
def test_wrong_use_exits_2(round_, tmp_path, case):
    returns, roster = round_
    args = ["--roster", str(roster), str(returns)]
    if case == "bad-roster":
        bad = tmp_path / "bad.csv"
        bad.write_text("code,name\n,无代码单位\n", encoding="utf-8")
        args = ["--roster", str(bad), str(returns)]
    elif case == "missing-path":
        args = ["--roster", str(roster), str(tmp_path / "nope")]
    else:
        args += ["--html", str(returns / "进度.html")]
    code, _, stderr = run(*args)
    assert code == 2 and stderr.startswith("错误：") and "Traceback" not in stderr


def test_html_is_escaped_and_self_contained(round_):
    returns, roster = round_
    page = render_html(status_paths(load_roster(roster), [returns], show_progress=False))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;某局&amp;amp;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_html_page_in_headless_chromium(round_, tmp_path):
    require([] if Path(CHROMIUM).exists() or shutil.which("chromium") else ["chromium"], "apt-get install chromium")
    returns, roster = round_
    page = tmp_path / "进度.html"
    code, _, stderr = run("--roster", str(roster), str(returns), "--html", str(page))
    assert code == 0, stderr
    with tempfile.TemporaryDirectory(prefix="xltool-chromium-") as profile:
        done = subprocess.run(
            [shutil.which("chromium") or CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    from lxml import html

    dom = html.fromstring(done.stdout)
    rows = dom.xpath("//table[@id='agencies']//tr[contains(@class, 'agency')]")
    assert [r.get("data-code") for r in rows] == ["004", "002", "003", "001"]  # missing, errors, unconfirmed, ok
    assert [r.get("data-state") for r in rows] == ["missing", "errors", "unconfirmed", "ok"]
    assert rows[0].xpath("string(td[3])") == HOSTILE  # shown as text, not run
    assert not dom.xpath("//body//script")
    assert dom.xpath("string(//*[@id='count-missing'])") == "未提交 1"
    assert "b@x.gov.cn; d@x.gov.cn" in dom.xpath("string(//*[@id='chase'])")


def test_a_collected_folder_shows_the_sealed_scan(tmp_path):
    """In a folder written by collect, the manifest names the current return and the other
    attachments of the agency's messages (the signed and sealed scan)."""
    returns = tmp_path / "returns"
    make_return(returns, "001", "某某市教育局", seed=1)
    make_return(returns, "001", "某某市教育局", seed=2, file="001_newer_but_not_current.xlsx")
    (returns / "manifest.json").write_text(json.dumps({
        "format": "xltool-collect", "version": 1, "current": {"001": "001_2021.xlsx"},
        "agencies": {"001": {"name": "某某市教育局", "current": "001_2021.xlsx", "versions": [],
                             "attachments": [{"file": "001/盖章扫描件.pdf", "name": "盖章扫描件.pdf", "kind": "scan"}]}},
    }, ensure_ascii=False), encoding="utf-8")
    roster = roster_file(tmp_path, [("001", "某某市教育局", "a@x.gov.cn")])
    report = status_paths(load_roster(roster), [returns], show_progress=False)
    [a] = report.agencies
    assert (Path(a.file).name, a.attachments, a.superseded) == ("001_2021.xlsx", ["盖章扫描件.pdf"], [])
    assert "盖章扫描件.pdf" in render_html(report)
