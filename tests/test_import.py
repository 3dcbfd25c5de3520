"""Published reports read back and checked (PRODUCT.md, "Published reports"; issue 15): the reference
report, xltool's own report page altered the ways real reports go wrong, the 2019 trial format,
tables as pictures, publication dates, and `xltool import` / `verify` / `merge` on documents."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from builders import SPEC, consistent, make_return
from xltool.cli import cli
from xltool.form.returns import read_return
from xltool.published.importing import check, import_source
from xltool.published.interpret import interpret
from xltool.published.read import read_bytes
from xltool.reports.html import render_html
from xltool.reports.model import Narrative, compose, from_return

DATA = Path(__file__).parent / "data" / "published"
REFERENCE = DATA / "text" / "acheng-2021.txt"
TABLE_KEYS = [k for k in SPEC.numeric_keys if SPEC.cells[k].table]


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[str, dict[str, Any]]:
    """xltool's own report page of a return with varied figures, and the return's values."""
    ret = read_return(make_return(tmp_path_factory.mktemp("page"), consistent(3)))
    return render_html(compose(from_return(ret), Narrative())).decode("utf-8"), ret.values


def imported(html: str, name: str = "报告.html"):
    imp = interpret(read_bytes(html.encode("utf-8"), name))
    return imp, check(imp)


def codes(findings) -> list[tuple[str, str | None]]:
    return [(f.code, f.key) for f in findings]


def replace_row(html: str, label: str, cells: list[str]) -> str:
    """The page with the figures of the row labelled `label` printed as `cells`."""
    row = re.search(rf"<tr>(?:(?!</tr>).)*?>{re.escape(label)}</t[hd]>(?:(?!</tr>).)*</tr>", html, re.S)
    assert row, label
    figures = iter(cells)
    new = re.sub(r"(<td[^>]*>)([^<]*)(</td>)", lambda m: m[1] + next(figures) + m[3], row[0])
    return html.replace(row[0], new)


# -- the reference ------------------------------------------------------------------------------

def test_the_reference_imports_to_zeros_in_six_sections_and_verifies_clean() -> None:
    imp = import_source(REFERENCE)
    assert imp.agency_name == "哈尔滨市阿城区营商环境建设监督局" and imp.year == 2021
    assert {imp.values[k] for k in TABLE_KEYS} == {0} and len(TABLE_KEYS) == 200
    assert imp.values["processing_fee.notices"] == 0 and imp.values["processing_fee.collected"] == 0
    assert imp.values["processing_fee.notice_amount"] is None  # not stated: null, no finding
    assert imp.sections == ["overview", "active", "requests", "review", "problems", "other"]
    assert imp.values["narrative.overview"].startswith("（一）加强政务公开体系建设。")
    assert imp.values["narrative.problems"].startswith("（一）主要问题：") and "（二）改进情况" in imp.values["narrative.problems"]
    assert imp.values["narrative.other"].startswith("依据《政府信息公开信息处理费管理办法》")
    assert (imp.values["contact.address"], imp.values["contact.postcode"], imp.values["contact.phone"]) == \
        ("阿城区牌路大街370号", "150300", "0451-53761766")
    assert imp.locations["requests.new.natural_person"] == "第99行"  # the text line it was printed on
    assert check(imp) == []
    result = run("verify", REFERENCE, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["returns"][0]
    assert report["kind"] == "text" and report["status"] == "ok" and report["year"] == 2021


# -- xltool's own page, and the ways published pages go wrong ------------------------------------

def test_the_page_imports_back_to_every_figure(page) -> None:
    html, values = page
    imp, findings = imported(html)
    assert {k: imp.values[k] for k in SPEC.numeric_keys} == {k: values[k] for k in SPEC.numeric_keys}
    assert findings == [] and imp.sections == [s["id"] for s in SPEC.sections]
    assert re.fullmatch(r"第\d+个表格第\d+行第\d+格", imp.locations["review.litigation_direct.pending"])


def test_the_markdown_report_imports_back_to_every_figure(tmp_path: Path) -> None:
    """`xltool report` writes Markdown too: pipe tables, table 3 one line per column, escapes."""
    from xltool.reports.markdown import render_markdown

    ret = read_return(make_return(tmp_path, consistent(5)))
    md = render_markdown(compose(from_return(ret), Narrative()))
    imp = interpret(read_bytes(md, "报告.md"))
    assert {k: imp.values[k] for k in SPEC.numeric_keys} == {k: ret.values[k] for k in SPEC.numeric_keys}
    assert check(imp) == [] and imp.document.kind == "text"
    assert re.fullmatch(r"第\d+行第2格", imp.locations["review.litigation_after_reconsideration.total"])


def test_a_table_copied_from_excel_as_tab_separated_text(page) -> None:
    html, values = page
    imp = interpret(read_bytes(html.encode("utf-8"), "r.html"))
    lines = [imp.agency_name, f"{imp.year}年政府信息公开工作年度报告"]
    for block in imp.document.blocks:
        if hasattr(block, "rows"):
            lines += ["\t".join(dict.fromkeys(c.text for c in row)) if len(row) == 1 else
                      "\t".join(c.text if i == 0 or c is not row[i - 1] else "" for i, c in enumerate(row))
                      for row in block.rows]
        else:
            lines.append(block.text)
    copied = interpret(read_bytes("\r\n".join(lines).encode("gb18030"), "复制.txt"))
    assert {k: copied.values[k] for k in TABLE_KEYS} == {k: values[k] for k in TABLE_KEYS}


def test_a_wrong_printed_total_is_found_at_its_row_and_column(page) -> None:
    html, values = page
    label = "一、本年新收政府信息公开申请数量"
    cells = [str(values[f"requests.new.{c.key}"]) for c in SPEC.table("requests").columns]
    cells[-1] = str(values["requests.new.total"] + 4)
    imp, findings = imported(replace_row(html, label, cells))
    assert imp.values["requests.new.total"] == values["requests.new.total"] + 4  # as printed, never recomputed
    row_total = [f for f in findings if f.code == "rule-row-total"]
    assert [f.key for f in row_total] == ["requests.new.total"]
    f = row_total[0]
    assert f.sheet is None and f.cell is None and f.location == imp.locations["requests.new.total"]
    assert label in f.message and "总计" in f.message and f.location in f.message
    assert "rule-balance" in {f.code for f in findings}  # the column's balance breaks with it


def test_a_row_printed_blank_is_blank_never_zero(page) -> None:
    html, _ = page
    imp, findings = imported(replace_row(html, "2.重复申请", ["/", "—", "-", "无", "", "／", "——"]))
    keys = [f"requests.rejected_duplicate.{c.key}" for c in SPEC.table("requests").columns]
    assert [imp.values[k] for k in keys] == [None] * 7
    assert sorted(k for c, k in codes(findings) if c == "value-blank") == sorted(keys)
    assert all(f.location for f in findings if f.code == "value-blank")


def test_printed_figures_as_reports_write_them(page) -> None:
    html, _ = page
    printed = ["1,234", "１２", "5件", "0", "3", "0", "1,254"]
    imp, _ = imported(replace_row(html, "一、本年新收政府信息公开申请数量", printed))
    assert [imp.values[f"requests.new.{c.key}"] for c in SPEC.table("requests").columns] == [1234, 12, 5, 0, 3, 0, 1254]
    html2 = replace_row(html, "行政事业性收费", ["3.5万元"])
    assert imported(html2)[0].values["active.fees.amount"] == Decimal("3.5")
    text = replace_row(html, "行政许可", ["见附件"])
    imp3, findings3 = imported(text)
    assert imp3.values["active.licensing.decisions"] is None and imp3.raw["active.licensing.decisions"] == "见附件"
    assert ("value-not-number", "active.licensing.decisions") in codes(findings3)


def test_labels_with_typos_and_breaks_are_read_and_named(page) -> None:
    html, values = page
    typo = html.replace(">2.其他法律行政法规禁止公开<", ">2.其他法律行政止公开<") \
               .replace(">4.保护第三方合法权益<", ">4.保护第三方<br>合法 权益<") \
               .replace(">（一）予以公开<", ">(一)予以公开<")
    assert typo != html
    imp, findings = imported(typo)
    assert {k: imp.values[k] for k in TABLE_KEYS} == {k: values[k] for k in TABLE_KEYS}
    deviates = [f for f in findings if f.code == "label-deviates"]
    assert len(deviates) == 1 and "2.其他法律行政法规禁止公开" in deviates[0].message and deviates[0].location
    assert deviates[0].severity == "warning"


def test_the_tables_in_another_order_and_a_wrong_numbered_heading(page) -> None:
    html, values = page
    tables = re.findall(r"<table.*?</table>", html, re.S)
    assert len(tables) == 3
    swapped = html.replace(tables[0], "@@0@@").replace(tables[2], tables[0]).replace("@@0@@", tables[2])
    swapped = swapped.replace("五、存在的主要问题及改进情况", "五、存在问题及改进情况")
    imp, _ = imported(swapped)
    assert {k: imp.values[k] for k in TABLE_KEYS} == {k: values[k] for k in TABLE_KEYS}
    assert "problems" in imp.sections and imp.values["narrative.problems"] == values["narrative.problems"]


def test_tables_as_pictures_are_tables_missing_never_zero(page) -> None:
    html, _ = page
    pictures = re.sub(r"<table.*?</table>", '<p><img src="table.png"></p>', html, flags=re.S)
    imp, findings = imported(pictures)
    assert [c for c, _ in codes(findings)] == ["tables-missing"]
    assert findings[0].severity == "error" and "人工录入" in findings[0].message and "图片" in findings[0].message
    assert all(imp.values[k] is None for k in TABLE_KEYS)
    other = read_bytes(b"<html><body><p>\xe9\x80\x9a\xe7\x9f\xa5</p><p>hello</p></body></html>", "x.html")
    assert [f.code for f in interpret(other).findings] == ["form-unknown"]


def test_the_2019_trial_format_is_mapped_through_the_spec() -> None:
    """A 2020 report in the 2019 format: table 1's rows and columns of that format, （六）其他处理
    as one row. Mapped keys read, keys with no counterpart null without value-blank, the rules over
    them skipped, and form-trial-2019 (a figure warning) said once."""
    def row(label: str, *cells: Any) -> str:
        return f"<tr><td>{label}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    t1 = ("<table>" + row("第二十条第（一）项") + row("信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量")
          + row("规章", 1, 1, 9) + row("规范性文件", 4, 4, 30) + row("第二十条第（五）项")
          + row("信息内容", "上一年项目数量", "本年增/减", "处理决定数量") + row("行政许可", 20, 1, 150)
          + row("其他对外管理服务事项", 3, 0, 7) + row("第二十条第（六）项")
          + row("信息内容", "上一年项目数量", "本年增/减", "处理决定数量") + row("行政处罚", 5, 0, 31)
          + row("行政强制", 1, 0, 2) + row("第二十条第（八）项") + row("信息内容", "上一年项目数量", "本年增/减")
          + row("行政事业性收费", 4, 0) + "</table>")
    columns = [c.key for c in SPEC.table("requests").columns]
    rows = [n for n in SPEC.table("requests").rows]
    t2 = "<table>" + row("", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
    for node in rows:
        if node.key.startswith("other_"):
            if node.key == "other_no_correction":
                t2 += row("（六）其他处理", 1, 0, 0, 0, 0, 0, 1)
            continue
        label = next(c.row_label.split("／")[-1] for k, c in SPEC.cells.items() if k == f"requests.{node.key}.total")
        n = {"new": 5, "carried_over": 1, "granted": 3, "total": 6, "carried_forward": 0, "partial": 2}.get(node.key, 0)
        t2 += row(label, n, *([0] * 5), n)
    t2 += "</table>"
    t3 = ("<table>" + row("行政复议", "", "", "", "", "行政诉讼") + row(*["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 3)
          + row(*([0] * 15))[4:] + "</table>")
    html = (f"<html><body><h1>某某区教育局2020年政府信息公开工作年度报告</h1><p>一、总体情况</p><p>本年工作。</p>"
            f"<p>二、主动公开政府信息情况</p>{t1}<p>三、收到和处理政府信息公开申请情况</p>{t2}"
            f"<p>四、政府信息公开行政复议、行政诉讼情况</p>{t3}<p>五、存在的主要问题及改进情况</p><p>无。</p>"
            f"<p>六、其他需要报告的事项</p><p>无。</p></body></html>")
    imp, findings = imported(html)
    assert imp.trial is not None and imp.year == 2020
    assert (imp.values["active.regulations.issued"], imp.values["active.normative_documents.issued"],
            imp.values["active.licensing.decisions"], imp.values["active.penalties.decisions"],
            imp.values["active.coercion.decisions"]) == (1, 4, 150, 31, 2)
    for key in ("active.regulations.repealed", "active.regulations.in_force", "active.fees.amount",
                *(f"requests.{r}.{c}" for r in ("other_no_correction", "other_unpaid_fee", "other_other") for c in columns)):
        assert imp.values[key] is None, key
    assert imp.values["requests.new.total"] == 5 and imp.values["requests.total.total"] == 6
    found = [c for c, _ in codes(findings)]
    assert found.count("form-trial-2019") == 1 and "value-blank" not in found
    assert "rule-outcome-total" not in found  # over keys with no counterpart: skipped
    trial = next(f for f in findings if f.code == "form-trial-2019")
    assert trial.severity == "warning" and "国办公开办函〔2019〕60号" in trial.message


@pytest.mark.parametrize(("name", "published", "late"), [
    ("某某区教育局", "2022-02-15", True), ("某某区教育局", "2022-01-31", False),
    ("某某区人民政府", "2022-03-01", False), ("某某区人民政府", "2022-04-02", True)])
def test_published_late_by_who_publishes(page, name: str, published: str, late: bool) -> None:
    html, _ = page
    dated = html.replace("某某区营商环境建设监督局", name).replace(
        "<head>", f'<head><meta name="PubDate" content="{published} 09:30">', 1)
    imp, findings = imported(dated)
    assert imp.document.published is not None and imp.document.published.isoformat() == published
    assert ("published-late" in {f.code for f in findings}) is late


def test_the_narrative_figure_warning_quotes_its_sentence(page) -> None:
    html, values = page
    said = f"本年共收到政府信息公开申请{values['requests.new.total']}件"
    assert said in html
    other = html.replace(said, "全区各部门合计，本年共收到政府信息公开申请999件")
    _, findings = imported(other)
    warning = next(f for f in findings if f.code == "narrative-number-mismatch")
    assert warning.severity == "warning" and "原句：“全区各部门合计，本年共收到政府信息公开申请999件" in warning.message


# -- the command line ------------------------------------------------------------------------------

def test_import_writes_a_return_per_report_and_one_bad_report_costs_only_itself(page, tmp_path: Path) -> None:
    html, values = page
    docs = tmp_path / "年报"
    docs.mkdir()
    (docs / "教育局.html").write_text(html, encoding="utf-8")
    (docs / "参考.txt").write_bytes(REFERENCE.read_bytes())
    (docs / "图片.html").write_text(re.sub(r"<table.*?</table>", "<img src=a.png>", html, flags=re.S), encoding="utf-8")
    (docs / "坏.pdf").write_bytes(b"PK\x03\x04 not a pdf at all")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.iterdir()}
    out = tmp_path / "导入结果"
    result = run("import", docs, "-o", out, "--json")
    assert result.exit_code == 1, result.output
    listed = {Path(d["file"]).name: d for d in json.loads(result.output)["documents"]}
    assert {n: d["imported"] for n, d in listed.items()} == {"教育局.html": True, "参考.txt": True, "图片.html": False,
                                                             "坏.pdf": False}
    assert [f["code"] for f in listed["图片.html"]["findings"]] == ["tables-missing"]
    assert listed["坏.pdf"]["findings"][0]["code"] == "file-unreadable"
    written = json.loads((out / "教育局.json").read_text(encoding="utf-8"))
    assert {k: written["values"][k] for k in SPEC.numeric_keys} == \
        {k: float(v) if isinstance(v, Decimal) else v for k, v in ((k, values[k]) for k in SPEC.numeric_keys)}
    assert written["source"]["kind"] == "html" and written["source"]["locations"]["requests.new.total"].startswith("第")
    assert written["narrative"]["problems"] == values["narrative.problems"]
    assert sorted(p.name for p in out.iterdir()) == ["参考.json", "图片.json", "坏.json", "教育局.json"]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.iterdir()} == before


def test_an_imported_workbook_joins_the_round_and_a_returned_workbook_wins(page, tmp_path: Path) -> None:
    """In a round: `import` writes into 导入/ a workbook coded from the roster by the report's
    name; verify says it was imported; merge counts it, and counts the agency's own workbook
    instead once one is received."""
    from datetime import date, timedelta

    html, values = page
    roster = tmp_path / "名单.csv"
    roster.write_text("单位代码,单位名称,电子邮箱\n0101,某某区营商环境建设监督局,a@example.gov.cn\n"
                      "0102,某某区教育局,b@example.gov.cn\n", encoding="utf-8")
    deadline = (date.today() + timedelta(days=30)).isoformat()
    folder = tmp_path / "2021年度"
    assert run("init", folder, "--year", "2021", "--roster", roster, "--coordinator-code", "0100",
               "--coordinator-name", "某某区人民政府", "--from", "公开办 <gkb@example.gov.cn>",
               "--deadline", deadline).exit_code == 0
    report = tmp_path / "营商局年报.html"
    report.write_text(html, encoding="utf-8")
    imported_run = run("import", report, "--round", folder)
    assert imported_run.exit_code == 0, imported_run.output
    made = folder / "导入" / "0101_某某区营商环境建设监督局_2021.xlsx"
    assert made.exists() and (folder / "导入" / "营商局年报.json").exists()
    checked = run("verify", made, "--json", "--key-file", folder / "key.txt")
    one = json.loads(checked.stdout)["returns"][0]
    assert one["status"] == "ok", one
    assert one["source"]["imported_from"]["kind"] == "html" and "由已发布的报告导入" in one["notes"][0]
    merged = run("merge", "--round", folder, "--json")
    assert merged.exit_code == 0, merged.output
    included = json.loads(merged.stdout)["included"]
    assert [(i["code"], i.get("source")) for i in included] == [("0101", "html")]
    assert json.loads(merged.stdout)["values"]["requests.new.total"] == values["requests.new.total"]
    # the agency's own workbook arrives: it wins over the imported one
    received = folder / "收到"
    own = dict(consistent(7))
    make_return(received, own, code="0101", name="某某区营商环境建设监督局", year=2021,
                key=(folder / "key.txt").read_bytes().strip())
    again = run("merge", "--round", folder, received, folder / "导入", "--json")
    assert again.exit_code == 0, again.output
    merged = json.loads(again.stdout)
    assert [(i["code"], i.get("source"), Path(i["file"]).parent.name) for i in merged["included"]] == [("0101", None, "收到")]
    assert [Path(f).parent.name for d in merged["duplicates"] for f in d["superseded"]] == ["导入"]


def test_a_document_beside_the_workbook_of_its_agency_is_not_counted(page, tmp_path: Path) -> None:
    html, _ = page
    folder = tmp_path / "混合"
    folder.mkdir()
    make_return(folder, consistent(1), code="001", name="某某区营商环境建设监督局")
    (folder / "营商局年报.html").write_text(html, encoding="utf-8")
    result = json.loads(run("verify", folder, "--json").output)["returns"]
    doc = next(r for r in result if r["kind"] == "html")
    assert doc["agency"]["code"] == "001"  # named by the workbook of the same agency
    assert any(f["code"] == "duplicate-return" and "Excel 填报表" in f["message"] for f in doc["findings"])
    merged = json.loads(run("merge", folder, "-o", tmp_path / "汇总.xlsx", "--json").output)
    assert [Path(i["file"]).suffix for i in merged["included"]] == [".xlsx"]


def test_a_report_mailed_instead_of_the_workbook_counts_when_its_tables_import(tmp_path: Path) -> None:
    """In a collected round: an agency that mails its finished report (Word) and no workbook has
    that report as its return, under its own code whatever name the report prints; a cover
    letter PDF is no report (the agency stays unusable, saying why); once the agency mails its
    workbook, the workbook counts instead."""
    import mailbox
    from datetime import date
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    from xltool.mail import mime
    from xltool.mail.samplebox import tiny_pdf
    from xltool.reports.docx import render_docx
    from xltool.round.folder import Coordinator, init_round
    from xltool.round.merge import merge_paths
    from xltool.round.roster import load_roster
    from xltool.round.status import status_paths

    roster = tmp_path / "名单.csv"
    roster.write_text("单位代码,单位名称,电子邮箱\n0201,某某区住建局,zjj@example.gov.cn\n"
                      "0202,某某区文旅局,wlj@example.gov.cn\n0203,某某区审计局,sj@example.gov.cn\n", encoding="utf-8")
    rnd = init_round(tmp_path / "2021年度", year=2021, roster=roster, deadline=date(2022, 1, 15),
                     coordinator=Coordinator("001", "某某区人民政府", "公开办 <gkb@example.gov.cn>"))
    own = read_return(make_return(tmp_path, consistent(4), code="0201", name="某某区住房和城乡建设局", filename="zj.xlsx"))
    report = render_docx(compose(from_return(own), Narrative()))

    def mail(sender: str, n: int, name: str, data: bytes, kind: tuple[str, str] | None = None) -> mailbox.mboxMessage:
        msg = MIMEMultipart()
        msg["From"], msg["Message-ID"], msg["Date"] = sender, f"<m{n}@example.gov.cn>", f"0{n} Jan 2022 09:00:00 +0800"
        msg.attach(MIMEText("请查收。", "plain", "utf-8"))
        msg.attach(mime.attachment_part(data, name, *([kind] if kind else [])))
        out = mailbox.mboxMessage(msg.as_bytes())
        out.set_from(f"MAILER-DAEMON Mon Jan  {n} 01:00:00 2022")
        return out

    def collect(*mails: mailbox.mboxMessage) -> None:
        box_path = tmp_path / f"box{len(list(tmp_path.glob('box*')))}.mbox"
        box = mailbox.mbox(box_path)
        for m in mails:
            box.add(m)
        box.flush()
        result = run("collect", box_path, "-o", rnd.received, "--roster", rnd.roster)
        assert result.exit_code == 0, result.output

    audit = make_return(tmp_path, consistent(2), code="0203", name="某某区审计局", key=rnd.key(), filename="sj.xlsx")
    collect(mail("zjj@example.gov.cn", 3, "住建局2021年年度报告.docx", report),
            mail("wlj@example.gov.cn", 4, "报送函.pdf", tiny_pdf(), ("application", "pdf")),
            mail("sj@example.gov.cn", 5, "审计局.xlsx", audit.read_bytes()))
    agencies = load_roster(rnd.roster)
    states = {a.agency.code: a for a in status_paths(agencies, rnd.returns(), key=rnd.key(), show_progress=False).agencies}
    assert (states["0201"].state, Path(states["0201"].file or "").suffix) == ("ok", ".docx")
    assert states["0202"].state == "unusable" and "没有能读出的年度报告表格" in (states["0202"].reason or "")
    assert states["0203"].state == "ok"
    merged = merge_paths(rnd.returns(), roster=agencies, key=rnd.key(), show_progress=False)
    assert {(i.code, i.origin) for i in merged.included} == {("0201", "docx"), ("0203", None)}
    assert merged.values["requests.new.total"] == own.values["requests.new.total"] + read_return(audit).values[
        "requests.new.total"]
    # the agency's workbook arrives: it is the return, the report is no longer tried
    workbook = make_return(tmp_path, consistent(4), code="0201", name="某某区住建局", key=rnd.key(), filename="zj2.xlsx")
    collect(mail("zjj@example.gov.cn", 6, "住建局.xlsx", workbook.read_bytes()))
    merged = merge_paths(rnd.returns(), roster=agencies, key=rnd.key(), show_progress=False)
    assert {(i.code, Path(i.file).suffix) for i in merged.included} == {("0201", ".xlsx"), ("0203", ".xlsx")}
