"""Shared helpers for the mail tests (send, collect, remind): a roster, returns made through the
product, the sample mailbox, and the CLI. No tests of its own."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner, Result

from builders import consistent
from xltool.form.fill import fill_bytes
from xltool.form.generate import workbook_bytes
from xltool.mail.samplebox import build_sample_mailbox
from xltool.round.roster import Agency

YEAR = 2021
ROSTER = [
    ("001", "某某区教育局", "jyj@example.gov.cn"),
    ("002", "某某区卫生健康局", "wjj@example.gov.cn"),
    ("003", "某某区民政局", "mzj@example.gov.cn"),
    ("004", "某某区财政局", "czj@example.gov.cn"),
    ("005", "某某区人力资源和社会保障局", "rsj@example.gov.cn"),
    ("006", "某某区自然资源局", "zrj@example.gov.cn"),
    ("007", "某某区交通运输局", "jtj@example.gov.cn"),
    ("008", "某某区文化和旅游局", "wlj@example.gov.cn"),
]
WITH_ERRORS = {"003", "005"}  # their returns leave a count blank: a finding for remind
RETURNED = [code for code, _, _ in ROSTER[:7]]  # 008 never returns


def agencies() -> list[Agency]:
    return [Agency(code, name, email, row) for row, (code, name, email) in enumerate(ROSTER, 2)]


def write_roster(folder: Path) -> Path:
    path = folder / "roster.csv"
    path.write_text("code,name,email\n" + "".join(f"{c},{n},{e}\n" for c, n, e in ROSTER), encoding="utf-8")
    return path


@functools.cache
def sample_returns() -> dict[str, bytes]:
    """What the agencies send back, filled in through `fill`; two of them with a blank count."""
    out = {}
    for seed, (code, name, _) in enumerate(ROSTER[:7], 1):
        values = consistent(seed)
        if code in WITH_ERRORS:
            values["requests.new.natural_person"] = None
        out[code] = fill_bytes(workbook_bytes(YEAR, code, name), values)
    return out


def sample_mbox(folder: Path) -> Path:
    path = folder / "inbox.mbox"
    build_sample_mailbox(sample_returns(), agencies(), path)
    return path


def run(*args: Any, env: dict[str, str] | None = None) -> Result:
    """Invoke the CLI; the mail commands join the group here until cli.py registers them."""
    from xltool.cli import cli
    from xltool.commands.mail import collect, remind, send

    group = cli if "collect" in cli.commands else click.Group("xltool", commands={c.name: c for c in (send, collect, remind)})
    return CliRunner().invoke(group, [str(a) for a in args], env=env, catch_exceptions=False)


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, str]:
    """Every file under a folder with its SHA-256: to prove a run changed nothing."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def outcome(out: Path) -> dict[str, Any]:
    """What a collect run decided, independent of where the mail came from: current returns by
    content, every version, the companions and the unidentified files."""
    data = manifest(out)
    return {
        "current": {code: hashlib.sha256((out / rel).read_bytes()).hexdigest() for code, rel in data["current"].items()},
        "versions": {code: sorted((v["sha256"], v["date"]) for v in a["versions"]) for code, a in data["agencies"].items()},
        "companions": {code: sorted(x["sha256"] for x in a["attachments"]) for code, a in data["agencies"].items()},
        "unidentified": sorted((u["sha256"], u["reason"]) for u in data["unidentified"]),
        "links": sorted(link["url"] for link in data["large_attachment_links"]),
        "messages": sorted(m["key"] for m in data["messages"]),
    }
