"""`xltool demo` runs the round as a coordinator would, in a round folder, and what it leaves
behind is the round the issue asks for: the wrong-agency workbook current for nobody, the .ods
reply unusable with its reason, reminders that say what to do, a figure warning kept out of the
merge until confirmed, an archive that checks clean and names a changed byte."""

from __future__ import annotations

import email
import json
import zipfile
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from xltool.cli import cli
from xltool.form.returns import read_return


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "演示"
    result = run("demo", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_demo_runs_the_commands_in_its_round(demo) -> None:
    out, output = demo
    for command in ("init", "generate", "send", "collect", "verify", "status", "remind", "merge", "confirm",
                    "report", "archive"):
        assert f"$ xltool {command}" in output
    assert "Traceback" not in output and not any(line.startswith("错误：") for line in output.splitlines())
    assert len(list((out / "下发").glob("*.xlsx"))) == 12
    assert (out / "批注" / "审核结果.json").is_file() and list((out / "批注").glob("*.xlsx"))
    assert {p.suffix for p in (out / "报告").iterdir()} >= {".html", ".docx", ".md"}


def test_a_second_run_collects_nothing_twice(demo) -> None:
    out, _ = demo
    again = run("demo", "-o", str(out))
    assert again.exit_code == 0 and "新邮件（或文件）0 封" in again.output


def status_of(out: Path) -> dict[str, dict]:
    result = run("status", "--json", "--round", str(out))
    assert result.exit_code == 0, result.output
    return {a["code"]: a for a in json.loads(result.stdout)["agencies"]}


def test_the_wrong_agency_workbook_is_current_for_nobody(demo) -> None:
    out, _ = demo
    states = status_of(out)
    sender, owner = states["11230112"], states["11230110"]
    assert sender["state"] == owner["state"] == "sender-mismatch"
    assert "阿城区卫生健康局（11230110）" in sender["reason"] and "阿城区营商环境建设监督局" in owner["reason"]
    assert sender["file"] is None and owner["file"] is None
    current = json.loads((out / "收到" / "manifest.json").read_text(encoding="utf-8"))["current"]
    merged = json.loads((out / "汇总" / "汇总.json").read_text(encoding="utf-8"))
    excluded = {e["code"]: e["codes"] for e in merged["excluded"]}
    assert excluded.get("11230110") == ["sender-mismatch"]
    assert "11230110" not in {i["code"] for i in merged["included"]} and "11230112" not in excluded
    # both agencies are told, each its own side of the mix-up, with its own blank workbook attached
    for code, says in (("11230112", "发来的是阿城区卫生健康局"), ("11230110", "阿城区营商环境建设监督局")):
        letter = next((out / "发件箱").glob(f"{code}_*报表错发.eml"))
        msg = email.message_from_bytes(letter.read_bytes(), policy=policy.default)
        assert says in msg.get_body(("plain",)).get_content()
        attached = [p for p in msg.iter_attachments() if p.get_filename().endswith(".xlsx")]
        assert len(attached) == 1
        blank = out / "blank.xlsx"
        blank.write_bytes(attached[0].get_content())
        assert read_return(blank).agency_code == code
    assert current.get("11230110") is None or "11230112" not in current


def test_the_ods_reply_is_unusable_with_its_reason(demo) -> None:
    out, _ = demo
    ods = status_of(out)["11230109"]
    assert ods["state"] == "unusable" and ".ods" in ods["reason"] and ods["overdue"] is False
    letter = next((out / "发件箱").glob("11230109_*无法使用.eml"))
    body = email.message_from_bytes(letter.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert ".ods" in body and "请忽略" not in body


def test_a_figure_warning_counts_only_once_confirmed(demo) -> None:
    out, _ = demo
    states = status_of(out)
    assert states["11230106"]["state"] == "unconfirmed"  # 156000 万元: a fee typed in 元, never confirmed
    assert states["11230107"]["state"] == "warnings"  # confirmed by the demo
    merged = json.loads((out / "汇总" / "汇总.json").read_text(encoding="utf-8"))
    excluded = {e["code"]: e["codes"] for e in merged["excluded"]}
    assert excluded["11230106"] == ["unconfirmed:fee-unit-suspect"]
    assert "11230107" in {i["code"] for i in merged["included"]}
    record = json.loads((out / "确认记录.json").read_text(encoding="utf-8"))
    assert "11230107" in json.dumps(record, ensure_ascii=False) and "演示" in json.dumps(record, ensure_ascii=False)
    report = next((out / "报告").glob("*.html")).read_text(encoding="utf-8")
    assert "156000" not in report and "哈尔滨市阿城区延川大街" in report and "未填报" not in report


def test_the_archive_checks_clean_and_names_a_changed_byte(demo, tmp_path: Path) -> None:
    out, _ = demo
    archive = max((out / "归档").glob("*.zip"))
    registered = (archive.parent / (archive.name + ".sha256")).read_text(encoding="utf-8").split()[0]
    clean = run("archive", "--check", str(archive), "--sha256", registered, "--round", str(out))
    assert clean.exit_code == 0, clean.output
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert "round.toml" in names and not any(n.endswith("key.txt") for n in names)
        target = next(n for n in names if n.startswith("汇总/") and n.endswith(".json"))
        changed = tmp_path / "changed.zip"
        with zipfile.ZipFile(changed, "w") as copy:
            for info in zf.infolist():
                data = zf.read(info)
                if info.filename == target:
                    data = data.replace(b"1", b"7", 1)
                copy.writestr(info, data)
    named = run("archive", "--check", str(changed), "--round", str(out))
    assert named.exit_code == 1 and target in named.output
