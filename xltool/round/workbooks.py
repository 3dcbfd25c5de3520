"""The round's workbooks: one per roster agency, written on both cores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltool.form.generate import carry_over, spec_or_error, workbook_bytes
from xltool.round.roster import Agency
from xltool.round.verify import last_year
from xltool.util import atomic_write, bounded_filename, output_lock, parallel_map

PARALLEL_FROM = 40  # below this, starting worker processes costs more than it saves
NAME_CHARS = 60  # of the agency name in a file name: paths stay well inside Windows' 260 characters


@dataclass(frozen=True)
class WorkbookJob:
    year: int
    code: str
    name: str
    path: str
    key: bytes | None
    prefill: tuple[tuple[str, Any], ...] = ()


def _run(job: WorkbookJob) -> str:
    atomic_write(job.path, workbook_bytes(job.year, job.code, job.name, job.key, dict(job.prefill)))
    return job.path


def file_name(agency: Agency, year: int) -> str:
    return bounded_filename(agency.name[:NAME_CHARS], f"_{year}.xlsx", keep=f"{agency.code}_")


def generate_roster(agencies: list[Agency], year: int, out_dir: Path, key: bytes | None,
                    previous: Mapping[str, Mapping[str, Any]] | None = None, workers: int | None = None) -> list[str]:
    spec = spec_or_error(year)
    jobs = []
    for a in agencies:
        prefill = carry_over(spec, last_year(previous, a.code, a.name) or {}) if previous else {}
        jobs.append(WorkbookJob(year, a.code, a.name, str(out_dir / file_name(a, year)), key, tuple(prefill.items())))
    with output_lock(out_dir, "另一个 xltool generate"):
        return parallel_map(_run, jobs, "生成", parallel_from=PARALLEL_FROM, workers=workers, chunksize=16)
