"""One agency's workbook: the form rendered for a statistics year, signed, with last year's
carried-over figures typed in."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from xltool.errors import UsageError
from xltool.form import writer
from xltool.form.fill import fill_bytes
from xltool.form.spec import Spec, all_specs, spec_for_year

# An agency code names the agency's folder and files: letters, digits, _ and -, nothing else.
AGENCY_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-]{0,39}$")


# Spaces Excel rosters really carry at the ends of a name (typed, or pasted from a web page) are
# trimmed. Anything else invisible or direction-changing is refused, never dropped: the name is
# signed into the workbook, and a silent fix would give a name the coordinator never wrote.
NAME_SPACES = " \t\u00a0\u3000"


def _invisible(ch: str) -> bool:
    """A character XML cannot hold, or one a reader cannot see: controls (C0, C1 such as U+0085),
    format characters (zero-width U+200B-U+200D, U+2060, U+FEFF; direction marks and overrides
    U+200E/F, U+202A-U+202E, U+2066-U+2069), lone surrogates, line separators, noncharacters."""
    cp = ord(ch)
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") or cp & 0xFFFE == 0xFFFE \
        or 0xFDD0 <= cp <= 0xFDEF


def name_problem(name: str) -> str | None:
    """What is wrong with an agency name (already trimmed), in words for the roster's row; None if nothing."""
    bad = sorted({ch for ch in name if _invisible(ch)})
    if not bad:
        return None
    shown = "、".join(f"U+{ord(ch):04X}" for ch in bad[:5])
    return f"单位名称含有看不见或改变文字方向的字符（{shown}），请删除后重新输入（可在记事本中重新键入名称）。"


def checked_name(name: str) -> str:
    """An agency name for a workbook: end spaces trimmed, invisible characters refused (exit 2)."""
    name = name.strip(NAME_SPACES)
    if not name:
        raise UsageError("请给出单位名称。")
    problem = name_problem(name)
    if problem:
        raise UsageError(problem)
    return name


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
    name = checked_name(name)
    prefill = carry_over(spec_or_error(year), previous) if previous else None
    return workbook_bytes(year, checked_code(code), name, key, prefill)


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
