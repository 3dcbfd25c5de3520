"""Word documents: .docx, and .doc/.wps through LibreOffice."""

from __future__ import annotations

from xltool.published.document import Document, DocumentError


def read_docx(data: bytes, file: str) -> Document:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")


def read_legacy(data: bytes, file: str, suffix: str) -> Document:
    raise DocumentError("file-unreadable", "尚不支持这种文件。")
