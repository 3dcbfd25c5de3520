"""Last year's figures (`--previous`): a return, a folder of returns, a merged workbook or a
`read --json` file, by agency code."""

from __future__ import annotations

from pathlib import Path

from xltool.errors import UsageError
from xltool.form import returndata
from xltool.form.returns import FormError, read_return
from xltool.form.spec import PreviousFigures
from xltool.office.container import ContainerError
from xltool.published.document import is_document
from xltool.published.names import name_key

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")


def _from_json(path: Path) -> dict[str, PreviousFigures]:
    out = {str((r.agency or {}).get("code", "")): PreviousFigures(r.values, r.form_version)
           for r in returndata.documents(returndata.load_json(path))}
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
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in WORKBOOK_SUFFIXES or is_document(p.name)) \
        if path.is_dir() else [path]
    out: dict[str, PreviousFigures] = {}
    for f in files:
        if is_document(f.name) and f.suffix.lower() not in WORKBOOK_SUFFIXES:
            _from_document(f, out, single=path.is_file())
            continue
        try:
            ret = read_return(f)
        except (ContainerError, FormError) as e:
            if path.is_file():
                raise UsageError(f"上年数据 {f} 无法读取：{e.message}") from None
            continue
        out[ret.agency_code] = PreviousFigures(ret.values, ret.spec.version)
        if ret.agency_name:
            out[name_key(ret.agency_name)] = out[ret.agency_code]
    return out


def _from_document(f: Path, out: dict[str, PreviousFigures], single: bool) -> None:
    """Last year's published report: its figures as printed, filed by its agency's name (and code)."""
    from xltool.published.importing import import_source

    imp = import_source(f)
    if not imp.readable:
        if single:
            why = "；".join(x.message for x in imp.findings[:2]) or "没有读到表格"
            raise UsageError(f"上年的报告 {f} 无法读取：{why}")
        return
    figures = PreviousFigures({k: imp.values.get(k) for k in imp.spec.numeric_keys}, imp.spec.version)
    if imp.agency_code:
        out[imp.agency_code] = figures
    out[name_key(imp.agency_name)] = figures
