"""xltool: the yearly 政府信息公开工作年度报告 round, from locked workbooks to the final report.

The Python API; the command line (`xltool.cli`) is a thin layer over it.

    import xltool
    data = xltool.generate(2021, "001", "某某局")          # bytes of a locked workbook
    data = xltool.fill(data, {"requests.new.natural_person": 5})
    ret = xltool.read("001.xlsx")                          # ret.to_json(): the return as data
    result = xltool.verify("001.xlsx")                     # result.status, result.findings
"""

from __future__ import annotations

from xltool.form.fill import fill_bytes as fill
from xltool.form.generate import workbook_bytes as generate
from xltool.form.returns import read_return as read
from xltool.form.spec import get_spec
from xltool.round.verify import verify_path as verify
from xltool.round.verify import verify_paths

__all__ = ["fill", "generate", "get_spec", "read", "verify", "verify_paths"]
