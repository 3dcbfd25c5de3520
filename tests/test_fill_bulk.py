"""fill in bulk: a folder of workbooks and their data (a JSON lines file, or a folder of read
--json files), matched by the agency code inside each workbook, never by its file name."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import xltool
from builders import consistent
from xltool.cli import cli
from xltool.form.fill import PARALLEL_FROM
from xltool.form.generate import workbook_bytes
from xltool.form.returns import read_return

KEY = "requests.new.natural_person"


def run(*args: Any):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def blanks(folder: Path, names: dict[str, str]) -> None:
    """Blank workbooks, file name -> the agency code inside."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in names.items():
        (folder / name).write_bytes(workbook_bytes(2021, code, f"某某局{code}", None))


def line(code: str, seed: int, field: str = "code") -> str:
    values = {k: float(v) if isinstance(v, Decimal) else v for k, v in consistent(seed).items()}
    return json.dumps({field: code, **values}, ensure_ascii=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_workbooks_get_the_data_of_the_code_inside_them_not_of_their_file_name(tmp_path: Path) -> None:
    blanks(tmp_path / "下发", {"001.xlsx": "002", "002.xlsx": "001", "其他.xlsx": "003"})  # names that mislead
    data = tmp_path / "数据.jsonl"
    data.write_text("\n".join([line("001", 1), "", line("002", 2, "agency_code"), line("003", 3)]) + "\n",
                    encoding="utf-8")
    before = snapshot(tmp_path)
    result = run("fill", tmp_path / "下发", "--data", data, "-o", tmp_path / "已填")
    assert result.exit_code == 0, result.output
    assert "已填写 3 个工作簿" in result.output and "\r" not in result.output  # no progress bar when piped
    out = tmp_path / "已填"
    assert sorted(p.name for p in out.iterdir()) == ["001.xlsx", "002.xlsx", "其他.xlsx"]  # named like the inputs
    for name, seed in (("001.xlsx", 2), ("002.xlsx", 1), ("其他.xlsx", 3)):
        assert read_return(out / name).values[KEY] == consistent(seed)[KEY]
    assert xltool.verify(out / "001.xlsx").status == "ok"
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("已填")} == before


def test_a_workbook_without_data_exits_1_and_data_for_no_workbook_is_listed(tmp_path: Path) -> None:
    blanks(tmp_path / "下发", {"甲.xlsx": "001", "乙.xlsx": "002"})
    data = tmp_path / "数据.jsonl"
    data.write_text(line("001", 1) + "\n" + line("009", 2) + "\n", encoding="utf-8")
    result = run("fill", tmp_path / "下发", "--data", data, "-o", tmp_path / "已填")
    assert result.exit_code == 1
    assert "没有数据的工作簿（1 个，未写出）" in result.output and "乙.xlsx（单位代码 002）" in result.output
    assert "没有对应工作簿的数据（1 条）" in result.output and "单位代码 009（数据.jsonl 第 2 行）" in result.output
    assert [p.name for p in (tmp_path / "已填").iterdir()] == ["甲.xlsx"]


def test_a_folder_of_read_json_files_fills_a_folder_of_workbooks(tmp_path: Path) -> None:
    """Last round's figures, as `read --json` printed them, typed into this round's workbooks;
    on both cores (enough workbooks for the worker processes)."""
    codes = [f"{n:03d}" for n in range(1, PARALLEL_FROM + 2)]
    blanks(tmp_path / "下发", {f"{code}_某某局.xlsx": code for code in codes})
    source = tmp_path / "源"
    blanks(source, {f"{code}.xlsx": code for code in codes})
    documents = tmp_path / "数据"
    documents.mkdir()
    for seed, code in enumerate(codes, start=1):
        filled = xltool.fill((source / f"{code}.xlsx").read_bytes(), consistent(seed))
        (source / f"{code}.xlsx").write_bytes(filled)
        document = xltool.read(source / f"{code}.xlsx").to_json()
        (documents / f"报表{seed}.json").write_text(json.dumps(document, ensure_ascii=False, default=str),
                                                   encoding="utf-8")
    filled = xltool.fill_folder(tmp_path / "下发", documents, tmp_path / "已填")
    assert filled.exit_status == 0 and len(filled.written) == len(codes) and not filled.unused
    for seed, code in enumerate(codes, start=1):
        ret = read_return(tmp_path / "已填" / f"{code}_某某局.xlsx")
        assert ret.agency_code == code and ret.values[KEY] == consistent(seed)[KEY]


@pytest.mark.parametrize("where", ["input", "inside"])
def test_no_input_is_overwritten(tmp_path: Path, where: str) -> None:
    blanks(tmp_path / "下发", {"甲.xlsx": "001"})
    data = tmp_path / "数据.jsonl"
    data.write_text(line("001", 1) + "\n", encoding="utf-8")
    before = snapshot(tmp_path)
    out = tmp_path / "下发" if where == "input" else tmp_path / "下发" / "已填"
    result = run("fill", tmp_path / "下发", "--data", data, "-o", out)
    assert result.exit_code == 2 and "请换一个输出位置" in result.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("lines, says", [
    ([line("001", 1), line("001", 2)], "单位代码 001 的数据出现了两次（数据.jsonl 第 1 行、数据.jsonl 第 2 行）"),
    ([json.dumps({KEY: 5})], "数据.jsonl 第 1 行 没有单位代码"),
    (["{not json"], "数据.jsonl 第 1 行 不是有效的 JSON"),
])
def test_data_that_cannot_be_matched_is_refused_before_anything_is_written(tmp_path: Path, lines: list[str],
                                                                           says: str) -> None:
    blanks(tmp_path / "下发", {"甲.xlsx": "001"})
    data = tmp_path / "数据.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("fill", tmp_path / "下发", "--data", data, "-o", tmp_path / "已填")
    assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "已填").exists() or not any((tmp_path / "已填").iterdir())


def test_one_workbook_and_one_json_file_as_before(tmp_path: Path) -> None:
    blanks(tmp_path, {"甲.xlsx": "001"})
    values = tmp_path / "values.json"
    values.write_text(json.dumps({KEY: 7}), encoding="utf-8")
    result = run("fill", tmp_path / "甲.xlsx", "--data", values, "-o", tmp_path / "甲-已填.xlsx")
    assert result.exit_code == 0 and "已写入 1 项" in result.output
    assert read_return(tmp_path / "甲-已填.xlsx").values[KEY] == 7


def test_a_json_file_holding_a_list_of_agencies_fills_a_folder(tmp_path: Path) -> None:
    blanks(tmp_path / "下发", {"甲.xlsx": "001", "乙.xlsx": "002"})
    data = tmp_path / "数据.json"
    data.write_text("[" + ",\n".join([line("001", 1), line("002", 2)]) + "]", encoding="utf-8")
    filled = xltool.fill_folder(tmp_path / "下发", data, tmp_path / "已填")
    assert filled.exit_status == 0 and sorted(Path(o.output or "").name for o in filled.written) == ["乙.xlsx", "甲.xlsx"]
    assert read_return(tmp_path / "已填" / "乙.xlsx").values[KEY] == consistent(2)[KEY]
