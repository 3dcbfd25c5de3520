"""Workbooks already in agencies' hands keep working: the frozen files (tests/frozen/README.md)
verify with no finding, read to the same data, and the frozen blank still takes figures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import xltool
from builders import consistent

FROZEN = Path(__file__).parent / "frozen"
KEY = b"frozen-workbooks-test-key"


def _expected(name: str) -> dict:
    return json.loads((FROZEN / f"{name}.json").read_text(encoding="utf-8"))


def _data(path: Path) -> dict:
    data = xltool.read(path).to_json()
    data.pop("source")
    return data


@pytest.mark.parametrize("name", ["filled-2021.xlsx", "filled-2021-libreoffice.xlsx"])
def test_frozen_return_verifies_clean_and_reads_the_same(name: str) -> None:
    result = xltool.verify(FROZEN / name, key=KEY)
    assert [f.code for f in result.findings] == []
    assert result.status == "ok"
    assert _data(FROZEN / name) == _expected("filled-2021")


def test_frozen_blank_reads_the_same_and_reports_only_what_is_empty() -> None:
    assert _data(FROZEN / "blank-2021.xlsx") == _expected("blank-2021")
    codes = Counter(f.code for f in xltool.verify(FROZEN / "blank-2021.xlsx", key=KEY).findings)
    assert set(codes) == {"value-blank", "narrative-empty", "contact-missing"}


def test_frozen_blank_filled_today_verifies_clean(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_bytes(xltool.fill((FROZEN / "blank-2021.xlsx").read_bytes(), consistent(1)))
    assert [f.code for f in xltool.verify(path, key=KEY).findings] == []
    assert _data(path)["values"] == _expected("filled-2021")["values"]


def test_frozen_return_fails_with_another_key() -> None:
    codes = [f.code for f in xltool.verify(FROZEN / "filled-2021.xlsx", key=b"another key").findings]
    assert codes == ["signature-invalid"]
