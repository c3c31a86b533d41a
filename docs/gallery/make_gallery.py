"""Regenerate README's picture gallery: the shipped samples through `toolkit demo`, each output
exported to PDF by LibreOffice and the page that shows a given text rendered to PNG by pdftoppm.

    python docs/gallery/make_gallery.py      # from the project root; needs soffice and pdftoppm
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# (picture, file inside demo-output (glob), text that identifies the page)
PICTURES = [
    ("template-guide", "templates/gov-info-2021/*司法局*.xlsx", "填报说明"),
    ("template-table3", "templates/gov-info-2021/*司法局*.xlsx", "三、收到和处理政府信息公开申请情况"),
    ("annotated-problems", "annotated/*.xlsx", "问题清单"),
    ("collection-status", "collection/collection.xlsx", "报送情况"),
    ("collection-reminders", "collection/collection.xlsx", "催报名单"),
    ("report-table3", "reports/*司法局2024*.docx", "三、收到和处理政府信息公开申请情况"),
    ("summary-page1", "collection/summary.docx", None),
]


def _run(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _to_pdf(source: Path, folder: Path) -> Path:
    profile = (folder / "lo-profile").as_uri()
    _run("soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(source))
    return folder / f"{source.stem}.pdf"


def _page_with(pdf: Path, needle: str | None) -> int:
    if needle is None:
        return 1
    pages = int(next(line.split()[-1] for line in _run("pdfinfo", str(pdf)).splitlines() if line.startswith("Pages:")))
    for page in range(1, pages + 1):
        if needle in _run("pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-").replace(" ", ""):
            return page
    raise SystemExit(f"{pdf.name}: no page shows “{needle}”")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _run(sys.executable, "-m", "toolkit", "demo", "--out", str(work / "demo"), cwd=ROOT)
        pdfs: dict[Path, Path] = {}
        for name, pattern, needle in PICTURES:
            source = min((work / "demo").glob(pattern))
            if source not in pdfs:
                folder = work / f"pdf{len(pdfs)}"
                folder.mkdir()
                pdfs[source] = _to_pdf(source, folder)
            page = _page_with(pdfs[source], needle)
            out = HERE / name
            _run("pdftoppm", "-f", str(page), "-l", str(page), "-r", "70", "-png", "-singlefile", str(pdfs[source]), str(out))
            print(f"{out.name}.png ← {source.name} 第{page}页")


if __name__ == "__main__":
    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        raise SystemExit("需要 LibreOffice（soffice）和 poppler-utils（pdftoppm）")
    main()
