"""`report` then `import` gives back the same return: every figure, every paragraph, the date.

Through the Word report (.docx) always; through its PDF where LibreOffice is installed. And the
returns an import writes go through check, report, merge and merge --previous like any return.
"""

from __future__ import annotations

import shutil
import string
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cli import main
from toolkit.forms.spec import get_form
from toolkit.pipeline import Return, check_file, import_report, render_report
from toolkit.reports.render import paragraphs

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("returns-*/*.xlsx"))
PUBLISHED = Path("/work/shared/published") if not (ROOT.parent / "shared").is_dir() else ROOT.parent / "shared" / "published"


def _same(original: Return, imported: Return, exact_spaces: bool = True) -> None:
    assert (imported.agency, imported.year, imported.form_id) == (original.agency, original.year, original.form_id)
    wrong = {k: (v, imported.values.get(k)) for k, v in original.values.items() if imported.values.get(k) != v}
    assert not wrong
    for section, text in original.texts.items():
        want, got = paragraphs(text), paragraphs(imported.texts.get(section))
        if not exact_spaces:  # a PDF does not keep a space where a line wraps
            want, got = [p.replace(" ", "") for p in want], [p.replace(" ", "") for p in got]
        assert got == want, section
    assert imported.fields["date"] == original.fields["date"]


def _report(tmp_path: Path, sources: list[Path], pdf: bool = False) -> Path:
    out = tmp_path / "报告"
    args = ["report", *map(str, sources), "--out-dir", str(out), "-q", "--force", *(["--pdf"] if pdf else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_report_then_import_of_the_docx_gives_back_the_sample(tmp_path: Path, sample: Path):
    original = check_file(sample)
    (docx,) = _report(tmp_path, [sample]).glob("*.docx")
    im = import_report(docx)
    assert (len(im.figures), im.expected) == (len(original.form.cells), len(original.form.cells))
    _same(original, im.ret)
    assert [p.code for p in im.ret.problems if p.code.startswith("import_")] == []


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="未安装 LibreOffice（soffice）")
def test_report_then_import_of_the_pdf_gives_back_the_samples(tmp_path: Path):
    out = _report(tmp_path, [ROOT / "samples" / "returns-2020", ROOT / "samples" / "returns-2024"], pdf=True)
    by_agency = {check_file(s).agency + str(check_file(s).year): check_file(s) for s in SAMPLES}
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == len(SAMPLES)
    for pdf in pdfs:
        im = import_report(pdf)
        assert im.kind == "PDF" and (len(im.figures), im.expected) == (len(im.ret.form.cells),) * 2, pdf.name
        _same(by_agency[im.ret.agency + str(im.ret.year)], im.ret, exact_spaces=False)


def test_imported_returns_go_through_check_report_merge_and_merge_previous(tmp_path: Path):
    if not PUBLISHED.is_dir():
        pytest.skip("项目旁没有 shared/published/（真实的报告网页）")
    runner = CliRunner()
    for year in (2021, 2022):
        result = runner.invoke(main, ["import", str(PUBLISHED / f"pingtan_{year}.html"), "--out-dir", str(tmp_path / str(year))])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["check", str(tmp_path / "2021"), str(tmp_path / "2022")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["report", str(tmp_path / "2022"), "--out-dir", str(tmp_path / "报告"), "-q"])
    assert result.exit_code == 0 and len(list((tmp_path / "报告").glob("*.docx"))) == 1, result.output
    result = runner.invoke(
        main, ["merge", str(tmp_path / "2021"), "-o", str(tmp_path / "m2021"), "--name", "平潭", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    previous = tmp_path / "m2021" / "collection.xlsx"
    args = [
        "merge",
        str(tmp_path / "2022"),
        "-o",
        str(tmp_path / "m2022"),
        "--name",
        "平潭",
        "--previous",
        str(previous),
        "--jobs",
        "1",
    ]
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output  # 2022 二、上年结转 (1) equals 2021 四、结转下年度继续办理 (1)
    assert '"cross_year_failed"' not in result.output


# ---------------------------------------------------------------- any figures, any texts

FORMS = [get_form("gov-info-2019"), get_form("gov-info-2021")]
CHINESE = st.text(
    alphabet=st.sampled_from("政府信息公开工作年度报告我局认真贯彻落实条例主动依申请平台监督保障，。；：（）“”《》"),
    min_size=1,
    max_size=60,
)
PARAGRAPH = st.builds(lambda a, b, c: a + b + c, CHINESE, st.text(alphabet=string.digits + " %", max_size=6), CHINESE)


def _value(kind, draw):
    if kind.type == "decimal":
        return Decimal(draw(st.integers(0, 10**10))).scaleb(-6).normalize()
    return draw(st.integers(int(max(kind.min, -5000)), int(min(kind.max, 10**6))))


@st.composite
def returns(draw) -> Return:
    form = draw(st.sampled_from(FORMS))
    inputs = {c.id: _value(c.kind, draw) for c in form.input_cells}
    texts = {s.id: "\n".join(draw(st.lists(PARAGRAPH, min_size=1, max_size=4))) for s in form.text_sections}
    year = draw(st.integers(2019, 2020) if form.id == "gov-info-2019" else st.integers(2021, 2030))
    fields = {
        "agency": "某某县自然资源局",
        "year": str(year),
        "contact": "",
        "phone": "",
        "date": f"{year + 1}年1月{draw(st.integers(1, 28))}日",
    }
    return Return("random.xlsx", form, "某某县自然资源局", year, fields, form.compute(inputs), texts)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=returns())
def test_random_figures_and_texts_survive_report_then_import(tmp_path: Path, original: Return):
    path = tmp_path / "random.docx"
    path.write_bytes(render_report(original))
    im = import_report(path)
    _same(original, im.ret)
    assert [p.code for p in im.ret.problems if p.code.startswith("import_")] == []
