"""Build returns the way a clerk would: generate the agency's workbook, then type values into
cells by their defined names (through `xltool fill`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.form.spec import get_spec

SPEC = get_spec("gov-info-disclosure", "2021")
APPLICANTS = [c.key for c in SPEC.table("requests").columns if c.key != "total"]


def zeros() -> dict[str, Any]:
    return {k: 0 for k in SPEC.input_keys if SPEC.cells[k].numeric}


def consistent(seed: int = 1) -> dict[str, Any]:
    """Realistic nonzero figures that satisfy every rule of the form."""
    v = zeros()
    v.update({"active.regulations.issued": 1 + seed % 3, "active.regulations.in_force": 12 + seed,
              "active.normative_documents.issued": 4 + seed, "active.normative_documents.repealed": 2,
              "active.normative_documents.in_force": 40 + seed, "active.licensing.decisions": 150 + seed,
              "active.penalties.decisions": 30 + seed, "active.coercion.decisions": seed % 4,
              "active.fees.amount": 12.5 + seed, "processing_fee.notices": 1, "processing_fee.notice_amount": 300,
              "processing_fee.collected": 200})
    for i, col in enumerate(APPLICANTS):
        new, carried = 20 + 3 * i + seed, i % 3
        outcome = {"granted": new // 2, "partial": 2, "denied_third_party": 1, "unable_not_held": 3,
                   "rejected_duplicate": 1, "other_unpaid_fee": 1 if i == 0 else 0}
        forward = new + carried - sum(outcome.values())
        assert forward >= 0
        v[f"requests.new.{col}"] = new
        v[f"requests.carried_over.{col}"] = carried
        v[f"requests.carried_forward.{col}"] = forward
        for row, n in outcome.items():
            v[f"requests.{row}.{col}"] = n
    for block in ("reconsideration", "litigation_direct", "litigation_after_reconsideration"):
        v.update({f"review.{block}.upheld": 2, f"review.{block}.corrected": 1, f"review.{block}.other": 0,
                  f"review.{block}.pending": 1})
    total_new = sum(v[f"requests.new.{c}"] for c in APPLICANTS)
    v.update({"narrative.overview": f"本年共收到政府信息公开申请{total_new}件。",
              "narrative.problems": "主要问题：公开内容更新不够及时。改进情况：建立定期更新机制。",
              "narrative.other": "依据《政府信息公开信息处理费管理办法》，本年发出收费通知1件，实际收取金额200元。",
              "contact.address": "某某区政务服务中心3楼", "contact.postcode": "150300", "contact.phone": "0451-53761766",
              "contact.website": "http://www.example.gov.cn/"})
    return v


def make_return(tmp: Path, values: dict[str, Any] | None = None, code: str = "001", name: str = "某某区营商环境建设监督局",
                year: int = 2021, key: bytes | None = None, filename: str | None = None) -> Path:
    data = workbook_bytes(year, code, name, key)
    data = fill_bytes(data, consistent() if values is None else values)
    path = tmp / (filename or f"{code}.xlsx")
    path.write_bytes(data)
    return path


def table_labels(table) -> list[str]:
    """Every label of a table in reading order (row by row, left to right)."""
    return [g.text for g in sorted(table.grid, key=lambda g: (g.row, g.col)) if g.text]


def in_order(text: str, parts: list[str]) -> bool:
    """Every part occurs in text, each after the previous one."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def said_once(message: str) -> bool:
    """A finding's message says each thing once: no two sentences share a run of 12 characters
    outside what they quote (the same advice said twice, once by the check and once by the
    catalogue's fix; a quotation “…” may repeat what the document says), and no sentence ends
    twice ("。，")."""
    import re

    own = re.sub(r"“[^”]*”", "“”", message)
    sentences = [s for s in re.split(r"(?<=[。！？])", own) if s.strip()]
    runs = [{s[i:i + 12] for i in range(len(s) - 11)} for s in sentences]
    shared = any(runs[i] & runs[j] for i in range(len(runs)) for j in range(i + 1, len(runs)))
    return not shared and "。，" not in message and "，。" not in message
