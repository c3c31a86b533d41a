"""Regenerate the golden files of tests/test_golden.py, saved by a real client (LibreOffice headless).

    python tests/golden/make_golden.py            # from the project root; needs soffice and python3-uno

Writes, into tests/golden/:

- return-gov-info-2021.xlsx, return-gov-info-2019.xlsx: a filled return of each form
  (tests/golden_inputs.py `golden_return`), built with `build_filled_workbook`, its formulas'
  cached results removed (so every total and check text in the golden file can only be LibreOffice's own),
  opened in LibreOffice over UNO (tests/office.py), recalculated (calculateAll) and saved as xlsx;
- collection.xlsx: `merge_returns` + `write_outputs` over a copy of samples/returns-2024 (relative
  paths, so the file names in it are stable), then opened, recalculated and saved by LibreOffice;
- report-gov-info-2019.docx: `render_report` of the 2019-form sample (samples/returns-2020), converted
  by LibreOffice Writer (`soffice --headless --convert-to docx`, private profile) back to .docx.

Run it only after an intended change of what the product writes (or after samples/ are rebuilt: the
collection and the report are made from them): first make sure every difference `pytest tests/test_golden.py`
reports is intended, then regenerate and commit the four files. The bytes change on every run (zip and
document dates); the canonical structures the tests compare do not. The tests only read these files.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from golden_inputs import (  # noqa: E402
    COLLECTION_GOLDEN,
    COLLECTION_INBOX,
    COLLECTION_NAME,
    GENERATED_AT,
    GOLDEN,
    REPORT_GOLDEN,
    RETURNS,
    golden_return,
    report_source,
    return_golden,
    stage_collection_inputs,
)
from office import OfficeJob, office_unavailable_reason, run_office_jobs  # noqa: E402

from toolkit.pipeline import check_or_refuse, merge_returns, render_report, write_outputs  # noqa: E402
from toolkit.reports.pdf import convert  # noqa: E402
from toolkit.workbook.writer import build_filled_workbook  # noqa: E402

_CACHED_RESULT = re.compile(rb"(<c [^>]*>)(<f>[^<]*</f>)<v>[^<]*</v>(</c>)")


def without_cached_results(xlsx: bytes) -> bytes:
    """The workbook with every formula's cached result removed: what LibreOffice saves must be its own."""
    src, out, formulas, removed = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO(), 0, 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                formulas += data.count(b"<f>")
                data, n = _CACHED_RESULT.subn(rb"\1\2\3", data)
                removed += n
            dst.writestr(item.filename, data)
    if removed == 0 or removed != formulas:
        raise SystemExit(f"removed {removed} cached results of {formulas} formulas: the writer's cell XML has changed")
    return out.getvalue()


def built_returns(tmp: Path) -> list[tuple[Path, Path]]:
    """(built file, golden file) of each form's return; the built one without cached results."""
    out = []
    for form_id in RETURNS:
        src = tmp / f"built-{form_id}.xlsx"
        src.write_bytes(without_cached_results(build_filled_workbook(golden_return(form_id), generated_at=GENERATED_AT)))
        out.append((src, return_golden(form_id)))
    return out


def built_collection(tmp: Path) -> tuple[Path, Path]:
    """(collection.xlsx written by write_outputs, golden file)."""
    stage_collection_inputs(tmp)
    cwd = Path.cwd()
    os.chdir(tmp)  # merge the relative folder 回收/: the paths written into the collection do not name tmp
    try:
        written = write_outputs(merge_returns([COLLECTION_INBOX], name=COLLECTION_NAME), Path("out"))
    finally:
        os.chdir(cwd)
    return tmp / written[0], GOLDEN / COLLECTION_GOLDEN


def resave_xlsx(pairs: list[tuple[Path, Path]]) -> None:
    """Open each in LibreOffice Calc, recalculate everything, save as xlsx (tests/uno_fill.py; one soffice)."""
    run_office_jobs([OfficeJob(src, dst) for src, dst in pairs])
    for _, dst in pairs:
        print("wrote", dst.relative_to(TESTS.parent))


def make_report(tmp: Path) -> None:
    ret = check_or_refuse(report_source())
    if not ret.accepted:
        raise SystemExit(f"示例报表未通过检查：{[p.message for p in ret.errors]}")
    src = tmp / "rendered" / REPORT_GOLDEN
    src.parent.mkdir()
    src.write_bytes(render_report(ret))
    dst = GOLDEN / REPORT_GOLDEN
    (converted,) = convert([src], tmp / "converted", "docx:MS Word 2007 XML")
    dst.write_bytes(converted.read_bytes())
    print("wrote", dst.relative_to(TESTS.parent))


def main() -> None:
    reason = office_unavailable_reason()
    if reason:
        raise SystemExit(reason)
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toolkit-golden-") as tmp:
        resave_xlsx([*built_returns(Path(tmp)), built_collection(Path(tmp))])
        make_report(Path(tmp))


if __name__ == "__main__":
    main()
