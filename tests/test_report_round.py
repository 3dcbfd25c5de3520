"""The coordinator's own report in a round (issue 13, point 7): `xltool report` with no argument
reports on the round's merged workbook, takes the narrative, contact details and date of issue
from round.toml, and lists every part it had to print as 未填报 (exit 1 with --strict).

The round is built through the product, as a coordinator runs it: init, generate, send (to the
outbox), the clerks' returns collected from a folder, verify, merge. test_archive.py packs it."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from builders import consistent
from xltool.cli import cli
from xltool.form.fill import fill_bytes

ROSTER = ("单位代码,单位名称,电子邮箱\n001,某某区发展和改革局,fgj@example.gov.cn\n"
          "002,某某区教育局,jyj@example.gov.cn; jyj@qq.com\n")
SENDER = "某某区政务公开办 <gkb@example.gov.cn>"
COORDINATOR = ("001000", "某某区人民政府")
PROBLEMS = "五、存在的主要问题及改进情况"
CONTACT = {"address": "某某区人民大街1号", "postcode": "150300", "phone": "0451-12345678",
           "website": "http://www.example.gov.cn/", "email": "gkb@example.gov.cn"}
NARRATIVE = ("{% block problems %}本区政务公开仍有更新不及时的问题，已建立每月检查机制。{% endblock %}\n"
             "{% block other %}本区{{ year }}年共收到申请{{ requests.new.total }}件。{% endblock %}\n")


def run(*args, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(old)


def build_round(base: Path) -> Path:
    """A closed round of two agencies, run from its folder with no repeated flags. Agency 002
    left its section 五 and its website blank."""
    roster = base / "名单.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    folder = base / "2022年度"
    deadline = (date.today() + timedelta(days=30)).isoformat()
    done = run("init", folder, "--year", "2022", "--roster", roster, "--coordinator-code", COORDINATOR[0],
               "--coordinator-name", COORDINATOR[1], "--from", SENDER, "--deadline", deadline)
    assert done.exit_code == 0, done.output
    for step in (["generate"], ["send"]):
        result = run(*step, cwd=folder)
        assert result.exit_code == 0, result.output
    arrived = base / "U盘"
    arrived.mkdir()
    for book in sorted((folder / "下发").glob("*.xlsx")):
        values = consistent()
        if book.name.startswith("002"):
            values.update({"narrative.problems": "", "contact.website": ""})
        (arrived / book.name).write_bytes(fill_bytes(book.read_bytes(), values))
    for step in (["collect", arrived], ["verify"], ["merge"]):
        result = run(*step, cwd=folder)
        assert result.exit_code == 0, (step, result.output)
    return folder


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    return build_round(tmp_path_factory.mktemp("round"))


def with_report_section(round_dir: Path, where: Path, extra: str) -> Path:
    """A copy of the round whose round.toml gains `extra` (a [report] section, issued, …)."""
    copy = where / "轮"
    shutil.copytree(round_dir, copy)
    config = copy / "round.toml"
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return copy


def page_text(path: Path) -> str:
    return lxml.html.fromstring(path.read_bytes()).text_content()


def ends_with(text: str, tail: str) -> bool:
    return "".join(text.split()).endswith(tail)


def test_a_round_with_no_report_section_lists_what_it_printed_as_unfilled(round_dir: Path) -> None:
    strict = run("report", "--strict", cwd=round_dir)
    assert strict.exit_code == 1, strict.output
    listed = strict.stderr
    assert f"{COORDINATOR[1]}（{COORDINATOR[0]}）：公开网址；联系方式；{PROBLEMS}" in listed
    assert "round.toml 的 [report]" in listed
    own = round_dir / "报告" / f"{COORDINATOR[0]}_{COORDINATOR[1]}.html"
    text = page_text(own)
    assert "公开网址未填报" in text and "（联系方式未填报）" in text and "（本部分未填报。）" in text
    today = date.today()
    assert ends_with(text, f"{COORDINATOR[1]}{today.year}年{today.month}月{today.day}日")  # issued: today
    lenient = run("report", cwd=round_dir)
    assert lenient.exit_code == 0 and "公开网址；联系方式" in lenient.stderr


def test_the_merged_report_takes_the_rounds_narrative_and_contacts(round_dir: Path, tmp_path: Path) -> None:
    contact = ", ".join(f'{k} = "{v}"' for k, v in CONTACT.items())
    copy = with_report_section(round_dir, tmp_path, f'\n[report]\nnarrative = "正文.j2"\ncontact = {{ {contact} }}\n')
    shutil.rmtree(copy / "报告")
    (copy / "正文.j2").write_text(NARRATIVE, encoding="utf-8")
    text_toml = (copy / "round.toml").read_text(encoding="utf-8")
    (copy / "round.toml").write_text(text_toml.replace("year = 2022", "year = 2022\nissued = 2023-01-20"),
                                     encoding="utf-8")
    result = run("report", "--strict", cwd=copy / "收到")  # found from a subfolder
    assert result.exit_code == 0, result.output
    assert "未填报" not in result.stderr
    html = copy / "报告" / f"{COORDINATOR[0]}_{COORDINATOR[1]}.html"
    text = page_text(html)
    for value in (CONTACT["address"], CONTACT["postcode"], CONTACT["phone"], CONTACT["website"]):
        assert value in text
    assert "本区政务公开仍有更新不及时的问题" in text and "本区2022年共收到申请" in text
    assert ends_with(text, f"{COORDINATOR[1]}2023年1月20日")  # the 落款: who and the date of issue
    md = (copy / "报告" / f"{COORDINATOR[0]}_{COORDINATOR[1]}.md").read_text(encoding="utf-8")
    assert "2023年1月20日" in md and CONTACT["address"] in md

    # --narrative still wins over the round's, and the round's contacts still fill the gaps
    mine = tmp_path / "另一份正文.j2"
    mine.write_text("{% block problems %}另一份正文。{% endblock %}", encoding="utf-8")
    out = tmp_path / "own.html"
    again = run("report", "--narrative", mine, "-o", out, cwd=copy)
    assert again.exit_code == 0, again.output
    assert "另一份正文。" in page_text(out) and CONTACT["address"] in page_text(out)


def test_an_empty_contact_in_the_round_is_still_unfilled(round_dir: Path, tmp_path: Path) -> None:
    copy = with_report_section(round_dir, tmp_path, '\n[report]\ncontact = { address = "某某区人民大街1号" }\n')
    result = run("report", "--strict", "-o", tmp_path / "own.md", cwd=copy)
    assert result.exit_code == 1
    assert f"：公开网址；邮编；联系电话；{PROBLEMS}" in result.stderr and "联系方式；" not in result.stderr
    assert "地址：某某区人民大街1号；邮编：未填报；联系电话：未填报。" in (tmp_path / "own.md").read_text(encoding="utf-8")


def test_per_agency_reports_list_their_own_gaps(round_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "各单位"
    result = run("report", round_dir / "收到", "-o", out, "--format", "md", "--strict", cwd=round_dir)
    assert result.exit_code == 1, result.output
    assert f"某某区教育局（002）：公开网址；{PROBLEMS}" in result.stderr
    assert "某某区发展和改革局（001）" not in result.stderr  # its return filled in every part
    assert sorted(p.name for p in out.iterdir()) == ["001_某某区发展和改革局.md", "002_某某区教育局.md"]
    lines = [line for line in (out / "001_某某区发展和改革局.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    # an agency's report ends with its own 落款: its name and the round's date of issue (else today)
    assert "某某区发展和改革局" in lines[-2] and re.search(r"\d{4}年\d{1,2}月\d{1,2}日", lines[-1])


def test_the_list_comes_from_the_composed_report(tmp_path: Path) -> None:
    """A coordinator's own narrative file marks its gaps with the same filter."""
    from builders import make_return
    from xltool.form.returns import read_return
    from xltool.reports import Narrative, TemplateProblem, compose, from_return

    values = consistent()
    values["narrative.other"] = ""
    data = from_return(read_return(make_return(tmp_path, values, year=2022)))
    words = tmp_path / "正文.j2"
    words.write_text('{% block other %}{{ "其他事项" | unfilled("（无。）") }}{% endblock %}', encoding="utf-8")
    report = compose(data, Narrative(words))
    assert report.unfilled == ("六、其他需要报告的事项：其他事项",)
    assert "（无。）" in report.sections[-1].paragraphs
    assert compose(data, Narrative()).unfilled == ()  # the default prints nothing as 未填报 for section 六
    words.write_text("{% block other %}{{ 3 | unfilled }}{% endblock %}", encoding="utf-8")
    with pytest.raises(TemplateProblem, match="unfilled 的用法"):
        compose(data, Narrative(words))
