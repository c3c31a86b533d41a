"""What a published report gets wrong, or prints noisily, comes out as coded problems naming the cell.

The pages are made by tests/published_pages.py from the official labels; each test states the
figures printed, so what is expected is written here, not computed by the importer.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from official_labels import T2_BLOCKS_2019, T2_BLOCKS_2021, T3_ROWS_2019, T3_ROWS_2021
from published_pages import T2_2019_ZERO, T2_2021_ZERO, page, t2, t3, t4

from toolkit.cli import main
from toolkit.pipeline import ImportOptions, check_file, import_report

ZERO15 = ("0",) * 15


def write(tmp_path: Path, html: str, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


def codes(im) -> list[tuple[str, str, str, str]]:
    return sorted((p.code, p.cell_id, p.value, p.expected) for p in im.ret.problems)


# 平潭综合实验区 2020 (the 2019 format): （七）总计 printed 20 / 21 while its rows add up to 26 / 27.
PINGTAN_2020_T3 = {
    "一、本年新收政府信息公开申请数量": ("26", "0", "0", "0", "0", "1", "27"),
    "（一）予以公开": ("10", "0", "0", "0", "0", "1", "11"),
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": ("2", "0", "0", "0", "0", "0", "2"),
    "1.本机关不掌握相关政府信息": ("8", "0", "0", "0", "0", "0", "8"),
    "2.重复申请": ("6", "0", "0", "0", "0", "0", "6"),
    "（七）总计": ("20", "0", "0", "0", "0", "1", "21"),
}


def pingtan_2020(tmp_path: Path) -> Path:
    html = page(
        "平潭综合实验区2020年度政府信息公开工作年度报告",
        t2(T2_BLOCKS_2019, T2_2019_ZERO),
        t3(T3_ROWS_2019, PINGTAN_2020_T3),
        t4(ZERO15),
    )
    return write(tmp_path, html, "pingtan_2020.html")


# 洪泽区 2023: 行政复议 总计 0 beside 结果维持 10 + 结果纠正 1; 复议后起诉 总计 0 beside 结果维持 5.
HONGZE_2023_T4 = ("10", "1", "0", "0", "0", "0", "0", "0", "0", "0", "5", "0", "0", "0", "0")


def hongze_2023(tmp_path: Path) -> Path:
    html = page(
        "淮安市洪泽区2023年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2021, {}), t4(HONGZE_2023_T4)
    )
    return write(tmp_path, html, "hongze_2023.html")


def test_pingtan_2020_total_printed_20_21_is_reported_against_26_27(tmp_path: Path):
    im = import_report(pingtan_2020(tmp_path))
    assert (im.ret.agency, im.ret.year, im.ret.form_id) == ("平潭综合实验区", 2020, "gov-info-2019")
    mismatches = sorted((p.cell_id, p.value, p.expected) for p in im.ret.problems if p.code == "import_total_mismatch")
    assert mismatches == [("t3.total.natural", "20", "26"), ("t3.total.total", "21", "27")]
    assert [p.code for p in im.ret.errors] == ["import_total_mismatch"] * 2  # nothing else is wrong
    natural = next(p for p in im.ret.problems if p.cell_id == "t3.total.natural")
    assert "（七）总计 / 申请人情况 / 自然人" in natural.message and "20" in natural.message and "26" in natural.message
    assert natural.location.startswith("第2个表格第") and natural.location.endswith("第4列")
    assert im.ret.values["t3.total.natural"] == 26  # the return holds the inputs; its totals are computed


def test_hongze_2023_review_totals_printed_0_are_reported(tmp_path: Path):
    im = import_report(hongze_2023(tmp_path))
    mismatches = sorted((p.cell_id, p.value, p.expected) for p in im.ret.problems if p.code == "import_total_mismatch")
    assert mismatches == [("t4.cases.after_total", "0", "5"), ("t4.cases.review_total", "0", "11")]
    assert {p.code for p in im.ret.errors} == {"import_total_mismatch"}


def test_the_audit_lists_each_report_and_every_problem(tmp_path: Path):
    pages = tmp_path / "网页"
    pages.mkdir()
    pingtan_2020(pages)
    hongze_2023(pages)
    ok = page("某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2021, {}), t4(ZERO15))
    write(pages, ok, "ok.html")
    audit = tmp_path / "审查结果.xlsx"
    result = CliRunner().invoke(main, ["import", str(pages), "--out-dir", str(tmp_path / "导入"), "--audit", str(audit)])
    assert result.exit_code == 1, result.output  # reports with errors: the input's problems
    wb = openpyxl.load_workbook(audit)
    rows = list(wb["审查结果"].iter_rows(values_only=True))
    assert rows[0][:9] == ("文件", "类型", "机关", "年度", "表式", "读取数字", "表式数字", "错误", "警告")
    by_file = {r[0]: r for r in rows[1:]}
    assert set(by_file) == {"pingtan_2020.html", "hongze_2023.html", "ok.html"}
    assert by_file["pingtan_2020.html"][2:8] == ("平潭综合实验区", 2020, "gov-info-2019", 198, 198, 2)
    assert by_file["ok.html"][7] == 0
    problems = list(wb["问题"].iter_rows(values_only=True))
    found = {(r[0], r[6], r[8], r[9]) for r in problems[1:] if r[4] == "import_total_mismatch"}
    assert found == {
        ("pingtan_2020.html", "t3.total.natural", "20", "26"),
        ("pingtan_2020.html", "t3.total.total", "21", "27"),
        ("hongze_2023.html", "t4.cases.review_total", "0", "11"),
        ("hongze_2023.html", "t4.cases.after_total", "0", "5"),
    }
    assert sorted(p.name for p in (tmp_path / "导入").iterdir()) == [
        "平潭综合实验区_2020年_gov-info-2019.xlsx",
        "某某区司法局_2022年_gov-info-2021.xlsx",
        "淮安市洪泽区_2023年_gov-info-2021.xlsx",
    ]


def test_an_imported_return_is_marked_and_passes_check(tmp_path: Path):
    result = CliRunner().invoke(main, ["import", str(pingtan_2020(tmp_path)), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    (xlsx,) = (tmp_path / "out").iterdir()
    checked = check_file(xlsx)
    assert checked.accepted, [p.message for p in checked.errors]
    meta = checked.metadata
    assert meta["source"] == "imported" and meta["source_file"] == "pingtan_2020.html" and len(meta["source_sha256"]) == 64
    assert (meta["import_errors"], meta["import_warnings"]) == ("2", "0")  # the two totals printed wrong
    wb = openpyxl.load_workbook(xlsx)
    assert wb.custom_doc_props["toolkit.source_sha256"].value == meta["source_sha256"]
    assert checked.values["t3.open.natural"] == 10 and checked.values["t3.total.natural"] == 26


def test_a_fuzzy_row_label_is_read_with_a_warning_naming_both_spellings(tmp_path: Path):
    values = {
        "2.其他法律行政法规禁止公开": ("3", "0", "0", "0", "0", "0", "3"),
        "一、本年新收政府信息公开申请数量": ("3", "0", "0", "0", "0", "0", "3"),
    }
    values["（七）总计"] = ("3", "0", "0", "0", "0", "0", "3")
    labels = {"2.其他法律行政法规禁止公开": "其他法律行政止公开", "（一）予以公开": "(一) 予 以 公 开"}
    html = page(
        "某某区司法局2022年政府信息公开工作年度报告",
        t2(T2_BLOCKS_2021, T2_2021_ZERO),
        t3(T3_ROWS_2021, values, labels),
        t4(ZERO15),
    )
    im = import_report(write(tmp_path, html))
    assert im.ret.values["t3.prohibited.natural"] == 3
    fuzzy = [p for p in im.ret.problems if p.code == "import_fuzzy_label"]
    assert [(p.severity, p.value, p.expected) for p in fuzzy] == [("warning", "其他法律行政止公开", "2.其他法律行政法规禁止公开")]
    assert "其他法律行政止公开" in fuzzy[0].message and "2.其他法律行政法规禁止公开" in fuzzy[0].message
    assert im.ret.errors == []  # half-width brackets and stray spaces are normalised, not fuzzy


def test_spaced_out_headers_and_a_table_continued_after_a_page_break(tmp_path: Path):
    values = {"（七）总计": ("0",) * 7, "四、结转下年度继续办理": ("2", "0", "0", "0", "0", "0", "2")}
    values["二、上年结转政府信息公开申请数量"] = ("2", "0", "0", "0", "0", "0", "2")
    headers = ("结 果 维 持", "结果 纠正", "其他结果", "尚 未 审 结", "总　计")
    t4_values = ("1", "0", "0", "0", "1") + ("0",) * 10
    html = page(
        "某某区司法局2022年政府信息公开工作年度报告",
        t2(T2_BLOCKS_2021, T2_2021_ZERO),
        t3(T3_ROWS_2021, values, split_at=14),
        t4(t4_values, headers),
    )
    im = import_report(write(tmp_path, html))
    assert (len(im.figures), im.expected) == (200, 200)
    assert im.ret.problems == []
    assert im.ret.values["t3.carry_over.natural"] == 2 and im.ret.values["t4.cases.review_upheld"] == 1


def test_other_handling_printed_as_one_row_in_a_2021_report_is_not_split(tmp_path: Path):
    values = {
        "（六）其他处理": ("4", "0", "0", "0", "0", "0", "4"),
        "一、本年新收政府信息公开申请数量": ("4", "0", "0", "0", "0", "0", "4"),
    }
    values["（七）总计"] = ("4", "0", "0", "0", "0", "0", "4")
    html = page(
        "某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2019, values), t4(ZERO15)
    )
    im = import_report(write(tmp_path, html))
    assert im.ret.form_id == "gov-info-2021"
    group = [p for p in im.ret.problems if p.code == "import_group_row"]
    assert len(group) == 1 and group[0].value == "（六）其他处理" and "3.其他" in group[0].message
    missing = [p for p in im.ret.problems if p.code == "import_missing"]
    assert {p.cell_id for p in missing} == {"t3.no_correction.natural", "t3.unpaid.natural", "t3.other_handling.natural"}
    assert all(im.ret.values[f"t3.{r}.natural"] == 0 for r in ("no_correction", "unpaid", "other_handling"))  # never guessed


def test_units_dashes_and_blanks_in_cells_are_read_and_said(tmp_path: Path):
    t2_values = {**T2_2021_ZERO, "第二十条第（八）项": [["251000元"]], "第二十条第（六）项": [["12件"], ["/"]]}
    t2_values["第二十条第（一）项"] = [["", "", ""], ["3", "1", "12.5"]]
    html = page("某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, t2_values), t3(T3_ROWS_2021, {}), t4(ZERO15))
    im = import_report(write(tmp_path, html))
    v = im.ret.values
    assert (v["t2_8.fees.amount"], v["t2_6.penalty.decisions"], v["t2_6.coercion.decisions"]) == (Decimal("25.1"), 12, 0)
    assert v["t2_1.rules.issued"] == 0 and "t2_1.normative.in_force" not in {f.cell_id for f in im.figures}
    found = codes(im)
    assert ("import_yuan", "t2_8.fees.amount", "251000元", "") in found
    assert ("import_unit", "t2_6.penalty.decisions", "12件", "") in found
    assert ("import_dash", "t2_6.coercion.decisions", "/", "") in found
    assert ("import_not_integer", "t2_1.normative.in_force", "12.5", "") in found
    blank = [p for p in im.ret.problems if p.code == "import_blank"]
    assert len(blank) == 1 and "3 个空白单元格按 0 读取" in blank[0].message


def test_an_unknown_row_label_is_an_error_and_its_figures_are_not_imported(tmp_path: Path):
    values = {"（一）予以公开": ("5", "0", "0", "0", "0", "0", "5")}
    html = page(
        "某某区司法局2022年政府信息公开工作年度报告",
        t2(T2_BLOCKS_2021, T2_2021_ZERO),
        t3(T3_ROWS_2021, values, {"（一）予以公开": "（一）同意公开部分内容"}),
        t4(ZERO15),
    )
    im = import_report(write(tmp_path, html))
    unknown = [p for p in im.ret.problems if p.code == "import_unknown_row"]
    assert len(unknown) == 1 and "（一）同意公开部分内容" in unknown[0].value
    assert im.ret.values["t3.open.natural"] == 0
    assert any(p.code == "import_missing" and p.cell_id == "t3.open.natural" for p in im.ret.problems)


def test_a_report_without_year_or_agency_in_its_title_needs_the_options(tmp_path: Path):
    html = page("政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2021, {}), t4(ZERO15))
    path = write(tmp_path, html)
    refused = import_report(path)
    assert refused.status == "refused" and "--year" in refused.ret.problems[0].message
    im = import_report(path, ImportOptions(year=2022, agency="某某区司法局"))
    assert (im.status, im.ret.agency, im.ret.year, im.ret.form_id) == ("imported", "某某区司法局", 2022, "gov-info-2021")


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.html", "这只是一段文字".encode(), "不是网页"),
        ("a.docx", b"PK\x03\x04broken", "已损坏"),
        ("a.doc", b"\xd0\xcf\x11\xe0" + b"\0" * 100, ".doc 旧格式"),
    ],
)
def test_a_file_that_is_no_report_is_unreadable_exit_2(tmp_path: Path, name: str, data: bytes, words: str):
    path = tmp_path / name
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["import", str(path), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_a_bad_option_is_one_chinese_line_exit_2(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(tmp_path), "--out-dir", str(tmp_path), "--form", "nosuch"])
    assert result.exit_code == 2 and "未知的表式" in result.output
    result = runner.invoke(main, ["import", str(tmp_path / "none"), "--out-dir", str(tmp_path)])
    assert result.exit_code == 2 and "文件不存在" in result.output


def test_a_page_laid_out_in_a_table_is_read_like_any_page(tmp_path: Path):
    html = page("某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2021, {}), t4(ZERO15))
    head, body = html.split("<body>")
    body, tail = body.split("</body>")
    laid_out = f'{head}<body><table width="1000"><tr><td>导航</td></tr><tr><td>{body}</td></tr></table></body>{tail}'
    im = import_report(write(tmp_path, laid_out))
    assert (im.status, len(im.figures), im.ret.problems) == ("imported", 200, [])
    assert im.ret.texts["s6"] == "本年度未收取信息处理费。"


def test_a_header_in_yuan_converts_the_column_to_wanyuan(tmp_path: Path):
    blocks = tuple(
        (c, ("本年收费金额（单位：元）",), r) if c == "第二十条第（八）项" else (c, cols, r) for c, cols, r in T2_BLOCKS_2021
    )
    values = {**T2_2021_ZERO, "第二十条第（八）项": [["4166241.6"]]}
    html = page("某某区司法局2022年政府信息公开工作年度报告", t2(blocks, values), t3(T3_ROWS_2021, {}), t4(ZERO15))
    im = import_report(write(tmp_path, html))
    assert im.ret.values["t2_8.fees.amount"] == Decimal("416.62416")
    assert [(p.code, p.value) for p in im.ret.problems] == [("import_yuan", "4166241.6")]


def test_a_header_that_fits_two_columns_is_ambiguous_not_guessed(tmp_path: Path):
    from published_pages import T4_GROUPS, td

    flat_t4 = (
        "<table><tr>"
        + "".join(td(h) for h in T4_GROUPS * 3)
        + "</tr><tr>"
        + "".join(td(v) for v in ("1", "0", "0", "0", "1", *("0",) * 10))
        + "</tr></table>"
    )
    html = page("某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), t3(T3_ROWS_2021, {}), flat_t4)
    im = import_report(write(tmp_path, html))
    ambiguous = [p for p in im.ret.problems if p.code == "import_ambiguous"]
    assert sorted(p.value for p in ambiguous) == sorted(T4_GROUPS)
    assert "“结果维持”或“结果维持”" not in ambiguous[0].message  # the candidates are named with their groups' cells
    assert not any(f.cell_id.startswith("t4.") for f in im.figures)
    assert any(p.code == "import_missing" and p.cell_id.startswith("t4.") for p in im.ret.problems)


@pytest.mark.parametrize(
    ("title", "agency", "year"),
    [
        ("平潭综合实验区2021年度政府信息公开工作年度报告_政府信息公开年报_平潭综合实验区党工委管委会", "平潭综合实验区", 2021),
        ("2022年上海市政府信息公开工作年度报告", "上海市", 2022),
        ("司法局 2020 年政府信息公开工作年度报告", "司法局", 2020),
        ("关于印发《某某县2023年政府信息公开工作年报》的通知", "某某县", 2023),
        ("固原市原州区司法局2020年\n政府信息公开工作年度报告", "固原市原州区司法局", 2020),
    ],
)
def test_agency_and_year_are_read_from_the_ways_titles_are_written(title: str, agency: str, year: int):
    from toolkit.importing.recognise import title_of

    assert title_of([title])[:2] == (agency, year)


def test_labels_equal_but_for_their_numbering_are_fuzzy_not_exact():
    from toolkit.importing.labels import best, closeness

    assert closeness("1.重复申请", "2.重复申请") == 1
    assert closeness("(一)予以公开", "（一）予以公开") == 0 and closeness("结 果 维 持", "结果维持") == 0
    m = best("1.重复申请", [("1.信访举报投诉类申请", "petition"), ("2.重复申请", "repeated")])
    assert (m.item, m.fuzzy) == ("repeated", True)
    assert best("总计", [("总计", "a"), ("总计", "b")]).candidates == ("a", "b")


@pytest.mark.parametrize("repeated_header", [False, True])
def test_a_row_broken_across_pages_is_read_under_its_whole_label(tmp_path: Path, repeated_header: bool):
    """Word lets a row break across pages: its label goes on at the top of the next page, its figures stay."""
    from published_pages import t3_header, td

    unpaid = "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"
    head, rest = unpaid[:12], unpaid[12:]
    rows_before, rows_after = [], []
    for depth, label in T3_ROWS_2021:
        if label in ("三、本年度办理结果", "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"):
            continue  # group labels: cells left empty, as on a page a table goes on to
        target = rows_after if rows_after else rows_before  # the page breaks inside the row of `unpaid`
        if label == unpaid:
            rows_before.append(td("") + td("") + td(head) + "".join(td(v) for v in ("2", "0", "0", "0", "0", "0", "2")))
            rows_after.append(td("") + td("") + td(rest) + td("") * 7)
            continue
        values = (
            ("2", "0", "0", "0", "0", "0", "2") if label in ("一、本年新收政府信息公开申请数量", "（七）总计") else ("0",) * 7
        )
        target.append(td("") * depth + td(label, colspan=3 - depth) + "".join(td(v) for v in values))
    table = (
        "<table>"
        + t3_header()
        + "".join(f"<tr>{r}</tr>" for r in rows_before)
        + "</table><p>—3—</p><table>"
        + (t3_header() if repeated_header else "")
        + "".join(f"<tr>{r}</tr>" for r in rows_after)
        + "</table>"
    )
    html = page("某某区司法局2022年政府信息公开工作年度报告", t2(T2_BLOCKS_2021, T2_2021_ZERO), table, t4(ZERO15))
    im = import_report(write(tmp_path, html))
    assert im.ret.values["t3.unpaid.natural"] == 2
    assert im.ret.problems == []
    fig = next(f for f in im.figures if f.cell_id == "t3.unpaid.natural")
    assert fig.row_label == unpaid and fig.table == 2


@pytest.mark.parametrize(
    ("printed", "field", "warned"),
    [
        ("2023.1.18", "2023年1月18日", False),  # written as the reader writes every date it understands
        ("２０２３年 １月 １８日", "2023年1月18日", False),
        ("2023年2月30日", "2023年2月30日", True),  # no such day: kept as printed, and check says so
    ],
)
def test_the_closing_date_is_written_as_read_back_writes_dates(tmp_path: Path, printed: str, field: str, warned: bool):
    closing = f"<p>某某区司法局</p><p>{printed}</p><p>（此件公开发布）</p>"
    html = page(
        "某某区司法局2022年政府信息公开工作年度报告",
        t2(T2_BLOCKS_2021, T2_2021_ZERO),
        t3(T3_ROWS_2021, {}),
        t4(ZERO15),
        closing=closing,
    )
    im = import_report(write(tmp_path, html))
    assert im.ret.fields["date"] == field and im.ret.texts["s6"] == "本年度未收取信息处理费。"
    out = tmp_path / "out"
    out.mkdir()
    assert CliRunner().invoke(main, ["import", str(tmp_path / "report.html"), "--out-dir", str(out)]).exit_code == 0
    (written,) = out.glob("*.xlsx")
    checked = check_file(written)
    assert [p.value for p in checked.problems if p.code == "date_unclear"] == ([field] if warned else [])
