"""The status page reads well (issue 14, Deliver 4 and 5): a heading with the year and the
coordinator, the counts at the top, and columns a coordinator can read at a laptop's width — the
agency's name never narrower than 8 characters, each state on one line — while long file names
and addresses give way. Measured in a real headless Chromium with a script inside the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import require
from test_merge import make_return, roster_file

from support import chromium
from xltool.findings import STATE_TEXT
from xltool.round.roster import load_roster
from xltool.round.status import render_html, status_paths

LAPTOP = 1366  # a typical laptop's width in CSS pixels
LONG_NAME = "某某省某某市某某区人力资源和社会保障局劳动保障监察支队"
NAMES = {"001": LONG_NAME, "002": "某某市某某区市场监督管理局某某市场监督管理所", "003": "某某区教育局",
         "004": "某某市住房和城乡建设局（某某市人民防空办公室）"}

MEASURE = """<script>
addEventListener('load', () => {
  const em = parseFloat(getComputedStyle(document.querySelector('#agencies td.name')).fontSize);
  const rows = [...document.querySelectorAll('#agencies tr.agency')].map(tr => {
    const name = tr.querySelector('td.name'), state = tr.querySelector('td.state');
    const range = document.createRange();
    range.selectNodeContents(state.firstChild);  // the state's words, not the 逾期 line under them
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    const style = getComputedStyle(name);
    return {code: tr.dataset.code, name_width: name.clientWidth - parseFloat(style.paddingLeft)
              - parseFloat(style.paddingRight), state_lines: lines, state_text: state.firstChild.textContent};
  });
  const out = document.createElement('pre');
  out.id = 'measure';
  out.textContent = JSON.stringify({em, rows, page: document.documentElement.scrollWidth, viewport: innerWidth});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("status-page")
    returns = root / "returns"
    # long file names, as mail attachments are really named
    make_return(returns, "001", NAMES["001"], seed=1,
                file=f"001_{NAMES['001']}_2021年度政府信息公开工作年度报告填报表_最终修改版_盖章前.xlsx")
    make_return(returns, "002", NAMES["002"], seed=2, change={"requests.new.natural_person": None},
                file="002_20220106T113800_f2bfd51e_0123456789abcdef0123456789abcdef.xlsx")
    make_return(returns, "003", NAMES["003"], seed=3, change={"active.fees.amount": 250000})
    roster = roster_file(root, [(c, n, f"zhengwugongkai.{c}.bangongshi@example.gov.cn") for c, n in NAMES.items()])
    report = status_paths(load_roster(roster), [returns], show_progress=False)
    html = render_html(report, year=2021, coordinator="某某市人民政府办公室")
    path = root / "进度.html"
    path.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return path


def test_heading_names_the_year_and_the_coordinator_and_counts_come_first(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert re.search(r"<h1>2021年度.*报送进度</h1>", html)
    assert '<span id="year">2021</span>' in html and '<span id="coordinator">某某市人民政府办公室</span>' in html
    counts, table = html.index('id="count-total"'), html.index('<table id="agencies"')
    assert counts < table and html.index('id="count-missing"') < table
    assert "名单共 4 个单位" in html


def test_without_a_round_the_page_says_neither() -> None:
    from xltool.round.status import StatusReport

    html = render_html(StatusReport([], []))
    assert 'id="year"' not in html and 'id="coordinator"' not in html and "报送进度" in html


@pytest.mark.slow
def test_columns_are_readable_at_a_laptops_width(page: Path) -> None:
    require([] if chromium.find_chromium() else ["chromium"], "apt-get install chromium")
    dom = chromium.dump_dom(page, LAPTOP)
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)
    assert found, dom[-500:]
    got = json.loads(found.group(1).replace("&quot;", '"'))
    assert got["page"] <= got["viewport"], "the page scrolls sideways at a laptop's width"
    rows = {r["code"]: r for r in got["rows"]}
    assert set(rows) == set(NAMES)
    for code, row in rows.items():
        # at least 8 characters of the agency's name on a line (a CJK character is 1 em wide)
        assert row["name_width"] >= 8 * got["em"] - 0.5, (code, row, got["em"])
        assert row["state_lines"] == 1, (code, row)
        assert row["state_text"] in STATE_TEXT.values()
