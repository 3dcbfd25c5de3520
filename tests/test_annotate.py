"""Annotated copies through the one package editor: the problem cells marked and explained, a
summary in front, everything else of the file kept — also on files LibreOffice wrote, on a copy
annotated before, and as LibreOffice opens and re-saves the copy."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from builders import consistent, make_return
from xltool.findings import finding
from xltool.office.package import Package
from xltool.round.annotate import SUMMARY_SHEET, annotate_bytes
from xltool.round.verify import verify_path

FROZEN = Path(__file__).parent / "frozen"
KEY = b"frozen-workbooks-test-key"


def codes(path: Path) -> list[tuple[str, str | None]]:
    return [(f.code, f.cell) for f in verify_path(path, key=KEY).findings]


def blank_return(tmp_path: Path) -> tuple[Path, list]:
    values = consistent()
    values["requests.partial.natural_person"] = None
    path = make_return(tmp_path, values, key=KEY)
    return path, verify_path(path, key=KEY).findings


def test_a_copy_annotated_twice_has_one_summary_and_fresh_notes(tmp_path: Path) -> None:
    path, findings = blank_return(tmp_path)
    once = annotate_bytes(path.read_bytes(), findings, "甲局")
    twice = annotate_bytes(once, findings[:1], "甲局")
    wb = openpyxl.load_workbook(io.BytesIO(twice))
    assert wb.sheetnames.count(SUMMARY_SHEET) == 1 and wb.sheetnames[0] == SUMMARY_SHEET
    noted = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert noted == [(findings[0].sheet, findings[0].cell)]
    again = tmp_path / "again.xlsx"
    again.write_bytes(twice)
    assert codes(again) == codes(path)  # still a valid return, signature and all


def test_annotating_keeps_saved_values_validation_and_protection(tmp_path: Path) -> None:
    path, findings = blank_return(tmp_path)
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(annotate_bytes(path.read_bytes(), findings))
    before, after = Package.open(path.read_bytes()), Package.open(copy.read_bytes())
    for name, part in before.sheets().items():
        old, new = before.read(part), after.read(after.sheets()[name])
        for marker in (b"<sheetProtection", b"<dataValidation", b"<f>"):
            assert old.count(marker) == new.count(marker), (name, marker)


def test_a_file_libreoffice_wrote_is_annotated(tmp_path: Path) -> None:
    source = FROZEN / "filled-2021-libreoffice.xlsx"
    planted = finding("fee-unit-suspect", "请核对收费金额的单位。", sheet="表一主动公开", cell="B12", unit="万元")
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(annotate_bytes(source.read_bytes(), [planted], "某某局"))
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames[0] == SUMMARY_SHEET
    assert "请核对收费金额的单位" in wb["表一主动公开"]["B12"].comment.text
    assert codes(copy) == []


def test_libreoffice_opens_and_resaves_an_annotated_copy(libreoffice, tmp_path: Path) -> None:
    path, findings = blank_return(tmp_path)
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(annotate_bytes(path.read_bytes(), findings, "甲局"))
    resaved = tmp_path / "resaved.xlsx"
    seen = libreoffice.roundtrip(copy, resaved, read_cells=[(SUMMARY_SHEET, "A1")])
    assert seen["sheets"][0] == SUMMARY_SHEET and seen["cells"][0]["string"].startswith("审核意见")
    assert codes(resaved) == codes(path)
