"""A real client end to end (issue 7, item 4): three agency clerks fill their templates in LibreOffice.

Each clerk opens the template that `toolkit template` made, types figures, texts and the 联系人/联系电话/填报日期
fields into the unlocked cells, tries to overwrite two locked totals (refused by the sheet protection) and
saves as .xlsx, all in LibreOffice over UNO, one soffice start-up for the three documents. Then the CLI runs
as the office would: `toolkit check` accepts the three, `toolkit report` renders one, `toolkit merge` merges
them; every figure and text in the outputs must be what the clerks typed, and every total the sum the test
computes itself from what was typed.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from office import OfficeJob, office_available, office_unavailable_reason, run_office_jobs
from test_check_rules import balanced_inputs
from test_report import table_cells

from toolkit.cli import main
from toolkit.collection.workbook import DETAIL, DETAIL_HEADER_ROWS, DETAIL_LEAD, SUMMARY, TEXTS, summary_cells
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.reports.render import format_value

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or ""),
]

FORM = get_form("gov-info-2021")
LAYOUT = layout_of(FORM)
YEAR = 2024
AGENCIES = ("原州区司法局", "原州区教育局", "原州区卫生健康局")
AMOUNTS = (Decimal("1234.5"), Decimal("0.75"), Decimal("3.125"))  # 万元, exact in binary: sums compare exactly
LOCKED_TRIES = ("t3.total.natural", "t3.new.total")  # a column total and a row total of 表三
T3 = next(t for t in FORM.tables if t.id == "t3")
T3_HANDLING = [r.id for r in T3.rows if r.id not in ("new", "carried", "total", "carry_over")]
T3_APPLICANTS = [c.id for c in T3.columns if c.id != "total"]


def ref(kind: dict, key: str) -> tuple[str, str]:
    pos = kind[key]
    return (pos.sheet, pos.a1)


def typed_by(i: int, agency: str) -> tuple[dict, dict, dict]:
    """What clerk i types: (numbers by cell id, texts by section id, fields by field id)."""
    rng = random.Random(2024 + i)
    numbers: dict = balanced_inputs(FORM, lambda: rng.randint(0, 60))
    numbers["t2_8.fees.amount"] = AMOUNTS[i]
    texts = {
        s.id: f'{agency}{s.title}：R&D <依申请> “公开” "引号" a>b & c<d\n第二段：{agency}{s.id}完。' for s in FORM.text_sections
    }
    fields = {"contact": f"联系人{i}", "phone": f"0954-20{i:05d}", "date": f"2025年1月{20 + i}日"}
    return numbers, texts, fields


def expected_t3(numbers: dict) -> dict:
    """表三's totals summed here from the spec's row and column lists, not by the code under test."""
    out = {}
    for col in T3_APPLICANTS:
        out[f"t3.total.{col}"] = sum(numbers[f"t3.{r}.{col}"] for r in T3_HANDLING)
    for row in (*(r.id for r in T3.rows if r.id != "total"), "total"):
        source = out if row == "total" else numbers
        out[f"t3.{row}.total"] = sum(source[f"t3.{row}.{c}"] for c in T3_APPLICANTS)
    return out


def invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def clerks(tmp_path_factory):
    """Templates from the CLI, filled and saved by LibreOffice (one soffice for the three)."""
    root = tmp_path_factory.mktemp("e2e")
    templates, returns = root / "templates", root / "returns"
    templates.mkdir()
    returns.mkdir()
    typed, jobs = {}, []
    read = [ref(LAYOUT.cells, cid) for cid, c in FORM.cells.items() if c.computed]
    tries = {ref(LAYOUT.cells, cid): 999999 for cid in LOCKED_TRIES}
    for i, agency in enumerate(AGENCIES):
        template = templates / f"{agency}.xlsx"
        result = invoke(["template", "--agency", agency, "--year", str(YEAR), "-o", str(template), "-q"])
        assert result.exit_code == 0, result.output
        numbers, texts, fields = typed[agency] = typed_by(i, agency)
        cells = {ref(LAYOUT.cells, k): v for k, v in numbers.items()}
        cells |= {ref(LAYOUT.texts, k): v for k, v in texts.items()}
        cells |= {ref(LAYOUT.fields, k): v for k, v in fields.items()}
        cells |= tries  # typed last, after the inputs, as a clerk who overwrites a total would
        jobs.append(OfficeJob(template, returns / f"{agency}.xlsx", cells, read=read, locks=list(tries), sheets=True))
    results = dict(zip(AGENCIES, run_office_jobs(jobs, timeout=180), strict=True))
    return {"root": root, "returns": returns, "typed": typed, "office": results}


@pytest.fixture(scope="module")
def figures(clerks):
    """Every cell of every return: the typed inputs plus the totals LibreOffice recalculated."""
    out = {}
    for agency, (numbers, _texts, _fields) in clerks["typed"].items():
        values = clerks["office"][agency]["values"]
        computed = {cid: values[ref(LAYOUT.cells, cid)] for cid, c in FORM.cells.items() if c.computed}
        out[agency] = {**numbers, **computed}
    return out


def region_sums(figures: dict) -> dict:
    return {cid: sum(f[cid] for f in figures.values()) for cid in FORM.cells}


# ---------------------------------------------------------------- in LibreOffice


def test_locked_totals_refuse_the_clerk_and_keep_their_formulas(clerks):
    for agency, result in clerks["office"].items():
        tried = {ref(LAYOUT.cells, cid) for cid in LOCKED_TRIES}
        assert set(result["refused"]) == tried, agency  # only the locked totals; every input went in
        assert all(result["refused"].values())
        assert result["locked"] == dict.fromkeys(tried, True)  # refused because locked on a protected sheet
        assert all(result["sheets"][sheet]["protected"] for sheet, _a1 in tried)
        for cell in tried:
            assert result["cells"][cell]["formula"].startswith("="), (agency, cell)
            assert result["values"][cell] != 999999
        assert (clerks["returns"] / f"{agency}.xlsx").is_file()


def test_libreoffice_totals_are_the_sums_of_what_was_typed(clerks, figures):
    for agency, (numbers, _texts, _fields) in clerks["typed"].items():
        expected = expected_t3(numbers)
        assert {cid: figures[agency][cid] for cid in expected} == expected, agency
        assert figures[agency] == FORM.compute(numbers), agency
        assert expected["t3.total.total"] > 0


def test_saved_files_keep_protection_and_formulas(clerks):
    for agency in AGENCIES:
        wb = openpyxl.load_workbook(clerks["returns"] / f"{agency}.xlsx")
        assert all(ws.protection.sheet for ws in wb.worksheets), agency
        for cid in LOCKED_TRIES:
            sheet, a1 = ref(LAYOUT.cells, cid)
            assert str(wb[sheet][a1].value).startswith("="), (agency, cid)
            assert wb[sheet][a1].protection.locked


# ---------------------------------------------------------------- check


def test_check_accepts_all_three_with_no_problem(clerks):
    result = invoke(["check", str(clerks["returns"]), "--json", "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"] == {"files": 3, "accepted": 3, "rejected": 0, "unreadable": 0}
    assert {f["agency"] for f in report["files"]} == set(AGENCIES)
    assert [p for f in report["files"] for p in f["problems"]] == []  # recalculated by LibreOffice: no stale totals


# ---------------------------------------------------------------- report


@pytest.fixture(scope="module")
def report(clerks):
    agency = AGENCIES[0]
    out = clerks["root"] / "report.docx"
    result = invoke(["report", str(clerks["returns"] / f"{agency}.xlsx"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return agency, docx.Document(str(out))


def assert_tables_hold(document, values: dict) -> None:
    """Every table of the form, drawn in `document`, holds `values` under its row and column labels."""
    assert len(document.tables) == len(FORM.tables)
    for table, drawn in zip(FORM.tables, document.tables, strict=True):
        g, rows, cols = table_cells(drawn, table.caption, table.header_depth, table.label_depth)
        for row in table.rows:
            i = rows[tuple(p for p in (*row.path, row.label) if p)]
            for column in table.columns:
                cid = f"{table.id}.{row.id}.{column.id}"
                assert g[i][cols[(*column.path, column.label)]] == format_value(values[cid], FORM.cells[cid]), cid


def test_report_tables_hold_the_typed_figures(clerks, figures, report):
    agency, document = report
    numbers, _texts, _fields = clerks["typed"][agency]
    assert_tables_hold(document, figures[agency])
    t3 = document.tables[[t.id for t in FORM.tables].index("t3")]
    drawn = {c.text for row in t3.rows for c in row.cells}
    assert str(numbers["t3.open.natural"]) in drawn and str(expected_t3(numbers)["t3.total.total"]) in drawn
    t2_8 = document.tables[[t.id for t in FORM.tables].index("t2_8")]
    assert "1234.5" in {c.text for row in t2_8.rows for c in row.cells}


def test_report_paragraphs_hold_the_typed_texts(clerks, report):
    agency, document = report
    _numbers, texts, fields = clerks["typed"][agency]
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0].replace("\n", "") == FORM.report_title(agency, YEAR)
    for text in texts.values():
        first, second = text.split("\n")
        assert first in paragraphs and second in paragraphs, first  # one paragraph per typed line
    assert fields["date"] in paragraphs


# ---------------------------------------------------------------- merge


@pytest.fixture(scope="module")
def merged(clerks):
    out = clerks["root"] / "merged"
    result = invoke(["merge", str(clerks["returns"]), "-o", str(out), "--name", "原州区", "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_merge_summary_sheet_totals_are_the_sums_typed(figures, merged):
    sums = region_sums(figures)
    ws = openpyxl.load_workbook(merged / "collection.xlsx", data_only=True)[SUMMARY]
    for cid, (row, col) in summary_cells(FORM).items():
        assert ws.cell(row + 1, col + 1).value == sums[cid], cid
    assert sums["t2_8.fees.amount"] == sum(AMOUNTS)
    assert sums["t3.total.total"] == sum(expected_t3(f)["t3.total.total"] for f in figures.values())


def test_merge_detail_rows_are_each_agency_typed(clerks, figures, merged):
    wb = openpyxl.load_workbook(merged / "collection.xlsx", data_only=True)
    ws = wb[DETAIL]
    rows = list(ws.iter_rows(values_only=True))
    lead = len(DETAIL_LEAD)
    ids = list(rows[DETAIL_HEADER_ROWS - 1][lead:])
    assert ids == list(FORM.cells)
    body = rows[DETAIL_HEADER_ROWS:]
    by_agency = {r[0]: dict(zip(ids, r[lead:], strict=True)) for r in body if r[0] in AGENCIES}
    assert by_agency == figures
    total = next(r for r in body if r[0] == "合计")
    assert dict(zip(ids, total[lead:], strict=True)) == region_sums(figures)
    texts = list(wb[TEXTS].iter_rows(values_only=True))
    header = texts[0]
    for row in texts[1:]:
        _numbers, typed_texts, fields = clerks["typed"][row[0]]
        for s in FORM.text_sections:
            assert row[header.index(s.title)] == typed_texts[s.id]
        assert row[header.index("联系电话")] == fields["phone"]


def test_merge_summary_docx_table_three_holds_the_region_totals(figures, merged):
    document = docx.Document(str(merged / "summary.docx"))
    assert document.paragraphs[0].text.replace("\n", "") == FORM.report_title("原州区", YEAR)
    assert_tables_hold(document, region_sums(figures))
    collection = docx.Document(str(merged / "collection.docx"))
    titles = {p.text.replace("\n", "") for p in collection.paragraphs}
    assert {FORM.report_title(a, YEAR) for a in AGENCIES} <= titles
