"""The return as data (PRODUCT.md, "The return as data"): the shape `xltool read --json` prints,
read back by fill (`--data`), `--previous` and report — one reader for all three."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.errors import UsageError

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


def load_json(path: str | Path) -> Any:
    """A JSON file, numbers with decimals kept exact; UsageError naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"), parse_float=Decimal)
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} 不是有效的 JSON：{getattr(e, 'strerror', None) or e}") from None


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
