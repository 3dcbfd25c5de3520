"""HTML and MHTML pages (owned by the HTML reader work)."""

from __future__ import annotations

from xltool.published.document import Document, DocumentError


def read_html(data: bytes, file: str) -> Document:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")


def read_mhtml(data: bytes, file: str) -> Document:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")
