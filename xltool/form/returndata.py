"""The return as data (PRODUCT.md, "The return as data"): the shape `xltool read --json` prints,
read back by fill (`--data`), `--previous` and report — one reader for all three."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.util import xml_text

TEXT_SECTIONS = ("narrative", "contact")


@dataclass
class ReturnData:
    values: dict[str, Any]
    agency: dict[str, Any] | None = None
    form: str | None = None
    form_version: str | None = None
    year: Any = None
    raw: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, dict[str, Any]] = field(default_factory=dict)  # narrative / contact, by their short names

    def flat(self) -> dict[str, Any]:
        """Every field by its canonical key, as fill types them in; a text kept in raw wins."""
        out = dict(self.values)
        for section, texts in self.texts.items():
            out.update({f"{section}.{name}": value for name, value in texts.items()})
        out.update(self.raw)
        return out


MAX_BYTES = 16 << 20  # a read --json file is a few KB; a verify --json of a large round a few MB
MAX_DEPTH = 16  # the deepest honest shape is {"returns": [{"values": {...}}]}
MAX_NUMBER_CHARS = 40  # a figure is below 10**15; 40 characters leave room for decimals and an exponent
MAX_EXPONENT = 40


class OutOfRange(str):
    """A JSON number too long or too large to be a figure (1e5000, a 5000-digit integer, NaN):
    kept as its text, never converted, so nothing downstream computes with it. Report reads it
    as not a number; fill refuses it."""


def _number(text: str, kind: type) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        return OutOfRange(text[:MAX_NUMBER_CHARS] + "…")
    value = Decimal(text)
    if not value.is_finite() or abs(value.adjusted()) > MAX_EXPONENT:
        return OutOfRange(text)
    return int(text) if kind is int else value


def load_json(path: str | Path) -> Any:
    """A JSON file, numbers with decimals kept exact and bounded (OutOfRange), text cleaned of
    what XML cannot hold; UsageError naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise UsageError(f"无法读取 {path}：{e.strerror or e}。") from None
    return loads(raw, path)


def loads(raw: bytes, where: str | Path) -> Any:
    """One JSON document (a file's bytes, a line of a JSON lines file) read as load_json reads
    a file; `where` names it in the message of a UsageError."""
    try:
        if len(raw) > MAX_BYTES:
            raise UsageError(f"{where} 过大（超过 {MAX_BYTES >> 20} MB），不是 xltool read --json 的输出。")
        document = json.loads(raw.decode("utf-8-sig"), parse_float=lambda t: _number(t, Decimal),
                              parse_int=lambda t: _number(t, int), parse_constant=OutOfRange)
        return _clean(document, MAX_DEPTH, where)
    except UnicodeDecodeError:
        raise UsageError(f"{where} 不是 UTF-8 编码的 JSON 文件。") from None
    except ValueError as e:
        raise UsageError(f"{where} 不是有效的 JSON：{e}") from None
    except RecursionError:
        raise UsageError(f"{where} 嵌套过深，不是 xltool read --json 的输出。") from None


def _clean(item: Any, depth: int, path: str | Path) -> Any:
    """The document with every text made safe for XML (control characters and lone surrogates
    dropped: they would break a DOCX, a workbook or a file name), its nesting bounded."""
    if depth < 0:
        raise UsageError(f"{path} 嵌套过深，不是 xltool read --json 的输出。")
    if isinstance(item, str) and not isinstance(item, OutOfRange):
        return xml_text(item)
    if isinstance(item, dict):
        return {xml_text(k): _clean(v, depth - 1, path) for k, v in item.items()}
    if isinstance(item, list):
        return [_clean(v, depth - 1, path) for v in item]
    return item


def parse(document: Any) -> ReturnData | None:
    """One return in the read --json shape, or None when the document is not one."""
    if not (isinstance(document, dict) and isinstance(document.get("values"), dict)):
        return None
    agency = document.get("agency")
    version = document.get("form_version")
    return ReturnData(
        values=dict(document["values"]), agency=agency if isinstance(agency, dict) else None,
        form=str(document["form"]) if document.get("form") is not None else None,
        form_version=str(version) if version is not None else None, year=document.get("year"),
        raw=dict(document.get("raw") or {}),
        texts={s: dict(document.get(s) or {}) for s in TEXT_SECTIONS if isinstance(document.get(s) or {}, dict)},
    )


def documents(document: Any) -> list[ReturnData]:
    """The returns of a file: one return, a list of them, or verify's {"returns": [...]}."""
    items = document if isinstance(document, list) else \
        document.get("returns", [document]) if isinstance(document, dict) else []
    return [r for r in map(parse, items) if r is not None]
