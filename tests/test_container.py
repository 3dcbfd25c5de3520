"""xltool.container: hostile returns are recognised by content and refused before they hurt.

Every hostile file is built here, in memory or in tmp_path; no binary fixtures.
"""

from __future__ import annotations

import functools
import io
import pickle
import random
import re
import struct
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from xltool.office.container import DEFAULT_LIMITS, Container, ContainerError, Limits, open_container, parse_xml

MiB = 1 << 20
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
SHEET = "xl/worksheets/sheet1.xml"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- building files ---------------------------------------------------------------------------


def content_types(main: str | None = XLSX_MAIN, extra: str = "") -> bytes:
    over = f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>' if main else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'{over}{extra}</Types>').encode()


WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org'
            b'/spreadsheetml/2006/main"><sheets><sheet name="\xe8\xa1\xa8" sheetId="1"/></sheets></workbook>')
SHEET_XML = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org'
             b'/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>12</v></c></row>'
             b'</sheetData></worksheet>')


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose in one test
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items() if isinstance(members, dict) else members:
                zf.writestr(name, data)
    return buf.getvalue()


def make_xlsx(main: str | None = XLSX_MAIN, extra: dict[str, bytes] | None = None) -> bytes:
    members = {"[Content_Types].xml": content_types(main), "xl/workbook.xml": WORKBOOK, SHEET: SHEET_XML}
    return make_zip(members | (extra or {}))


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand from (name, raw deflate data, crc, size), for sizes zipfile won't fake."""
    out, central = bytearray(), bytearray()
    for name, comp, crc, size in entries:
        n = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0x800, 8, 0, 0x21, crc,
                               len(comp), size, len(n), 0, 0, 0, 0, 0, len(out)) + n
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x800, 8, 0, 0x21, crc, len(comp), size,
                           len(n), 0) + n + comp
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def deflated(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data)


@functools.cache
def zeros_entry(name: str, mib: int) -> tuple[str, bytes, int, int]:
    """`mib` MiB of zeros as one deflate stream, built from a repeated block in milliseconds."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert first == block  # after a full flush the same input gives the same bytes
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    return name, block * mib + c.flush(), crc, mib * MiB


def bomb_xlsx(mib: int = 1024) -> bytes:
    return raw_zip([deflated("[Content_Types].xml", content_types()),
                    deflated("xl/workbook.xml", WORKBOOK), zeros_entry(SHEET, mib)])


def patch_entry(data: bytes, name: str, *, size: int | None = None, flags: int | None = None) -> bytes:
    """Rewrite an entry's declared size or flag bits in both the central directory and local header."""
    buf = bytearray(data)
    end = buf.rfind(b"PK\x05\x06")
    count, _, p = struct.unpack_from("<HLL", buf, end + 10)
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<3H", buf, p + 28)
        local = struct.unpack_from("<L", buf, p + 42)[0]
        if buf[p + 46:p + 46 + nlen].decode() == name:
            if size is not None:
                struct.pack_into("<L", buf, p + 24, size)
                struct.pack_into("<L", buf, local + 22, size)
            if flags is not None:
                struct.pack_into("<H", buf, p + 8, flags)
                struct.pack_into("<H", buf, local + 6, flags)
        p += 46 + nlen + xlen + clen
    return bytes(buf)


def fake_ole(*streams: str) -> bytes:
    """An OLE signature, a padded header and directory entries naming the given streams."""
    entries = b""
    for name in ("Root Entry", *streams):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entries += raw.ljust(64, b"\x00") + struct.pack("<H", len(raw)) + bytes(62)
    return OLE + bytes(504) + entries + bytes(1024)


# --- checking ---------------------------------------------------------------------------------


def refused(source, code: str, *words: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """open_container must raise `code` with a Chinese message naming `words`; input untouched."""
    before = source.read_bytes() if isinstance(source, Path) and source.is_file() else None
    with pytest.raises(ContainerError) as info:
        open_container(source, limits=limits)
    err = info.value
    assert err.code == code, err.message
    assert CJK.search(err.message), err.message
    for word in words:
        assert word in err.message, err.message
    if before is not None:
        assert Path(source).read_bytes() == before
    return err.message


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def peak_memory(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    except ContainerError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# --- good files -------------------------------------------------------------------------------


def test_xlsx_gives_wanted_parts_and_leaves_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "return.xlsx", make_xlsx())
    before = path.read_bytes()
    c = open_container(path, lambda n: n.startswith("xl/"))
    assert isinstance(c, Container)
    assert (c.kind, c.has_macros, c.data) == ("xlsx", False, None)
    assert set(c.parts) == {"xl/workbook.xml", SHEET}
    assert "[Content_Types].xml" in c.names
    assert parse_xml(c.parts[SHEET]).tag.endswith("worksheet")
    assert path.read_bytes() == before


def test_bytes_source_and_default_wanted() -> None:
    c = open_container(make_xlsx())
    assert set(c.parts) == {"[Content_Types].xml", "xl/workbook.xml", SHEET}
    assert c.parts["xl/workbook.xml"] == WORKBOOK


def test_path_with_chinese_and_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, "报送 材料/某某市 生态环境局 2024年 年报.xlsx", make_xlsx())
    assert open_container(path).kind == "xlsx"
    assert open_container(str(path)).kind == "xlsx"


def test_suffix_is_ignored(tmp_path: Path) -> None:
    assert open_container(write(tmp_path, "return.pdf", make_xlsx())).kind == "xlsx"


def test_xlsm_with_vba_project_has_macros() -> None:
    c = open_container(make_xlsx(XLSM_MAIN, {"xl/vbaProject.bin": b"\x01" * 100}))
    assert (c.kind, c.has_macros) == ("xlsm", True)  # reported, never run
    assert "xl/vbaProject.bin" in c.names


def test_vba_project_in_plain_xlsx_is_reported() -> None:
    data = make_zip({"[Content_Types].xml": content_types(), "xl/workbook.xml": WORKBOOK,
                     "xl/vbaProject.bin": b"\x01" * 100})
    c = open_container(data)
    assert c.has_macros and c.kind == "xlsm"


def test_macro_content_type_alone_is_xlsm() -> None:
    c = open_container(make_xlsx(XLSM_MAIN))
    assert (c.kind, c.has_macros) == ("xlsm", True)


def test_legacy_xls_is_handed_over_raw(tmp_path: Path) -> None:
    data = fake_ole("Workbook", "\x05SummaryInformation")
    c = open_container(write(tmp_path, "old.xls", data))
    assert (c.kind, c.parts, c.names, c.has_macros, c.data) == ("xls", {}, [], False, data)


# --- refused files ----------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    refused(write(tmp_path, "empty.xlsx", b""), "file-unreadable", "空")


def test_random_bytes(tmp_path: Path) -> None:
    data = random.Random(20240101).randbytes(10_000)
    refused(write(tmp_path, "noise.xlsx", data), "file-unreadable", "无法识别")


def test_missing_path_and_directory(tmp_path: Path) -> None:
    refused(tmp_path / "不存在.xlsx", "file-unreadable")
    with pytest.raises(ContainerError) as info:
        open_container(tmp_path)
    assert info.value.code == "file-unreadable"


@pytest.mark.parametrize("keep", [0.5, 0.9, -10, 40])
def test_truncated_xlsx(tmp_path: Path, keep: float) -> None:
    data = make_xlsx()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    refused(write(tmp_path, "cut.xlsx", data[:cut]), "file-unreadable", "损坏")


def test_corrupt_member_fails_crc(tmp_path: Path) -> None:
    data = bytearray(make_xlsx())
    at = data.find(b"xl/worksheets/sheet1.xml") + len(SHEET) + 5  # inside the compressed sheet
    data[at] ^= 0xFF
    refused(write(tmp_path, "bad.xlsx", bytes(data)), "file-unreadable", "损坏")


def test_encrypted_zip_member(tmp_path: Path) -> None:
    data = patch_entry(make_xlsx(), SHEET, flags=0x1)
    refused(write(tmp_path, "zipcrypt.xlsx", data), "file-unreadable", "加密")


def test_duplicate_member_names(tmp_path: Path) -> None:
    data = make_zip([("[Content_Types].xml", content_types()), ("xl/workbook.xml", WORKBOOK),
                     (SHEET, SHEET_XML), (SHEET.upper(), SHEET_XML)])
    refused(write(tmp_path, "dup.xlsx", data), "file-unreadable")


def test_encrypted_ooxml(tmp_path: Path) -> None:
    data = fake_ole("EncryptionInfo", "EncryptedPackage", "\x06DataSpaces")
    refused(write(tmp_path, "secret.xlsx", data), "file-unreadable", "已加密", "密码")


def test_ole_without_workbook(tmp_path: Path) -> None:
    refused(write(tmp_path, "word.xls", fake_ole("WordDocument", "1Table")), "file-unreadable", "Word")
    refused(write(tmp_path, "other.xls", fake_ole("Contents")), "file-unreadable")


def test_docx_renamed(tmp_path: Path) -> None:
    data = make_zip({"[Content_Types].xml": content_types(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
        "word/document.xml": b"<w:document/>"})
    refused(write(tmp_path, "report.xlsx", data), "file-unreadable", "Word")


def test_pptx_renamed_without_content_types(tmp_path: Path) -> None:
    data = make_zip({"ppt/presentation.xml": b"<p/>"})
    refused(write(tmp_path, "slides.xlsx", data), "file-unreadable", "PowerPoint")


def test_ods_renamed(tmp_path: Path) -> None:
    data = make_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                     "content.xml": b"<office:document-content/>"})
    refused(write(tmp_path, "calc.xlsx", data), "file-unreadable", ".ods", "另存为")


def test_other_zip(tmp_path: Path) -> None:
    refused(write(tmp_path, "photos.xlsx", make_zip({"a.jpg": b"\xff\xd8\xff"})), "file-unreadable", "压缩包")


def test_xlsb(tmp_path: Path) -> None:
    data = make_zip({"[Content_Types].xml": content_types(
        "application/vnd.ms-excel.sheet.binary.macroEnabled.main"), "xl/workbook.bin": b"\x00"})
    refused(write(tmp_path, "b.xlsx", data), "file-unreadable", ".xlsb")


def test_csv_in_gb18030_renamed(tmp_path: Path) -> None:
    text = "单位名称,收到申请数,办结数\n某某市生态环境局,12,11\n某某县人民政府办公室,3,3\n"
    refused(write(tmp_path, "return.xlsx", text.encode("gb18030")), "file-unreadable", "文本文件", "CSV")


def test_csv_in_utf16_with_bom(tmp_path: Path) -> None:
    data = "单位\t件数\n某局\t1\n".encode("utf-16")
    refused(write(tmp_path, "unicode.xls", data), "file-unreadable", "文本文件")


def test_html_xls(tmp_path: Path) -> None:
    html = ('<html xmlns:x="urn:schemas-microsoft-com:office:excel">\n<head><meta charset="gb2312">'
            '</head><body><table><tr><td>收到申请数</td><td>12</td></tr></table></body></html>')
    refused(write(tmp_path, "导出.xls", html.encode("gb18030")), "file-unreadable", "网页", "另存为")


def test_spreadsheetml_2003(tmp_path: Path) -> None:
    xml = ('<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
           '</Workbook>')
    refused(write(tmp_path, "x.xls", xml.encode()), "file-unreadable", "2003")


def test_pdf_renamed(tmp_path: Path) -> None:
    refused(write(tmp_path, "scan.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "file-unreadable", "PDF")


# --- size limits ------------------------------------------------------------------------------


def test_file_over_max_file_bytes(tmp_path: Path) -> None:
    small = Limits(max_file_bytes=1000)
    data = make_xlsx(extra={"xl/media/big.bin": random.Random(1).randbytes(2000)})
    refused(write(tmp_path, "big.xlsx", data), "file-too-large", "过大", limits=small)
    with pytest.raises(ContainerError) as info:
        open_container(data, limits=small)
    assert info.value.code == "file-too-large"


def test_zip_bomb_refused_before_decompressing(tmp_path: Path) -> None:
    data = bomb_xlsx(1024)  # 1 GiB of zeros in about 1 MB
    assert len(data) < 2 * MiB
    path = write(tmp_path, "bomb.xlsx", data)
    refused(path, "file-too-large", "压缩炸弹")
    assert peak_memory(lambda: open_container(path)) < 16 * MiB


def test_bomb_in_unwanted_member_is_never_touched() -> None:
    c = open_container(bomb_xlsx(1024), lambda n: n == "xl/workbook.xml")
    assert set(c.parts) == {"xl/workbook.xml"}


def test_lying_directory_small_size_is_capped(tmp_path: Path) -> None:
    # The directory claims 1000 bytes for 1 GiB: no ratio alarm, so only the actual stream counts.
    data = patch_entry(bomb_xlsx(1024), SHEET, size=1000)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size == 1000
    path = write(tmp_path, "liar.xlsx", data)
    with pytest.raises(ContainerError) as info:
        open_container(path)
    assert info.value.code in ("file-too-large", "file-unreadable")  # capped, or CRC of the cut
    assert CJK.search(info.value.message)
    assert peak_memory(lambda: open_container(path)) < 16 * MiB


def test_lying_directory_streaming_cap_triggers(tmp_path: Path) -> None:
    # 1 GiB of zeros declared as 16 MiB: the ratio looks harmless (16), the entry cap is 4 MiB.
    limits = Limits(max_entry_bytes=4 * MiB)
    data = patch_entry(bomb_xlsx(1024), SHEET, size=16 * MiB)
    path = write(tmp_path, "liar.xlsx", data)
    refused(path, "file-too-large", "压缩炸弹", limits=limits)
    assert peak_memory(lambda: open_container(path, limits=limits)) < 24 * MiB


def test_bzip2_member_refused_before_decompressing() -> None:
    # zipfile inflates bzip2 without an output cap (a real bomb gets gigabytes out of 1 KB);
    # the method alone is refused, so a small member shows it
    info = zipfile.ZipInfo(SHEET)
    info.compress_type = zipfile.ZIP_BZIP2
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", content_types())
        with zf.open(info, "w") as f:
            f.write(bytes(8 * MiB))
    data = patch_entry(buf.getvalue(), SHEET, size=1000)
    assert len(data) < 4096
    refused(data, "file-unreadable", "压缩方式")
    assert peak_memory(lambda: open_container(data)) < 16 * MiB


def test_total_cap_over_wanted_members() -> None:
    limits = Limits(max_ratio=10**9, max_entry_bytes=4 * MiB, max_total_bytes=5 * MiB)
    data = raw_zip([deflated("[Content_Types].xml", content_types()),
                    *(zeros_entry(f"xl/worksheets/sheet{i}.xml", 2) for i in range(4))])
    refused(data, "file-too-large", limits=limits)
    c = open_container(data, lambda n: n.endswith(("sheet0.xml", "sheet1.xml")), limits=limits)
    assert len(c.parts) == 2  # 4 MiB read: under the total


def test_too_many_entries(tmp_path: Path) -> None:
    members = {"[Content_Types].xml": content_types(), "xl/workbook.xml": WORKBOOK}
    members.update({f"xl/media/{i}.bin": b"" for i in range(DEFAULT_LIMITS.max_entries)})
    refused(write(tmp_path, "many.xlsx", make_zip(members)), "file-too-large", "条目过多")
    refused(make_xlsx(), "file-too-large", limits=Limits(max_entries=2))


def test_directory_size_lie_on_entry_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # The end record claims 3 entries but the directory holds 3000: its size gives it away,
    # before zipfile would build an object per entry.
    members = {"[Content_Types].xml": content_types()}
    members.update({f"{i:0100d}": b"" for i in range(3000)})
    data = bytearray(make_zip(members))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 3, 3)

    def no_zipfile(*args, **kwargs):
        raise AssertionError("zipfile must not parse this directory")

    monkeypatch.setattr(zipfile, "ZipFile", no_zipfile)
    refused(bytes(data), "file-too-large", "条目过多", limits=Limits(max_entries=100))


# --- XML --------------------------------------------------------------------------------------

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>"""


def xml_refused(data: bytes, *words: str) -> None:
    with pytest.raises(ContainerError) as info:
        parse_xml(data)
    assert info.value.code == "file-unreadable"
    assert CJK.search(info.value.message)
    for word in words:
        assert word in info.value.message


def test_billion_laughs_and_external_entity_refused() -> None:
    xml_refused(LAUGHS, "DOCTYPE")
    xml_refused(XXE, "DOCTYPE")
    xml_refused(b'<?xml version="1.0"?><!ENTITY x "y"><a/>')


def test_entity_attack_inside_an_xlsx() -> None:
    c = open_container(make_xlsx(extra={"xl/sharedStrings.xml": LAUGHS}))  # the bytes are only handed over
    xml_refused(c.parts["xl/sharedStrings.xml"], "DOCTYPE")


def test_entity_attack_in_content_types_refuses_the_file() -> None:
    data = make_zip({"[Content_Types].xml": XXE, "xl/workbook.xml": WORKBOOK})
    refused(data, "file-unreadable", "DOCTYPE")


def test_dtd_hidden_by_encoding_refused() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'
    xml_refused(doc.encode("utf-16"))
    xml_refused(doc.encode("utf-16-le"))
    utf7 = b'<?xml version="1.0" encoding="UTF-7"?>+ADwAIQ-DOCTYPE a +AFsAPAAh-ENTITY x +ACI-y+ACIAPgBd-+AD4-<a>&x;</a>'
    xml_refused(utf7)


def test_parse_xml_good_and_bad() -> None:
    assert parse_xml(SHEET_XML).tag.endswith("worksheet")
    assert parse_xml('<?xml version="1.0" encoding="UTF-16"?><a>表</a>'.encode("utf-16")).text == "表"
    assert parse_xml(b"\xef\xbb\xbf<a>x</a>").text == "x"
    for bad in (b"", b"<a>", b"not xml", b"<a></b>", b"\x00\x00\x00<a/>"):
        xml_refused(bad)


# --- the error itself -------------------------------------------------------------------------


def test_container_error_pickles_and_prints() -> None:
    err = pickle.loads(pickle.dumps(ContainerError("file-too-large", "文件过大")))
    assert (err.code, err.message) == ("file-too-large", "文件过大")
    assert "文件过大" in str(err)
    with pytest.raises(ValueError):
        ContainerError("no-such-code", "x")
