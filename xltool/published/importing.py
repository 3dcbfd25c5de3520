"""A published report in, a checked return out: read the document (read.py), find its figures
(interpret.py), and check them by the same rules as a workbook — the printed totals included,
since a published total can be wrong. `import_source` never raises on a bad document: what made
it unreadable is its finding."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from xltool.checks import Context
from xltool.checks import narrative as narrative_checks
from xltool.checks import rules as rule_checks
from xltool.checks import values as value_checks
from xltool.findings import Finding, finding
from xltool.form.returns import Return
from xltool.form.spec import Spec, latest_spec
from xltool.office.book import Book
from xltool.published.document import Document, DocumentError
from xltool.published.interpret import Imported, interpret
from xltool.published.read import read_document

# The checks of a workbook that mean something for a printed report: not its identity, layout,
# formulas or hidden sheets, and not the contact fields (a report states them in prose).
SKIPPED_ON_DOCUMENTS = frozenset({"contact-missing"})


def import_source(source: str | os.PathLike, spec: Spec | None = None, *, timeout: float = 20.0) -> Imported:
    """A file or web address read as a published report; unreadable → an Imported holding only
    the finding that says why."""
    spec = spec or latest_spec()
    try:
        doc = read_document(source, timeout=timeout)
    except DocumentError as e:
        imp = Imported(Document(str(source), _kind(str(source)), ""), spec)
        imp.findings.append(finding(e.code, e.message))
        return imp
    except (ValueError, LookupError, TypeError, ArithmeticError, RecursionError, OSError, MemoryError) as e:
        # a defect not met yet: this document costs only itself
        imp = Imported(Document(str(source), _kind(str(source)), ""), spec)
        imp.findings.append(finding("file-unreadable", f"读取本文件时遇到无法处理的内容（{type(e).__name__}），已跳过。"))
        return imp
    return interpret(doc, spec)


def _kind(name: str) -> str:
    from xltool.published.document import SUFFIXES

    lower = name.lower()
    if lower.startswith(("http://", "https://")):
        return "html"
    return next((k for s, k in SUFFIXES.items() if lower.endswith(s)), "text")


def as_return(imp: Imported) -> Return:
    """The imported figures in the shape the checks read: entries without sheet or cell, whose
    `ref` is where in the document (findings.where prints it), totals as printed."""
    book = Book(imp.document.kind, {}, {}, [])
    meta = {"agency_code": imp.agency_code, "agency_name": imp.agency_name, "source_kind": imp.document.kind}
    return Return(imp.spec, imp.document.file, imp.document.sha256, book, meta, imp.year or 0,
                  dict(imp.entries), dict(imp.values), dict(imp.raw))


def check(imp: Imported, previous: Mapping[str, Any] | None = None) -> list[Finding]:
    """What reading found, then every rule on the figures as printed. A document whose tables
    did not import is only what reading found."""
    findings = list(imp.findings)
    if not imp.readable:
        return findings
    ctx = Context(as_return(imp), None, previous)
    found: list[Finding] = []
    found += value_checks.check(ctx)
    found += _printed_totals(ctx)
    found += rule_checks.check(ctx)
    found += (f for f in narrative_checks.check(ctx) if f.code not in SKIPPED_ON_DOCUMENTS)
    return findings + [_anchored(f) for f in found]


def _printed_totals(ctx: Context):
    """A published total is a printed figure like any other: blank or text is a finding."""
    spec = ctx.spec
    for key in spec.total_keys:
        e = ctx.ret.entries.get(key)
        if e is not None and e.kind in ("blank", "text"):
            yield from value_checks._value_findings(ctx, key)


def _anchored(f: Finding) -> Finding:
    """A check names a document's place where a workbook's cell would be: move it to `location`."""
    if f.sheet is None and f.cell is not None:
        return replace(f, cell=None, location=f.cell)
    return f
