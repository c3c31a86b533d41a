"""`toolkit report --pdf` through LibreOffice: a PDF of sane length whose first page is not blank."""

from __future__ import annotations

import re
import subprocess

import pytest
from click.testing import CliRunner
from filling import sample_workbook

from toolkit.cli import main

pytestmark = pytest.mark.libreoffice


def _skip_reason() -> str | None:
    try:
        from office import find_soffice
    except ImportError:
        return "toolkit.office 不可用"
    if find_soffice() is None:
        return "未安装 LibreOffice（soffice）"
    for tool in ("pdfinfo", "pdftoppm"):
        if subprocess.run(["which", tool], capture_output=True, check=False).returncode:
            return f"未安装 poppler-utils（{tool}）"
    return None


def _pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _dark_share(pdf, tmp_path) -> float:
    """Share of dark pixels on page 1, rasterised at 50 dpi as greyscale PGM (no imaging library needed)."""
    subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    data = next(tmp_path.glob("p*.pgm")).read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(m.group(1)), int(m.group(2))
    pixels = data[m.end() : m.end() + width * height]
    assert len(pixels) == width * height
    return sum(1 for b in pixels if b < 128) / len(pixels)


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_pdf_of_the_sample_report_has_sane_pages_and_a_printed_first_page(tmp_path):
    xlsx = sample_workbook(tmp_path / "sample.xlsx")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", str(xlsx), "--out-dir", str(out), "--pdf", "-q"])
    assert result.exit_code == 0, result.output
    pdfs = list(out.glob("*.pdf"))
    assert [p.stem for p in pdfs] == ["固原市原州区司法局2020年政府信息公开工作年度报告"]
    assert 2 <= _pages(pdfs[0]) <= 12
    assert _dark_share(pdfs[0], tmp_path) > 0.005
