"""Last year's figures (`--previous`): a return, a folder of returns, a merged workbook or a
`read --json` file, by agency code."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from xltool.errors import UsageError
from xltool.form.returns import FormError, read_return
from xltool.form.spec import PreviousFigures
from xltool.office.container import ContainerError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _from_json(path: Path) -> dict[str, PreviousFigures]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
    except (OSError, ValueError) as e:
        raise UsageError(f"上年数据文件 {path} 不是有效的 JSON：{e}") from None
    items = data if isinstance(data, list) else data.get("returns", [data]) if isinstance(data, dict) else []
    out = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("values"), dict):
            code = str((item.get("agency") or {}).get("code", ""))
            version = item.get("form_version")
            out[code] = PreviousFigures(item["values"], str(version) if version is not None else None)
    if not out:
        raise UsageError(f"上年数据文件 {path} 中没有找到 values（应为 xltool read --json 的输出）。")
    return out


def load_previous(path: str | Path) -> dict[str, PreviousFigures]:
    """Agency code -> last year's values. Unreadable files in a folder are skipped."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"找不到上年数据：{path}")
    if path.is_file() and path.suffix.lower() == ".json":
        return _from_json(path)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in WORKBOOK_SUFFIXES) if path.is_dir() else [path]
    out: dict[str, PreviousFigures] = {}
    for f in files:
        try:
            ret = read_return(f)
        except (ContainerError, FormError) as e:
            if path.is_file():
                raise UsageError(f"上年数据 {f} 无法读取：{e.message}") from None
            continue
        out[ret.agency_code] = PreviousFigures(ret.values, ret.spec.version)
    return out
