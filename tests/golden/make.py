"""Make the golden returns of this folder ONCE (they are committed; never regenerate them in a
test run): `.venv/bin/python tests/golden/make.py`. Needs LibreOffice and python3-uno.

Each case is one of our own returns, filled (by `xltool fill`, or typed in LibreOffice as a clerk
would), saved by LibreOffice as xlsx; its JSON beside it holds the values it was filled with and
what `read --json` must give for it. See README.md."""

from __future__ import annotations

import json
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

from builders import SPEC, consistent  # noqa: E402
from support.libreoffice import convert, lo_roundtrip  # noqa: E402
from xltool.form.fill import fill_bytes  # noqa: E402
from xltool.form.generate import workbook_bytes  # noqa: E402
from xltool.form.returns import read_return  # noqa: E402


def typed_values() -> dict:
    """What a clerk types in LibreOffice: decimals a double cannot hold exactly, a narrative in
    two paragraphs."""
    v = consistent(3)
    v.update({"active.fees.amount": 2.3, "processing_fee.notice_amount": 300.3})
    v["narrative.problems"] = "主要问题：公开内容更新不够及时。\n改进情况：建立定期更新机制。"
    return v


def _write(name: str, data_path: Path, filled: dict) -> None:
    ret = read_return(data_path)
    doc = ret.to_json()
    doc.pop("source")
    (HERE / f"{name}.json").write_text(json.dumps({"filled": filled, "read": doc}, ensure_ascii=False, indent=1,
                                                  default=str) + "\n", encoding="utf-8")


def rename_stream(data: bytes, old: str, new: str) -> bytes:
    """A compound file with one directory entry renamed (same sector layout): how a WPS `.et`
    differs from an `.xls` here is the ETExtData stream beside the Workbook stream."""
    out = bytearray(data)
    old_name = old.encode("utf-16-le") + b"\x00\x00"
    at = out.find(old_name)
    assert at > 0 and len(new) <= 31
    name = new.encode("utf-16-le") + b"\x00\x00"
    out[at:at + 64] = name.ljust(64, b"\x00")
    struct.pack_into("<H", out, at + 64, len(name))
    return bytes(out)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        # 1. filled by xltool, opened in LibreOffice, recalculated, saved
        filled = consistent(2)
        src = t / "filled.xlsx"
        src.write_bytes(fill_bytes(workbook_bytes(2021, "0012302", "某某县交通运输局"), filled))
        lo_roundtrip(src, HERE / "lo-resaved.xlsx")
        _write("lo-resaved", HERE / "lo-resaved.xlsx", filled)
        # 2. the blank workbook, every figure typed in LibreOffice
        typed = typed_values()
        blank = t / "blank.xlsx"
        blank.write_bytes(workbook_bytes(2021, "0012303", "某某市生态环境局"))
        lo_roundtrip(blank, HERE / "lo-typed.xlsx", set={k: v for k, v in typed.items() if k in SPEC.cells})
        _write("lo-typed", HERE / "lo-typed.xlsx", typed)
        # 3. case 2 saved by LibreOffice as .xls (BIFF8), its summary stream renamed to WPS's own;
        #    it reads to lo-typed.json
        xls = convert(HERE / "lo-typed.xlsx", t, "xls:MS Excel 97")
        (HERE / "wps-like.et").write_bytes(rename_stream(xls.read_bytes(), "\x05DocumentSummaryInformation", "ETExtData"))


if __name__ == "__main__":
    main()
