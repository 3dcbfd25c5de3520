"""The command line speaks Chinese: click's own messages, help pages, metavars, exit statuses."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xltool.cli import cli
from xltool.commands import zh


def click_messages() -> set[str]:
    """Every message the installed click marks for translation (its `_()` and `ngettext()`)."""
    found = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                found.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return found


# English that click would print if a message, metavar or heading went untranslated.
CLICK_ENGLISH = re.compile(r"Usage|Options|Commands|Error|Missing|Invalid|Show th|Try '|No such|Got unexpected|"
                           r"required\]|default:|does not|is not|Did you mean|\b(?:TEXT|INTEGER|PATH|FILE|DIRECTORY|"
                           r"OPTIONS|COMMAND|ARGS|WORKBOOK|PATHS|SOURCE|INPUT|FOLDER)\b|%Y")


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args))


def commands() -> list[str]:
    return sorted(cli.commands)


def test_every_click_message_has_a_translation() -> None:
    assert click_messages() - set(zh.MESSAGES) == set()


@pytest.mark.parametrize("command", ["", *commands()])
def test_help_is_chinese_and_lists_exit_statuses(command: str) -> None:
    result = run(*([command] if command else []), "--help")
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("用法：xltool")
    assert "选项：" in text and "显示本帮助并退出。" in text
    assert not CLICK_ENGLISH.search(text), CLICK_ENGLISH.search(text)
    assert re.search(r"退出状态：\n\s+0  \S+[\s\S]*\n\s+2  \S+", text)
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text), "a stray space between Chinese phrases"
    widths = [zh.display_width(line) for line in text.splitlines() if not line.lstrip().startswith(("例", "xltool", "XLTOOL"))]
    assert max(widths) <= 80


@pytest.mark.parametrize("args, says", [
    (["generate"], "请用 --year 给出统计年度（或在 xltool init 建立的本轮文件夹中运行）。"),
    (["init", "x"], "缺少选项 '--year'。"),
    (["gen"], "没有命令 'gen'。"),
    (["verfy"], "您是否要输入 'verify'？"),
    (["generate", "--year", "二〇二一", "-o", "x.xlsx"], "'--year' 的值无效：'二〇二一' 不是有效的整数。"),
    (["collect", "收件箱", "-o", "收到", "--since", "2022/1/1"], "不是有效的日期，请写成 YYYY-MM-DD"),
    (["report"], "请给出输入（报表、汇总表或文件夹）和 -o 输出"),
    (["verify", "--json", "--bogus", "x"], "没有选项 '--bogus'。"),
    (["read", "a.xlsx", "b.xlsx"], "不存在"),
    (["fill", "missing.xlsx", "--data", "missing.json", "-o", "out.xlsx"], "的值无效：路径 'missing."),
    (["demo", "-o"], "选项 '-o' 需要一个值。"),
])
def test_usage_errors_are_chinese(tmp_path: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert says in result.output
    assert "错误：" in result.output
    assert not CLICK_ENGLISH.search(result.output), result.output


def test_python_dash_m_and_version() -> None:
    done = subprocess.run([sys.executable, "-m", "xltool", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and re.fullmatch(r"\S+ 版本 \d+\.\d+\.\d+\n", done.stdout)
    done = subprocess.run([sys.executable, "-m", "xltool", "verify"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "请给出要审核的报表文件或文件夹" in done.stderr


def test_wrap_joins_chinese_lines_without_a_space_and_words_with_one() -> None:
    text = "审核报表：模板是否完整、\n数值是否有效。用 --json\n输出，或 --annotate\n批注。"
    assert zh.wrap_text(text, 200) == "审核报表：模板是否完整、数值是否有效。用 --json 输出，或 --annotate 批注。"


def test_wrap_measures_chinese_as_two_columns_and_never_starts_a_line_with_a_comma() -> None:
    text = "上年的报表（文件、文件夹、汇总表或 read --json 输出），用于预填“上年结转”，" * 4
    lines = zh.wrap_text(text, 40, "  ", "  ").splitlines()
    assert len(lines) > 1
    assert all(zh.display_width(line) <= 40 for line in lines)
    assert not any(line.lstrip()[0] in "，。）、" for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_keeps_unwrapped_blocks() -> None:
    text = "说明。\n\n\b\n例：xltool verify returns/\n    xltool verify 收到/ --json"
    assert zh.wrap_text(text, 30, preserve_paragraphs=True) == (
        "说明。\n\n例：xltool verify returns/\n    xltool verify 收到/ --json")
