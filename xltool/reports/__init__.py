"""The final report (政府信息公开工作年度报告) of one agency, or of every agency in a folder:
composed from a return and narrative templates, drawn as HTML, DOCX, PDF or Markdown.

    from xltool.reports import Narrative, plan, write_reports
    outcome = write_reports("returns/", plan("reports/", "html,docx"), Narrative())

Data flow: run (inputs, outputs) → model (what the report says; narrative templates) →
html / markdown / docx (→ pdf) drawing the official tables from the spec's grids (grid)."""

from xltool.reports.model import Narrative, Report, ReportData, compose, from_json, from_return
from xltool.reports.narrative import TemplateProblem
from xltool.reports.run import FORMATS, Outcome, Own, Plan, plan, write_reports

__all__ = ["FORMATS", "Narrative", "Outcome", "Own", "Plan", "Report", "ReportData", "TemplateProblem", "compose",
           "from_json", "from_return", "plan", "write_reports"]
