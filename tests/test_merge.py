"""toolkit merge: every input's fate, the region's totals, 明细 round trip, texts stay text, the documents."""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.cli import main
from toolkit.collection.documents import write_collection_docx, write_summary_docx
from toolkit.collection.readback import read_collection
from toolkit.collection.workbook import summary_cells, write_collection
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_or_refuse, merge_returns

FORM = get_form("gov-info-2021")
APPLICANTS = ["natural", "business", "research", "charity", "legal", "other"]
T3_ROWS = [r.id for r in FORM.tables[4].rows] if FORM.tables[4].id == "t3" else []
RESULT_ROWS = [r for r in T3_ROWS if r not in ("new", "carried", "total", "carry_over")]
T4_GROUPS = ["review", "direct", "after"]
T4_PARTS = ["upheld", "corrected", "other", "pending"]
HYPERLINK = '=HYPERLINK("http://x","y")'


def random_inputs(rng: random.Random) -> dict:
    """Valid inputs: per applicant column, 一 + 二 = （七）总计 + 四 holds by construction."""
    values: dict = {}
    for c in APPLICANTS:
        results = {r: rng.randint(0, 9) for r in RESULT_ROWS}
        carry_over = rng.randint(0, 5)
        whole = sum(results.values()) + carry_over
        new = rng.randint(0, whole)
        values.update({f"t3.{r}.{c}": v for r, v in results.items()})
        values.update({f"t3.carry_over.{c}": carry_over, f"t3.new.{c}": new, f"t3.carried.{c}": whole - new})
    for g in T4_GROUPS:
        values.update({f"t4.cases.{g}_{p}": rng.randint(0, 4) for p in T4_PARTS})
    for cell in FORM.input_cells:
        if cell.id.startswith("t2_8"):
            values[cell.id] = Decimal(rng.randint(0, 10**8)) / 10**6
        elif cell.id.startswith("t2_"):
            values[cell.id] = rng.randint(0, 50)
    return values


def expected_totals(inputs: list[dict]) -> dict:
    """Sums of what the test wrote, with the totals worked out here, not by the code under test."""
    out: dict = {}
    for values in inputs:
        for k, v in values.items():
            out[k] = out.get(k, 0) + v
    for c in APPLICANTS:
        out[f"t3.total.{c}"] = sum(out[f"t3.{r}.{c}"] for r in RESULT_ROWS)
    for r in T3_ROWS:
        out[f"t3.{r}.total"] = sum(out[f"t3.{r}.{c}"] for c in APPLICANTS)
    for g in T4_GROUPS:
        out[f"t4.cases.{g}_total"] = sum(out[f"t4.cases.{g}_{p}"] for p in T4_PARTS)
    return out


def _as_openpyxl(values: dict) -> dict:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in values.items()}


def make_return(folder: Path, agency: str, values: dict, year: int = 2024, form=FORM, texts=None, stamp=None) -> Path:
    path = folder / f"{agency}_{year}_{form.id}{'_' + stamp[:4] if stamp else ''}.xlsx"
    fill_workbook(form, path, _as_openpyxl(values), texts or complete_texts(form), complete_fields(), agency=agency, year=year)
    formula_like = {k: v for k, v in (texts or {}).items() if v.startswith("=")}
    if stamp or formula_like:
        wb = openpyxl.load_workbook(path)
        if stamp:  # an older copy of the same agency's template
            wb.custom_doc_props["toolkit.generated_at"].value = stamp
        for section_id, text in formula_like.items():  # typed as text, not as a formula
            pos = layout_of(form).texts[section_id]
            cell = wb[pos.sheet].cell(pos.row + 1, pos.col + 1)
            cell.value, cell.data_type = text, "s"
        wb.save(path)
    return path


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    """Valid, invalid, duplicate, unreadable, wrong-version and wrong-year returns in one folder."""
    folder = tmp_path_factory.mktemp("inbox")
    rng = random.Random(20240601)
    valid = {f"第{i:02d}局": random_inputs(rng) for i in range(8)}
    fates: dict[str, str] = {}
    for agency, values in valid.items():
        texts = {**complete_texts(FORM), "s1": HYPERLINK} if agency == "第03局" else None
        fates[str(make_return(folder, agency, values, texts=texts))] = "通过"
    bad = random_inputs(rng)
    bad["t3.new.natural"] += 1  # breaks 一+二 = （七）+四
    fates[str(make_return(folder, "不平衡局", bad))] = "未通过"
    older = make_return(folder, "第05局", random_inputs(rng), stamp="2000-01-01T00:00:00+08:00")
    fates[str(older)] = "重复报送"
    junk = folder / "改名的文本.xlsx"
    junk.write_text("机关名称,数量\n甲,1\n", encoding="utf-8")
    fates[str(junk)] = "无法读取"
    old_form = get_form("gov-info-2019")
    fates[str(make_return(folder, "旧表局", {}, form=old_form))] = "表式不符"
    fates[str(make_return(folder, "去年局", random_inputs(rng), year=2023))] = "年度不符"
    return folder, valid, fates


@pytest.fixture(scope="module")
def merged(inbox, tmp_path_factory):
    folder, _, _ = inbox
    out = tmp_path_factory.mktemp("out")
    c = merge_returns([folder], FORM, name="原州区")
    write_collection(c, out / "collection.xlsx")
    write_collection_docx(c, out / "collection.docx")
    write_summary_docx(c, out / "summary.docx")
    return c, out


def test_every_input_has_one_row_in_status_with_its_fate(inbox, merged):
    _, _, fates = inbox
    _, out = merged
    ws = openpyxl.load_workbook(out / "collection.xlsx")["状态"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(fates)
    assert {r[10]: r[2] for r in rows} == fates  # 文件 -> 结果


def test_summary_totals_equal_sums_of_what_the_accepted_returns_hold(inbox, merged):
    _, valid, _ = inbox
    c, out = merged
    expected = expected_totals(list(valid.values()))
    ws = openpyxl.load_workbook(out / "collection.xlsx")["汇总"]
    cells = summary_cells(FORM)
    assert ws.cell(cells["t3.new.natural"][0] + 1, 1).value == "一、本年新收政府信息公开申请数量"
    for cid, (row, col) in cells.items():
        found = ws.cell(row + 1, col + 1).value
        assert Decimal(str(found)) == Decimal(str(expected.get(cid, 0))), cid
    assert c.totals["t3.total.total"] == expected["t3.total.total"]


def test_duplicate_keeps_the_newer_return(inbox, merged):
    _, valid, _ = inbox
    c, _ = merged
    kept = [r for r in c.returns if r.agency == "第05局"]
    assert len(kept) == 1
    assert kept[0].values["t3.new.natural"] == valid["第05局"]["t3.new.natural"]


def test_detail_round_trips_every_value_in_agency_order(inbox, merged):
    _, valid, _ = inbox
    _, out = merged
    ws = openpyxl.load_workbook(out / "collection.xlsx")["明细"]
    ids = [v for v in next(ws.iter_rows(min_row=4, max_row=4, values_only=True))][4:]
    rows = list(ws.iter_rows(min_row=5, max_row=4 + len(valid), values_only=True))
    assert [r[0] for r in rows] == sorted(valid)
    for row in rows:
        written = valid[row[0]]
        for cid, value in zip(ids, row[4:], strict=True):
            if cid in written:
                assert Decimal(str(value)) == Decimal(str(written[cid])), (row[0], cid)
    assert ws.cell(5 + len(valid), 1).value == "合计"


def test_read_collection_gives_each_agency_values(inbox, merged):
    _, valid, _ = inbox
    _, out = merged
    prev = read_collection(out / "collection.xlsx")
    assert (prev.form_id, prev.year) == ("gov-info-2021", 2024)
    assert set(prev.values) == set(valid)
    assert prev.values["第01局"]["t3.carry_over.legal"] == valid["第01局"]["t3.carry_over.legal"]
    assert prev.values["第01局"]["t2_8.fees.amount"] == valid["第01局"]["t2_8.fees.amount"]


def test_formula_like_text_stays_plain_text(merged):
    _, out = merged
    ws = openpyxl.load_workbook(out / "collection.xlsx")["文字"]
    header = [c.value for c in ws[1]]
    col = header.index("一、总体情况") + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "第03局")
    cell = ws.cell(row, col)
    assert cell.data_type == "s"
    assert cell.value == HYPERLINK


def test_collection_docx_holds_each_title_once_in_order(inbox, merged):
    _, valid, _ = inbox
    _, out = merged
    doc = docx.Document(out / "collection.docx")
    titles = [FORM.report_title(a, 2024) for a in sorted(valid)]
    texts = [p.text for p in doc.paragraphs]
    assert [t for t in texts if t in titles] == titles
    assert "目录" in texts[:3]


def test_summary_docx_tables_equal_the_totals(inbox, merged):
    _, valid, _ = inbox
    _, out = merged
    expected = expected_totals(list(valid.values()))
    doc = docx.Document(out / "summary.docx")
    assert doc.paragraphs[0].text == FORM.report_title("原州区", 2024)
    t3 = next(t for t in doc.tables if any("一、本年新收政府信息公开申请数量" in r.cells[0].text for r in t.rows))
    labels = {r.label: r.id for r in FORM.tables[4].rows}
    seen = 0
    for row in t3.rows:
        rid = labels.get(row.cells[2].text)
        if rid:
            seen += 1
            assert [c.text for c in row.cells[3:]] == [str(expected[f"t3.{rid}.{c}"]) for c in [*APPLICANTS, "total"]]
    assert seen == len(labels)


def test_check_recognises_a_collection(merged):
    _, out = merged
    ret = check_or_refuse(out / "collection.xlsx")
    assert ret.status == "accepted"
    assert (ret.agency, ret.year) == ("原州区", 2024)


def test_check_notices_an_edited_summary(merged, tmp_path):
    _, out = merged
    wb = openpyxl.load_workbook(out / "collection.xlsx")
    row, col = summary_cells(FORM)["t3.new.total"]
    wb["汇总"].cell(row + 1, col + 1).value = 999999
    wb.save(tmp_path / "edited.xlsx")
    ret = check_or_refuse(tmp_path / "edited.xlsx")
    assert ret.status == "rejected"
    assert any(p.code == "collection_mismatch" and "999999" in p.message for p in ret.problems)


def test_cli_merge_exit_codes_and_outputs(inbox, tmp_path):
    folder, _, _ = inbox
    runner = CliRunner()
    result = runner.invoke(main, ["merge", str(folder), "-o", str(tmp_path / "o"), "--name", "原州区", "--jobs", "2", "-q"])
    assert result.exit_code == 1, result.output
    assert "重复报送" in result.output and "无法读取" in result.output
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"collection.xlsx", "collection.docx", "summary.docx"}
    missing = runner.invoke(main, ["merge", str(tmp_path / "nope"), "-o", str(tmp_path / "o2")])
    assert missing.exit_code == 2


def test_cli_merge_all_accepted_exits_0_and_lists_missing_agencies(tmp_path):
    rng = random.Random(7)
    make_return(tmp_path, "甲局", random_inputs(rng))
    make_return(tmp_path, "乙局", random_inputs(rng))
    out = tmp_path / "o"
    runner = CliRunner()
    ok = runner.invoke(main, ["merge", str(tmp_path), "-o", str(out), "--jobs", "1", "-q"])
    assert ok.exit_code == 0, ok.output
    listing = tmp_path / "agencies.txt"
    listing.write_text("乙局\n丙局\n甲局\n", encoding="utf-8")
    res = runner.invoke(main, ["merge", str(tmp_path), "-o", str(out), "--agencies", str(listing), "-q"])
    assert res.exit_code == 1
    assert "丙局" in res.output and "未报送" in res.output
    doc = docx.Document(out / "collection.docx")
    titles = [p.text for p in doc.paragraphs if p.text.endswith("年度报告") and "局" in p.text]
    assert titles == [FORM.report_title("乙局", 2024), FORM.report_title("甲局", 2024)]


def test_cross_year_mismatch_names_agency_and_column(tmp_path):
    rng = random.Random(11)
    last = tmp_path / "2023"
    last.mkdir()
    values_2023 = {a: random_inputs(rng) for a in ("甲局", "乙局")}
    for a, v in values_2023.items():
        make_return(last, a, v, year=2023)
    write_collection(merge_returns([last], FORM), tmp_path / "last.xlsx")
    now = tmp_path / "2024"
    now.mkdir()
    for a, old in values_2023.items():
        v = random_inputs(rng)
        for c in APPLICANTS:  # carry last year's 四 into this year's 二, keeping the balance
            shift = old[f"t3.carry_over.{c}"] - v[f"t3.carried.{c}"]
            v[f"t3.carried.{c}"] += shift
            v[f"t3.carry_over.{c}"] += shift
            if v[f"t3.carry_over.{c}"] < 0:
                v[f"t3.open.{c}"] -= v[f"t3.carry_over.{c}"]
                v[f"t3.new.{c}"] -= v[f"t3.carry_over.{c}"]
                v[f"t3.carry_over.{c}"] = 0
        if a == "乙局":  # one more carried in than last year carried over; balance kept via 四
            v["t3.carried.legal"] += 1
            v["t3.carry_over.legal"] += 1
        make_return(now, a, v, year=2024)
    c = merge_returns([now], FORM, previous=tmp_path / "last.xlsx")
    by_agency = {e.ret.agency: e for e in c.entries}
    failed = [p for p in by_agency["乙局"].cross_year if p.code == "cross_year_failed"]
    assert [p.cell_id for p in failed] == ["t3.carried.legal"]  # the 总计 column only restates it: folded into its detail
    assert "“总计”随之不符" in failed[0].message
    assert "法律服务机构" in failed[0].message
    assert not [p for p in by_agency["甲局"].cross_year if p.code == "cross_year_failed"]
    result = CliRunner().invoke(
        main, ["merge", str(now), "-o", str(tmp_path / "o"), "--previous", str(tmp_path / "last.xlsx"), "-q"]
    )
    assert result.exit_code == 1
    assert "乙局" in result.output and "法律服务机构" in result.output


def test_previous_must_be_a_collection(inbox, tmp_path):
    folder, _, _ = inbox
    some_return = next(folder.glob("第00局*.xlsx"))
    result = CliRunner().invoke(main, ["merge", str(folder), "-o", str(tmp_path / "o"), "--previous", str(some_return), "-q"])
    assert result.exit_code == 2
    assert "不是 toolkit merge 生成的汇总文件" in result.output


def test_parallel_merge_gives_the_same_figures(inbox):
    from concurrent.futures import ProcessPoolExecutor

    folder, _, _ = inbox
    serial = merge_returns([folder], FORM)
    with ProcessPoolExecutor(2) as pool:
        parallel = merge_returns([folder], FORM, executor=pool)
    assert parallel.totals == serial.totals
    assert [(e.path, e.fate) for e in parallel.entries] == [(e.path, e.fate) for e in serial.entries]
