"""Input guards used by every command: what a file really is, and limits that stop bombs.

Every refusal is an UnreadableFile with one Chinese line saying what the file is and what to do.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * MB
    max_unpacked_bytes: int = 200 * MB  # all members together
    max_part_bytes: int = 50 * MB  # one XML part
    max_members: int = 2000


DEFAULT_LIMITS = Limits()


class UnreadableFile(UserError):
    """A file that cannot be read as a return; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}：{reason}")


_ZIP_KINDS = (
    ("xl/workbook.bin", "这是 .xlsb 二进制工作簿，请在 Excel/WPS 中另存为 .xlsx"),
    ("xl/vbaProject.bin", "这是含宏的工作簿（.xlsm），请在 Excel/WPS 中另存为不含宏的 .xlsx"),
    ("word/document.xml", "这是 Word 文档，不是 Excel 工作簿，请提交填好的 .xlsx 模板"),
    ("ppt/presentation.xml", "这是 PowerPoint 演示文稿，不是 Excel 工作簿"),
    ("content.xml", "这是 OpenDocument（.ods）表格，请在 LibreOffice/WPS 中另存为 .xlsx"),
)


def _ole_kind(path: Path) -> str:
    """An OLE compound file is an encrypted OOXML package or a legacy binary workbook."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
    except Exception:
        return "文件已损坏（无法识别的 OLE 复合文档）"
    if "EncryptionInfo" in streams or "EncryptedPackage" in streams:
        return "工作簿设置了打开密码（已加密），请取消密码后另存为 .xlsx 再提交"
    if streams & {"Workbook", "Book"}:
        return "这是 .xls 旧格式，请在 Excel/WPS 中另存为 .xlsx"
    if "WordDocument" in streams:
        return "这是 .doc 旧格式的 Word 文档，不是 Excel 工作簿"
    return "这是 WPS/Office 旧格式文件（如 .et），请另存为 .xlsx"


def _sniff_other(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "这是 PDF 文件，不是 Excel 工作簿，请提交填好的 .xlsx 模板"
    if not head.strip():
        return "文件是空的"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("gb18030")
        except UnicodeDecodeError:
            return "不是 Excel 工作簿（无法识别的文件内容），请提交填好的 .xlsx 模板"
    if "<html" in text.lower() or "<table" in text.lower():
        return "这是网页（HTML）文件改名的表格，请在 Excel/WPS 中另存为 .xlsx"
    if "," in text or "\t" in text:
        return "这是 CSV/文本文件，不是 Excel 工作簿，请使用下发的 .xlsx 模板填报"
    return "这是文本文件，不是 Excel 工作簿，请提交填好的 .xlsx 模板"


def _check_members(path: Path, zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise UnreadableFile(path, f"压缩包成员过多（{len(infos)} 个），疑似恶意文件，已拒绝")
    if sum(i.file_size for i in infos) > limits.max_unpacked_bytes:
        raise UnreadableFile(path, "解压后体积异常巨大（疑似压缩炸弹），已拒绝")
    names = {i.filename for i in infos}
    for member, reason in _ZIP_KINDS:
        if member in names:
            raise UnreadableFile(path, reason)
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(path, "不是 Excel 工作簿（压缩包中没有工作簿内容）")


def open_package(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """Open a file as an .xlsx package, refusing anything else with the reason."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(path, "文件不存在" if not path.exists() else "不是文件")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise UnreadableFile(path, f"文件过大（{size / MB:.1f} MB，上限 {limits.max_file_bytes / MB:.0f} MB）")
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(path, _ole_kind(path))
    if not head.startswith(b"PK"):
        raise UnreadableFile(path, _sniff_other(head))
    try:
        zf = zipfile.ZipFile(path)
        _check_members(path, zf, limits)
    except zipfile.BadZipFile:
        raise UnreadableFile(path, "文件已损坏（不是完整的 xlsx 压缩包），请重新保存后提交") from None
    return zf


def read_part(zf: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A member's bytes, read with a hard cap whatever its header claims."""
    with zf.open(name) as f:
        data = f.read(limits.max_part_bytes + 1)
    if len(data) > limits.max_part_bytes:
        raise UnreadableFile(zf.filename or "", f"部件 {name} 解压后过大，疑似压缩炸弹，已拒绝")
    return data
