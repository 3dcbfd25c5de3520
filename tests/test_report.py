"""`xltool report`: the final report in HTML, Markdown and DOCX, built through the product
(generate → fill → report) and read back the way a reviewer would: every heading, label and
figure in the official order, the narrative bound to the figures, hostile text kept harmless.
The slow renderings (LibreOffice PDF, Chromium) are in test_report_render.py."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import docx
import lxml.html
import pytest
from click.testing import CliRunner

from builders import in_order, table_labels
from xltool.commands.report import report as report_command
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.form.returns import read_return
from xltool.form.spec import get_spec
from xltool.reports import pdf as pdf_module
from xltool.reports.grid import figure

SPEC = get_spec("gov-info-disclosure", "2021")
REF_CODE, REF_NAME = "230112-yshj", "哈尔滨市阿城区营商环境建设监督局"
REF_CONTACTS = {"contact.address": "阿城区牌路大街370号", "contact.postcode": "150300",
                "contact.phone": "0451-53761766", "contact.website": "http://www.acheng.gov.cn/"}
REF_FEE_SENTENCE = "依据《政府信息公开信息处理费管理办法》，2021年发出收费通知0件，收费通知金额0元，实际收取金额0元。"
HEADINGS = [s["heading"] for s in SPEC.sections]

# Sections 一 and 五 of the reference report (shared/reference/000_aa56a171bc00e7b6.txt), as published.
REFERENCE_OVERVIEW = (
    '（一）加强政务公开体系建设。加强政务公开组织领导，明确任务、细化分工、加强督查、压实责任，严格执行公开信息逐级审批、层层把关制度，形成信息公开发布申请、审核、保密审查、领导审批、信息后台发布、后台审核、对外发布、发布后检查的工作闭环，确保信息发布的时效性、保密性、安全性和合规性。',
    '（二）加强《优化营商环境条例》解读。扎实做好两个《条例》宣传月活动，精心组织安排载体活动，通过媒体报道、门户网站、印发宣传册等方式，营造良好的学习氛围，组织全面深入解读《条例》，进一步强化营商工作的理念和措施，全面提高营商环境建设工作透明度，营造全社会知晓并遵守两个《条例》。',
    '（三）是强化监督管理。我局切实将政务信息公开工作落到实处，结合工作实际，定期通报信息公开统计数据，加强督促检查，确保了全局政府信息公开工作统一规范、信息畅通、上下联动、有序运行。',
    '（四）2021年，除政府网站公开信息以外，我局积极探索信息宣传工作的新思路、新途径、新方法，通过新闻媒体不断加大主动公开的工作力度，及时宣传我局的标志性工作和亮点工作。在哈尔滨市营商环境建设监督局主办的“哈营”公众号发布新闻动态20条。我局还借助新媒体深挖宣传潜力，通过主办“营在阿城”微信公众号，实时展示我区优化营商环境工作的动态和成效，充分发挥信息发布、政策解读、引导舆论、便民服务等功能，提升我区营商环境的影响力和吸引力。截至2021年4月底，“营在阿城”微信公众号共推送信息32条。',
)
REFERENCE_PROBLEMS = (
    '（一）主要问题：一是由于工作任务繁杂，存在信息公开更新不及时的问题；二是信息渠道相对匮乏，上报信息量内容还不够全面。',
    '（二）改进情况：一是积极回应社会关切。结合营商环境问题投诉受理工作,对涉及本地的重要舆情、媒体关切、突发事件等热点问题,按程序及时发布权威信息,及时回应,确保不失声、不缺位，及时进行信息公开。二是继续充实公开内容，梳理能公开政府信息，公开信息做到把握全面、突出重点。畅通信息渠道，广泛收集信息。采取设立举报箱、设立投诉电话、接受来信来访等方式广泛收集信息。',
)


# -- building returns through the product ---------------------------------------------------

def numeric_inputs() -> list[str]:
    return [k for k in SPEC.input_keys if SPEC.cells[k].numeric]


def reference_values() -> dict:
    """The reference agency's return: all figures zero, its narrative and its contacts."""
    values = {k: 0 for k in numeric_inputs()}
    values.update(REF_CONTACTS)
    values["narrative.overview"] = "\n".join(REFERENCE_OVERVIEW)
    values["narrative.problems"] = "\n".join(REFERENCE_PROBLEMS)
    return values


def nonzero_values(bump: int = 0) -> dict:
    """Distinct nonzero figures that satisfy every official rule (so the return has no error):
    outcomes vary by row and column, and 本年新收 is what balances each column."""
    values = reference_values()
    requests = SPEC.table("requests")
    columns = [c.key for c in requests.columns if not c.total]
    outcomes = [r.key for r in requests.rows if r.key not in ("new", "carried_over", "carried_forward", "total")]
    for c, col in enumerate(columns):
        done = 0
        for r, row in enumerate(outcomes):
            values[f"requests.{row}.{col}"] = (r + c) % 4 + 1
            done += (r + c) % 4 + 1
        values[f"requests.carried_over.{col}"] = c + 2
        values[f"requests.carried_forward.{col}"] = c + 3 + (bump if c == 0 else 0)
        values[f"requests.new.{col}"] = done + c + 3 - (c + 2) + (bump if c == 0 else 0)
    for i, key in enumerate(k for k in numeric_inputs() if k.startswith(("active.", "review."))):
        values[key] = 11 + i
    values["active.fees.amount"] = Decimal("12.5")
    values["processing_fee.notices"] = 3
    values["processing_fee.notice_amount"] = Decimal("150.5")
    values["processing_fee.collected"] = Decimal("100.25")
    values["narrative.overview"] = "本年共收到政府信息公开申请若干件。"
    values["narrative.other"] = "信息处理费已全部收取。"
    return values


# The coordinator's narrative file: the only place where figures are bound into the prose.
BOUND = ("{% block overview %}本年共收到政府信息公开申请{{ requests.new.total }}件，"
         "办结{{ requests.total.total }}件。{% endblock %}\n"
         "{% block other %}信息处理费共收取{{ processing_fee.collected|fixed(2) }}元。{% endblock %}\n")


@pytest.fixture(scope="module")
def bound_narrative(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("narrative") / "正文.j2"
    path.write_text(BOUND, encoding="utf-8")
    return path


def make_return(path: Path, values: dict, code: str = REF_CODE, name: str = REF_NAME) -> Path:
    path.write_bytes(fill_bytes(workbook_bytes(2021, code, name), values))
    return path


def run(*args: str):
    return CliRunner().invoke(report_command, [str(a) for a in args], catch_exceptions=False)


def expected_figures(values: dict, table_id: str) -> list[str]:
    """A table's figures in the official order (its grid, row by row), as the report prints them."""
    cells = sorted((g for g in SPEC.table(table_id).grid if g.key), key=lambda g: (g.row, g.col))
    return [figure(values[g.key]) for g in cells]


@pytest.fixture(scope="module")
def reference_return(tmp_path_factory) -> Path:
    return make_return(tmp_path_factory.mktemp("ref") / "reference.xlsx", reference_values())


@pytest.fixture(scope="module")
def nonzero_return(tmp_path_factory) -> Path:
    return make_return(tmp_path_factory.mktemp("nonzero") / "nonzero.xlsx", nonzero_values())


def html_tables(html: bytes) -> list:
    return lxml.html.fromstring(html).xpath("//table")


# -- the reference agency -------------------------------------------------------------------

def test_reference_markdown_reads_like_the_reference(reference_return: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run(reference_return, "-o", out)
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert md.startswith(f"# {REF_NAME}2021年政府信息公开工作年度报告\n")
    assert "地址：阿城区牌路大街370号；邮编：150300；联系电话：0451-53761766。" in md
    assert "http://www.acheng.gov.cn/" in md and "自2021年1月1日至2021年12月31日" in md
    assert in_order(md, [f"## {h}" for h in HEADINGS])
    assert in_order(md, ["## 一、总体情况", *REFERENCE_OVERVIEW, "## 二、"])
    assert in_order(md, ["## 五、", *REFERENCE_PROBLEMS, "## 六、其他需要报告的事项", REF_FEE_SENTENCE])
    for table in SPEC.tables:
        for label in table_labels(table):
            assert label in md, label
    # the rows of table 2 in the official order, each with its seven figures
    rows = [line for line in md.splitlines() if (line.startswith("| ") and "申请数量" in line) or "本年度办理结果／" in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows][:3] == [
        "一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量", "三、本年度办理结果／（一）予以公开"]
    assert all(r.endswith("| 0 | 0 | 0 | 0 | 0 | 0 | 0 |") for r in rows)


def test_reference_html_has_the_official_tables(reference_return: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert run(reference_return, "-o", out).exit_code == 0
    page = out.read_bytes()
    text = lxml.html.fromstring(page).text_content()
    assert f"{REF_NAME}2021年政府信息公开工作年度报告" in text
    assert in_order(text, HEADINGS) and REF_FEE_SENTENCE in text
    assert in_order(text, list(REFERENCE_OVERVIEW) + list(REFERENCE_PROBLEMS))
    assert b"http://" not in page.replace(b"http://www.acheng.gov.cn/", b"")  # no external resources
    assert not re.search(rb"<(script|link|img|iframe)\b", page)
    for table, element in zip(SPEC.tables, html_tables(page)):
        # every label in reading order, with the official spans
        shown = [(c.text_content(), int(c.get("rowspan", 1)), int(c.get("colspan", 1))) for c in element.iter("th")]
        grid = sorted((g for g in table.grid if not g.key), key=lambda g: (g.row, g.col))
        assert shown == [(g.text, g.rowspan, g.colspan) for g in grid]
        assert [c.text_content() for c in element.iter("td")] == ["0"] * len(list(table.data_cells()))
        assert len(element.xpath("thead/tr")) == table.header_rows


# -- figures in every format ------------------------------------------------------------------

def docx_figures(path: Path, table_index: int, table_id: str) -> list[str]:
    table = docx.Document(str(path)).tables[table_index]
    cells = sorted((g for g in SPEC.table(table_id).grid if g.key), key=lambda g: (g.row, g.col))
    return [table.cell(g.row, g.col).text for g in cells]


def test_nonzero_figures_are_the_returns_in_every_format(nonzero_return: Path, bound_narrative: Path,
                                                         tmp_path: Path) -> None:
    values = read_return(nonzero_return).values
    result = run(nonzero_return, "-o", tmp_path / "out", "--format", "html,md,docx", "--narrative", bound_narrative)
    assert result.exit_code == 0, result.output
    stem = f"{REF_CODE}_{REF_NAME}"
    html = (tmp_path / "out" / f"{stem}.html").read_bytes()
    md = (tmp_path / "out" / f"{stem}.md").read_text(encoding="utf-8")
    for i, table in enumerate(SPEC.tables):
        want = expected_figures(values, table.id)
        assert len(set(want)) > 3  # really nonzero, really distinct
        assert [c.text_content() for c in html_tables(html)[i].iter("td")] == want
        assert docx_figures(tmp_path / "out" / f"{stem}.docx", i, table.id) == want
    md_figures = [cell for line in md.splitlines() if line.startswith("| ") and not line.startswith("| ---")
                  for cell in line.strip("| ").split(" | ")[1:] if re.fullmatch(r"[\d.]+", cell)]
    assert md_figures == [f for t in SPEC.tables for f in expected_figures(values, t.id)]
    assert "| 行政事业性收费 | 12.5 |" in md
    total = values["requests.new.total"]
    assert f"本年共收到政府信息公开申请{total}件，办结{values['requests.total.total']}件。" in md
    assert "2021年发出收费通知3件，收费通知金额150.5元，实际收取金额100.25元。" in md and "信息处理费共收取100.25元。" in md


def test_a_bound_figure_follows_its_key(bound_narrative: Path, tmp_path: Path) -> None:
    sentences = []
    for bump in (0, 7):
        ret = make_return(tmp_path / f"r{bump}.xlsx", nonzero_values(bump))
        out = tmp_path / f"r{bump}.md"
        assert run(ret, "-o", out, "--narrative", bound_narrative).exit_code == 0
        total = read_return(ret).values["requests.new.total"]
        sentence = f"本年共收到政府信息公开申请{total}件"
        assert sentence in out.read_text(encoding="utf-8")
        sentences.append(sentence)
    assert sentences[0] != sentences[1]


def test_docx_is_in_the_official_document_style(nonzero_return: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    assert run(nonzero_return, "-o", out).exit_code == 0
    doc = docx.Document(str(out))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    xml = doc.element.xml
    styles = doc.styles.element.xml
    for font in ("方正小标宋简体", "仿宋_GB2312", "黑体"):
        assert f'w:eastAsia="{font}"' in styles
    # the title breaks between the agency name and the rest (a manual line break, w:br), never inside a word
    assert doc.paragraphs[0].text == f"{REF_NAME}\n2021年政府信息公开工作年度报告"
    assert doc.paragraphs[0].style.font.size.pt == 22 and doc.styles["Normal"].font.size.pt == 16
    assert [p.text for p in doc.paragraphs if p.style.name == "一级标题"] == HEADINGS
    for table, element in zip(SPEC.tables, doc.tables):
        rows = element._tbl.tr_lst
        assert sum(1 for r in rows if r.trPr is not None and r.trPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None) == table.header_rows
        # real merges: every row of a merge wider than one column carries w:gridSpan
        assert element._tbl.xml.count("<w:gridSpan ") == sum(g.rowspan for g in table.grid if g.colspan > 1)
    assert "w:vMerge" in xml and "w:tblHeader" in xml
    footer = section.footer._element.xml
    assert "PAGE" in footer and "—" in footer


# -- narrative templates ------------------------------------------------------------------------

def test_narrative_file_replaces_the_returns_text(nonzero_return: Path, tmp_path: Path) -> None:
    narrative = tmp_path / "正文.j2"
    narrative.write_text("{% block overview %}\n本机关{{ agency.name }}（{{ agency.code }}）{{ year }}年"
                         "新收申请{{ values['requests.new.total'] }}件。\n第二段。\n{% endblock %}\n"
                         "{% block preamble %}前言：{{ contact.phone }}{% endblock %}\n", encoding="utf-8")
    out = tmp_path / "r.md"
    result = run(nonzero_return, "-o", out, "--narrative", narrative)
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    total = read_return(nonzero_return).values["requests.new.total"]
    assert f"本机关{REF_NAME}（{REF_CODE}）2021年新收申请{total}件。\n\n第二段。" in md
    assert "前言：0451-53761766" in md and "本年共收到" not in md


@pytest.mark.parametrize("source, line, says", [
    ("第一行\n{{ requests.new.totl }}件", 2, "未知的名称 requests.new.totl"),
    ("第一行\n\n{% if %}", 3, "模板语法错误"),
    ("{{ ''.__class__.__mro__ }}", 1, "不允许访问"),
    ("{{ agency.name.upper }}", 1, "不允许的操作"),
    ("{% for i in range(999999) %}x{% endfor %}", 1, "不能使用 For"),
    ("{{ 'x' * 999999999 }}", 1, "只能用于数字"),
    ("{{ requests.new }}", 1, "requests.new 是一组项目"),
    ("{{ requests.neww.total }}", 1, "未知的名称 requests.neww。是否想写：requests.new"),
    ("{% if requests.neww.total > 0 %}有{% endif %}", 1, "未知的名称 requests.neww。"),
])
def test_a_bad_template_is_refused_naming_its_line(source, line, says, nonzero_return: Path, tmp_path: Path) -> None:
    narrative = tmp_path / "n.j2"
    narrative.write_text("{% block problems %}" + source + "{% endblock %}", encoding="utf-8")
    out = tmp_path / "r.html"
    result = run(nonzero_return, "-o", out, "--narrative", narrative)
    assert result.exit_code == 2
    assert f"叙述文件 n.j2 第{line}行" in result.stderr and says in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".xltool-*"))


CLERK_TEXTS = ("{{ 7*7 }}", "{{ requests.new.total * 0 + 5 }}件", "{# 注释", "{% if %}",
               "{{ " + " + ".join(["1"] * 300) + " }}")


def test_a_clerks_text_is_printed_as_typed_never_evaluated(tmp_path: Path) -> None:
    """Deliver 3 of issue 11: what a clerk typed into a narrative cell is data, whatever it looks like."""
    values = nonzero_values()
    values["narrative.problems"] = "\n".join(CLERK_TEXTS)
    ret = make_return(tmp_path / "r.xlsx", values)
    result = run(ret, "-o", tmp_path / "out", "--format", "html,md,docx")
    assert result.exit_code == 0, result.output
    stem = tmp_path / "out" / f"{REF_CODE}_{REF_NAME}"
    html = lxml.html.fromstring(stem.with_suffix(".html").read_bytes()).text_content()
    md = unescape_markdown(stem.with_suffix(".md").read_text(encoding="utf-8"))
    paragraphs = [p.text for p in docx.Document(str(stem.with_suffix(".docx"))).paragraphs]
    for text in CLERK_TEXTS:
        assert text in html and text in md and text in paragraphs, text
    assert "49" not in paragraphs and "5件" not in paragraphs  # what evaluating them would have printed


def unescape_markdown(md: str) -> str:
    """What a Markdown viewer shows of escaped text: backslash escapes and the three entities undone."""
    md = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md)
    return md.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_bad_narrative_file_is_refused_before_anything_is_written(nonzero_return: Path, tmp_path: Path) -> None:
    for source, says in (("{% block overview %}\n{{ foo }}\n{% endblock %}", "第2行：未知的名称 foo"),
                         ("{% block summary %}x{% endblock %}", "未知的段落 summary"),
                         ("正文写在块外", "第1行：叙述文件的文字应写在")):
        narrative = tmp_path / "n.j2"
        narrative.write_text(source, encoding="utf-8")
        result = run(nonzero_return, "-o", tmp_path / "out", "--narrative", narrative)
        assert result.exit_code == 2 and says in result.stderr, result.stderr
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- bad input -----------------------------------------------------------------------------------

def test_a_return_with_errors_gets_no_report_unless_allowed_and_then_a_draft(tmp_path: Path) -> None:
    values = reference_values()
    del values["requests.new.natural_person"]  # left blank: a blank is not a zero
    values["requests.granted.commercial"] = 4  # and the balance no longer holds
    ret = make_return(tmp_path / "bad.xlsx", values)
    out = tmp_path / "r.html"
    refused = run(ret, "-o", out)
    assert refused.exit_code == 1 and "--allow-errors" in refused.stderr and "错误" in refused.stderr
    assert not out.exists()
    for suffix in ("html", "md", "docx"):
        target = tmp_path / f"draft.{suffix}"
        result = run(ret, "-o", target, "--allow-errors")
        assert result.exit_code == 0 and "草稿" in result.stderr
        if suffix == "docx":
            doc = docx.Document(str(target))
            assert doc.paragraphs[0].text.startswith("草稿") and "草稿" in doc.sections[0].header.paragraphs[0].text
            continue
        text = target.read_text(encoding="utf-8")
        assert "草稿：本报告所依据的报表尚有错误" in text
        assert "—" in text  # the blank shows as a blank, not as 0


def test_missing_contacts_are_said_not_left_blank(tmp_path: Path) -> None:
    values = reference_values()
    for key in REF_CONTACTS:
        values[key] = ""
    out = tmp_path / "r.md"
    assert run(make_return(tmp_path / "r.xlsx", values), "-o", out).exit_code == 0
    md = out.read_text(encoding="utf-8")
    assert "（联系方式未填报）" in md and "公开网址未填报" in md and "地址：；" not in md
    values["contact.address"] = "某路1号"
    assert run(make_return(tmp_path / "r2.xlsx", values), "-o", out).exit_code == 0
    assert "地址：某路1号；邮编：未填报；联系电话：未填报。" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, says", [
    (["-o", "{tmp}/r.txt"], "不认识输出文件的扩展名“.txt”"),
    (["-o", "{tmp}/out", "--format", "html,rtf"], "不支持的格式“rtf”"),
    (["-o", "{tmp}/r.md", "--format", "html"], "与 --format 不一致"),
    (["-o", "{tmp}/r.md", "--fragment"], "--fragment 只用于 HTML"),
])
def test_wrong_use_is_a_chinese_message_and_status_2(args, says, reference_return: Path, tmp_path: Path) -> None:
    result = run(reference_return, *(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 2 and says in result.stderr
    assert not list(tmp_path.rglob("*.*"))


def test_missing_input_and_missing_libreoffice_are_status_2(reference_return: Path, tmp_path: Path,
                                                             monkeypatch) -> None:
    result = run(tmp_path / "nope.xlsx", "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "找不到输入" in result.stderr
    monkeypatch.setattr(pdf_module, "find_soffice", lambda: None)
    result = run(reference_return, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and "LibreOffice" in result.stderr and not (tmp_path / "r.pdf").exists()


def test_text_from_a_return_is_escaped(tmp_path: Path) -> None:
    values = nonzero_values()
    values["narrative.other"] = '<script>alert("x")</script> & <img src=http://evil.example/a.png>'
    ret = make_return(tmp_path / "r.xlsx", values, name="某局<b>")
    for args in (["-o", tmp_path / "page.html"], ["-o", tmp_path / "frag.html", "--fragment"]):
        assert run(ret, *args).exit_code == 0
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    fragment = (tmp_path / "frag.html").read_text(encoding="utf-8")
    for html in (page, fragment):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(" in html and "某局&lt;b&gt;" in html
    assert "<style>" in page and "<style" not in fragment and "class=" not in fragment
    assert fragment.lstrip().startswith("<article") and 'style="' in fragment and "<html" not in fragment
    md = tmp_path / "r.md"
    assert run(ret, "-o", md).exit_code == 0
    assert "<script>" not in md.read_text(encoding="utf-8")


# -- other inputs --------------------------------------------------------------------------------

def test_a_folder_of_returns_gives_one_report_per_agency(tmp_path: Path) -> None:
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns / "a.xlsx", reference_values(), "001", "甲局")
    make_return(returns / "b.xlsx", nonzero_values(), "002", "乙/局")
    broken = reference_values()
    del broken["active.licensing.decisions"]
    make_return(returns / "c.xlsx", broken, "003", "丙局")
    out = tmp_path / "reports"
    result = run(returns, "-o", out, "--format", "md,html")
    assert result.exit_code == 1 and "丙局（003）" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["001_甲局.html", "001_甲局.md", "002_乙_局.html", "002_乙_局.md"]
    result = run(returns, "-o", out, "--format", "md", "--allow-errors")
    assert result.exit_code == 0 and "丙局（003）" in result.stderr
    assert "草稿" in (out / "003_丙局.md").read_text(encoding="utf-8")
    assert "草稿" not in (out / "001_甲局.md").read_text(encoding="utf-8")


def test_a_read_json_file_is_an_input(nonzero_return: Path, tmp_path: Path) -> None:
    data = read_return(nonzero_return).to_json()
    source = tmp_path / "r.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "r.md"
    result = run(source, "-o", out)
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert "| 行政事业性收费 | 12.5 |" in md and "实际收取金额100.25元" in md
    data["values"]["requests.new.natural_person"] = None
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert run(source, "-o", out).exit_code == 1


def test_a_merged_workbook_is_reported_like_a_return(tmp_path: Path) -> None:
    from xltool.round.merge import merge_paths, write_merged_workbook

    returns = tmp_path / "returns"
    returns.mkdir()
    parts = [make_return(returns / f"{i}.xlsx", nonzero_values(bump), f"00{i}", f"单位{i}")
             for i, bump in enumerate((0, 5))]
    merged = tmp_path / "merged.xlsx"
    write_merged_workbook(merge_paths([returns], show_progress=False), merged, code="000", name="某区")
    out = tmp_path / "merged.html"
    assert run(merged, "-o", out).exit_code == 0
    values = [read_return(p).values for p in parts]
    summed = {k: values[0][k] + values[1][k] for k in SPEC.numeric_keys}
    html = out.read_bytes()
    assert "某区2021年政府信息公开工作年度报告" in lxml.html.fromstring(html).text_content()
    for i, table in enumerate(SPEC.tables):
        assert [c.text_content() for c in html_tables(html)[i].iter("td")] == expected_figures(summed, table.id)
