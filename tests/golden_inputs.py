"""The deterministic inputs of the golden files, shared by the two sides that use them.

tests/golden/make_golden.py builds these with the product and saves them through LibreOffice (the
golden files); tests/test_golden.py builds the same things again with today's product and compares.
Everything here is a pure function of the repository: seeded figures (benchmarks/pipeline.py's
`random_return`, balanced), fixed names, a fixed generation time, and the committed samples.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import sys
from pathlib import Path

from toolkit.forms.spec import get_form
from toolkit.returns.model import Return

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline import random_return  # noqa: E402  (benchmarks/pipeline.py: seeded, table 三 balanced)

GENERATED_AT = "2025-01-20T10:00:00+08:00"  # the template's 生成时间, fixed so both sides stamp the same

# form id -> (seed of random_return, report year: the 2019 form is for the 2019 and 2020 reports)
RETURNS = {"gov-info-2021": (2021, 2024), "gov-info-2019": (2019, 2020)}

WARNING_RULE = "t2_published_total"  # 2019 form: 对外公开总数量 >= 本年新公开数量 (severity warning)
WARNING_CELLS = ("t2_1.normative.published", "t2_1.normative.published_total")

COLLECTION_SOURCE = ROOT / "samples" / "returns-2024"  # four returns; 教育局's has mistakes (rejected)
COLLECTION_INBOX = "回收"  # the relative folder merged (cwd = a temp folder), so every path in the outputs is stable
COLLECTION_NAME = "原州区"
COLLECTION_GOLDEN = "collection.xlsx"

REPORT_SOURCE = ROOT / "samples" / "returns-2020"  # the 2019-form sample (a real 2020 report)
REPORT_GOLDEN = "report-gov-info-2019.docx"


def return_golden(form_id: str) -> Path:
    return GOLDEN / f"return-{form_id}.xlsx"


def golden_return(form_id: str) -> Return:
    """A filled return of `form_id`: every input set, table 三 balanced, fields and texts filled.

    On top of random_return: the report year of the form and, for the 2019 form, negative figures in the
    本年增/减 columns (the only kind that may be negative; no rule reads them) and one figure that fails the
    warning rule t2_published_total, so that one check cell of the golden file holds LibreOffice's "⚠ 请核对：…".
    Every error rule holds: checking the return gives that one warning and nothing else.
    """
    seed, year = RETURNS[form_id]
    form = get_form(form_id)
    ret = dataclasses.replace(random_return(form, seed), year=year)
    rng = random.Random(seed)
    for cell in form.input_cells:
        if cell.kind.min < 0:
            ret.values[cell.id] = rng.randint(-40, 40)
    if form_id == "gov-info-2019":
        published, published_total = WARNING_CELLS
        ret.values[published], ret.values[published_total] = 17, 12  # 对外公开总数量 < 本年新公开数量
    return ret


def stage_collection_inputs(folder: Path) -> Path:
    """Copy the collection's inputs into folder/回收 under their own (fixed) names; returns that folder."""
    inbox = folder / COLLECTION_INBOX
    inbox.mkdir(parents=True, exist_ok=True)
    for src in sorted(COLLECTION_SOURCE.glob("*.xlsx")):
        shutil.copyfile(src, inbox / src.name)
    return inbox


def report_source() -> Path:
    (path,) = sorted(REPORT_SOURCE.glob("*.xlsx"))
    return path
