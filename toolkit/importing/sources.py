"""Which kind of file a published report is, by its content, and its blocks read by the matching reader."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit.core.errors import os_reason
from toolkit.importing.document import Document

MAX_BYTES = 30 * 1024 * 1024  # a published report page or file is a few MB at most
MAX_UNZIPPED = 200 * 1024 * 1024  # a .docx's parts, uncompressed (a zip bomb stops here)
SUFFIXES = (".html", ".htm", ".shtml", ".xhtml", ".docx", ".pdf")


class NotAReport(Exception):
    """A file no reader here takes: its reason, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Source:
    path: str
    data: bytes
    sha256: str

    @property
    def name(self) -> str:
        return Path(self.path).name


def load(path: str | Path) -> Source:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise NotAReport(f"文件过大（{size // (1024 * 1024)} MB，上限 {MAX_BYTES // (1024 * 1024)} MB）")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotAReport("文件不存在") from None
    except IsADirectoryError:
        raise NotAReport("这是文件夹，不是文件") from None
    except PermissionError:
        raise NotAReport("没有读取权限") from None
    except OSError as e:
        raise NotAReport(f"无法读取文件（{os_reason(e)}）") from None
    return Source(str(path), data, hashlib.sha256(data).hexdigest())


def kind_of(data: bytes) -> str:
    """html | docx | pdf, by the bytes (an extension can lie); NotAReport for anything else."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<meta", b"<table", b"<body", b"<div", b"<p")):
        return "html"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotAReport("这是 .doc 旧格式的 Word 文档，请在 Word/WPS 中另存为 .docx 后再导入")
    raise NotAReport("不是网页、Word 文档（.docx）或 PDF 文件")


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED:
                raise NotAReport("压缩内容过大，疑似压缩炸弹，已拒绝")
    except zipfile.BadZipFile:
        raise NotAReport("文件已损坏（不是完整的 .docx）") from None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        raise NotAReport("这是 Excel 工作簿；填好的报表请用 toolkit check 检查，导入只接受已发布的报告")
    raise NotAReport("这是一个压缩包，不是 Word 文档（.docx）")


def read_document(source: Source, is_heading: Callable[[str], bool]) -> Document:
    """The source's paragraphs and tables; NotAReport when it cannot be read as its kind."""
    kind = kind_of(source.data)
    try:
        if kind == "pdf":
            from toolkit.importing.pdf_source import read_pdf

            return read_pdf(source.data, source.path)
        if kind == "docx":
            from toolkit.importing.docx_source import read_docx

            return read_docx(source.data, source.path)
        from toolkit.importing.html_source import read_html

        return read_html(source.data, source.path, is_heading)
    except NotAReport:
        raise
    except Exception as e:  # a damaged file of a known kind: what its reader said, in one line
        raise NotAReport(f"文件已损坏或无法解析（{type(e).__name__}: {str(e)[:120]}）") from None


def find_reports(paths: list[str | Path]) -> list[Path]:
    """The files given, and the report files (by extension) in the folders given, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith((".", "~$"))
            ]
            out.extend(sorted(found))
        else:
            out.append(p)
    return out
