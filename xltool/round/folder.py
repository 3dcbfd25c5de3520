"""The round folder (PRODUCT.md, "The round folder"): `round.toml` with the round's facts, and one
folder per step. Every command run inside it (or with `--round DIR`) takes its defaults from
it; a flag given on the command line still wins.

`round.toml` is read as UTF-8, UTF-8 with BOM or GB18030, since Notepad saves all three; paths
in it are relative to the folder that holds it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.util import atomic_write, check_writable_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NAME = "round.toml"
MAX_BYTES = 1024 * 1024  # a round.toml is a few hundred bytes; anything larger is not one

# The folders of a round, by what they hold (PRODUCT.md's table).
DIST, OUTBOX, RECEIVED, ANNOTATED, MERGED, REPORTS, ARCHIVE, IMPORTED = (
    "下发", "发件箱", "收到", "批注", "汇总", "报告", "归档", "导入")
FOLDERS = (DIST, OUTBOX, RECEIVED, ANNOTATED, MERGED, REPORTS, ARCHIVE, IMPORTED)
CONFIRMATIONS = "确认记录.json"
FINDINGS = "审核结果.json"
MERGED_BOOK, MERGED_JSON = "汇总.xlsx", "汇总.json"
KEY_FILE = "key.txt"


@dataclass(frozen=True)
class Coordinator:
    code: str
    name: str
    sender: str  # "某某区政务公开办 <gkb@example.gov.cn>"


class _At:
    """A path inside the round folder, read as an attribute of the Round."""

    def __init__(self, *parts: str):
        self.parts = parts

    def __get__(self, rnd: Round, owner: type | None = None) -> Path:
        return rnd.root.joinpath(*self.parts)


@dataclass(frozen=True)
class Round:
    """A round folder as round.toml describes it; every path absolute."""

    root: Path
    year: int
    coordinator: Coordinator
    deadline: date | None = None
    roster: Path | None = None
    key_file: Path | None = None
    previous: Path | None = None
    issued: date | None = None
    narrative: Path | None = None  # the coordinator's own report: its narrative template
    contact: dict[str, str] = field(default_factory=dict)  # and its contact details

    dist, outbox, received, imported = _At(DIST), _At(OUTBOX), _At(RECEIVED), _At(IMPORTED)
    annotated, findings, confirmations = _At(ANNOTATED), _At(ANNOTATED, FINDINGS), _At(CONFIRMATIONS)
    merged, merged_json = _At(MERGED, MERGED_BOOK), _At(MERGED, MERGED_JSON)
    reports, archives = _At(REPORTS), _At(ARCHIVE)

    def returns(self) -> list[Path]:
        """What verify, status, remind and merge read when no PATH is given: 收到/ and 导入/."""
        return [p for p in (self.received, self.imported) if p.is_dir() and any(p.iterdir())] or [self.received]

    def key(self) -> bytes | None:
        from xltool.util import read_secret

        return read_secret(str(self.key_file) if self.key_file else None, "XLTOOL_KEY")


# --- reading --------------------------------------------------------------------------------------


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UsageError(f"{path} 的编码无法识别：请用记事本另存为 UTF-8。")


def load_round(root: str | os.PathLike) -> Round:
    """The round of the folder `root` (holding round.toml); UsageError naming what is wrong."""
    root = Path(root).absolute()
    path = root / NAME
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise UsageError(f"无法读取本轮配置 {path}：{e.strerror or e}。") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path} 过大，不是 xltool 的本轮配置。")
    try:
        doc = tomllib.loads(_decode(data, path))
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path} 格式有误：{e}。请按 TOML 格式修改（如 year = 2022，文字加英文双引号）。") from None
    return _parse(doc, root, path)


def _parse(doc: dict[str, Any], root: Path, path: Path) -> Round:
    problems: list[str] = []

    def text(table: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                problems.append(f"缺少 {where}{key}")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}{key} 应为一段文字（加英文双引号）")
            return None
        return value.strip()

    def day(key: str) -> date | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        problems.append(f"{key} 应为日期，如 {key} = 2023-01-15")
        return None

    def relative(value: str | None) -> Path | None:
        return None if value is None else (root / value).absolute() if not Path(value).is_absolute() else Path(value)

    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2999:
        problems.append("year 应为统计年度，如 year = 2022")
    table = doc.get("coordinator")
    if not isinstance(table, dict):
        problems.append("缺少 [coordinator] 部分（汇总单位的 code、name、from）")
        table = {}
    code = text(table, "code", "[coordinator] ", True)
    name = text(table, "name", "[coordinator] ", True)
    sender = text(table, "from", "[coordinator] ", True)
    report = doc.get("report") or {}
    if not isinstance(report, dict):
        problems.append("[report] 应为一个部分")
        report = {}
    contact = report.get("contact") or {}
    if not isinstance(contact, dict) or not all(isinstance(v, str) for v in contact.values()):
        problems.append("[report] contact 应为 { address = \"…\", phone = \"…\" } 的形式")
        contact = {}
    result = dict(deadline=day("deadline"), issued=day("issued"),
                  roster=relative(text(doc, "roster", "")), key_file=relative(text(doc, "key_file", "")),
                  previous=relative(text(doc, "previous", "")), narrative=relative(text(report, "narrative", "[report] ")))
    if problems:
        raise UsageError(f"本轮配置 {path} 有误：" + "；".join(problems) + "。")
    assert isinstance(year, int) and code and name and sender
    return Round(root, year, Coordinator(code, name, sender), contact={k: v.strip() for k, v in contact.items()},
                 **result)  # type: ignore[arg-type]


def find_round(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Round | None:
    """The round named by --round, or the one whose round.toml is in `start` (the current folder)
    or one of its parents; None when there is none."""
    if explicit is not None:
        root = Path(explicit)
        if root.name == NAME and root.is_file():
            root = root.parent
        if not (root / NAME).is_file():
            raise UsageError(f"{root} 不是本轮工作文件夹（其中没有 {NAME}）。可用 xltool init 新建。")
        return load_round(root)
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / NAME).is_file():
            return load_round(folder)
    return None


# --- writing --------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def render_toml(values: dict[str, Any]) -> str:
    lines = ["# xltool 本轮配置：在本文件夹（或其子文件夹）中运行的 xltool 命令都以此为默认值，命令行参数优先。",
             "# 用记事本修改即可；文字加英文双引号，日期写成 2023-01-15。", ""]
    simple = {k: v for k, v in values.items() if not isinstance(v, dict)}
    for key, value in simple.items():
        if value is None:
            continue
        lines.append(f"{key} = {_quote(value) if isinstance(value, str) else value.isoformat() if isinstance(value, date) else value}")
    for section, table in values.items():
        if not isinstance(table, dict):
            continue
        lines += ["", f"[{section}]"]
        for key, value in table.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {_quote(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            elif value is not None:
                lines.append(f"{key} = {_quote(value)}")
    return "\n".join(lines) + "\n"


def init_round(root: Path, *, year: int, roster: Path, coordinator: Coordinator, deadline: date,
               key_file: Path | None = None, previous: Path | None = None, issued: date | None = None) -> Round:
    """Create the round folder: round.toml, the step folders, the roster copied in, and a new
    signing key (key.txt, readable by its owner only) unless one is named."""
    from xltool.round.roster import load_roster

    if (root / NAME).exists():
        raise UsageError(f"{root} 已经是本轮工作文件夹（已有 {NAME}），不会覆盖。要新建请换一个文件夹。")
    load_roster(roster)  # a bad roster is refused before anything is written
    check_writable_dir(root)
    for name in FOLDERS:
        (root / name).mkdir(exist_ok=True)
    roster_name = "roster" + (roster.suffix.lower() if roster.suffix.lower() in (".csv", ".xlsx") else ".csv")
    shutil.copyfile(roster, root / roster_name)
    if key_file is None:
        key_path = root / KEY_FILE
        atomic_write(key_path, (secrets.token_hex(32) + "\n").encode())
        os.chmod(key_path, 0o600)
        key_value = KEY_FILE
    else:
        key_value = os.path.relpath(key_file.absolute(), root.absolute())
    values: dict[str, Any] = {"year": year, "deadline": deadline, "roster": roster_name, "key_file": key_value,
                              "previous": os.path.relpath(previous.absolute(), root.absolute()) if previous else None,
                              "issued": issued,
                              "coordinator": {"code": coordinator.code, "name": coordinator.name,
                                              "from": coordinator.sender}}
    text = render_toml(values)
    text += ("\n# 本单位（汇总单位）自己的年度报告：正文模板和联系方式，按需填写后去掉行首的 #。\n"
             "# [report]\n# narrative = \"正文.j2\"\n"
             "# contact = { address = \"…\", postcode = \"…\", phone = \"…\", website = \"…\" }\n")
    atomic_write(root / NAME, text.encode("utf-8"))
    return load_round(root)
