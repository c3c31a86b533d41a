"""Templates for one agency or a whole mailing: validated arguments, safe names, atomic files."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from toolkit.core.batch import run_batch
from toolkit.core.digits import YEAR_MAX, YEAR_MIN, report_year
from toolkit.core.errors import UserError
from toolkit.core.fileio import atomic_write_bytes, safe_filename, unique_path
from toolkit.core.text import plain
from toolkit.forms.spec import Form
from toolkit.workbook.writer import build_workbook

AGENCY_COLUMN = "机关名称"
CONTACT_COLUMN = "联系人"
PHONE_COLUMN = "联系电话"


MAX_NAME = 100  # characters of an agency's or region's name: it goes into titles, file names and properties (255)
_INVISIBLE = ("Cc", "Cf", "Co", "Cs")


def _shown(text: str) -> str:
    """The name as it can be shown: Chinese as it is, each invisible character as \\uXXXX."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)


def check_agency(name: str | None, what: str = "机关名称") -> str:
    text = (name or "").strip()
    if not text:
        raise UserError(f"{what}不能为空")
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise UserError(f"{what}“{_shown(text)[:60]}”含有控制字符或不可见字符，请删除后重试")
    if len(text) > MAX_NAME:
        raise UserError(f"{what}过长（{len(text)} 字，最多 {MAX_NAME} 字）：{text[:20]}…")
    return text


def check_year(value: str | int | None) -> int:
    year = report_year(value)
    if year is None:
        text = str(value if value is not None else "").strip()
        raise UserError(f"年度“{text}”不是有效的年份（应为 {YEAR_MIN} 至 {YEAR_MAX} 之间的四位数字，如 2024）")
    return year


def template_filename(form: Form, agency: str, year: int) -> str:
    return safe_filename(f"{agency}_{year}年_{form.id}", ".xlsx")


def write_template(form: Form, agency: str, year: int, out: str | Path, password: str | None = None) -> Path:
    """Write one agency's template atomically; UserError when the folder cannot take it."""
    out = Path(out)
    if out.is_dir():
        out = out / template_filename(form, agency, year)
    if not out.parent.is_dir():
        raise UserError(f"{out}：输出文件夹不存在")
    try:
        atomic_write_bytes(out, build_workbook(form, agency, year, password))
    except OSError as e:
        raise UserError(f"{out}：无法写入（{e.strerror or e}）") from None
    return out


@dataclass(frozen=True)
class Agency:
    """One agency of the office's list, with whom to call when its return is missing or wrong."""

    name: str
    contact: str = ""
    phone: str = ""


def read_agency_list(path: str | Path) -> list[str]:
    """Agencies' names from a text file (one a line) or a CSV with a 机关名称 column; blanks and repeats dropped."""
    return [a.name for a in read_agencies(path)]


def read_agencies(path: str | Path) -> list[Agency]:
    """The agency list with contacts: a CSV's 联系人 and 联系电话 columns when it has them (a text file has none)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}：无法读取机关名单（{e.strerror or e}）") from None
    text = decode_text(raw, path)
    first = text.strip().splitlines()[0] if text.strip() else ""
    if path.suffix.lower() == ".csv" or AGENCY_COLUMN in first.split(","):
        rows = _csv_rows(text, path)
    else:
        rows = [Agency(line.strip()) for line in text.splitlines()]
    unique: dict[str, Agency] = {}
    for a in rows:
        if a.name and not a.name.startswith("#"):
            unique.setdefault(a.name, a)
    if not unique:
        raise UserError(f"{path}：机关名单是空的")
    return [Agency(check_agency(a.name), a.contact, a.phone) for a in unique.values()]


def decode_text(raw: bytes, path: Path) -> str:
    """A text file as offices save it: UTF-8 (with or without BOM) or GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(f"{path}：无法识别文件编码（请另存为 UTF-8）")


def _csv_rows(text: str, path: Path) -> list[Agency]:
    reader = csv.DictReader(io.StringIO(text))
    if AGENCY_COLUMN not in (reader.fieldnames or []):
        raise UserError(f"{path}：CSV 中没有“{AGENCY_COLUMN}”列")
    return [
        Agency((row.get(AGENCY_COLUMN) or "").strip(), _contact(row, CONTACT_COLUMN), _contact(row, PHONE_COLUMN))
        for row in reader
    ]


def _contact(row: dict, column: str) -> str:
    """A contact or phone as the CSV has it, with nothing a workbook cannot hold."""
    return plain(row.get(column) or "").strip()[:MAX_NAME]


def plan_mailing(form: Form, year: int, agencies: Iterable[str], out_dir: Path) -> Iterator[tuple[str, Path]]:
    """(agency, output path) pairs with safe, distinct file names inside out_dir."""
    taken: set[str] = set()
    for agency in agencies:
        yield agency, unique_path(out_dir, template_filename(form, agency, year), taken)


def _write_planned(form: Form, year: int, password: str | None, planned: tuple[str, Path]) -> Path:
    return write_template(form, planned[0], year, planned[1], password)


def write_mailing(
    form: Form,
    year: int,
    agencies: Iterable[str],
    out_dir: Path,
    password: str | None = None,
    jobs: int | None = None,
    executor: Executor | None = None,
) -> Iterator[Path]:
    """Every agency's template in out_dir (safe, distinct names), yielded as each is written."""
    plan = list(plan_mailing(form, year, agencies, out_dir))
    yield from run_batch(partial(_write_planned, form, year, password), plan, jobs, executor)
