"""The README's generated parts match the code they are made from."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from xltool.findings import CATALOGUE, catalogue_table
from xltool.form.spec import get_spec
from xltool.office.container import CODES

REPO = Path(__file__).resolve().parent.parent


def test_readme_table_of_finding_codes_is_the_catalogue() -> None:
    spec = importlib.util.spec_from_file_location("readme_tool", REPO / "tools" / "readme.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert tool.generated(text) == text, "README.md is stale: run python3 tools/readme.py"
    assert catalogue_table() in text


def test_the_catalogue_knows_every_code_the_product_raises() -> None:
    used = set(CODES) | {rule.code for rule in get_spec("gov-info-disclosure", "2021").rules}
    for path in (REPO / "xltool").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= {code for code in CATALOGUE if f'"{code}"' in source}
    assert used == set(CATALOGUE)
    assert {c for c, entry in CATALOGUE.items() if entry.figure_warning} == {"fee-unit-suspect", "rule-stock-continuity",
                                                                                  "form-trial-2019"}
