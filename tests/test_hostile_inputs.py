"""Wrong, damaged and crafted files: each is refused with one Chinese line saying what it is, and exit 2.

Bombs are built on the fly and must be refused within a second and 100 MB of memory.
"""

from __future__ import annotations

import io
import random
import time
import tracemalloc
import zipfile
from pathlib import Path

import msoffcrypto.format.ooxml
import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook
from hostile import BILLION_LAUGHS, MB, deflated_zeros, hand_zip, members_of, ole_file, rezip

from toolkit.cli import main
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_or_refuse
from toolkit.reading.guards import Limits, UnreadableFile, read_part

FORM = get_form("gov-info-2021")
SHEET = "xl/worksheets/sheet1.xml"
BOMB = "疑似压缩炸弹或恶意文件，已拒绝；请在 Excel/WPS 中打开后重新保存再提交"
REBUILD = "请在 Excel/WPS 中打开后重新保存再提交"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    """One complete, valid return (the bytes), made once for the module."""
    path = tmp_path_factory.mktemp("good") / "good.xlsx"
    return fill_workbook(FORM, path, texts=complete_texts(FORM), fields=complete_fields()).read_bytes()


def _part(xlsx: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        return zf.read(name)


def _encrypted(good: bytes) -> bytes:
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(good)).encrypt("secret", out)
    return out.getvalue()


def _ods(_good: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr("content.xml", "<office:document-content/>")
        z.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
    return out.getvalue()


def _plain_zip(_good: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("司法局.xlsx/readme.txt", "见附件")
    return out.getvalue()


def _bzip2(good: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
    return out.getvalue()


# case id -> (file name, how to make it from a good return, the exact reason given)
CASES = {
    "xls": (
        "司法局.xls",
        lambda g: ole_file({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00", "SummaryInformation": b"\xfe\xff"}),
        "这是 .xls 旧格式，请在 Excel/WPS 中另存为 .xlsx",
    ),
    "xls renamed .xlsx": (
        "司法局.xlsx",
        lambda g: ole_file({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00"}),
        "这是 .xls 旧格式，请在 Excel/WPS 中另存为 .xlsx",
    ),
    "xlsm": (
        "司法局.xlsm",
        lambda g: rezip(g, extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
        "这是含宏的工作簿（.xlsm），请在 Excel/WPS 中另存为不含宏的 .xlsx",
    ),
    "xlsb": (
        "司法局.xlsb",
        lambda g: rezip(g, replace={"xl/workbook.xml": None}, extra={"xl/workbook.bin": b"\x83\x01\x00"}),
        "这是 .xlsb 二进制工作簿，请在 Excel/WPS 中另存为 .xlsx",
    ),
    "ods": ("司法局.ods", _ods, "这是 OpenDocument（.ods）表格，请在 LibreOffice/WPS 中另存为 .xlsx"),
    "et": ("司法局.et", lambda g: ole_file({"WpsContent": b"\x01"}), "这是 WPS 表格旧格式（.et），请在 WPS 中另存为 .xlsx"),
    "et renamed .xlsx": (
        "司法局.xlsx",
        lambda g: ole_file({"WpsContent": b"\x01"}),
        "这是 WPS/Office 旧格式文件（如 .et），不是 .xlsx；请在 WPS/Excel 中另存为 .xlsx",
    ),
    "doc": (
        "司法局.xlsx",
        lambda g: ole_file({"WordDocument": b"\xec\xa5"}),
        "这是 .doc 旧格式的 Word 文档，不是 Excel 工作簿，请提交填好的 .xlsx 模板",
    ),
    "docx": (
        "司法局.xlsx",
        lambda g: rezip(g, replace={"xl/workbook.xml": None}, extra={"word/document.xml": b"<w:document/>"}),
        "这是 Word 文档，不是 Excel 工作簿，请提交填好的 .xlsx 模板",
    ),
    "csv utf-8": (
        "司法局.csv",
        lambda g: "机关名称,本年新收申请\n原州区司法局,12\n".encode(),
        "这是 CSV/文本文件，不是 Excel 工作簿，请使用下发的 .xlsx 模板填报",
    ),
    "csv gbk renamed .xlsx": (
        "司法局.xlsx",
        lambda g: ("机关名称,本年新收申请\n原州区司法局,12\n" * 400).encode("gbk"),
        "这是 CSV/文本文件，不是 Excel 工作簿，请使用下发的 .xlsx 模板填报",
    ),
    "unicode text (utf-16, tabs)": (
        "司法局.xlsx",
        lambda g: "机关名称\t本年新收申请\r\n原州区司法局\t12\r\n".encode("utf-16"),
        "这是 CSV/文本文件，不是 Excel 工作簿，请使用下发的 .xlsx 模板填报",
    ),
    "pdf": (
        "司法局.xlsx",
        lambda g: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "这是 PDF 文件，不是 Excel 工作簿，请提交填好的 .xlsx 模板",
    ),
    "html renamed .xlsx": (
        "司法局.xlsx",
        lambda g: "<html><head><meta charset='utf-8'></head><body><table><tr><td>自然人</td></tr></table></body></html>".encode(),
        "这是网页（HTML）文件改名的表格，请在 Excel/WPS 中另存为 .xlsx",
    ),
    "random bytes": (
        "司法局.xlsx",
        lambda g: random.Random(7).randbytes(8192),
        "不是 Excel 工作簿（无法识别的文件内容，可能已损坏），请提交填好的 .xlsx 模板",
    ),
    "empty": ("司法局.xlsx", lambda g: b"", "文件是空的（0 字节），可能未保存完整或传输失败，请重新保存后提交"),
    "truncated": (
        "司法局.xlsx",
        lambda g: g[: len(g) // 2],
        "文件已损坏（不是完整的 xlsx 压缩包，可能下载或拷贝不完整），请重新拷贝或请填报单位重新发送",
    ),
    "truncated to the zip header": (
        "司法局.xlsx",
        lambda g: g[:40],
        "文件已损坏（不是完整的 xlsx 压缩包，可能下载或拷贝不完整），请重新拷贝或请填报单位重新发送",
    ),
    "corrupt xml part": (
        "司法局.xlsx",
        lambda g: rezip(g, replace={"xl/workbook.xml": b"<workbook><sheets>"}),
        f"文件已损坏（xl/workbook.xml 不是有效的 XML，第 1 行第 18 列），{REBUILD}",
    ),
    "sheet part missing": (
        "司法局.xlsx",
        lambda g: rezip(g, replace={SHEET: None}),
        f"文件已损坏（缺少工作表“填报说明”的内容），{REBUILD}",
    ),
    "bad cell address": (
        "司法局.xlsx",
        lambda g: rezip(g, replace={SHEET: _part(g, SHEET).replace(b'r="A1"', b'r="1A"', 1)}),
        f"文件已损坏（工作表“填报说明”中的单元格地址“1A”无效），{REBUILD}",
    ),
    "doctype in a sheet": (
        "司法局.xlsx",
        lambda g: rezip(g, replace={SHEET: b"<!DOCTYPE worksheet>" + _part(g, SHEET)}),
        f"{SHEET} 含有 DTD 或实体声明（Excel 文件中不会出现，疑似恶意文件），已拒绝",
    ),
    "corrupt compressed data": (
        "司法局.xlsx",
        lambda g: hand_zip([(n, b"\xff" * 64 if n == SHEET else d, c, s) for n, d, c, s in members_of(g)]),
        f"文件已损坏（部件 {SHEET} 无法解压），{REBUILD}",
    ),
    "wrong crc": (
        "司法局.xlsx",
        lambda g: hand_zip([(n, d, c ^ 1 if n == SHEET else c, s) for n, d, c, s in members_of(g)]),
        f"文件已损坏（部件 {SHEET} 无法解压），{REBUILD}",
    ),
    "password-encrypted": (
        "司法局.xlsx",
        _encrypted,
        "工作簿设置了打开密码（已加密），请在 Excel/WPS 中取消密码后另存为 .xlsx 再提交",
    ),
    "plain zip": ("司法局.xlsx", _plain_zip, "这是一个压缩包（.zip），不是 Excel 工作簿，请提交填好的 .xlsx 模板"),
    "bzip2 members": (
        "司法局.xlsx",
        _bzip2,
        f"压缩包使用了 Excel 不会使用的压缩方式，不是 Excel 保存的 .xlsx；{REBUILD}",
    ),
    "too many members": (
        "司法局.xlsx",
        lambda g: rezip(g, extra={f"xl/media/image{i}.png": b"" for i in range(2001)}),
        f"压缩包成员过多（超过 2000 个），{BOMB}",
    ),
}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_refused(path: Path, reason: str, limits: Limits | None = None, args: tuple[str, ...] = ()) -> None:
    ret = check_or_refuse(path, limits=limits or Limits())
    assert [(p.code, p.severity, p.message) for p in ret.problems] == [("unreadable", "error", f"无法读取：{reason}")]
    assert ret.status == "unreadable" and not ret.accepted
    result = CliRunner().invoke(main, ["check", *args, str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[:2] == [f"== {path}：无法读取", f"  [错误] 无法读取：{reason}"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", list(CASES))
def test_wrong_or_damaged_file_is_refused_with_what_it_is_and_exit_2(tmp_path, good, case):
    name, make, reason = CASES[case]
    _assert_refused(_write(tmp_path, name, make(good)), reason)


def test_the_good_return_itself_is_accepted(tmp_path, good):
    path = _write(tmp_path, "司法局.xlsx", good)
    assert check_or_refuse(path).accepted
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0


def test_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = _write(tmp_path, "大.xlsx", b"PK\x03\x04" + bytes(3 * MB - 4))
    reason = "文件过大（3 MB，上限 2 MB）；如确为正常填报文件，可用 --max-size 放宽上限"
    _assert_refused(path, reason, Limits(max_file_bytes=2 * MB), ("--max-size", "2"))
    truncated = "文件已损坏（不是完整的 xlsx 压缩包，可能下载或拷贝不完整），请重新拷贝或请填报单位重新发送"
    _assert_refused(path, truncated, Limits(max_file_bytes=4 * MB), ("--max-size", "4"))  # read, found to be no zip


def test_max_size_default_is_20_mb_and_must_be_positive(tmp_path, good):
    path = _write(tmp_path, "司法局.xlsx", good)
    assert CliRunner().invoke(main, ["check", "--max-size", "0.01", str(path)]).exit_code == 2
    assert "上限 0.01 MB" in CliRunner().invoke(main, ["check", "--max-size", "0.01", str(path)]).output
    assert CliRunner().invoke(main, ["check", "--max-size", "0", str(path)]).exit_code == 2
    assert "[默认：20；" in CliRunner().invoke(main, ["check", "--help"]).output  # the default, written as a whole number


def _measured(path: Path):
    """check_or_refuse(path), with the seconds it took and the peak of memory it allocated."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        ret = check_or_refuse(path)
        return ret, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _assert_refused_cheaply(path: Path, reason: str) -> None:
    ret, seconds, peak = _measured(path)
    assert [p.message for p in ret.problems] == [f"无法读取：{reason}"]
    assert seconds < 1.0, seconds
    assert peak < 100 * MB, peak / MB


@pytest.fixture(scope="module")
def zeros_gb() -> tuple[bytes, int]:
    return deflated_zeros(1024)


def _bomb(good: bytes, zeros: tuple[bytes, int], declared: int) -> bytes:
    data, crc = zeros
    return hand_zip([(n, data, crc, declared) if n == SHEET else (n, d, c, s) for n, d, c, s in members_of(good)])


def test_zip_bomb_is_refused_fast_and_small(tmp_path, good, zeros_gb):
    path = _write(tmp_path, "炸弹.xlsx", _bomb(good, zeros_gb, declared=1024 * MB))
    assert path.stat().st_size < 2 * MB
    _assert_refused_cheaply(path, f"解压后体积异常巨大，{BOMB}")


def test_zip_bomb_with_lying_header_is_cut_at_the_part_cap(tmp_path, good, zeros_gb):
    over_cap = _write(tmp_path, "炸弹1.xlsx", _bomb(good, zeros_gb, declared=30 * MB))
    _assert_refused_cheaply(over_cap, f"部件 {SHEET} 解压后过大，{BOMB}")
    at_cap = _write(tmp_path, "炸弹2.xlsx", _bomb(good, zeros_gb, declared=20 * MB))  # read to the cap, then the CRC fails
    _assert_refused_cheaply(at_cap, f"文件已损坏（部件 {SHEET} 无法解压），{REBUILD}")


def test_billion_laughs_is_refused_fast_and_small(tmp_path, good):
    reason = "xl/workbook.xml 含有 DTD 或实体声明（Excel 文件中不会出现，疑似恶意文件），已拒绝"
    path = _write(tmp_path, "笑.xlsx", rezip(good, replace={"xl/workbook.xml": BILLION_LAUGHS}))
    _assert_refused_cheaply(path, reason)
    utf16 = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    path = _write(tmp_path, "笑16.xlsx", rezip(good, replace={"xl/workbook.xml": utf16}))
    _assert_refused_cheaply(path, reason)


def test_part_full_of_tiny_elements_is_refused_before_parsing(tmp_path, good):
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    sheet += b"<row/>" * 600_000 + b"</sheetData></worksheet>"
    path = _write(tmp_path, "行.xlsx", rezip(good, replace={SHEET: sheet}))
    _assert_refused_cheaply(path, f"XML 内容异常庞大（部件 {SHEET}，超过 500000 个标记），{BOMB}")


def test_a_part_listed_many_times_cannot_multiply_the_reading(tmp_path, good):
    padded = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b" " * (15 * MB) + b"</worksheet>"
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        book = zf.read("xl/workbook.xml").decode()
    r = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    sheets = "".join(f'<sheet {r} name="s{i}" sheetId="{i + 100}" r:id="rId1"/>' for i in range(50))
    book = book.replace("<sheets>", "<sheets>" + sheets)
    path = _write(tmp_path, "重复.xlsx", rezip(good, replace={"xl/workbook.xml": book.encode(), SHEET: padded}))
    _assert_refused_cheaply(path, f"工作簿多次引用同一部件 {SHEET}，{BOMB}")


def test_read_part_trusts_no_header(tmp_path, good, zeros_gb):
    path = _write(tmp_path, "炸弹.xlsx", _bomb(good, zeros_gb, declared=3 * MB))
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET)
        with pytest.raises(UnreadableFile, match="解压后过大"):
            read_part(zf, SHEET, Limits(max_part_bytes=MB))
        info.file_size = MB // 2  # a header that claims less stops the read there, and the CRC gives it away
        tracemalloc.start()
        try:
            with pytest.raises(UnreadableFile, match="无法解压"):
                read_part(zf, SHEET, Limits(max_part_bytes=MB))
            assert tracemalloc.get_traced_memory()[1] < 2 * MB  # half a MB read in chunks, then joined
        finally:
            tracemalloc.stop()
