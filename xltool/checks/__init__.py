"""The check families. Each module has `check(ctx) -> Iterable[Finding]`, driven by the spec;
`FAMILIES` is the order findings are reported in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xltool.form.layout import Layout, layout_for
from xltool.form.returns import Return
from xltool.form.spec import Spec


@dataclass
class Context:
    ret: Return
    key: bytes | None = None
    previous: Mapping[str, Any] | None = None  # last year's values of the same agency

    @property
    def spec(self) -> Spec:
        return self.ret.spec

    @property
    def layout(self) -> Layout:
        return layout_for(self.ret.spec)

    def place(self, key: str) -> tuple[str | None, str | None]:
        e = self.ret.entries.get(key)
        return (e.sheet, e.ref) if e else (None, None)


def families():
    from xltool.checks import hidden, identity, narrative, rules, structure, values
    return (identity, structure, values, rules, narrative, hidden)
