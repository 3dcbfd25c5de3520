"""One entry to every reader: a file or a web address in, a `Document` out, or a
`DocumentError` whose code and Chinese message say why not. The kind is judged from the bytes
first (a PDF, a zip, an OLE file), the suffix second: a renamed file is read as what it is."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from xltool.form.returns import read_capped
from xltool.published.document import IMPORT_THE_REPORT, MAX_BYTES, Document, DocumentError

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_file_bytes(path: str | os.PathLike) -> bytes:
    return read_capped(path, MAX_BYTES, DocumentError, "一份年度报告")


def read_bytes(data: bytes, name: str, content_type: str = "") -> Document:
    """A document from its bytes; `name` (a path or an address) gives the suffix and names it."""
    from xltool.published import docx, html, pdf, text

    suffix = Path(name.split("?")[0].split("#")[0]).suffix.lower()
    head = data[:1024].lstrip()
    if data.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return pdf.read_pdf(data, name)
    if data.startswith(b"PK\x03\x04"):
        try:
            return docx.read_docx(data, name)
        except DocumentError as e:
            if suffix in ("", ".docx", ".docm", ".doc", ".wps"):
                raise
            # named as another kind (a .pdf, a page): say so before what the Word reader found
            raise DocumentError(e.code, f"文件名是 {suffix}，但内容是 zip 压缩格式（Word、Excel 文件都是这种格式）。"
                                        + e.message) from None
    if data.startswith(OLE):
        return docx.read_legacy(data, name, suffix if suffix in (".doc", ".wps") else ".doc")
    if suffix in (".txt", ".md", ".markdown") and not head.lower().startswith((b"<!doctype", b"<html")):
        return text.read_text(data, name)
    if suffix in (".pdf", ".docx", ".doc", ".wps"):
        raise DocumentError("file-unreadable", f"文件名是 {suffix}，但内容不是 {suffix} 文件（可能是改了扩展名的其他文件或文件已损坏）。"
                                               + IMPORT_THE_REPORT)
    if suffix in (".mhtml", ".mht") or head.lower().startswith(b"mime-version") or b"multipart/related" in data[:4096].lower():
        return html.read_mhtml(data, name)
    if suffix in (".html", ".htm", ".shtml") or "html" in content_type or head.startswith(b"<"):
        return html.read_html(data, name)
    return text.read_text(data, name)


def read_document(source: str | os.PathLike, *, timeout: float = 20.0) -> Document:
    """A file or an http(s) address read as a published report."""
    name = str(source)
    if name.lower().startswith(("http://", "https://")):
        from xltool.published.fetch import fetch

        data, content_type, final = fetch(name, timeout=timeout, max_bytes=MAX_BYTES)
        doc = read_bytes(data, final, content_type)
        doc.file = name
        return doc
    return read_bytes(read_file_bytes(source), name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
