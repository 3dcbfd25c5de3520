#!/usr/bin/env python3
"""Regenerate the parts of README.md that are made from the code: the table of finding codes
(from xltool/findings.py's catalogue). `python3 tools/readme.py` rewrites README.md in place;
`--check` exits 1 when it is stale (tests/test_docs.py runs the same check)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from xltool.findings import catalogue_table

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- findings:start -->\n).*?(<!-- findings:end -->)", re.S)


def generated(text: str) -> str:
    if not BLOCK.search(text):
        raise SystemExit("README.md has no <!-- findings:start --> … <!-- findings:end --> block")
    return BLOCK.sub(lambda m: m[1] + catalogue_table() + m[2], text)


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = generated(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("README.md's table of finding codes is stale: run python3 tools/readme.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
