"""The round folder: `xltool init`, round.toml as Notepad saves it, and every command taking its
defaults from the round it runs in (PRODUCT.md, "The round folder")."""

from __future__ import annotations

import json
import os
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import consistent
from xltool.cli import cli
from xltool.form.fill import fill_bytes
from xltool.form.returns import read_return
from xltool.round.folder import FOLDERS, load_round

ROSTER = "单位代码,单位名称,电子邮箱\n001,某某区发展和改革局,fgj@example.gov.cn\n002,某某区教育局,\n"
SENDER = "某某区政务公开办 <gkb@example.gov.cn>"
FUTURE = (date.today() + timedelta(days=40)).isoformat()


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def init_args(folder: Path, roster: Path, **extra: str) -> list[str]:
    args = ["init", str(folder), "--year", "2022", "--roster", str(roster), "--coordinator-code", "001000",
            "--coordinator-name", "某某区人民政府", "--from", SENDER, "--deadline", FUTURE]
    for option, value in extra.items():
        args += [f"--{option.replace('_', '-')}", value]
    return args


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    """One round, started with init and generated in from a subfolder, as a coordinator would."""
    base = tmp_path_factory.mktemp("round")
    roster = base / "名单.csv"
    roster.write_bytes(ROSTER.encode("gb18030"))  # as Excel saves a CSV in China
    result = run(*init_args(base / "2022年度", roster))
    assert result.exit_code == 0, result.output
    return base / "2022年度"


def test_init_writes_the_round(round_dir: Path) -> None:
    rnd = load_round(round_dir)
    assert (rnd.year, rnd.deadline, rnd.coordinator.name, rnd.coordinator.sender) == \
        (2022, date.fromisoformat(FUTURE), "某某区人民政府", SENDER)
    assert all((round_dir / name).is_dir() for name in FOLDERS)
    assert rnd.roster == round_dir / "roster.csv" and rnd.roster.read_bytes() == ROSTER.encode("gb18030")
    assert rnd.key_file == round_dir / "key.txt" and len(rnd.key() or b"") >= 64
    assert stat.S_IMODE(os.stat(rnd.key_file).st_mode) == 0o600  # the signing key is its owner's only


def test_init_refuses_what_it_cannot_use(tmp_path: Path, round_dir: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    again = run(*init_args(round_dir, roster))
    assert again.exit_code == 2 and "已经是本轮工作文件夹" in again.output
    past = run(*[a if a != FUTURE else "2023-01-15" for a in init_args(tmp_path / "过期", roster)])
    assert past.exit_code == 2 and "2023-01-15 已经过去" in past.output and "今天是" in past.output
    assert not (tmp_path / "过期" / "round.toml").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("单位代码,单位名称\n,某某局\n", encoding="utf-8")
    refused = run(*init_args(tmp_path / "坏名单", bad))
    assert refused.exit_code == 2 and "名单第2行：单位代码为空" in refused.output
    assert not (tmp_path / "坏名单").exists()  # nothing written for a bad roster


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_round_toml_as_notepad_saves_it(tmp_path: Path, round_dir: Path, encoding: str) -> None:
    text = (round_dir / "round.toml").read_text(encoding="utf-8").replace("某某区人民政府", "某某区人民政府（试）")
    (tmp_path / "round.toml").write_bytes(text.encode(encoding))
    assert load_round(tmp_path).coordinator.name == "某某区人民政府（试）"


def test_a_broken_round_toml_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "round.toml").write_text('year = 2022\n[coordinator]\nname = "某某区\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("status")
    assert result.exit_code == 2 and "round.toml 格式有误" in result.output and "Traceback" not in result.output
    (tmp_path / "round.toml").write_text("year = 22\n", encoding="utf-8")
    result = run("status")
    assert result.exit_code == 2 and "year 应为统计年度" in result.output and "缺少 [coordinator]" in result.output
    missing = run("verify", "--round", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "不是本轮工作文件夹" in missing.output


def test_commands_take_their_defaults_from_the_round(round_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    rnd = load_round(round_dir)
    monkeypatch.chdir(round_dir / "收到")  # a subfolder: the round is found in a parent
    generated = run("generate")
    assert generated.exit_code == 0, generated.output
    assert f"本轮工作文件夹：{round_dir}" in generated.stderr
    books = sorted((round_dir / "下发").glob("*.xlsx"))
    assert len(books) == 2
    first = read_return(books[0])
    assert (first.year, first.agency_code) == (2022, "001")

    # a clerk's return, collected by hand into 收到/; verify with no argument reads it
    (round_dir / "收到" / "001.xlsx").write_bytes(fill_bytes(books[0].read_bytes(), consistent()))
    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    saved = json.loads(rnd.findings.read_text(encoding="utf-8"))
    assert saved["summary"] == {"files": 1, "ok": 1, "warnings": 0, "errors": 0}
    # signed with the round's key: the same file checked with another key is refused
    other = tmp_path / "other.key"
    other.write_text("0" * 64, encoding="utf-8")
    assert run("verify", "--key-file", str(other)).exit_code == 1

    # a flag still wins over the round, and --round names a round from anywhere
    monkeypatch.chdir(tmp_path)
    single = run("generate", "--round", str(round_dir), "--agency-code", "009", "--agency-name", "某某区档案馆",
                 "-o", str(tmp_path / "档案馆.xlsx"))
    assert single.exit_code == 0, single.output
    assert read_return(tmp_path / "档案馆.xlsx").year == 2022
    assert len(list((round_dir / "下发").glob("*.xlsx"))) == 2
    outside = run("generate")
    assert outside.exit_code == 2 and "请用 --year 给出统计年度" in outside.output


@pytest.mark.parametrize("separator", ["; ", ",", "；", "，", " ", "、"])
def test_a_roster_as_offices_keep_it(tmp_path: Path, separator: str) -> None:
    from xltool.round.roster import by_address, load_roster

    text = (f'单位编码,机构名称,E-mail\n001,某某局,"a@x.cn{separator}B@qq.com"\n002,某某办,\n'
            "003,某某中心,a@x.cn\n")
    (tmp_path / "r.csv").write_text(text, encoding="utf-8-sig")
    first, second, third = load_roster(tmp_path / "r.csv")
    assert first.emails == ("a@x.cn", "B@qq.com") and first.email == "a@x.cn; B@qq.com"
    assert second.emails == () and second.email == ""  # fine until a command must mail it
    owners = by_address([first, second, third])
    assert [a.code for a in owners["a@x.cn"]] == ["001", "003"] and [a.code for a in owners["b@qq.com"]] == ["001"]


def test_generate_never_looks_at_addresses(tmp_path: Path) -> None:
    from xltool.round.roster import load_roster

    (tmp_path / "r.csv").write_text("code,name,email\n001,某某局,a@x.cn；not-an-address\n002,某某办,bad\n",
                                    encoding="utf-8")
    result = run("generate", "--year", "2022", "--roster", str(tmp_path / "r.csv"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    first, second = load_roster(tmp_path / "r.csv")
    assert first.emails == ("a@x.cn",) and first.cannot_mail() is None  # the good address is used
    assert second.cannot_mail() == "名单第3行的邮箱“bad”格式不正确（多个邮箱之间用分号隔开）"


def test_a_device_named_as_a_small_input_is_refused_never_read(round_dir: Path, tmp_path: Path) -> None:
    """A key file, roster or narrative named as /dev/zero or a FIFO would block a read for ever:
    each is refused by name (exit 2), the round's own key_file included."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["verify", str(round_dir / "收到"), "--key-file", "/dev/zero"],
                 ["generate", "--year", "2022", "--roster", str(fifo), "-o", str(tmp_path / "out")],
                 ["report", str(round_dir / "收到"), "-o", str(tmp_path / "r"), "--narrative", "/dev/zero"]):
        result = run(*args)
        assert result.exit_code == 2 and "不是普通文件" in result.output, (args, result.output)
    copy = tmp_path / "轮"
    copy.mkdir()
    text = (round_dir / "round.toml").read_text(encoding="utf-8").replace('key_file = "key.txt"', 'key_file = "/dev/zero"')
    (copy / "round.toml").write_text(text, encoding="utf-8")
    result = run("verify", "--round", str(copy), str(round_dir / "收到"))
    assert result.exit_code == 2 and "密钥文件 /dev/zero 不是普通文件" in result.output
