"""What every reader of a published report produces: the document's paragraphs and tables in
reading order, each piece carrying where it is in the document, in words a reader can follow
(第2个表格第5行第3格, 第3页, 第98行). The interpreter (interpret.py) finds the official tables
and sections in it by their labels; the readers know nothing about the form.

Readers: text.py (.txt), html.py (.html/.htm/.mhtml and web addresses), docx.py (.docx, and
.doc/.wps converted by LibreOffice), pdf.py (.pdf text layer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from xltool.errors import InputError

# What any reader reads at most: a published report is a few hundred KB; a saved page with its
# images inlined (.mhtml) a few MB.
MAX_BYTES = 32 << 20
MAX_CELLS = 20_000  # an annual report's tables have about 250 cells
MAX_TEXT = 2_000_000  # characters of text kept from one document
IMPORT_THE_REPORT = "请导入年度报告本身（.docx、.pdf 或网页）。"  # what to do with a file that is not a report


class DocumentError(InputError):
    """A document that cannot be read as a published report. `code` is a finding code:
    file-unreadable, file-too-large, tables-missing, site-refused, form-unknown."""

    def __init__(self, code: str, message: str):
        Exception.__init__(self, code, message)  # both in args, so the error pickles across processes
        self.code = code
        self.message = message


@dataclass(eq=False, slots=True)
class Cell:
    """One cell of a table as printed. A cell merged over several grid positions is the same
    object at each of them (a reader that cannot see merges gives short rows instead)."""

    text: str
    where: str  # e.g. 第2个表格第5行第3格


@dataclass(eq=False, slots=True)
class Table:
    rows: list[list[Cell]]
    where: str  # e.g. 第2个表格, 第3页第1个表格
    # True when merged cells fill every grid position they cover (HTML, DOCX, PDF grids); False
    # when a merged cell appears once and its row is short (text copied from a page).
    spans_known: bool = True


@dataclass(eq=False, slots=True)
class Paragraph:
    text: str
    where: str  # e.g. 第12段, 第3页, 第98行


Block = Paragraph | Table


@dataclass(eq=False)
class Document:
    file: str  # the path or the web address read
    kind: str  # html | docx | pdf | text (PRODUCT.md, "Published reports")
    sha256: str  # of the bytes read
    blocks: list[Block] = field(default_factory=list)
    title: str = ""  # the page's or file's own title, where it has one
    published: date | None = None  # the publication date the page shows
    unreadable: str | None = None  # why the text cannot be read (glyph codes, pages of images), a clause: tables-missing
    images: int = 0  # pictures in the body: a report whose tables are pictures has a few and no table text
    converted_from: str | None = None  # .doc / .wps read through LibreOffice

    @property
    def tables(self) -> list[Table]:
        """The tables in reading order (kept until a block is added: the interpreter asks often)."""
        memo = self.__dict__.get("_tables")
        if memo is None or memo[0] != len(self.blocks):
            memo = (len(self.blocks), [b for b in self.blocks if isinstance(b, Table)])
            self.__dict__["_tables"] = memo
        return memo[1]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]


# What each kind of source is called where a person reads it (xlsx: a workbook).
KIND_NAMES = {"xlsx": "Excel", "html": "网页", "docx": "Word", "pdf": "PDF", "text": "文本"}

# Suffixes of the documents `import` and `verify` read, by kind.
SUFFIXES = {".html": "html", ".htm": "html", ".mhtml": "html", ".mht": "html", ".shtml": "html",
            ".docx": "docx", ".doc": "docx", ".wps": "docx", ".pdf": "pdf", ".txt": "text", ".md": "text",
            ".markdown": "text"}


def is_document(name: str) -> bool:
    """A file or address `import` reads: by its suffix, or a web address."""
    lower = name.lower()
    return lower.startswith(("http://", "https://")) or any(lower.endswith(s) for s in SUFFIXES)
