"""LibreOffice as the real client in tests: filling workbooks the way a user's office suite would.

The project's Python cannot `import uno`; Debian's /usr/bin/python3 (package python3-uno) can. So
fill/inspect runs tests/uno_fill.py in that interpreter against a private soffice that this
module starts and kills for every call; the two exchange one JSON file each way (the protocol
is described in uno_fill.py). Only tests use this, so it is not shipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from toolkit.reports.pdf import (  # noqa: F401 - re-exported for the tests
    OfficeError,
    _kill,
    _office_env,
    _profile_args,
    _uno_env,
    convert_to_pdf,
    find_soffice,
    fonts_conf_path,
)

UNO_PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/lib/libreoffice/program/python")
INSTALL_HINT = "请运行 apt-get install libreoffice-calc libreoffice-writer python3-uno fonts-noto-cjk"
_SCRIPT = Path(__file__).with_name("uno_fill.py")
_PROTOCOL_VERSION = 1

CellRef = tuple[str, str]  # (sheet name, "B3")


@lru_cache(maxsize=1)
def find_uno_python() -> str | None:
    """A Python interpreter that can `import uno` ($TOOLKIT_UNO_PYTHON first), or None."""
    candidates = [os.environ.get("TOOLKIT_UNO_PYTHON", ""), *UNO_PYTHON_CANDIDATES]
    for path in candidates:
        if not path or not os.access(path, os.X_OK):
            continue
        try:
            done = subprocess.run([path, "-I", "-c", "import uno"], env=_uno_env(), capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return path
    return None


def office_unavailable_reason() -> str | None:
    """Why LibreOffice cannot be used here (Chinese, fit for a pytest skip), or None when it can."""
    if find_soffice() is None:
        return f"未安装 LibreOffice（找不到 soffice）：{INSTALL_HINT}"
    if find_uno_python() is None:
        return f"找不到可以 import uno 的 Python（/usr/bin/python3）：{INSTALL_HINT}"
    return None


def office_available() -> bool:
    """True when both soffice and a uno-capable Python are present."""
    return office_unavailable_reason() is None


def _require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise OfficeError(f"未安装 LibreOffice：{INSTALL_HINT}")
    return soffice


# ---------------------------------------------------------------- fill / inspect over UNO


@dataclass
class OfficeJob:
    """One document for the UNO script: write `cells`, recalculate, read, inspect, save as xlsx to `dst`."""

    src: str | os.PathLike
    dst: str | os.PathLike | None = None
    cells: Mapping[CellRef, Any] = field(default_factory=dict)
    read: Sequence[CellRef] = ()
    locks: Sequence[CellRef] = ()
    sheets: bool = False

    def to_json(self) -> dict:
        return {
            "src": str(Path(self.src).resolve()),
            "dst": str(Path(self.dst).resolve()) if self.dst else None,
            "set": [[s, a1, _json_value(v)] for (s, a1), v in self.cells.items()],
            "read": [list(r) for r in self.read],
            "locks": [list(r) for r in self.locks],
            "sheets": self.sheets,
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, int | float | str):
        return value
    raise TypeError(f"cannot write {value!r} into a cell")


def _py_value(read: dict) -> Any:
    """A read cell as Python: None, int (integral numbers), float, or str (text and errors)."""
    value = read.get("value")
    if read.get("type") == "value" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _result(raw: dict) -> dict:
    return {
        "values": {(s, a1): _py_value(r) for s, a1, r in raw.get("values", [])},
        "cells": {(s, a1): r for s, a1, r in raw.get("values", [])},
        "refused": {(s, a1): reason for s, a1, reason in raw.get("refused", [])},
        "locked": {(s, a1): flag for s, a1, flag in raw.get("locked", [])},
        "sheets": {s["name"]: {"protected": s["protected"], "visible": s["visible"]} for s in raw.get("sheets", [])},
        "document_protected": raw.get("document_protected"),
    }


def run_office_jobs(jobs: Sequence[OfficeJob], timeout: float = 120) -> list[dict]:
    """Run several jobs against one fresh soffice (one start-up ≈ 3 s); one result dict per job.

    Each result: values {(sheet, a1): value}, cells {(sheet, a1): raw read with type/text/formula},
    refused {(sheet, a1): reason} for writes rejected by sheet protection, locked {(sheet, a1): bool},
    sheets {name: {"protected": bool, "visible": bool}} and document_protected (workbook structure
    protection; both only when the job asked for sheets, else {} and None). Raises OfficeError when soffice is missing,
    fails, times out, or a job fails (e.g. a file that cannot be opened or a sheet that does not exist).
    """
    if not jobs:
        return []
    soffice = _require_soffice()
    python = find_uno_python()
    if python is None:
        raise OfficeError(f"找不到可以 import uno 的 Python：{INSTALL_HINT}")
    for job in jobs:
        if not Path(job.src).is_file():
            raise OfficeError(f"找不到文件：{job.src}")
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="toolkit-uno-") as tmp:
        tmpdir = Path(tmp)
        pipe = f"toolkit_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        connect = f"pipe,name={pipe};urp;StarOffice.ComponentContext"
        request, response = tmpdir / "request.json", tmpdir / "response.json"
        body = {"version": _PROTOCOL_VERSION, "connect_timeout": max(5.0, timeout / 2), "jobs": [j.to_json() for j in jobs]}
        request.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        office = subprocess.Popen(
            [soffice, *_profile_args(tmpdir / "profile"), f"--accept={connect.rsplit(';', 1)[0]};"],
            env=_office_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=tmp,
        )
        try:
            client = subprocess.run(
                [python, "-I", str(_SCRIPT), connect, str(request), str(response)],
                env=_uno_env(),
                capture_output=True,
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise OfficeError(f"LibreOffice 处理超时（{timeout:g} 秒）") from None
        finally:
            _kill(office)
        if not response.is_file():
            tail = client.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise OfficeError("LibreOffice 脚本异常退出" + (f"：{tail[0]}" if tail else f"（退出码 {client.returncode}）"))
        data = json.loads(response.read_text(encoding="utf-8"))
    if not data.get("ok"):
        raise OfficeError(f"LibreOffice 处理失败：{data.get('error')}")
    results = data.get("jobs", [])
    for job, raw in zip(jobs, results, strict=True):
        if not raw.get("ok"):
            raise OfficeError(f"LibreOffice 处理 {Path(job.src).name} 失败：{raw.get('error')}")
    return [_result(r) for r in results]


def fill_workbook(
    src: str | os.PathLike,
    dst: str | os.PathLike | None,
    cells: Mapping[CellRef, Any],
    read: Sequence[CellRef] = (),
    timeout: float = 120,
) -> dict:
    """Type values into a workbook as LibreOffice would, recalculate, read back, save as xlsx to `dst`.

    Writes go through XCellRangeData.setDataArray, which honours sheet protection: a locked cell is
    not changed and appears in result["refused"] instead. Returns the dict described in
    run_office_jobs (keys values, cells, refused, locked, sheets).
    """
    return run_office_jobs([OfficeJob(src, dst, cells, read)], timeout)[0]


def protection_state(src: str | os.PathLike, cells: Sequence[CellRef] = (), timeout: float = 120) -> dict:
    """Per-sheet protection/visibility and the lock flag of `cells`, as LibreOffice sees them.

    Returns {"sheets": {name: {"protected": bool, "visible": bool}}, "locked": {(sheet, a1): bool},
    "document_protected": bool} (the last: workbook structure protection).
    """
    result = run_office_jobs([OfficeJob(src, locks=cells, sheets=True)], timeout)[0]
    return {k: result[k] for k in ("sheets", "locked", "document_protected")}
