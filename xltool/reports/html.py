"""The report as HTML: one self-contained page for a government website, or a fragment for a
website CMS that strips <style> (the same body, styles inline).

Every text from the return is escaped (Jinja2 autoescape). Wide tables scroll sideways inside
their own wrapper on a phone instead of widening the page; printed, they fit the A4 width and
repeat their header rows on every page."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from xltool.form.spec import Table
from xltool.reports.grid import ShownCell, column_weights, shown_rows
from xltool.reports.model import DRAFT, DRAFT_NOTE, Report
from xltool.resources import TemplateLoader

# One set of styles for both shapes: the page puts them in <style> and refers to them by class,
# the fragment writes them inline.
STYLES = {
    "report": "max-width:60em;margin:0 auto;padding:1em;color:#111;background:#fff;line-height:1.8;"
              "font-family:'FangSong','仿宋_GB2312','仿宋','Noto Serif CJK SC','Source Han Serif SC',"
              "'Songti SC','SimSun',serif;font-size:16px",
    "title": "text-align:center;font-size:1.6em;font-weight:bold;line-height:1.5;margin:.5em 0 1em;"
             "font-family:'方正小标宋简体','FZXiaoBiaoSong-B05S','Noto Serif CJK SC','SimSun',serif;"
             "word-break:keep-all;overflow-wrap:anywhere",  # whole words a line; a name wider than a phone still wraps
    "draft": "color:#b00;border:2px solid #b00;padding:.4em .8em;margin:1em 0;text-align:center;font-weight:bold",
    "heading": "font-size:1.15em;font-weight:bold;margin:1.4em 0 .6em;text-indent:2em;"
               "font-family:'黑体','SimHei','Noto Sans CJK SC','Source Han Sans SC','PingFang SC',sans-serif",
    "para": "text-indent:2em;margin:.4em 0;text-align:justify",
    "closing": "text-align:right;margin:.4em 2em .4em 0",
    "wrap": "overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.8em 0 1.2em;max-width:100%",
    "table": "border-collapse:collapse;width:100%;table-layout:auto;font-size:.85em;line-height:1.4;"
             "background:#fff",
    "header": "border:1px solid #333;padding:.3em .25em;background:#f2f2f2;font-weight:normal;"
              "text-align:center;vertical-align:middle",
    "corner": "border:1px solid #333;padding:.3em .25em;background:#f2f2f2;font-weight:normal;"
              "text-align:left;vertical-align:middle",
    "block": "border:1px solid #333;padding:.3em .5em;background:#e6e6e6;font-weight:bold;text-align:left",
    "rowhead": "border:1px solid #333;padding:.3em .4em;font-weight:normal;text-align:left;vertical-align:middle",
    "data": "border:1px solid #333;padding:.3em .25em;text-align:center;vertical-align:middle;"
            "font-variant-numeric:tabular-nums;white-space:nowrap",
}

LABEL_COLUMN_EM = 6.0  # minimum width of a row-label column, so long labels wrap, not squeeze
FIGURE_COLUMN_EM = 2.8  # a figure column: two characters of a wrapped header, or a 5-digit figure


@dataclass(frozen=True)
class TableView:
    rows: list[list[ShownCell]]
    header_rows: int
    widths: list[float]  # percent
    min_width_em: float


def table_view(table: Table, values) -> TableView:
    """A table with what the page needs to draw it: its cells, its column widths in percent and
    the width below which it scrolls sideways rather than crushing its columns."""
    weights = column_weights(table)
    figure_cols = {g.col for g in table.grid if g.key}
    min_width = sum(FIGURE_COLUMN_EM if c in figure_cols else LABEL_COLUMN_EM for c in range(table.width))
    return TableView(shown_rows(table, values), table.header_rows,
                     [round(100 * w / sum(weights), 2) for w in weights], round(max(min_width, 20.0), 1))


def _css(fragment: bool):
    def css(name: str, extra: str = "") -> Markup:
        if fragment:
            return Markup(' style="{}"').format(STYLES[name] + (";" + extra if extra else ""))
        return Markup(' class="{}"').format(name) + (Markup(' style="{}"').format(extra) if extra else "")
    return css


_ENV = Environment(loader=TemplateLoader("report"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)


def stylesheet() -> Markup:
    return Markup("\n".join(f".{name}{{{rules}}}" for name, rules in STYLES.items()))


def render_html(report: Report, fragment: bool = False) -> bytes:
    template = _ENV.get_template("page.html.j2")
    tables = {s.table.id: table_view(s.table, report.values) for s in report.sections if s.table}
    html = template.render(report=report, tables=tables, fragment=fragment, css=_css(fragment),
                           stylesheet=stylesheet(), draft_word=DRAFT, draft_note=DRAFT_NOTE, wbr=Markup("<wbr>"))
    return html.encode("utf-8")
