"""The narrative and the contacts: sections 一、五、六 not empty, figures quoted in the text
that agree with the tables, and the contact fields the report's preamble needs."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from xltool.findings import finding, fmt, shown, where
from xltool.util import nfkc


@functools.cache
def _pattern(text: str) -> re.Pattern:
    return re.compile(text.replace("N", r"(\d+(?:\.\d+)?)"))


_ENDS = "。；;！？!?\n"


def sentence(text: str, start: int, end: int) -> str:
    """The sentence around text[start:end]: what a reader must see to judge a quoted figure."""
    left = max((text.rfind(c, 0, start) for c in _ENDS), default=-1) + 1
    rights = [i for i in (text.find(c, end) for c in _ENDS) if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    return text[left:right].strip()


def _original(original: str, normalised: str) -> str:
    """The text as written where NFKC kept its length (full-width commas stay full-width)."""
    return original if len(original) == len(normalised) else normalised


def _figures(ctx):
    spec, ret = ctx.spec, ctx.ret
    originals = {k: ret.field(k) for k in spec.checks.get("narrative_required", ())}
    texts = {k: nfkc(t) for k, t in originals.items()}
    shifted = bool(ctx.shifts)
    for conf in spec.checks.get("narrative_figures", ()):
        keys = conf["key"] if isinstance(conf["key"], list) else [conf["key"]]
        if shifted and not all(ctx.trusted(k) for k in (*keys, *texts)):
            continue  # figures or text of a sheet whose rows or columns moved (layout-shifted)
        values = [ret.values.get(k) for k in keys]
        if None in values:
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
                                  f"“{table}”为 {fmt(expected)}。原句：“{shown(sentence(_original(originals[text_key], text), m.start(), m.end()), 120)}”"
                                  "（正文所说的范围可能与表格不同，如只是其中一部分，或把上年结转也算作收到）。",
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
