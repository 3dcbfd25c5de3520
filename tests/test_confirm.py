"""xltool confirm: a doubtful figure counts once the coordinator confirms it for that very return,
a legitimate mix-up of senders likewise; everything else is refused with a reason (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_mail_common import run as run_cli
from test_replies import (
    AFTER,
    FEE_IN_YUAN,
    A,
    B,
    E,
    K,
    build_round,
    filled,
    message,
    status_of,
    write_mbox,
)

from xltool.cli import cli
from xltool.round.folder import Round, load_round
from xltool.round.merge import DETAIL_SHEET
from xltool.round.roster import load_roster
from xltool.round.verify import verify_paths


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Round:
    return build_round(tmp_path_factory.mktemp("confirm") / "2021年度")


@pytest.fixture
def rnd(pristine: Round, tmp_path: Path) -> Round:
    """A copy of the collected round for one test: confirmations change it."""
    root = tmp_path / pristine.root.name
    shutil.copytree(pristine.root, root)
    return load_round(root)


def xltool(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def merged(rnd: Round, *extra: str) -> dict:
    code, stdout, stderr = xltool("merge", "--round", rnd.root, "--json", *extra)
    assert code == 0, stderr
    return json.loads(stdout)


def excluded(data: dict) -> dict[str, list[str]]:
    return {e["code"]: e["codes"] for e in data["excluded"]}


def test_a_confirmed_fee_is_merged_with_the_confirmation_shown(rnd: Round) -> None:
    assert excluded(merged(rnd))[E] == ["unconfirmed:fee-unit-suspect"]
    code, stdout, stderr = xltool("confirm", "--round", rnd.root, E, "fee-unit-suspect", "--note", "已电话核实，确为万元",
                                  "--by", "张三")
    assert code == 0, stderr
    assert "（1 处）" in stdout and "156822.26" in stdout and "张三" in stdout  # each instance listed
    [entry] = json.loads(rnd.confirmations.read_text(encoding="utf-8"))["confirmations"]
    assert (entry["code"], entry["finding"], entry["keys"], entry["note"], entry["by"]) == \
        (E, "fee-unit-suspect", ["active.fees.amount"], "已电话核实，确为万元", "张三")
    assert len(entry["sha256"]) == 64 and entry["at"].startswith("20")
    data = merged(rnd)
    assert E not in excluded(data)
    [fee] = [i for i in data["included"] if i["code"] == E]
    assert fee["confirmed"][0]["note"] == "已电话核实，确为万元"
    assert data["values"]["active.fees.amount"] >= FEE_IN_YUAN
    detail = openpyxl.load_workbook(rnd.merged)[DETAIL_SHEET]
    header = [c.value for c in detail[1]]
    row = next(r for r in detail.iter_rows(min_row=3, values_only=True) if r[0] == E)
    assert header[-1] == "确认记录" and "fee-unit-suspect：已电话核实，确为万元（张三，" in row[-1]
    assert status_of(rnd, AFTER)[1][E].state == "warnings"  # confirmed: the warning stays, the doubt is settled

    # a new version of the return (other bytes) needs a new confirmation
    new = filled(rnd, E, 15, **{"active.fees.amount": FEE_IN_YUAN + 1})
    box = write_mbox(rnd.root / "second.mbox", [message("czj@example.gov.cn", 12, 11, (new, "财政局（更正）.xlsx", None))])
    assert run_cli("collect", box, "-o", rnd.received, "--roster", rnd.roster).exit_code == 0
    assert excluded(merged(rnd))[E] == ["unconfirmed:fee-unit-suspect"]
    assert status_of(rnd, AFTER)[1][E].state == "unconfirmed"
    allowed = merged(rnd, "--allow-errors")
    assert [i["unconfirmed"] for i in allowed["included"] if i["code"] == E] == [["unconfirmed:fee-unit-suspect"]]


def test_a_legitimate_mixup_is_confirmed_by_the_senders_code(rnd: Round) -> None:
    roster = load_roster(rnd.roster)
    code, stdout, stderr = xltool("confirm", "--round", rnd.root, B, "sender-mismatch", "--note", "市场监管局代为报送")
    assert code == 0, stderr
    assert "scj@example.gov.cn" in stdout and f"发来的是审计局（{A}）的填报表" in stdout
    states = status_of(rnd, AFTER)[1]
    assert states[B].state == "missing"  # its own return is still to come
    assert any("代为报送，已确认" in n and "市场监管局代为报送" in n for n in states[A].notes)
    assert "sender-mismatch" not in {c for e in merged(rnd)["excluded"] for c in e["codes"]}
    results = verify_paths(rnd.returns(), key=rnd.key(), roster=roster, confirmations=rnd.confirmations,
                           show_progress=False)
    assert not any(f.code == "sender-mismatch" for r in results for f in r.findings)


@pytest.mark.parametrize("args, says", [
    ((E, "value-blank", "--note", "x"), "是错误，不能确认"),
    ((K, "fee-unit-suspect", "--note", "x"), "中没有 fee-unit-suspect 问题"),
    ((E, "fee-unit-suspect@requests.new.total", "--note", "x"), "中没有 fee-unit-suspect@requests.new.total 问题"),
    ((E, "no-such-code", "--note", "x"), "没有问题代码"),
    (("9999999", "fee-unit-suspect", "--note", "x"), "名单中没有单位代码"),
    ((K, "sender-mismatch", "--note", "x"), "没有待确认的 sender-mismatch"),
])
def test_what_cannot_be_confirmed_exits_2_saying_why(rnd: Round, args, says) -> None:
    code, _, stderr = xltool("confirm", "--round", rnd.root, *args)
    assert code == 2 and says in stderr and "Traceback" not in stderr
    assert not rnd.confirmations.exists()


def test_outside_a_round_and_with_a_corrupt_record(rnd: Round, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = xltool("confirm", E, "fee-unit-suspect", "--note", "x")
    assert code == 2 and "须在本轮工作文件夹中运行" in stderr
    for bad in ("{half", '{"format": "xltool-confirmations", "confirmations": [{"code": 1}]}', "[]"):
        rnd.confirmations.write_text(bad, encoding="utf-8")
        for command in (["confirm", "--round", str(rnd.root), E, "fee-unit-suspect", "--note", "x"],
                        ["status", "--round", str(rnd.root)], ["merge", "--round", str(rnd.root)]):
            code, _, stderr = xltool(*command)
            assert code == 2 and "确认记录" in stderr and "确认记录.json" in stderr and "Traceback" not in stderr, command
        assert rnd.confirmations.read_text(encoding="utf-8") == bad  # never overwritten
