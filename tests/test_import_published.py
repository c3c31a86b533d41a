"""The shared real pages imported: every figure equal to a transcription made by hand from the page.

The figures below were read off each page as a browser shows it (rendered to PNG and read by eye),
not from the importer. Columns of table 三: 自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构,
其他, 总计. Table 四: 行政复议 (维持, 纠正, 其他, 尚未审结, 总计), 未经复议直接起诉 (same), 复议后起诉 (same).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli import main
from toolkit.pipeline import ImportOptions, import_report

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "published"
if not PUBLISHED.is_dir():  # the worktree sits beside main: /work/<tree>/tests -> /work/shared
    PUBLISHED = Path("/work/shared/published")
pytestmark = pytest.mark.skipif(not PUBLISHED.is_dir(), reason="项目旁没有 shared/published/（真实的报告网页）")

T3_COLUMNS = ("natural", "business", "research", "charity", "legal", "other", "total")
T4_COLUMNS = [f"{g}_{c}" for g in ("review", "direct", "after") for c in ("upheld", "corrected", "other", "pending", "total")]
ZERO7 = (0, 0, 0, 0, 0, 0, 0)


def t3(rows: dict[str, tuple[int, ...]], all_rows: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for row in all_rows:
        for column, value in zip(T3_COLUMNS, rows.get(row, ZERO7), strict=True):
            out[f"t3.{row}.{column}"] = value
    return out


def t4(values: tuple[int, ...]) -> dict[str, int]:
    return {f"t4.cases.{c}": v for c, v in zip(T4_COLUMNS, values, strict=True)}


ROWS_2021 = [
    "new",
    "carried",
    "open",
    "partial",
    "secret",
    "prohibited",
    "security",
    "third_party",
    "internal",
    "process",
    "enforcement",
    "inquiry",
    "not_held",
    "needs_creation",
    "unclear",
    "petition",
    "repeated",
    "publication",
    "mass_repeated",
    "confirmation",
    "no_correction",
    "unpaid",
    "other_handling",
    "total",
    "carry_over",
]
ROWS_2019 = [r for r in ROWS_2021 if r not in ("no_correction", "unpaid")]

# pingtan_2019.html (gov-info-2019); 采购总金额 printed as 75394432.52元 (万元 in the form)
EXPECTED_2019 = {
    **{"t2_1.rules.made": 0, "t2_1.rules.published": 0, "t2_1.rules.published_total": 0},
    **{"t2_1.normative.made": 89, "t2_1.normative.published": 89, "t2_1.normative.published_total": 89},
    **{"t2_5.licensing.last_year": 396, "t2_5.licensing.change": 0, "t2_5.licensing.decisions": 181},
    **{"t2_5.other_services.last_year": 10, "t2_5.other_services.change": 0, "t2_5.other_services.decisions": 153},
    **{"t2_6.penalty.last_year": 2648, "t2_6.penalty.change": 0, "t2_6.penalty.decisions": 430},
    **{"t2_6.coercion.last_year": 126, "t2_6.coercion.change": 0, "t2_6.coercion.decisions": 25},
    **{"t2_8.fees.last_year": 35, "t2_8.fees.change": 0},
    **{"t2_9.procurement.projects": 135, "t2_9.procurement.amount": Decimal("7539.443252")},
    **t3(
        {
            "new": (23, 0, 0, 0, 0, 0, 23),
            "open": (7, 0, 0, 0, 0, 0, 7),
            "partial": (1, 0, 0, 0, 0, 0, 1),
            "not_held": (7, 0, 0, 0, 0, 0, 7),
            "unclear": (5, 0, 0, 0, 0, 0, 5),
            "repeated": (3, 0, 0, 0, 0, 0, 3),
            "total": (23, 0, 0, 0, 0, 0, 23),
        },
        tuple(ROWS_2019),
    ),
    **t4((0,) * 15),
}

# pingtan_2021.html (gov-info-2021)
EXPECTED_2021 = {
    **{"t2_1.rules.issued": 0, "t2_1.rules.repealed": 0, "t2_1.rules.in_force": 0},
    **{"t2_1.normative.issued": 69, "t2_1.normative.repealed": 3, "t2_1.normative.in_force": 665},
    "t2_5.licensing.decisions": 2293,
    "t2_6.penalty.decisions": 1282,
    "t2_6.coercion.decisions": 42,
    "t2_8.fees.amount": Decimal("24252.311082"),
    **t3(
        {
            "new": (64, 0, 0, 2, 0, 4, 70),
            "open": (27, 0, 0, 2, 0, 1, 30),
            "partial": (5, 0, 0, 0, 0, 0, 5),
            "internal": (1, 0, 0, 0, 0, 0, 1),
            "enforcement": (6, 0, 0, 0, 0, 0, 6),
            "inquiry": (1, 0, 0, 0, 0, 0, 1),
            "not_held": (22, 0, 0, 0, 0, 3, 25),
            "other_handling": (1, 0, 0, 0, 0, 0, 1),
            "total": (63, 0, 0, 2, 0, 4, 69),
            "carry_over": (1, 0, 0, 0, 0, 0, 1),
        },
        tuple(ROWS_2021),
    ),
    **t4((1, 0, 2, 0, 3, 12, 0, 0, 0, 12, 0, 0, 0, 0, 0)),
}

# pingtan_2022.html (gov-info-2021); its heading 四 is printed 行政法复议
EXPECTED_2022 = {
    **{"t2_1.rules.issued": 0, "t2_1.rules.repealed": 0, "t2_1.rules.in_force": 0},
    **{"t2_1.normative.issued": 88, "t2_1.normative.repealed": 55, "t2_1.normative.in_force": 698},
    "t2_5.licensing.decisions": 10690,
    "t2_6.penalty.decisions": 2113,
    "t2_6.coercion.decisions": 0,
    "t2_8.fees.amount": Decimal("9116.36"),
    **t3(
        {
            "new": (71, 3, 0, 0, 0, 0, 74),
            "carried": (1, 0, 0, 0, 0, 0, 1),
            "open": (21, 0, 0, 0, 0, 0, 21),
            "partial": (8, 1, 0, 0, 0, 0, 9),
            "internal": (1, 0, 0, 0, 0, 0, 1),
            "process": (2, 0, 0, 0, 0, 0, 2),
            "enforcement": (1, 0, 0, 0, 0, 0, 1),
            "not_held": (37, 0, 0, 0, 0, 0, 37),
            "no_correction": (2, 0, 0, 0, 0, 0, 2),
            "other_handling": (0, 2, 0, 0, 0, 0, 2),
            "total": (72, 3, 0, 0, 0, 0, 75),
        },
        tuple(ROWS_2021),
    ),
    **t4((0, 1, 1, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0)),
}

# (page, form, expected figures, warnings as (code, printed, read as), first and last words of 一, 五, 六)
CASES = {
    "pingtan_2019.html": (
        "gov-info-2019",
        EXPECTED_2019,
        {("import_yuan", "75394432.52元", "7539.443252")},
        {
            "s1": ("2019年，在省政府办公厅", "宣传工作亮点、成效。"),
            "s5": ("2019年，我区政府信息公开工作取得了明显进展", None),
            "s6": ("无其他需要报告的事项", None),
        },
    ),
    "pingtan_2021.html": (
        "gov-info-2021",
        EXPECTED_2021,
        set(),
        {
            "s1": ("2021年，我区以习近平新时代中国特色社会主义思想为指导", "切实提升我区政务公开质效。"),
            "s5": ("（一）存在的主要问题:政策解读形式不够丰富", "充分发挥政府网站和政务新媒体作用。"),
            "s6": ("2021年，无收取信息处理费情况。", "2021年，无收取信息处理费情况。"),
        },
    ),
    "pingtan_2022.html": (
        "gov-info-2021",
        EXPECTED_2022,
        {("import_fuzzy_label", "四、政府信息公开行政法复议、行政诉讼情况", "四、政府信息公开行政复议、行政诉讼情况")},
        {
            "s1": ("2022年，平潭综合实验区坚持以习近平新时代中国特色社会主义思想为指导", None),
            "s5": (
                "2022年，平潭综合实验区政府信息公开工作取得了一定成绩",
                "利用图表图解、音频、视频等多种解读方式提高解读效果。",
            ),
            "s6": ("2022年，无收取信息处理费情况。", "2022年，无收取信息处理费情况。"),
        },
    ),
}


@pytest.mark.parametrize("page", sorted(CASES))
def test_every_figure_of_a_shared_page_is_read_as_printed(page: str):
    form_id, expected, _, _ = CASES[page]
    im = import_report(PUBLISHED / page)
    assert (im.ret.agency, im.ret.form_id, im.status) == ("平潭综合实验区", form_id, "imported")
    assert im.ret.year == int(page[8:12])
    read = {f.cell_id: f.value for f in im.figures}
    assert set(read) == set(expected), set(expected) ^ set(read)  # every figure of the form, nothing else
    wrong = {k: (read[k], v) for k, v in expected.items() if read[k] != v}
    assert not wrong
    assert {k: v for k, v in im.ret.values.items()} == expected  # the totals computed equal the totals printed
    assert (len(im.figures), im.expected) == (len(expected), len(expected))


@pytest.mark.parametrize("page", sorted(CASES))
def test_a_shared_page_has_exactly_its_known_warnings(page: str):
    _, _, warnings, _ = CASES[page]
    im = import_report(PUBLISHED / page)
    assert im.ret.errors == []
    assert {(p.code, p.value, p.expected if p.code == "import_fuzzy_label" else "") for p in im.ret.warnings} == {
        (code, printed, read if code == "import_fuzzy_label" else "") for code, printed, read in warnings
    }
    for p in im.ret.warnings:
        for code, printed, read in warnings:
            if p.code == code:
                assert printed in p.message and read in p.message  # both spellings, or the printed and the converted


@pytest.mark.parametrize("page", sorted(CASES))
def test_the_text_sections_of_a_shared_page_are_imported_without_the_site_chrome(page: str):
    _, _, _, texts = CASES[page]
    im = import_report(PUBLISHED / page)
    for section, (first, last) in texts.items():
        text = im.ret.texts[section]
        assert text.startswith(first), (section, text[:60])
        if last:
            assert text.endswith(last), (section, text[-60:])
        for chrome in ("附件下载", "扫一扫", "网站地图", "二、主动公开政府信息情况", "六、其他需要报告的事项"):
            assert chrome not in text


def test_a_figure_keeps_where_it_was_printed():
    im = import_report(PUBLISHED / "pingtan_2021.html")
    fig = next(f for f in im.figures if f.cell_id == "t3.not_held.other")
    assert (fig.printed, fig.value, fig.table) == ("3", 3, 2)
    assert "本机关不掌握相关政府信息" in fig.row_label and fig.column_path.endswith("其他")
    total = next(f for f in im.figures if f.cell_id == "t3.total.total")
    assert total.total and total.printed == "69"


def test_the_2018_page_is_refused_with_its_reason_and_exit_1(tmp_path: Path):
    im = import_report(PUBLISHED / "pingtan_2018.html")
    assert im.status == "refused" and [p.code for p in im.ret.problems] == ["import_old_format"]
    assert "2019 年以前" in im.ret.problems[0].message and "2018" in im.ret.problems[0].message
    result = CliRunner().invoke(main, ["import", str(PUBLISHED / "pingtan_2018.html"), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "2019 年以前的报告格式" in result.output and "Traceback" not in result.output
    assert list((tmp_path / "out").iterdir()) == []  # nothing written for a refused report


def test_a_year_given_by_option_does_not_let_a_2018_report_in():
    im = import_report(PUBLISHED / "pingtan_2018.html", ImportOptions(year=2019))
    assert im.status == "refused" and im.ret.problems[0].code == "import_old_format"


def test_import_json_lists_every_figure_with_its_source(tmp_path: Path):
    result = CliRunner().invoke(main, ["import", str(PUBLISHED / "pingtan_2021.html"), "--out-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (entry,) = data["files"]
    assert data["summary"] == {"files": 1, "imported": 1, "with_errors": 0, "refused": 0, "unreadable": 0}
    assert entry["figures_read"] == entry["figures_expected"] == 200 and len(entry["figures"]) == 200
    fee = next(f for f in entry["figures"] if f["cell_id"] == "t2_8.fees.amount")
    assert (fee["value"], fee["printed"], fee["row_label"]) == ("24252.311082", "24252.311082", "行政事业性收费")
    assert entry["source"]["sha256"] and Path(entry["output"]).is_file()
