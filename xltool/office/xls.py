"""Legacy `.xls` workbooks (BIFF, read with xlrd): values, names and hidden sheets, no formulas.
WPS's own `.et` is the same BIFF workbook with WPS's streams beside it (ETExtData): read alike."""

from __future__ import annotations

from xltool.office.book import Book, Cell, Sheet
from xltool.office.container import ContainerError, wps_format

_STATES = {0: "visible", 1: "hidden", 2: "veryHidden"}
_KINDS = {1: "s", 2: "n", 3: "n", 4: "b", 5: "e"}  # xlrd cell types: text, number, date, boolean, error


def book_from_xls(data: bytes, kind: str = "xls") -> Book:
    """`kind` is "xls", or "et" for a workbook WPS wrote in its own format."""
    import xlrd

    try:
        wb = xlrd.open_workbook(file_contents=data, on_demand=False, logfile=_Null())
        sheets = {}
        for sh in wb.sheets():
            sheet = Sheet(sh.name, _STATES.get(sh.visibility, "hidden"))
            for r in range(sh.nrows):
                for c, cell in enumerate(sh.row(r)):
                    cell_type = _KINDS.get(cell.ctype)
                    if cell_type:
                        value = repr(cell.value) if cell_type == "n" else str(cell.value)
                        sheet.cells[(r, c)] = Cell(r, c, cell_type, value)
            sheets[sh.name] = sheet
        names, unparsed = {}, {}
        for n in wb.name_obj_list:
            if n.scope == -1 and not n.builtin:
                try:
                    book, r0, _, c0, _ = n.area2d()
                    names[n.name] = (book.name, r0, c0)
                except Exception:  # a name that is a formula or a constant: not one cell
                    unparsed[n.name] = "（不是单元格引用）"
    except ContainerError:
        raise
    except Exception:  # xlrd raises many kinds on damaged BIFF; all mean "unreadable"
        if kind == "et":
            raise ContainerError("file-wps-format", wps_format(False)) from None
        raise ContainerError("file-unreadable", "这是一个已损坏或无法识别的旧版 Excel（.xls）文件。请用 Excel 或 WPS 打开后另存为 .xlsx 再报送。") from None
    return Book(kind, sheets, names, [True], None, False, formulas_known=False, unparsed_names=unparsed)


class _Null:
    def write(self, *_):
        pass
