"""Web addresses fetched with a time-out and a size limit."""

from __future__ import annotations

from xltool.published.document import Document, DocumentError


def fetch(url: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str, str]:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")
