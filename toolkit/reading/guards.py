"""Input guards used by every command: what a file really is, and limits that stop bombs.

Every refusal is an UnreadableFile with one Chinese line saying what the file is and what to do.
Nothing here trusts a size a file declares: zip headers can lie, so every read has a hard cap
that holds whatever the header claims, and the whole package shares one budget of bytes and tags.
"""

from __future__ import annotations

import codecs
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from toolkit.core.errors import UserError, os_reason
from toolkit.core.text import plain
from toolkit.reading.zipdir import count_entries, count_signatures, find_directory

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one returned file may cost. A real return is ≈ 30 KB, ≈ 250 KB unpacked, ≈ 6,000 XML tags."""

    max_file_bytes: int = 20 * MB
    max_unpacked_bytes: int = 50 * MB  # all members together, declared and actually read
    max_part_bytes: int = 20 * MB  # one member
    max_members: int = 2000
    max_xml_tags: int = 500_000  # elements and attributes of all XML parts read together: bounds parsed trees


DEFAULT_LIMITS = Limits()


class UnreadableFile(UserError):
    """A file that cannot be read as a return; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        reason = plain(reason)  # it may quote a part or sheet name the file chose
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}：{reason}")


BOMB = "疑似压缩炸弹或恶意文件，已拒绝；请在 Excel/WPS 中打开后重新保存再提交"
DAMAGED = "请在 Excel/WPS 中打开后重新保存再提交"
TRUNCATED = "文件已损坏（不是完整的 xlsx 压缩包，可能下载或拷贝不完整），请重新拷贝或请填报单位重新发送"

_ZIP_KINDS = (
    ("xl/workbook.bin", "这是 .xlsb 二进制工作簿，请在 Excel/WPS 中另存为 .xlsx"),
    ("xl/vbaProject.bin", "这是含宏的工作簿（.xlsm），请在 Excel/WPS 中另存为不含宏的 .xlsx"),
    ("word/document.xml", "这是 Word 文档，不是 Excel 工作簿，请提交填好的 .xlsx 模板"),
    ("ppt/presentation.xml", "这是 PowerPoint 演示文稿，不是 Excel 工作簿，请提交填好的 .xlsx 模板"),
    ("content.xml", "这是 OpenDocument（.ods）表格，请在 LibreOffice/WPS 中另存为 .xlsx"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _mb(n: int) -> str:
    """Bytes as megabytes with at most two decimals: 20, 0.5, 0.01."""
    return f"{n / MB:.2f}".rstrip("0").rstrip(".")


def _legacy_workbook(path: Path) -> str:
    if path.suffix.lower() in (".et", ".ett"):
        return "这是 WPS 表格旧格式（.et），请在 WPS 中另存为 .xlsx"
    return "这是 .xls 旧格式，请在 Excel/WPS 中另存为 .xlsx"


def _ole_kind(path: Path) -> str:
    """An OLE compound file is an encrypted OOXML package or a legacy binary document."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
    except Exception:  # olefile raises many kinds of errors on a damaged file; all mean "damaged"
        return f"文件已损坏（无法识别的 OLE 复合文档，可能是损坏的 .xls/.et），{DAMAGED}"
    if "EncryptionInfo" in streams or "EncryptedPackage" in streams:
        return "工作簿设置了打开密码（已加密），请在 Excel/WPS 中取消密码后另存为 .xlsx 再提交"
    if streams & {"Workbook", "Book"} or path.suffix.lower() in (".et", ".ett"):
        return _legacy_workbook(path)
    if "WordDocument" in streams:
        return "这是 .doc 旧格式的 Word 文档，不是 Excel 工作簿，请提交填好的 .xlsx 模板"
    if "PowerPoint Document" in streams:
        return "这是 .ppt 旧格式的演示文稿，不是 Excel 工作簿，请提交填好的 .xlsx 模板"
    return "这是 WPS/Office 旧格式文件（如 .et），不是 .xlsx；请在 WPS/Excel 中另存为 .xlsx"


def _decode_text(head: bytes) -> str | None:
    """The head of a text file as text (UTF-8, UTF-16 with BOM or GB18030), None when it is binary."""
    encodings = ["utf-16"] if head.startswith(_TEXT_BOMS[1:]) else ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)  # a cut last char is fine
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f")
        return text if controls == 0 else None
    return None


def _sniff_other(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "这是 PDF 文件，不是 Excel 工作簿，请提交填好的 .xlsx 模板"
    if not head:
        return "文件是空的（0 字节），可能未保存完整或传输失败，请重新保存后提交"
    text = _decode_text(head)
    if text is None:
        return "不是 Excel 工作簿（无法识别的文件内容，可能已损坏），请提交填好的 .xlsx 模板"
    return _text_kind(text)


def _text_kind(text: str) -> str:
    lowered = text.lower()
    if "<html" in lowered or "<table" in lowered or "<!doctype html" in lowered:
        return "这是网页（HTML）文件改名的表格，请在 Excel/WPS 中另存为 .xlsx"
    if not text.strip():
        return "文件内容是空白的，请提交填好的 .xlsx 模板"
    if "," in text or "\t" in text or "，" in text:
        return "这是 CSV/文本文件，不是 Excel 工作簿，请使用下发的 .xlsx 模板填报"
    return "这是文本文件，不是 Excel 工作簿，请提交填好的 .xlsx 模板"


def _check_entry_count(path: Path, limits: Limits) -> None:
    """zipfile builds an object per central-directory entry before we can count them: count first.

    Only inside the directory zipfile will read (found through the end record, as zipfile finds it):
    a stored image may hold the entry signature anywhere. The whole file is counted only when there
    is no end record (zipfile will refuse such a file; the count makes sure it costs nothing first)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        directory = find_directory(f, size)
        if directory is not None and directory.start < 0:  # zipfile: "Bad offset for central directory"
            raise UnreadableFile(path, TRUNCATED)
        count = count_signatures(f, 0, size) if directory is None else count_entries(f, directory)
    if count > limits.max_members:
        raise UnreadableFile(path, f"压缩包成员过多（超过 {limits.max_members} 个），{BOMB}")


def _check_members(path: Path, zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise UnreadableFile(path, f"压缩包成员过多（{len(infos)} 个），{BOMB}")
    if sum(i.file_size for i in infos) > limits.max_unpacked_bytes:
        raise UnreadableFile(path, f"解压后体积异常巨大，{BOMB}")
    if any(i.flag_bits & 0x1 for i in infos):
        raise UnreadableFile(path, "压缩包设置了密码（已加密），请取消密码后另存为 .xlsx 再提交")
    if any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos):
        raise UnreadableFile(path, f"压缩包使用了 Excel 不会使用的压缩方式，不是 Excel 保存的 .xlsx；{DAMAGED}")
    _check_names(path, [i.filename for i in infos])


def _check_names(path: Path, names: list[str]) -> None:
    """No two members of one name (zipfile would read the later one, another program the earlier one;
    part names are compared case-insensitively), and a workbook, not some other kind of package."""
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            shown = plain(name[:60])
            raise UnreadableFile(path, f"文件已损坏或被改动（压缩包中有两个同名部件 {shown}，Excel 不会这样保存），{DAMAGED}")
        seen.add(name.lower())
    for member, reason in _ZIP_KINDS:
        if member.lower() in seen:
            raise UnreadableFile(path, reason)
    if "xl/workbook.xml" not in seen:
        raise UnreadableFile(path, "这是一个压缩包（.zip），不是 Excel 工作簿，请提交填好的 .xlsx 模板")


def _open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
    _check_entry_count(path, limits)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, OverflowError, struct.error, NotImplementedError):
        # zipfile raises any of these for a damaged or crafted central directory
        raise UnreadableFile(path, TRUNCATED) from None
    try:
        _check_members(path, zf, limits)
    except UnreadableFile:
        zf.close()
        raise
    return zf


def open_package(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """Open a file as an .xlsx package, refusing anything else with the reason."""
    try:
        return _open_package(Path(path), limits)
    except OSError as e:  # no permission, locked by another program, a disk error: this file only
        raise UnreadableFile(path, f"无法打开文件（{os_reason(e)}），请检查文件权限或关闭正在使用它的程序") from None


def _open_package(path: Path, limits: Limits) -> zipfile.ZipFile:
    if not path.is_file():
        raise UnreadableFile(path, "文件不存在" if not path.exists() else "不是文件")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        limit = _mb(limits.max_file_bytes)
        raise UnreadableFile(path, f"文件过大（{_mb(size)} MB，上限 {limit} MB）；如确为正常填报文件，可用 --max-size 放宽上限")
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(_OLE_MAGIC):
        raise UnreadableFile(path, _ole_kind(path))
    if not head.startswith(b"PK\x03\x04"):
        if head.startswith(b"PK"):
            raise UnreadableFile(path, TRUNCATED)
        raise UnreadableFile(path, _sniff_other(head))
    return _open_zip(path, limits)


_CHUNK = 256 * 1024
# What ZipFile.open() and reading a member raise on a damaged or crafted member (CPython's zipfile):
# BadZipFile for a bad local header, a name that differs from the directory's or a wrong CRC;
# UnicodeDecodeError (a ValueError) for a local name that is not in the encoding its flags claim;
# ValueError or OSError for a negative offset, OverflowError for one past any file; zlib.error and
# EOFError for damaged or cut-off compressed data; NotImplementedError for compression or encryption
# zipfile cannot do; RuntimeError for an encrypted member; struct.error for a cut-off structure.
_DAMAGED_MEMBER = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


def _read_capped(f, cap: int) -> bytes:
    """At most one chunk more than `cap` bytes: a single big read would make zipfile allocate it all."""
    chunks, total = [], 0
    while total <= cap:
        block = f.read(_CHUNK)
        if not block:
            break
        chunks.append(block)
        total += len(block)
    return b"".join(chunks)


def read_part(zf: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A member's bytes, read with a hard cap whatever its header claims. KeyError when missing.

    zipfile never returns more than the declared size, and this reads in small chunks and stops
    once past the cap, so neither a lying header nor a bomb can make it hold more than about the
    cap (twice the cap at the moment the chunks are joined)."""
    where = zf.filename or ""
    if zf.getinfo(name).file_size > limits.max_part_bytes:
        raise UnreadableFile(where, f"部件 {name} 解压后过大，{BOMB}")
    try:
        with zf.open(name) as f:
            data = _read_capped(f, limits.max_part_bytes)
    except _DAMAGED_MEMBER:
        raise UnreadableFile(where, f"文件已损坏（部件 {name} 无法解压），{DAMAGED}") from None
    if len(data) > limits.max_part_bytes:
        raise UnreadableFile(where, f"部件 {name} 解压后过大，{BOMB}")
    return data


def _markup_count(data: bytes) -> int:
    """Elements and attributes, the two things that cost memory once parsed (1.5 M attributes on one
    element cost 562 MB): every start tag has a `<`, every attribute an `=`. A closing tag costs nothing."""
    return data.count(b"<") - data.count(b"</") + data.count(b"=")


UNCOUNTED_BYTES = 4 * MB  # parts kept aside at most before their markup is counted anyway


class PackageBudget:
    """Reads the XML parts of one package within limits shared by all the reads together.

    A crafted workbook can list the same part a thousand times, or parts full of tiny elements
    that cost a hundred bytes of memory each once parsed; the budget bounds both.

    A part has fewer elements and attributes than bytes, so while all the bytes read stay under the
    tag limit nothing is counted (a real return's ≈ 160 KB never are): the parts are kept aside and
    counted only once they together could pass it. The refusal comes at the same part as counting each."""

    def __init__(self, zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS):
        self.zf, self.limits = zf, limits
        self.bytes_read = self.tags_read = 0
        self.seen: set[str] = set()
        self.uncounted: list[bytes] = []
        self.uncounted_bytes = 0

    def _too_many_tags(self, data: bytes) -> bool:
        """Whether the elements and attributes of every part read so far pass the limit."""
        self.uncounted.append(data)
        self.uncounted_bytes += len(data)
        if self.tags_read + self.uncounted_bytes <= self.limits.max_xml_tags and self.uncounted_bytes <= UNCOUNTED_BYTES:
            return False  # cannot pass the limit yet, whatever the parts hold
        self.tags_read += sum(_markup_count(part) for part in self.uncounted)
        self.uncounted, self.uncounted_bytes = [], 0
        return self.tags_read > self.limits.max_xml_tags

    def read(self, name: str) -> bytes | None:
        """The part's bytes, or None when the package has no such part."""
        if name in self.seen:  # a real workbook never points two sheets at one part
            raise UnreadableFile(self.zf.filename or "", f"工作簿多次引用同一部件 {name}，{BOMB}")
        self.seen.add(name)
        try:
            data = read_part(self.zf, name, self.limits)
        except KeyError:
            return None
        self.bytes_read += len(data)
        where = self.zf.filename or ""
        if self.bytes_read > self.limits.max_unpacked_bytes:
            raise UnreadableFile(where, f"解压后体积异常巨大，{BOMB}")
        if self._too_many_tags(data):
            raise UnreadableFile(where, f"XML 内容异常庞大（部件 {name}，超过 {self.limits.max_xml_tags} 个标记），{BOMB}")
        return data
