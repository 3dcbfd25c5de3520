"""Issue 11, the rows about what commands write and print: a clerk's text is text in every report
format, a poisoned `read --json` file, outputs that overlap inputs, concurrent runs on one output
folder, annotated copies of same-named and long-named inputs, roster names with invisible or
impossible characters, an empty key, and save times that would let a draft beat its correction.

Commands that meet hostile input run in their own process under a memory and time guard
(run_limited); snapshot() proves the inputs were not touched."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import docx
import lxml.html
import pytest
from click.testing import CliRunner

from builders import consistent, make_return
from support.limited import hold_lock, release, run_limited, snapshot
from xltool.cli import cli
from xltool.round.verify import choose, doubt, plausible
from xltool.util import MAX_NAME_BYTES, bounded_filename

CLERK_TEXTS = ("{{ 7*7 }}", "{{ requests.new.total * 0 + 5 }}件", "{# 未闭合的注释", "{% if %}",
               "{{ " + " + ".join(["1"] * 300) + " }}", "*强调* _下划线_ <b>粗体</b> [链接](http://x) # 标题")


def run(*args, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


def shown_markdown(md: str) -> str:
    """What a Markdown viewer shows of escaped text: backslash escapes and the three entities undone."""
    md = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md)
    return md.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def set_saved_time(path: Path, when: str | None) -> Path:
    """Rewrite the workbook's own save time (docProps/core.xml dcterms:modified) the way another
    application would save it; None removes it."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                pattern = r"<dcterms:modified[^>]*>[^<]*</dcterms:modified>"
                new = "" if when is None else f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
                data = re.sub(pattern, new, text).encode("utf-8")
            dst.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


# -- 1. a clerk's text is text, in every format --------------------------------------------------

@pytest.fixture(scope="module")
def clerk_reports(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clerk")
    values = consistent()
    values["narrative.problems"] = "\n".join(CLERK_TEXTS)
    returns = root / "returns"
    returns.mkdir()
    make_return(returns, values, code="001", name="甲局")
    result = run_limited("report", returns, "-o", root / "out", "--format", "html,md,docx")
    assert result.returncode == 0, result.stderr
    return root / "out"


def test_a_clerks_template_text_is_printed_as_typed_in_html_markdown_and_docx(clerk_reports: Path) -> None:
    html = lxml.html.fromstring((clerk_reports / "001_甲局.html").read_bytes()).text_content()
    md_file = (clerk_reports / "001_甲局.md").read_text(encoding="utf-8")
    md = shown_markdown(md_file)
    paragraphs = [p.text for p in docx.Document(str(clerk_reports / "001_甲局.docx")).paragraphs]
    for text in CLERK_TEXTS:
        assert text in html and text in md and text in paragraphs, text
    assert "49" not in paragraphs and "5件" not in paragraphs  # nothing was evaluated
    assert "<b>" not in md_file and "[链接](" not in md_file  # Markdown shows it, never renders it
    assert "&lt;b&gt;" in (clerk_reports / "001_甲局.html").read_text(encoding="utf-8")


def test_a_clerks_template_text_is_printed_as_typed_in_pdf(tmp_path: Path, libreoffice) -> None:
    values = consistent()
    values["narrative.problems"] = "{{ 7*7 }} {# {%"
    ret = make_return(tmp_path, values)
    out = tmp_path / "r.pdf"
    result = run_limited("report", ret, "-o", out, timeout=120)
    assert result.returncode == 0, result.stderr
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True).stdout
    assert "{{ 7*7 }} {# {%" in text


def test_the_coordinators_template_fails_per_agency_and_the_others_are_written(tmp_path: Path) -> None:
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns, consistent(1), code="001", name="甲局")
    broken = consistent(2)
    broken["processing_fee.notices"] = 0  # the template divides by it
    make_return(returns, broken, code="002", name="乙局")
    make_return(returns, consistent(3), code="003", name="丙局")
    narrative = tmp_path / "正文.j2"
    narrative.write_text("{% block other %}每件通知收费{{ processing_fee.collected / processing_fee.notices }}元。"
                         "{% endblock %}", encoding="utf-8")
    before = snapshot(returns)
    result = run_limited("report", returns, "-o", tmp_path / "out", "--format", "md", "--narrative", narrative)
    assert result.returncode == 2
    assert "乙局（002）：未生成报告。叙述文件 正文.j2" in result.stderr and "无法计算" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["001_甲局.md", "003_丙局.md"]
    assert "每件通知收费200" in (tmp_path / "out" / "001_甲局.md").read_text(encoding="utf-8")
    assert snapshot(returns) == before


@pytest.mark.parametrize("block, says", [
    ("{{ " + " + ".join(["requests.new.total"] * 300) + " }}", "表达式过长"),
    ("{{ " + "(" * 300 + "year" + ")" * 300 + " }}", "嵌套过深"),
    ("很长的文字" * 50_000, "生成的文字过长"),
    ("{{ year * 10000000000 * 10000000000 * 10000000000 * 10000000000 * 10000000000 * 10000000000"
     " * 10000000000 * 10000000000 * 10000000000 * 10000000000 * 10000000000 * 10000000000 }}", ""),
])
def test_a_hostile_narrative_file_is_a_message_never_a_traceback(block: str, says: str, tmp_path: Path) -> None:
    ret = make_return(tmp_path, consistent())
    narrative = tmp_path / "n.j2"
    narrative.write_text("{% block overview %}" + block + "{% endblock %}", encoding="utf-8")
    result = run_limited("report", ret, "-o", tmp_path / "r.md", "--narrative", narrative)
    if says:
        assert result.returncode == 2 and "叙述文件 n.j2" in result.stderr and says in result.stderr, result.stderr
        assert not (tmp_path / "r.md").exists()
    else:  # a large figure is printed, not refused
        assert result.returncode == 0, result.stderr


# -- 2. a poisoned read --json file -------------------------------------------------------------

@pytest.fixture(scope="module")
def read_json(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("json")
    out = run_limited("read", make_return(tmp, consistent()), "--json")
    return json.loads(out.stdout)


def write_json(path: Path, document: dict, replace: dict[str, str] | None = None) -> Path:
    text = json.dumps(document, ensure_ascii=True)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def test_control_characters_and_lone_surrogates_in_a_json_are_cleaned(read_json: dict, tmp_path: Path) -> None:
    document = json.loads(json.dumps(read_json))
    document["agency"]["name"] = "甲\x01局\x0b"
    document["narrative"]["problems"] = "问题\x00一\x1f。\ufffe"
    source = write_json(tmp_path / "r.json", document, {"\\u4e00\\u001f": "\\u4e00\\ud800\\u001f"})
    assert "\\ud800" in source.read_text(encoding="utf-8")
    before = snapshot(tmp_path)
    result = run_limited("report", source, "-o", tmp_path / "out", "--format", "docx,md,html")
    assert result.returncode == 0, result.stderr
    stem = tmp_path / "out" / f"{document['agency']['code']}_甲局"
    paragraphs = [p.text for p in docx.Document(str(stem.with_suffix(".docx"))).paragraphs]
    assert paragraphs[0].startswith("甲局") and "问题一。" in paragraphs
    assert "问题一。" in stem.with_suffix(".md").read_text(encoding="utf-8")
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("out")} == before


LITERALS = ["1e5000", "1" * 5000, "-1e99999999", "NaN", "Infinity"]


def test_numbers_no_figure_can_be_are_not_numbers_for_that_file(read_json: dict, tmp_path: Path) -> None:
    keys = [k for k, v in read_json["values"].items() if k.startswith("requests.") and v is not None][:len(LITERALS)]
    source = write_json(tmp_path / "r.json", read_json,
                        {f'"{k}": {read_json["values"][k]}': f'"{k}": {n}' for k, n in zip(keys, LITERALS)})
    assert all(n in source.read_text(encoding="utf-8") for n in LITERALS)
    result = run_limited("report", source, "-o", tmp_path / "r.md")
    assert result.returncode == 1 and f"有 {len(LITERALS)} 项数字空白或不是数字" in result.stderr, result.stderr
    assert not (tmp_path / "r.md").exists()
    draft = run_limited("report", source, "-o", tmp_path / "r.md", "--allow-errors")
    assert draft.returncode == 0 and "草稿" in (tmp_path / "r.md").read_text(encoding="utf-8")
    filled = run_limited("fill", make_return(tmp_path, consistent()), "--data", source, "-o", tmp_path / "x.xlsx")
    assert filled.returncode == 1 and f"指标 {keys[0]} 的值 1e5000 无效" in filled.stderr and "数字过长或过大" in filled.stderr
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("text, says", [
    ("[" * 100_000 + "]" * 100_000, "嵌套过深"),
    ('{"values": {"a": ' + "[" * 30 + "]" * 30 + "}}", "嵌套过深"),
    ("\xff\xfe{}", "不是 UTF-8"),
])
def test_a_json_nested_too_deep_or_not_utf8_is_refused_in_chinese(text: str, says: str, tmp_path: Path) -> None:
    source = tmp_path / "r.json"
    source.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode("utf-8"))
    result = run_limited("report", source, "-o", tmp_path / "r.md")
    assert result.returncode == 2 and says in result.stderr, result.stderr


# -- 3. outputs that overlap inputs; concurrent runs ----------------------------------------------

@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in") / "收到"
    folder.mkdir()
    make_return(folder, consistent(1), code="001", name="甲局")
    bad = consistent(2)
    bad["requests.granted.commercial"] += 1
    make_return(folder, bad, code="002", name="乙局")
    (folder.parent / "roster.csv").write_text("code,name\n001,甲局\n002,乙局\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("args, says", [
    (["report", "{in}", "-o", "{in}"], "就是输入文件夹"),
    (["report", "{in}", "-o", "{in}/报告"], "在输入文件夹"),
    (["report", "{in}", "-o", "{parent}"], "包含输入文件夹"),
    (["verify", "{in}", "--annotate", "{in}"], "就是输入文件夹"),
    (["verify", "{in}", "--annotate", "{in}/批注"], "在输入文件夹"),
    (["verify", "{in}/001.xlsx", "--annotate", "{in}"], "下次会被当成报表读取"),
    (["merge", "{in}", "-o", "{in}/汇总.xlsx"], "在输入文件夹"),
    (["merge", "{in}", "-o", "{in}/../收到/sub/汇总.xlsx"], "在输入文件夹"),
    (["status", "--roster", "{parent}/roster.csv", "{in}", "--html", "{in}/进度.html"], "在输入文件夹"),
    (["fill", "{in}/001.xlsx", "--data", "{parent}/d.json", "-o", "{in}/001.xlsx"], "输入文件不能被覆盖"),
    (["fill", "{in}/001.xlsx", "--data", "{parent}/d.json", "-o", "{parent}/d.json"], "输入文件不能被覆盖"),
    (["generate", "--year", "2022", "--roster", "{parent}/roster.csv", "--previous", "{in}", "-o", "{in}"],
     "就是输入文件夹"),
    (["generate", "--year", "2022", "--roster", "{parent}/roster.csv", "--previous", "{in}", "-o", "{in}/下发"],
     "在输入文件夹"),
    (["generate", "--year", "2022", "--roster", "{parent}/roster.csv", "--previous", "{in}", "-o", "{parent}"],
     "包含输入文件夹"),
    (["generate", "--year", "2021", "--agency-code", "001", "--agency-name", "甲局", "--previous", "{in}",
      "-o", "{in}/新.xlsx"], "在输入文件夹"),
])
def test_an_output_that_overlaps_an_input_is_refused(args: list[str], says: str, returns: Path) -> None:
    (returns.parent / "d.json").write_text('{"requests.new.natural_person": 1}', encoding="utf-8")
    before = snapshot(returns.parent)
    result = run(*(a.format(**{"in": returns, "parent": returns.parent}) for a in args))
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert snapshot(returns.parent) == before


def test_writing_next_to_a_single_input_file_is_fine(returns: Path, tmp_path: Path) -> None:
    single = tmp_path / "001.xlsx"
    single.write_bytes((returns / "001.xlsx").read_bytes())
    assert run("report", single, "-o", tmp_path / "001.html").exit_code == 0
    assert run("fill", single, "--data", returns.parent / "d.json", "-o", tmp_path / "001-改.xlsx").exit_code == 0
    assert run("verify", single, "--annotate", tmp_path / "批注").exit_code == 0


@pytest.fixture
def held(tmp_path: Path):
    """Hold an output folder's lock from another process, as a concurrent run would."""
    procs: list[subprocess.Popen] = []
    yield lambda folder: procs.append(hold_lock(folder))
    for proc in procs:
        release(proc)


def test_a_second_run_on_a_held_output_folder_is_refused(returns: Path, tmp_path: Path, held) -> None:
    cases = [
        (tmp_path / "报告", ["report", returns, "-o", tmp_path / "报告"]),
        (tmp_path / "批注", ["verify", returns, "--annotate", tmp_path / "批注"]),
        (tmp_path / "汇总", ["merge", returns, "-o", tmp_path / "汇总" / "汇总.xlsx"]),
        (tmp_path / "下发", ["generate", "--year", "2021", "--roster", returns.parent / "roster.csv",
                           "-o", tmp_path / "下发"]),
    ]
    for folder, args in cases:
        held(folder)
        result = run(*args)
        assert result.exit_code == 2 and "正在使用输出文件夹" in result.stderr, (args, result.stderr)
        assert [p.name for p in folder.iterdir()] == [".xltool.lock"]  # nothing written beside the lock


def test_a_finished_run_leaves_no_lock_file(returns: Path, tmp_path: Path) -> None:
    assert run("report", returns, "-o", tmp_path / "报告", "--format", "md").exit_code == 1  # 乙局 has errors
    assert sorted(p.name for p in (tmp_path / "报告").iterdir()) == ["001_甲局.md"]


# -- 4. annotated copies -----------------------------------------------------------------------------

def test_same_named_and_long_named_inputs_get_distinct_bounded_copies(tmp_path: Path) -> None:
    bad = consistent()
    bad["requests.granted.commercial"] += 1
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    make_return(a, bad, code="001", filename="报表.xlsx")
    make_return(b, bad, code="002", filename="报表.xlsx")
    make_return(a, bad, code="003", filename="某" * 80 + ".xlsx")  # 240 bytes: with the suffix, over 255
    make_return(b, bad, code="004", filename="é" * 100 + ".xlsx")  # 200 bytes
    before = snapshot(tmp_path)
    out = tmp_path / "批注"
    result = run_limited("verify", a, b, "--annotate", out)
    assert result.returncode == 1 and "提示" not in result.stderr, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4 and all(len(n.encode("utf-8")) <= MAX_NAME_BYTES for n in names)
    assert {n.split("_")[0] for n in names} == {"001", "002", "003", "004"}  # the agency code kept, first
    assert "001_某某区营商环境建设监督局_审核意见.xlsx" in names and "002_某某区营商环境建设监督局_审核意见.xlsx" in names
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("批注")} == before


def test_two_copies_of_one_agency_under_one_name_are_both_kept(tmp_path: Path) -> None:
    bad = consistent()
    bad["requests.granted.commercial"] += 1
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        make_return(tmp_path / folder, bad, code="001", filename="001.xlsx")
    result = run_limited("verify", tmp_path / "a", tmp_path / "b", "--annotate", tmp_path / "批注")
    assert result.returncode == 1
    assert sorted(p.name for p in (tmp_path / "批注").iterdir()) == ["001_某某区营商环境建设监督局_审核意见.xlsx",
                                                                   "001_某某区营商环境建设监督局_审核意见_2.xlsx"]


def test_bounded_filename_keeps_the_code_and_the_suffix() -> None:
    name = bounded_filename("局" * 300, "-审核意见.xlsx", keep="001_")
    assert name.startswith("001_局") and name.endswith("-审核意见.xlsx") and len(name.encode()) <= 255
    assert bounded_filename("a/b\u202ec\u200bd", ".html", keep="9_") == "9_a_bcd.html"


# -- 5. roster names ---------------------------------------------------------------------------------

BAD_NAMES = {"\ufffe": "U+FFFE", "\uffff": "U+FFFF", "\x07": "U+0007", "\x85": "U+0085", "\u202e": "U+202E",
             "\u2066": "U+2066", "\u200f": "U+200F", "\u200b": "U+200B", "\u2060": "U+2060", "\ufeff": "U+FEFF"}


def test_roster_names_with_invisible_or_impossible_characters_are_refused_by_row(tmp_path: Path) -> None:
    rows = [f"{i:03d},某{ch}局" for i, ch in enumerate(BAD_NAMES, start=1)]
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_limited("generate", "--year", "2021", "--roster", roster, "-o", tmp_path / "下发")
    assert result.returncode == 2, result.stderr
    for row, shown in enumerate(BAD_NAMES.values(), start=2):
        assert f"名单第{row}行：单位名称含有看不见或改变文字方向的字符（{shown}）" in result.stderr, shown
    assert not (tmp_path / "下发").exists() or not any((tmp_path / "下发").iterdir())


@pytest.mark.parametrize("name", ["某\u202e局", "某\u200b局", "\udcff某局", "某\x85局"])
def test_agency_name_option_is_checked_the_same_way(name: str, tmp_path: Path) -> None:
    result = run_limited("generate", "--year", "2021", "--agency-code", "001", "--agency-name", name,
                         "-o", tmp_path / "x.xlsx")
    assert result.returncode == 2 and "单位名称含有看不见或改变文字方向的字符" in result.stderr, result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_end_spaces_excel_rosters_carry_are_trimmed_and_names_read_back_identical(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name\n001,\u00a0甲\u00a0局\u3000\n002,\u3000 乙局 \t\n", encoding="utf-8")
    result = run("generate", "--year", "2021", "--roster", roster, "-o", tmp_path / "下发")
    assert result.exit_code == 0, result.stderr
    files = sorted((tmp_path / "下发").iterdir())
    assert [f.name for f in files] == ["001_甲\u00a0局_2021.xlsx", "002_乙局_2021.xlsx"]
    single = run("generate", "--year", "2021", "--agency-code", "003", "--agency-name", "\u3000丙局\u00a0",
                 "-o", tmp_path / "下发" / "丙.xlsx")
    assert single.exit_code == 0
    for f, name in zip(files + [tmp_path / "下发" / "丙.xlsx"], ["甲\u00a0局", "乙局", "丙局"]):
        assert json.loads(run("read", f, "--json").stdout)["agency"]["name"] == name
    verified = json.loads(run("verify", tmp_path / "下发", "--json").stdout)
    codes = {f["code"] for r in verified["returns"] for f in r["findings"]}
    assert codes <= {"value-blank", "narrative-empty", "contact-missing"}  # empty, but nothing damaged


# -- 6. an empty key -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_key_variable_is_an_error_not_a_silent_no_check(value: str, returns: Path, tmp_path: Path) -> None:
    for args in (["verify", returns], ["merge", returns, "-o", tmp_path / "汇总.xlsx"],
                 ["generate", "--year", "2021", "--agency-code", "001", "--agency-name", "甲局", "-o", tmp_path / "x.xlsx"]):
        result = run(*args, env={"XLTOOL_KEY": value})
        assert result.exit_code == 2 and "环境变量 XLTOOL_KEY 已设置但是空的" in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.xlsx"))
    empty = tmp_path / "key.txt"
    empty.write_text(" \n", encoding="utf-8")
    result = run("verify", returns, "--key-file", empty)
    assert result.exit_code == 2 and "是空的" in result.stderr


# -- 7. save times that would let a draft beat its correction ---------------------------------------

NOW = datetime(2022, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("when, reason", [
    (None, "没有记录时间"), ("garbage", "无法识别"), ("2099-01-01T00:00:00Z", "晚于当前时间"),
    ("9999-12-31T23:00:00-12:00", "晚于当前时间"), ("2020-12-31T15:59:59Z", "早于统计年度的开始（2021年1月1日）"),
])
def test_an_implausible_save_time_is_doubted(when, reason) -> None:
    assert reason in (doubt(when, 2021, NOW) or "") and plausible(when, 2021, NOW) is None
    assert plausible("2022-01-10T08:30:00Z", 2021, NOW) == datetime(2022, 1, 10, 8, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def draft_and_correction(tmp_path_factory) -> Path:
    """A draft with an error saved "in 2099" (and the newer file time), and the correction."""
    folder = tmp_path_factory.mktemp("versions") / "收到"
    folder.mkdir()
    draft = consistent(1)
    draft["requests.granted.commercial"] += 1
    set_saved_time(make_return(folder, draft, code="001", name="甲局", filename="草稿.xlsx"), "2099-01-01T00:00:00Z")
    fixed = set_saved_time(make_return(folder, consistent(2), code="001", name="甲局", filename="更正.xlsx"),
                           "2022-01-10T08:30:00Z")
    os.utime(fixed, (1_640_000_000, 1_640_000_000))  # an older file time too: only the plausibility rule saves it
    return folder


def test_a_draft_saved_in_2099_never_beats_the_correction(draft_and_correction: Path, tmp_path: Path) -> None:
    folder = draft_and_correction
    before = snapshot(folder)
    verified = json.loads(run_limited("verify", folder, "--json").stdout)
    by_name = {Path(r["file"]).name: r for r in verified["returns"]}
    assert by_name["更正.xlsx"]["findings"] == []
    note = next(f["message"] for f in by_name["草稿.xlsx"]["findings"] if f["code"] == "duplicate-return")
    assert "2099-01-01 00:00 晚于当前时间" in note and "采用的是 更正.xlsx" in note

    roster = tmp_path / "roster.csv"
    roster.write_text("code,name\n001,甲局\n", encoding="utf-8")
    status = json.loads(run("status", "--roster", roster, folder, "--json").stdout)
    assert [(a["state"], Path(a["file"]).name) for a in status["agencies"]] == [("ok", "更正.xlsx")]

    merged = json.loads(run("merge", folder, "-o", tmp_path / "汇总.xlsx", "--json").stdout)
    assert [Path(i["file"]).name for i in merged["included"]] == ["更正.xlsx"] and merged["excluded"] == []
    (dup,) = merged["duplicates"]
    assert [Path(f).name for f in dup["superseded"]] == ["草稿.xlsx"] and "晚于当前时间" in dup["notes"][0]
    assert merged["values"]["requests.new.total"] == json.loads(
        run("read", folder / "更正.xlsx", "--json").stdout)["values"]["requests.new.total"]

    reported = run("report", folder, "-o", tmp_path / "报告", "--format", "md")
    assert reported.exit_code == 0 and "草稿.xlsx 不是该单位采用的报表" in reported.stderr, reported.stderr
    assert snapshot(folder) == before


def test_when_every_time_is_doubtful_the_file_time_decides() -> None:
    class Candidate:
        def __init__(self, file: str, saved_at: str | None, mtime: float) -> None:
            self.file, self.saved_at, self.mtime, self.year = file, saved_at, mtime, 2021

    older = Candidate("a.xlsx", None, 1_640_000_000)
    newer = Candidate("b.xlsx", "2099-01-01T00:00:00Z", 1_641_000_000)
    assert choose([older, newer], NOW) is newer
    good = Candidate("c.xlsx", "2021-06-01T00:00:00Z", 1_000)
    assert choose([older, newer, good], NOW) is good
    future_file = Candidate("d.xlsx", None, 10 ** 12)  # a file time far in the future sorts below a real one
    assert choose([older, future_file], NOW) is older
