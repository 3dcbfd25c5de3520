"""Library first: the whole round through `import xltool`, no command line involved."""

from __future__ import annotations

from pathlib import Path

import pytest

import xltool
from builders import consistent
from xltool.errors import InputError, UsageError


def test_the_round_through_the_python_api(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name,email\n001,甲局,a@example.gov.cn\n002,乙局,b@example.gov.cn\n"
                      "003,丙局,c@example.gov.cn\n", encoding="utf-8")
    written = xltool.generate_roster(roster, 2021, tmp_path / "下发")
    assert len(written) == 3
    sent = xltool.send(tmp_path / "下发", roster, "某某区政务公开办 <gkb@example.gov.cn>", outbox=tmp_path / "发件箱")
    assert len(sent.report.written) == 3 and not sent.missing

    returns = tmp_path / "收到"
    returns.mkdir()
    for seed, path in enumerate(sorted(map(Path, written))[:2], start=1):
        values = consistent(seed)
        if seed == 2:
            values["requests.granted.commercial"] += 1  # the balance no longer holds
        (returns / path.name).write_bytes(xltool.fill(path.read_bytes(), values))

    results = xltool.verify_paths([returns], annotate=tmp_path / "批注")
    assert sorted(r.status for r in results) == ["errors", "ok"]
    assert len(list((tmp_path / "批注").iterdir())) == 1
    assert xltool.read(returns / Path(written[0]).name).values["requests.new.natural_person"] == consistent(1)[
        "requests.new.natural_person"]

    progress = xltool.status(roster, [returns])
    assert {a.agency.code: a.state for a in progress.agencies} == {"001": "ok", "002": "errors", "003": "missing"}
    merged = xltool.merge([returns], roster=roster, output=tmp_path / "汇总.xlsx", agency_code="100",
                          agency_name="某某区人民政府")
    assert [i.code for i in merged.included] == ["001"] and [e.code for e in merged.excluded] == ["002"]
    assert xltool.verify(tmp_path / "汇总.xlsx").status != "errors"

    outcome = xltool.report(tmp_path / "汇总.xlsx", tmp_path / "报告", formats="html,md")
    assert sorted(p.suffix for p in outcome.written) == [".html", ".md"]
    todo = xltool.remind(returns, roster, "gkb@example.gov.cn", outbox=tmp_path / "催报")
    assert sorted(c.agency.code for c in todo) == ["002", "003"]


def test_api_errors_carry_their_exit_status(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as used_wrongly:
        xltool.generate(2021, "0 1", "某局")
    assert used_wrongly.value.exit_status == 2 and "单位代码" in used_wrongly.value.message
    with pytest.raises(InputError) as bad_data:
        xltool.fill(xltool.generate(2021, "001", "某局"), {"requests.new.total": True})
    assert bad_data.value.exit_status == 1
