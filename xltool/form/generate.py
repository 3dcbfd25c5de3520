"""One agency's workbook: the form rendered for a statistics year, signed, with last year's
carried-over figures typed in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from xltool.errors import UsageError
from xltool.form import writer
from xltool.form.fill import fill_bytes
from xltool.form.spec import Spec, all_specs, spec_for_year

# An agency code names the agency's folder and files: letters, digits, _ and -, nothing else.
AGENCY_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-]{0,39}$")


def checked_code(code: str) -> str:
    code = code.strip()
    if not AGENCY_CODE.match(code):
        raise UsageError(f"单位代码“{code}”只能由字母、数字、下划线和连字符组成。")
    return code


def spec_or_error(year: int) -> Spec:
    spec = spec_for_year(year)
    if spec is None:
        served = "；".join(f"{s.years[0]}—{s.years[1]} 年度（{s.basis}格式）" for s in all_specs())
        raise UsageError(f"不支持统计年度 {year}：本工具的表单适用于 {served}。")
    return spec


def agency_workbook(year: int, code: str, name: str, key: bytes | None = None,
                    previous: Mapping[str, Any] | None = None) -> bytes:
    """One agency's workbook, its code checked, last year's carried-over figures typed in."""
    if not name.strip():
        raise UsageError("请给出单位名称。")
    prefill = carry_over(spec_or_error(year), previous) if previous else None
    return workbook_bytes(year, checked_code(code), name.strip(), key, prefill)


def workbook_bytes(year: int, code: str, name: str, key: bytes | None = None,
                   prefill: Mapping[str, Any] | None = None) -> bytes:
    spec = spec_or_error(year)
    data = writer.render(spec, year, code, name, key)
    return fill_bytes(data, dict(prefill)) if prefill else data


def carry_over(spec: Spec, previous: Mapping[str, Any]) -> dict[str, Any]:
    """This year's cells that follow from last year's figures (上年结转 from 结转下年度继续办理),
    as the rules that compare a key with a previous(...) one say."""
    out = {}
    for rule in spec.rules:
        if rule.severity == "error" and len(rule.left) == 1 and len(rule.right) == 1 and rule.right[0].previous:
            value = spec.last_year(previous, rule.right[0].key)
            if value is not None:
                out[rule.left[0].key] = value
    return out
