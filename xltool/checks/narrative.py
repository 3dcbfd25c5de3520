"""The narrative and the contacts: sections 一、五、六 not empty, figures quoted in the text
that agree with the tables, and the contact fields the report's preamble needs."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from xltool.findings import finding, fmt, shown, where


def _pattern(text: str) -> re.Pattern:
    return re.compile(text.replace("N", r"(\d+(?:\.\d+)?)"))


def _figures(ctx):
    spec, ret = ctx.spec, ctx.ret
    texts = {k: unicodedata.normalize("NFKC", ret.field(k)) for k in spec.checks.get("narrative_required", ())}
    for conf in spec.checks.get("narrative_figures", ()):
        keys = conf["key"] if isinstance(conf["key"], list) else [conf["key"]]
        if not all(ctx.trusted(k) for k in (*keys, *texts)):
            continue  # figures or text of a sheet whose rows or columns moved (layout-shifted)
        values = [ret.values.get(k) for k in keys]
        if any(v is None for v in values):
            continue
        expected = sum(values)
        for text_key, text in texts.items():
            for m in _pattern(conf["pattern"]).finditer(text):
                quoted = Decimal(m[1])
                if quoted != expected:
                    e = ret.entries[text_key]
                    table = "、".join(spec.cells[k].label for k in keys)
                    yield finding("narrative-number-mismatch",
                                  f"{where(spec, text_key, e.sheet, e.ref)}中写的“{shown(m[0])}”与表中数字不一致：表中"
                                  f"“{table}”为 {fmt(expected)}。",
                                  sheet=e.sheet, cell=e.ref, key=text_key)


def check(ctx):
    spec, ret = ctx.spec, ctx.ret
    for key in spec.checks.get("narrative_required", ()):
        if ctx.trusted(key) and not ret.field(key).strip():
            e = ret.entries[key]
            yield finding("narrative-empty", f"{where(spec, key, e.sheet, e.ref)}没有填写。",
                          sheet=e.sheet, cell=e.ref, key=key)
    yield from _figures(ctx)
    for key in spec.checks.get("contact_required", ()):
        if ctx.trusted(key) and not ret.field(key).strip():
            e = ret.entries[key]
            yield finding("contact-missing", f"{where(spec, key, e.sheet, e.ref)}没有填写。",
                          sheet=e.sheet, cell=e.ref, key=key)
