"""Rebuild the shipped samples: `python samples/build_samples.py` from the project root.

- `returns-2020/`: the seed return, the real 2020 report of 固原市原州区司法局 (gov-info-2019), typed
  from `tests/sample_2020.py` (itself transcribed from ../shared/reference/sample_report_2020.txt);
- `returns-2024/`: four agencies of samples/agencies.txt in the current format with reproducible
  random (balanced) figures; 教育局 has typical mistakes so that check and merge have something to say;
- `report/`: the seed's Word report, its PDF and a PNG of its first page (when LibreOffice is installed).

Returns are typed and saved by LibreOffice when it is installed (a real client, with recalculated
totals), otherwise written with openpyxl.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import sample_2020  # noqa: E402
from filling import fill_workbook as fill_with_openpyxl  # noqa: E402
from office import convert_to_pdf, fill_workbook, office_available  # noqa: E402

from toolkit.forms.layout import layout_of  # noqa: E402
from toolkit.forms.spec import Form, get_form  # noqa: E402
from toolkit.pipeline import check_file  # noqa: E402
from toolkit.reports.render import render_report  # noqa: E402
from toolkit.workbook.mailing import read_agency_list, template_filename  # noqa: E402
from toolkit.workbook.writer import build_workbook  # noqa: E402

SAMPLES = ROOT / "samples"
YEAR = 2024
TEXTS_2024 = {
    "s1": "{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，"
    "全年主动公开政府信息{n}条。\n依申请公开方面，严格按照法定时限答复，答复率100%。\n"
    "平台建设和监督保障方面，持续完善政府信息公开专栏，落实保密审查制度。",
    "s5": "存在的主要问题：一是政策解读形式较为单一；二是信息更新有时不够及时。\n"
    "改进措施：丰富图解、视频等解读形式，落实专人负责，提高信息公开时效性。",
    "s6": "本年度未收取信息处理费，发出收费通知0件，总金额0元，实际收取0元。",
}


def _fill(form: Form, agency: str, year: int, values: dict, texts: dict, fields: dict, raw: dict, out: Path) -> None:
    """Type the return the way a clerk would: in LibreOffice when installed, else with openpyxl."""
    if not office_available():
        fill_with_openpyxl(form, out, values, texts, fields, agency, year, raw)
        return
    layout = layout_of(form)
    cells = {(layout.cells[k].sheet, layout.cells[k].a1): v for k, v in values.items()}
    cells |= {(layout.texts[k].sheet, layout.texts[k].a1): v for k, v in texts.items()}
    cells |= {(layout.fields[k].sheet, layout.fields[k].a1): v for k, v in fields.items() if k not in ("agency", "year")}
    cells |= raw
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "template.xlsx"
        src.write_bytes(build_workbook(form, agency, year))
        fill_workbook(src, out, cells)


def seed_return() -> Path:
    form = get_form(sample_2020.FORM_ID)
    values = {c.id: 0 for c in form.input_cells} | sample_2020.VALUES
    fields = {k: v for k, v in sample_2020.FIELDS.items() if v}
    out = SAMPLES / "returns-2020" / template_filename(form, sample_2020.AGENCY, sample_2020.YEAR)
    out.parent.mkdir(exist_ok=True)
    _fill(form, sample_2020.AGENCY, sample_2020.YEAR, values, sample_2020.TEXTS, fields, {}, out)
    return out


def _balanced(form: Form, rng: random.Random) -> dict:
    values = {c.id: rng.choice([0, 0, rng.randint(1, 30)]) for c in form.input_cells}
    values["t2_8.fees.amount"] = round(rng.uniform(0, 500), 4)
    results = [
        r.id for r in next(t for t in form.tables if t.id == "t3").rows if r.id not in ("new", "carried", "total", "carry_over")
    ]
    for col in ("natural", "business", "research", "charity", "legal", "other"):
        out = sum(values[f"t3.{r}.{col}"] for r in results) + values[f"t3.carry_over.{col}"]
        values[f"t3.carried.{col}"] = min(values[f"t3.carried.{col}"], out)
        values[f"t3.new.{col}"] = out - values[f"t3.carried.{col}"]
    return values


def returns_2024() -> list[Path]:
    form, rng = get_form("gov-info-2021"), random.Random(2024)
    layout, folder = layout_of(form), SAMPLES / "returns-2024"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, agency in enumerate(read_agency_list(SAMPLES / "agencies.txt")):
        values = _balanced(form, rng)
        texts = {k: v.format(agency=agency, n=rng.randint(20, 400)) for k, v in TEXTS_2024.items()}
        fields = {"contact": "王" + "一二三四"[i], "phone": f"0954-20{i}1234", "date": "2025年1月20日"}
        raw = {}
        if "教育局" in agency:  # the mistakes clerks make: a unit typed in, a column out of balance
            pos = layout.cells["t3.open.natural"]
            raw[(pos.sheet, pos.a1)] = "12件"
            values["t3.new.business"] += 2
        out = folder / template_filename(form, agency, YEAR)
        _fill(form, agency, YEAR, values, texts, fields, raw, out)
        paths.append(out)
    return paths


def seed_report(seed: Path) -> None:
    folder = SAMPLES / "report"
    folder.mkdir(exist_ok=True)
    ret = check_file(seed)
    assert ret.accepted, [p.message for p in ret.problems]
    docx = folder / f"{sample_2020.AGENCY}{sample_2020.YEAR}年政府信息公开工作年度报告.docx"
    docx.write_bytes(render_report(ret))
    if office_available():
        pdf = convert_to_pdf([docx], folder)[0]
        png = folder / "page1"
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)], check=True)


def main() -> None:
    for folder in ("returns-2020", "returns-2024", "report"):
        shutil.rmtree(SAMPLES / folder, ignore_errors=True)
    seed = seed_return()
    returns_2024()
    seed_report(seed)
    print("samples rebuilt in", SAMPLES)


if __name__ == "__main__":
    main()
