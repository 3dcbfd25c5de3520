"""`xltool verify`: every case of the findings table, at the right cell and key, and nothing else."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from builders import SPEC, consistent, make_return, zeros
from xltool.cli import cli
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.round.verify import verify_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def verify_json(*args: str) -> tuple[int, dict]:
    result = run("verify", "--json", *args)
    return result.exit_code, json.loads(result.output)


def codes(path: Path, **kw) -> list[tuple[str, str | None, str | None]]:
    return [(f.code, f.cell, f.key) for f in verify_path(path, **kw).findings]


def cell_of(key: str) -> str:
    from xltool.form.layout import layout_for
    return layout_for(SPEC).by_key[key].ref


@pytest.fixture
def good(tmp_path) -> Path:
    return make_return(tmp_path)


def rewrite(path: Path, member: str, change, name: str | None = None) -> Path:
    """A copy of a workbook with one zip member changed (as another tool would save it)."""
    src = zipfile.ZipFile(path)
    out = path.with_name(name or "changed-" + path.name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, change(data) if info.filename == member else data)
    return out


def with_openpyxl(path: Path, edit) -> Path:
    wb = openpyxl.load_workbook(path)
    edit(wb)
    out = path.with_name("edited-" + path.name)
    wb.save(out)
    return out


def test_clean_return_has_no_findings(good):
    status, data = verify_json(str(good))
    assert status == 0
    assert data["summary"] == {"files": 1, "ok": 1, "warnings": 0, "errors": 0}
    assert data["returns"][0]["agency"] == {"code": "001", "name": "某某区营商环境建设监督局"}


def test_bad_values_are_found_at_their_cells(tmp_path):
    v = consistent()
    v.update({"requests.new.commercial": "１２", "requests.granted.research": -1, "requests.partial.natural_person": None,
              "active.licensing.decisions": 2.5, "review.reconsideration.other": "无"})
    path = make_return(tmp_path, v)
    found = {(c, cell, key) for c, cell, key in codes(path)}
    for code, key in [("value-text-number", "requests.new.commercial"), ("value-negative", "requests.granted.research"),
                      ("value-blank", "requests.partial.natural_person"), ("value-not-integer", "active.licensing.decisions"),
                      ("value-not-number", "review.reconsideration.other")]:
        assert (code, cell_of(key), key) in found, code
    data = json.loads(run("read", str(path), "--json").output)
    assert data["values"]["review.reconsideration.other"] is None and data["raw"]["review.reconsideration.other"] == "无"
    assert data["values"]["requests.new.commercial"] == 12


def test_published_figures_that_do_not_add_up(tmp_path):
    """A district bureau's published table: 自然人 new 35 + carried 2 = 37, but the outcomes
    (20 + 3 + 8 + 2 = 33) and the carried-forward 3 make 36."""
    v = zeros()
    v.update({"requests.new.natural_person": 35, "requests.carried_over.natural_person": 2,
              "requests.granted.natural_person": 20, "requests.partial.natural_person": 3,
              "requests.unable_not_held.natural_person": 8, "requests.other_other.natural_person": 2,
              "requests.carried_forward.natural_person": 3,
              "requests.new.commercial": 4, "requests.granted.commercial": 4})
    v.update({k: "无" if k.startswith("narrative") else "x" for k in SPEC.text_keys})
    path = make_return(tmp_path, v)
    errors = [(c, cell, key) for c, cell, key in codes(path) if c.startswith("rule-")]
    assert sorted(errors) == sorted([("rule-balance", cell_of("requests.total.natural_person"), "requests.total.natural_person"),
                                     ("rule-balance", cell_of("requests.total.total"), "requests.total.total")])
    message = verify_path(path).findings[0].message
    assert "自然人" in message and "37" in message and "36" in message


def test_total_overwritten_and_sum_rules(tmp_path):
    v = consistent()
    v["requests.granted.total"] = 999  # typed over the formula
    path = make_return(tmp_path, v)
    found = codes(path)
    at = cell_of("requests.granted.total")
    assert ("formula-changed", at, "requests.granted.total") in found
    assert ("rule-row-total", at, "requests.granted.total") in found
    assert ("rule-outcome-total", cell_of("requests.total.total"), "requests.total.total") in found


def test_review_total_typed_over(tmp_path):
    v = consistent()
    v["review.litigation_direct.total"] = 3
    found = codes(make_return(tmp_path, v))
    assert ("rule-review-total", cell_of("review.litigation_direct.total"), "review.litigation_direct.total") in found


def test_saved_total_disagrees(good):
    ref = cell_of("requests.new.total")
    def change(xml: bytes) -> bytes:
        return re.sub(rb'(<c r="' + ref.encode() + rb'"[^>]*>.*?<v>)\d+(</v>)', rb"\g<1>77777\g<2>", xml, count=1)
    sheet_no = [s.name for s in __import__("xltool.form.layout", fromlist=["x"]).layout_for(SPEC).sheets].index("表二依申请公开") + 1
    bad = rewrite(good, f"xl/worksheets/sheet{sheet_no}.xml", change)
    assert codes(bad) == [("cached-value-mismatch", ref, "requests.new.total")]


def test_label_edited_protection_removed_sheet_renamed(good):
    def edit(wb):
        wb["表二依申请公开"]["D5"] = "自然人们"
        wb["表三复议诉讼"].protection.sheet = False
        wb["表一主动公开"].title = "主动公开"
    found = codes(with_openpyxl(good, edit))
    assert ("label-changed", "D5", None) in found
    assert ("protection-removed", None, None) in found
    assert ("sheet-missing", None, None) in found
    assert {c for c, _, _ in found} == {"label-changed", "protection-removed", "sheet-missing"}


def test_signature(tmp_path):
    path = make_return(tmp_path, key=b"k1")
    assert codes(path, key=b"k1") == []
    assert codes(path, key=b"other") == [("signature-invalid", None, None)]
    edited = with_openpyxl(path, lambda wb: wb["_xltool"].__setitem__("B5", "另一个局"))
    assert ("signature-invalid", None, None) in codes(edited, key=b"k1")
    key_file = tmp_path / "key"
    key_file.write_text("k1\n")
    assert run("verify", str(path), "--key-file", str(key_file)).exit_code == 0
    assert run("verify", str(path), "--key-file", str(tmp_path / "nokey")).exit_code == 2


def test_form_unknown_other_year_and_2019_format(tmp_path, good):
    other = with_openpyxl(good, lambda wb: wb["_xltool"].__setitem__("B1", "another-form"))
    assert codes(other) == [("form-unknown", None, None)]
    year = with_openpyxl(good, lambda wb: wb["_xltool"].__setitem__("B3", 1999))
    assert codes(year) == [("form-unknown", None, None)]
    wb = openpyxl.Workbook()
    wb.active.append(["第二十条第（一）项"])
    wb.active.append(["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"])
    wb.save(tmp_path / "2019.xlsx")
    result = verify_path(tmp_path / "2019.xlsx")
    assert [f.code for f in result.findings] == ["form-unknown"] and "2019" in result.findings[0].message


def test_macros_are_a_warning(good):
    def content_types(xml: bytes) -> bytes:
        return xml.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                           b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    path = rewrite(good, "[Content_Types].xml", content_types)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"Attribute VB_Name" * 20)
    xlsm = path.with_suffix(".xlsm")
    path.rename(xlsm)
    assert codes(xlsm) == [("file-has-macros", None, None)]
    assert run("verify", str(xlsm)).exit_code == 0


def _hostile(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    def put(name, data, code):
        p = tmp_path / name
        p.write_bytes(data)
        cases[name] = (p, code)
    put("empty.xlsx", b"", "file-unreadable")
    put("random.xlsx", os.urandom(4000), "file-unreadable")
    put("truncated.xlsx", good.read_bytes()[:3000], "file-unreadable")
    put("report.xlsx", "单位,数量\n甲局,1\n".encode("gb18030"), "file-unreadable")
    put("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 2000, "file-unreadable")
    import docx
    buf = io.BytesIO()
    docx.Document().save(buf)
    put("word.xlsx", buf.getvalue(), "file-unreadable")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        src = zipfile.ZipFile(good)
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet5.xml":
                z.writestr(info.filename, src.read(info.filename))
        with z.open("xl/worksheets/sheet5.xml", "w", force_zip64=True) as f:
            chunk = b"<row/>" * 100_000
            for _ in range(400):  # 240 MB of XML, about 250 KB compressed
                f.write(chunk)
    put("bomb.xlsx", bomb.getvalue(), "file-too-large")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol2;</workbook>')
    entity = rewrite(good, "xl/workbook.xml", lambda _: laughs)
    cases["entity.xlsx"] = (entity, "file-unreadable")
    # sheets are parsed only when a check reads them: hostile or damaged ones are still caught
    in_sheet = rewrite(good, "xl/worksheets/sheet1.xml", lambda _: laughs.replace(b"workbook", b"worksheet"),
                       "entity-in-sheet.xlsx")
    cases["entity-in-sheet.xlsx"] = (in_sheet, "file-unreadable")
    damaged = rewrite(good, "xl/worksheets/sheet5.xml", lambda xml: xml[: len(xml) // 2], "damaged-sheet.xlsx")
    cases["damaged-sheet.xlsx"] = (damaged, "file-unreadable")
    return cases


def test_hostile_files_give_findings_not_crashes(tmp_path, good):
    cases = _hostile(tmp_path, good)
    before = {n: p.read_bytes() for n, (p, _) in cases.items()}
    status, data = verify_json(*(str(p) for p, _ in cases.values()))
    assert status == 1
    by_file = {Path(r["file"]).name: r for r in data["returns"]}
    for name, (path, code) in cases.items():
        r = by_file[path.name]
        assert [f["code"] for f in r["findings"]] == [code], (name, r)
        assert re.search(r"[\u4e00-\u9fff]", r["findings"][0]["message"])
        assert path.read_bytes() == before[name]


def test_folder_of_many_files(tmp_path):
    folder = tmp_path / "收到的 报表"
    folder.mkdir()
    for i in range(150):
        (folder / f"{i:03d} 单位 报表.xlsx").write_bytes(workbook_bytes(2021, f"{i:03d}", f"单位{i}"))
    for i in range(60):
        (folder / f"附件{i}.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(200))
    make_return(folder, code="900", filename="完整 的 报表.xlsx")
    status, data = verify_json(str(folder))
    assert status == 1 and data["summary"]["files"] == 211
    assert data["summary"]["ok"] == 1
    names = {Path(r["file"]).name for r in data["returns"]}
    assert "完整 的 报表.xlsx" in names and "附件0.pdf" in names


def test_duplicates_are_named(tmp_path):
    old = make_return(tmp_path, consistent(1), filename="old.xlsx")
    make_return(tmp_path, consistent(2), filename="new.xlsx")
    os.utime(old, (1, 1))
    results = {Path(r["file"]).name: r for r in verify_json(str(tmp_path))[1]["returns"]}
    assert [f["code"] for f in results["old.xlsx"]["findings"]] == ["duplicate-return"]
    assert "new.xlsx" in results["old.xlsx"]["findings"][0]["message"]
    assert results["new.xlsx"]["findings"] == []


def test_previous_year(tmp_path):
    last = make_return(tmp_path, consistent(1), filename="2021.xlsx")
    v = consistent(2)
    v["requests.carried_over.natural_person"] += 1
    v["requests.carried_forward.natural_person"] += 1
    v["active.regulations.in_force"] = 99
    this = make_return(tmp_path, v, year=2022, filename="2022.xlsx")
    found = codes(this, previous={"001": json.loads(run("read", str(last), "--json").output)["values"]})
    assert ("rule-carry-over", cell_of("requests.carried_over.natural_person"), "requests.carried_over.natural_person") in found
    assert ("rule-stock-continuity", cell_of("active.regulations.in_force"), "active.regulations.in_force") in found
    status, data = verify_json(str(this), "--previous", str(last))
    assert status == 1
    assert {f["code"] for f in data["returns"][0]["findings"]} == {"rule-carry-over", "rule-stock-continuity"}


def test_narrative_fee_and_contacts(tmp_path):
    v = consistent()
    v.update({"narrative.problems": "", "narrative.overview": "本年共收到政府信息公开申请3件，办结申请2件。",
              "contact.phone": "", "active.fees.amount": 123456.78901, "processing_fee.notices": 0})
    found = codes(make_return(tmp_path, v))
    kinds = {c for c, _, _ in found}
    assert kinds == {"narrative-empty", "narrative-number-mismatch", "contact-missing", "fee-unit-suspect",
                     "processing-fee-missing"}
    assert ("fee-unit-suspect", cell_of("active.fees.amount"), "active.fees.amount") in found
    # 收到3件, 办结2件 and section 六's 发出收费通知1件 (now 0) all differ from the tables
    assert sum(c == "narrative-number-mismatch" for c, _, _ in found) == 3


def test_annotate(tmp_path):
    v = consistent()
    v["requests.partial.natural_person"] = None
    path = make_return(tmp_path, v)
    before = path.read_bytes()
    out = tmp_path / "批注"
    result = run("verify", str(path), "--annotate", str(out))
    assert result.exit_code == 1
    assert path.read_bytes() == before
    copy, = out.iterdir()
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames[0] == "审核意见"
    ref = cell_of("requests.partial.natural_person")
    assert "未填写" in wb["表二依申请公开"][ref].comment.text
    assert codes(copy) == codes(path)  # the annotated copy is still a valid return
    fixed = tmp_path / "fixed.xlsx"
    fixed.write_bytes(fill_bytes(copy.read_bytes(), {"requests.partial.natural_person": consistent()["requests.partial.natural_person"]}))
    assert codes(fixed) == []


def test_usage_errors(tmp_path):
    assert run("verify", str(tmp_path / "nothing")).exit_code == 2
    assert run("verify", "--no-such-option", str(tmp_path)).exit_code == 2


def test_shared_formula_moves_references_but_not_quoted_text() -> None:
    from xltool.office.cells import shift_formula

    assert shift_formula('IF(A1="B2",C3,"x""D4")', 1, 1) == 'IF(B2="B2",D4,"x""D4")'
    assert shift_formula("'表 A1'!A1+LOG10(A1)+$A$1+A$1", 1, 1) == "'表 A1'!B2+LOG10(B2)+$A$1+B$1"
