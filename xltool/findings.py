"""Findings: typed values with a stable code, a severity, where they point, and a Chinese message
a clerk can act on — where (sheet, cell, the official row and column), which rule, what was
found, how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

SEVERITY = {
    "file-unreadable": "error", "file-too-large": "error", "file-legacy-format": "warning",
    "file-has-macros": "warning", "form-unknown": "error", "signature-invalid": "error",
    "sheet-missing": "error", "label-changed": "error", "formula-changed": "error",
    "protection-removed": "warning", "cached-value-mismatch": "error", "value-blank": "error",
    "value-not-number": "error", "value-text-number": "warning", "value-negative": "error",
    "value-not-integer": "error", "rule-balance": "error", "rule-outcome-total": "error",
    "rule-row-total": "error", "rule-review-total": "error", "rule-carry-over": "error",
    "rule-stock-continuity": "warning", "fee-unit-suspect": "warning", "processing-fee-missing": "warning",
    "narrative-empty": "warning", "narrative-number-mismatch": "warning", "contact-missing": "warning",
    "duplicate-return": "warning",
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: d[k] for k in ("code", "severity", "sheet", "cell", "key", "message")}


def finding(code: str, message: str, sheet: str | None = None, cell: str | None = None,
            key: str | None = None, severity: str | None = None) -> Finding:
    return Finding(code, severity or SEVERITY[code], message, sheet, cell, key)


def fmt(v: Any) -> str:
    """A figure as a clerk would write it: 12, 12.5 (never 12.500000001), or 空白."""
    if v is None:
        return "空白"
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))
    return str(v)


def where(spec, key: str, sheet: str | None, cell: str | None) -> str:
    """「表二依申请公开」D7（一、本年新收政府信息公开申请数量／自然人）"""
    label = spec.cells[key].label if key in spec.cells else key
    place = f"“{sheet}”表 {cell} 单元格" if sheet and cell else "工作簿中"
    return f"{place}（{label}）"


def status_of(findings: list[Finding]) -> str:
    if any(f.severity == "error" for f in findings):
        return "errors"
    return "warnings" if findings else "ok"
