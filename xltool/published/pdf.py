"""PDF text layers."""

from __future__ import annotations

from xltool.published.document import Document, DocumentError


def read_pdf(data: bytes, file: str) -> Document:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")
