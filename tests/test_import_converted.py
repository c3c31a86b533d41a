"""The shared real pages turned by LibreOffice into a Word document and a PDF (site chrome and all),
imported: every figure read equals the transcription by hand (tests/test_import_published.py),
and every figure not read is a coded problem, never a guess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_import_published import CASES, PUBLISHED

from toolkit.pipeline import import_report
from toolkit.reports.pdf import find_soffice

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(find_soffice() is None, reason="未安装 LibreOffice（soffice）"),
    pytest.mark.skipif(not PUBLISHED.is_dir(), reason="项目旁没有 shared/published/（真实的报告网页）"),
]
PAGES = sorted(CASES)


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("converted")
    profile = f"-env:UserInstallation=file://{out / 'profile'}"
    pages = [str(PUBLISHED / p) for p in PAGES]
    for target in ("docx:MS Word 2007 XML", "pdf"):
        subprocess.run(
            [find_soffice(), profile, "--headless", "--convert-to", target, "--outdir", str(out), *pages],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return out


@pytest.mark.parametrize("page", PAGES)
def test_a_shared_page_saved_as_docx_gives_every_figure_and_only_its_warnings(converted: Path, page: str):
    form_id, expected, warnings, texts = CASES[page]
    im = import_report(converted / page.replace(".html", ".docx"))
    assert (im.ret.agency, im.ret.year, im.ret.form_id) == ("平潭综合实验区", int(page[8:12]), form_id)
    assert {f.cell_id: f.value for f in im.figures} == expected
    assert im.ret.errors == []
    assert {(p.code, p.value) for p in im.ret.warnings} == {(code, printed) for code, printed, _ in warnings}
    for section, (first, last) in texts.items():
        assert im.ret.texts[section].startswith(first)
        assert last is None or im.ret.texts[section].endswith(last)
        assert "附件下载" not in im.ret.texts[section] and "扫一扫" not in im.ret.texts[section]


@pytest.mark.parametrize("page", PAGES)
def test_a_shared_page_printed_to_pdf_reads_no_figure_wrong_and_says_what_it_could_not_read(converted: Path, page: str):
    """LibreOffice's PDF of a whole portal page cuts tables and labels at its page breaks; what the
    importer reads is right, and every cell it cannot read is an error naming it."""
    _, expected, _, _ = CASES[page]
    im = import_report(converted / page.replace(".html", ".pdf"))
    assert im.status == "imported"
    read = {f.cell_id: f.value for f in im.figures}
    assert {k: v for k, v in read.items() if expected[k] != v} == {}
    form = im.ret.form
    rows_said = {p.cell_id.rsplit(".", 1)[0] for p in im.ret.problems if p.code == "import_missing"}
    tables_said = {
        t.id for p in im.ret.problems if p.code == "import_table_missing" for t in form.tables if t.caption == p.labels
    }
    for cell_id in set(expected) - set(read):
        if not form.cells[cell_id].computed:  # an input not read: its row or its table is named in a problem
            assert cell_id.rsplit(".", 1)[0] in rows_said or cell_id.split(".")[0] in tables_said, cell_id
    if len(read) < len(expected):
        assert im.ret.errors


@pytest.mark.parametrize("page", ["pingtan_2019.html", "pingtan_2022.html"])
def test_the_2019_and_2022_pages_as_pdf_give_every_figure(converted: Path, page: str):
    """Their tables, cut by LibreOffice's page breaks (a row's label, table 四's row of figures on the next page), join up."""
    im = import_report(converted / page.replace(".html", ".pdf"))
    assert {f.cell_id: f.value for f in im.figures} == CASES[page][1]
    assert im.ret.errors == []
    assert im.ret.texts["s6"] == CASES[page][3]["s6"][0]
