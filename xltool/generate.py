"""Generating the per-agency workbooks: one, or one per roster row on both cores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from . import writer
from .fill import fill_bytes
from .roster import Agency
from .spec import Spec, spec_for_year
from .util import UsageError, atomic_write, parallel_map, safe_filename

PARALLEL_FROM = 40  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True)
class Job:
    year: int
    code: str
    name: str
    path: str
    key: bytes | None
    prefill: tuple[tuple[str, Any], ...] = ()


def spec_or_error(year: int) -> Spec:
    spec = spec_for_year(year)
    if spec is None:
        raise UsageError(f"不支持统计年度 {year}：本工具支持 2021 年及以后的年度（国办公开办函〔2021〕30号格式）。")
    return spec


def workbook_bytes(year: int, code: str, name: str, key: bytes | None = None,
                   prefill: Mapping[str, Any] | None = None) -> bytes:
    spec = spec_or_error(year)
    data = writer.render(spec, year, code, name, key)
    return fill_bytes(data, dict(prefill)) if prefill else data


def _run(job: Job) -> str:
    atomic_write(job.path, workbook_bytes(job.year, job.code, job.name, job.key, dict(job.prefill)))
    return job.path


def carry_over(spec: Spec, previous: Mapping[str, Any]) -> dict[str, Any]:
    """This year's cells that follow from last year's figures (上年结转 from 结转下年度继续办理),
    as the rules that compare a key with a previous(...) one say."""
    out = {}
    for rule in spec.rules:
        if rule.severity == "error" and len(rule.left) == 1 and len(rule.right) == 1 and rule.right[0].previous:
            value = previous.get(rule.right[0].key)
            if value is not None:
                out[rule.left[0].key] = value
    return out


def file_name(agency: Agency, year: int) -> str:
    return f"{agency.code}_{safe_filename(agency.name)}_{year}.xlsx"


def generate_roster(agencies: list[Agency], year: int, out_dir: Path, key: bytes | None,
                    previous: Mapping[str, Mapping[str, Any]] | None = None, workers: int | None = None) -> list[str]:
    spec = spec_or_error(year)
    jobs = []
    for a in agencies:
        prefill = carry_over(spec, previous.get(a.code, {})) if previous else {}
        jobs.append(Job(year, a.code, a.name, str(out_dir / file_name(a, year)), key, tuple(prefill.items())))
    return parallel_map(_run, jobs, "生成", parallel_from=PARALLEL_FROM, workers=workers, chunksize=16)
