"""Which agency a published report is: reports carry a name, not a code. Names are compared as
printed in titles (淮安市洪泽区人民政府 and 洪泽区人民政府 are one agency: one name ends the other),
matched to the roster's codes, to workbooks of the same folder, and to last year's report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from xltool.form.spec import PreviousFigures
from xltool.published.interpret import norm

NAME_PREFIX = "name:"  # last year's figures filed by agency name (a published report has no code)
T = TypeVar("T")


def name_key(name: str) -> str:
    return NAME_PREFIX + norm(name)


def same_agency(a: str, b: str) -> bool:
    a, b = norm(a), norm(b)
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 4 and long.endswith(short))


def find_by_name(previous: Mapping[str, T], name: str) -> T | None:
    """Last year's entry filed under a name that is this agency's."""
    if not name:
        return None
    exact = previous.get(name_key(name))
    if exact is not None:
        return exact
    found = [v for k, v in previous.items() if k.startswith(NAME_PREFIX) and same_agency(k[len(NAME_PREFIX):], name)]
    return found[0] if len(found) == 1 else None


def matches(agencies: Iterable[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    """The (code, name) pairs among `agencies` whose name is the printed `name`'s agency."""
    return list(dict.fromkeys((c, n) for c, n in agencies if same_agency(n, name)))


def name_codes(results: Sequence[Any], roster: Sequence[Any] | None) -> None:
    """A published report's agency code: the roster's agency of that name, else the code of a
    workbook of that name in the same run (so the workbook wins over it as a duplicate)."""
    workbooks = [r for r in results if r.agency and r.agency.get("code") and not r.document]
    for r in results:
        if not (r.document and r.agency and not r.agency.get("code") and r.agency.get("name")):
            continue
        name = r.agency["name"]
        found = matches(((a.code, a.name) for a in roster or ()), name) or \
            matches(((w.agency["code"], w.agency["name"]) for w in workbooks), name)
        if len(found) == 1:
            r.agency = {"code": found[0][0], "name": found[0][1]}


def _identity(r: Any) -> str:
    return r.agency.get("code") or name_key(r.agency.get("name", ""))


def pair_years(results: list[T], reverify: Callable[[str, Mapping[str, Any]], T]) -> list[T]:
    """Reports of the same agency for consecutive years in one run are checked against each
    other (carry-over, stock continuity): the later one verified again with the earlier's figures."""
    readable = [r for r in results if getattr(r, "agency", None) and getattr(r, "year", None) and getattr(r, "values", None)]
    out = list(results)
    for i, r in enumerate(results):
        if r not in readable:
            continue
        earlier = [p for p in readable if p.year == r.year - 1 and _same(p, r)]  # type: ignore[attr-defined]
        if len(earlier) != 1:
            continue
        prev = earlier[0]
        figures = PreviousFigures(prev.values, (prev.source or {}).get("form_version") if prev.document else None)  # type: ignore[attr-defined]
        again = reverify(r.file, {_identity(r): figures, name_key(r.agency.get("name", "")): figures})  # type: ignore[attr-defined]
        again.agency = r.agency  # type: ignore[attr-defined]  # as the run named it (roster, sender, workbook)
        again.paired_with = {"file": prev.file, "year": prev.year, "kind": prev.kind}  # type: ignore[attr-defined]
        out[i] = again
    return out


def _same(a: Any, b: Any) -> bool:
    ca, cb = a.agency.get("code"), b.agency.get("code")
    if ca and cb:
        return bool(ca == cb)
    return same_agency(a.agency.get("name", ""), b.agency.get("name", ""))

