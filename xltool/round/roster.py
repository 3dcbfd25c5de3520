"""The roster of agencies: code, name, e-mail. CSV (UTF-8, UTF-8 with BOM, GB18030) or .xlsx,
with English or Chinese headers. Problems are reported by row, never guessed around."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xltool.errors import UsageError
from xltool.form.generate import AGENCY_CODE, NAME_SPACES, name_problem
from xltool.office.container import ContainerError
from xltool.util import read_input

HEADERS = {
    "code": ("code", "单位代码", "单位编码", "代码", "机构代码", "统一社会信用代码"),
    "name": ("name", "单位名称", "机构名称", "名称", "单位"),
    "email": ("email", "邮箱", "电子邮箱", "e-mail", "邮件地址", "邮箱地址", "电子邮件"),
}
SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+\-]?\d+$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
# Offices keep several addresses in one cell: "a@x.cn; b@qq.com", with , ； ， or spaces too.
ADDRESS_SEPARATORS = re.compile(r"[;,；，、\s]+")
FORMULA_START = ("=", "+", "@")
MAX_ROSTER_BYTES = 20 * 1024 * 1024  # 2,000 agencies are well under 1 MB, as CSV or .xlsx


class RosterError(UsageError):
    """The roster cannot be used; the message lists every problem, by row."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def __reduce__(self):  # pickles with its list, not its joined message
        return type(self), (self.problems,)


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    email: str = ""  # every address of the agency, as shown: "a@x.cn; b@qq.com" (or "")
    row: int = 0

    @property
    def emails(self) -> tuple[str, ...]:
        """Every well-formed address, for sending to and for recognising the sender by."""
        return tuple(a for a in split_addresses(self.email) if EMAIL.match(a))

    @property
    def bad_addresses(self) -> tuple[str, ...]:
        """What the e-mail cell holds that is no address; said by the commands that must mail
        the agency (generate never looks at e-mail addresses)."""
        return tuple(a for a in split_addresses(self.email) if not EMAIL.match(a))

    def cannot_mail(self) -> str | None:
        """Why this agency cannot be mailed, in Chinese (naming its roster row); None when it can."""
        if self.emails:
            return None
        if self.bad_addresses:
            return f"名单第{self.row}行的邮箱“{'、'.join(self.bad_addresses)}”格式不正确（多个邮箱之间用分号隔开）"
        return f"名单第{self.row}行没有填写邮箱"


def split_addresses(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for a in ADDRESS_SEPARATORS.split(text or "") if a))


def by_address(agencies: list[Agency]) -> dict[str, list[Agency]]:
    """Lower-cased address -> the agencies it belongs to (one address may serve several)."""
    out: dict[str, list[Agency]] = {}
    for a in agencies:
        for address in a.emails:
            out.setdefault(address.lower(), []).append(a)
    return out


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterError(["名单文件的编码无法识别：请另存为 UTF-8 或 GB18030（Excel 的“CSV（逗号分隔）”）格式。"])


def _rows_csv(data: bytes) -> list[list[str]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _rows_xlsx(data: bytes) -> tuple[list[list[str]], set[tuple[int, int]]]:
    """The first visible sheet's rows, and which cells were numbers (codes Excel converted)."""
    from xltool.office.xlsx import load_book

    book = load_book(data)
    sheet = next((s for s in book.sheets.values() if s.state == "visible"), None)
    if sheet is None or not sheet.cells:
        return [], set()
    nrows = max(r for r, _ in sheet.cells) + 1
    ncols = max(c for _, c in sheet.cells) + 1
    rows = [[""] * ncols for _ in range(nrows)]
    numeric = set()
    for (r, c), cell in sheet.cells.items():
        rows[r][c] = (cell.value or "").strip(NAME_SPACES)
        if cell.type == "n" and cell.value:
            numeric.add((r, c))
    return rows, numeric


def _columns(header: list[str]) -> dict[str, int]:
    norm = [h.strip().lower() for h in header]
    out = {}
    for field, names in HEADERS.items():
        for i, h in enumerate(norm):
            if h in names:
                out[field] = i
                break
    return out


def load_roster(path: str | Path) -> list[Agency]:
    """The agencies of a roster; RosterError listing every problem by row. An empty e-mail cell
    is fine here: only a command that must mail that agency says so (generate never looks)."""
    path = Path(path)
    try:
        data = read_input(path, MAX_ROSTER_BYTES, "名单文件")
    except UsageError as e:
        raise RosterError([e.message]) from None
    numeric: set[tuple[int, int]] = set()
    if data[:4] == b"PK\x03\x04":
        try:
            rows, numeric = _rows_xlsx(data)
        except ContainerError as e:
            raise RosterError([f"名单文件 {path.name} 无法读取：{e.message}"]) from None
    else:
        rows = _rows_csv(data)
    rows = [r for r in rows if any(x.strip() for x in r)]
    if not rows:
        raise RosterError([f"名单文件 {path.name} 是空的。"])
    cols = _columns(rows[0])
    missing = [f for f in ("code", "name") if f not in cols]
    if missing:
        wanted = "、".join(f"{f}（{HEADERS[f][1]}）" for f in missing)
        raise RosterError([f"名单第1行（表头）缺少列：{wanted}。表头应为 code,name,email 或 单位代码,单位名称,邮箱。"])
    return _validate(rows, cols, numeric)


def _cell(row: list[str], i: int | None) -> str:
    """A cell with the spaces at its ends trimmed, no-break (U+00A0) and ideographic (U+3000)
    ones included; nothing else (an invisible character at the end is refused, not dropped)."""
    return row[i].strip(NAME_SPACES) if i is not None and i < len(row) else ""


def _validate(rows: list[list[str]], cols: dict[str, int], numeric: set) -> list[Agency]:
    problems: list[str] = []
    agencies: list[Agency] = []
    for n, row in enumerate(rows[1:], start=2):
        code, name, email = (_cell(row, cols.get(f)) for f in ("code", "name", "email"))
        where = f"名单第{n}行"
        if not code:
            problems.append(f"{where}：单位代码为空。")
        elif (n - 1, cols["code"]) in numeric or SCIENTIFIC.match(code):
            problems.append(f"{where}：单位代码“{code}”被 Excel 存成了数字（可能已丢失前导零或变成科学计数法）。"
                            "请把代码列设为“文本”格式后重新输入。")
        elif not AGENCY_CODE.match(code):
            problems.append(f"{where}：单位代码“{code}”只能由字母、数字、下划线和连字符组成。")
        if not name:
            problems.append(f"{where}：单位名称为空。")
        elif name.startswith(FORMULA_START):
            problems.append(f"{where}：单位名称“{name}”以“{name[0]}”开头，像是公式而不是名称，请核对。")
        elif problem := name_problem(name):
            problems.append(f"{where}：{problem}")
        agencies.append(Agency(code, name, "; ".join(split_addresses(email)), n))
    counts = Counter(a.code for a in agencies if a.code)
    for a in agencies:
        if counts[a.code] > 1:
            rows_ = "、".join(str(b.row) for b in agencies if b.code == a.code)
            problems.append(f"名单第{a.row}行：单位代码“{a.code}”重复（第{rows_}行）。")
    problems += _lost_zeros(agencies)
    if problems:
        raise RosterError(list(dict.fromkeys(problems)))
    if not agencies:
        raise RosterError(["名单中没有任何单位。"])
    return agencies


def _lost_zeros(agencies: list[Agency]) -> list[str]:
    """All-digit codes mostly of one length: a shorter one probably lost its leading zeros."""
    digits = [a for a in agencies if a.code.isdigit()]
    if len(digits) < 3:
        return []
    length, count = Counter(len(a.code) for a in digits).most_common(1)[0]
    if count * 2 <= len(digits):
        return []
    return [f"名单第{a.row}行：单位代码“{a.code}”比其他代码（{length}位）短，可能被 Excel 去掉了前导零。请核对。"
            for a in digits if len(a.code) < length]
