"""The code is laid out as the data flows, and imports run one way: down the layers below."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xltool"
# Top to bottom; a module may import its own layer and the layers below it, never above.
LAYERS = [
    ("cli", ("xltool.__main__", "xltool.cli", "xltool.commands")),
    ("api", ("xltool",)),
    ("mail", ("xltool.mail",)),
    ("reports", ("xltool.reports",)),
    ("round", ("xltool.round",)),
    ("published", ("xltool.published",)),
    ("checks", ("xltool.checks",)),
    ("form", ("xltool.form",)),
    ("office", ("xltool.office",)),
    ("shared", ("xltool.errors", "xltool.findings", "xltool.resources", "xltool.util")),
]


def layer(module: str) -> int:
    best = max(((i, p) for i, (_, prefixes) in enumerate(LAYERS) for p in prefixes
                if module == p or module.startswith(p + ".")), key=lambda ip: len(ip[1]))
    return best[0]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xltool"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("xltool")}
    return found


def test_imports_run_down_the_layers() -> None:
    upward = []
    for name, path in modules().items():
        for target in imports(path):
            if layer(target) < layer(name):
                upward.append(f"{name} ({LAYERS[layer(name)][0]}) imports {target} ({LAYERS[layer(target)][0]})")
    assert upward == []


def test_mail_and_reports_do_not_lean_on_each_other() -> None:
    crossing = [f"{name} imports {t}" for name, path in modules().items() for t in imports(path)
                if {LAYERS[layer(name)][0], LAYERS[layer(t)][0]} == {"mail", "reports"}]
    assert crossing == []
