"""Collection files as input: damaged, edited or crafted ones give a problem or a refusal, never an internal error.

A collection.xlsx is read in three places: `toolkit check` verifies it, `toolkit merge` meets one
lying among the returns, and `merge --previous` reads last year's. Each claim the file makes about
itself (custom properties `toolkit.year`, `toolkit.agencies`, …) and each figure in 明细 is data
from outside, so the same attacks are tried on all three.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from hostile import rezip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cli import main
from toolkit.collection.readback import read_collection
from toolkit.collection.workbook import write_collection
from toolkit.core.errors import UserError
from toolkit.pipeline import check_or_refuse, merge_returns

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "returns-2024"
CUSTOM = "docProps/custom.xml"
DETAIL_SHEET = "xl/worksheets/sheet4.xml"  # 状态, 催报, 汇总, 明细, …: xlsxwriter numbers sheets in order
EXAMPLES = int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("collection") / "collection.xlsx"
    write_collection(merge_returns([SAMPLES], name="原州区"), out)
    return out.read_bytes()


def with_property(xlsx: bytes, name: str, value: str) -> bytes:
    """The package with custom property toolkit.<name> set to `value` (as a string property)."""
    custom = zipfile.ZipFile(io.BytesIO(xlsx)).read(CUSTOM).decode()
    pattern = re.compile(rf'(<property[^>]*name="toolkit\.{name}"[^>]*><vt:lpwstr>)[^<]*(</vt:lpwstr>)')
    assert pattern.search(custom), f"toolkit.{name} not in {CUSTOM}"
    custom = pattern.sub(lambda m: m.group(1) + escape(value) + m.group(2), custom)
    return rezip(xlsx, {CUSTOM: custom.encode()})


def with_detail_value(xlsx: bytes, ref: str, stored: str) -> bytes:
    """The package with 明细 cell `ref` storing the number text `stored`."""
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read(DETAIL_SHEET).decode()
    pattern = re.compile(rf'(<c r="{ref}"[^>]*>)<v>[^<]*</v>')
    assert pattern.search(sheet), f"{ref} not in 明细"
    return rezip(xlsx, {DETAIL_SHEET: pattern.sub(lambda m: m.group(1) + f"<v>{escape(stored)}</v>", sheet).encode()})


def write(tmp_path: Path, data: bytes, name: str = "collection.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_superscript_year_is_a_problem_for_check_and_merge(collection, tmp_path):
    """`toolkit.year=²`: str.isdigit() says yes and int() raises; it must be a reported problem (exit 1)."""
    path = write(tmp_path, with_property(collection, "year", "²"))
    checked = run("check", str(path))
    assert checked.exit_code == 1, checked.output
    assert "程序内部错误" not in checked.output
    assert "年度“²”不是有效的年份" in checked.output
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    shutil.copy(path, inbox / "去年的汇总.xlsx")
    merged = run("merge", str(inbox), "-o", str(tmp_path / "out"), "-q", "--jobs", "1")
    assert merged.exit_code == 1, merged.output
    assert "程序内部错误" not in merged.output
    assert "去年的汇总.xlsx" in merged.output and "表式不符" in merged.output and "不是机关报表" in merged.output


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [("year", "²", "年度“²”"), ("agencies", "abc", "机关数“abc”"), ("agencies", "999999999999", "机关数“999999999999”")],
)
def test_impossible_claims_refuse_the_previous_collection(collection, tmp_path, name, value, said):
    path = write(tmp_path, with_property(collection, name, value))
    with pytest.raises(UserError, match=said):
        read_collection(path)
    result = run("merge", str(SAMPLES), "-o", str(tmp_path / "out"), "--previous", str(path), "-q", "--jobs", "1")
    assert result.exit_code == 2 and said in result.output and "程序内部错误" not in result.output


def test_a_count_that_does_not_match_the_rows_is_damage(collection, tmp_path):
    ret = check_or_refuse(write(tmp_path, with_property(collection, "agencies", "2")))
    assert [p.code for p in ret.problems] == ["collection_damaged"]
    assert "文件声明有“2”个机关，明细中有 3 行" in ret.problems[0].message


def test_a_huge_exponent_in_detail_is_a_problem_at_once(collection, tmp_path):
    """1E+999999999 is a finite Decimal; int() of it runs for minutes. It is damage, named by its cell."""
    path = write(tmp_path, with_detail_value(collection, "E5", "1E+999999999"))
    ret = check_or_refuse(path)
    assert [(p.code, p.severity) for p in ret.problems] == [("collection_damaged", "error")]
    assert "明细!E5" in ret.problems[0].message and "1E+999999999" in ret.problems[0].message
    with pytest.raises(UserError, match="明细!E5"):
        read_collection(path)


def test_an_edited_summary_names_its_cell_and_both_figures(collection, tmp_path):
    """collection_mismatch carries the cell, what is there and what the agencies add up to, as fields."""
    original = read_collection(write(tmp_path, collection, "original.xlsx"))
    agency, values = next(iter(original.values.items()))  # row 5 of 明细; column E is the form's first cell
    cell_id = next(iter(values))
    ret = check_or_refuse(write(tmp_path, with_detail_value(collection, "E5", "7777")))
    (mismatch,) = [p for p in ret.problems if p.code == "collection_mismatch"]
    assert (mismatch.sheet, mismatch.cell_id) == ("汇总", cell_id) and mismatch.cell
    assert int(mismatch.expected) - int(mismatch.value) == 7777 - values[cell_id], (agency, mismatch)
    assert f"此处为 {mismatch.value}，各机关明细之和为 {mismatch.expected}" in mismatch.message


_CLAIMS = st.sampled_from(["year", "agencies", "inputs", "form_id", "form_version", "fingerprint", "name", "kind"])
_TEXT = st.one_of(
    st.sampled_from(["", "²", "٣", "2024", "0", "-1", "abc", "1e9", "999999999999", "1" * 5000, "collection", "gov-info-2019"]),
    st.text(max_size=30),
)
_NUMBERS = st.one_of(
    st.sampled_from(
        ["1E+999999999", "-1E+999999999", "NaN", "Infinity", "1e-999999999", "", "abc", "1" * 400, "0.30000000000000004"]
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
_CELLS = st.sampled_from(["E5", "F6", "G7", "H8", "A5", "E9"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=st.dictionaries(_CLAIMS, _TEXT, max_size=3), cells=st.dictionaries(_CELLS, _NUMBERS, max_size=2))
def test_fuzz_collection_files(collection, tmp_path, claims, cells):
    """Whatever a collection file claims or stores: check gives problems, --previous refuses or reads it; nothing raises."""
    data = collection
    for name, value in claims.items():
        data = with_property(data, name, value.replace("\x00", ""))
    for ref, stored in cells.items():
        try:
            data = with_detail_value(data, ref, stored)
        except AssertionError:  # A5 holds the agency name as text: no <v> number to replace
            continue
    path = write(tmp_path, data)
    ret = check_or_refuse(path)
    assert ret.status in ("accepted", "rejected", "unreadable")
    try:
        previous = read_collection(path)
    except UserError:
        return
    assert all(isinstance(v, dict) for v in previous.values.values())


def test_a_hidden_namesake_of_detail_is_a_problem(collection, tmp_path):
    """明细 twice in workbook.xml (the copy hidden, pointing at 汇总's part): the collection is not trusted."""
    book = zipfile.ZipFile(io.BytesIO(collection)).read("xl/workbook.xml").decode()
    entry = re.search(r'<sheet name="明细"[^>]*/>', book).group(0)
    copy = entry.replace('sheetId="3"', 'sheetId="99"').replace("/>", ' state="hidden"/>').replace('r:id="rId3"', 'r:id="rId2"')
    path = write(tmp_path, rezip(collection, {"xl/workbook.xml": book.replace(entry, copy + entry).encode()}))
    ret = check_or_refuse(path)
    assert "duplicate_sheet" in [p.code for p in ret.problems] and ret.status == "rejected"


def test_a_text_longer_than_a_cell_says_it_was_cut():
    from toolkit.collection.workbook import CELL_LIMIT, fit_cell

    text = "政" * 40_000
    cut = fit_cell(text)
    assert len(cut) == CELL_LIMIT and cut.startswith("政" * 30_000) and "全文共 40000 字" in cut
    assert fit_cell("短文") == "短文"
