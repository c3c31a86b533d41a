"""Golden files, XlsxWriter-style: today's output compared part by part with files a real client saved.

tests/golden/ holds files the product made and LibreOffice opened, recalculated and saved again
(`python tests/golden/make_golden.py`, which needs soffice; see its docstring). These tests only read
them, so they run without LibreOffice. Each part of both files is turned into a canonical structure
(`canonical_xlsx`, `canonical_docx`) that leaves out what a client rewrites without changing meaning;
every test names what it leaves out in an IGNORED_* constant. What stays is compared exactly.

A golden file is wrong only after an intended change of what the product writes: then run
make_golden.py again and review the diff of the canonical structures these tests print.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import docx
import pytest
from golden_inputs import (
    COLLECTION_GOLDEN,
    COLLECTION_INBOX,
    COLLECTION_NAME,
    GENERATED_AT,
    GOLDEN,
    REPORT_GOLDEN,
    RETURNS,
    WARNING_RULE,
    golden_return,
    report_source,
    return_golden,
    stage_collection_inputs,
)
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

from toolkit.collection.workbook import DETAIL, DETAIL_HEADER_ROWS, DETAIL_LEAD, SUMMARY, summary_cells
from toolkit.forms.formulas import check_cell_text, formula_key
from toolkit.forms.layout import META_PREFIX, layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_file, check_or_refuse, merge_returns, render_report, write_outputs
from toolkit.workbook.writer import build_filled_workbook

FORM_IDS = list(RETURNS)

# ---------------------------------------------------------------- what the canonical structures leave out

IGNORED_PACKAGE = (
    "styles.xml as a whole: fonts, fills, borders, number formats, alignment (LibreOffice rewrites every style; "
    "of a cell's style only its lock flag is kept)",
    "column widths, row heights, <dimension>, sheetFormatPr",
    "view settings: sheetViews, selections, frozen panes, zoom, active tab, bookViews "
    "(LibreOffice 7.4 also drops the row-only freeze of 四、复议诉讼)",
    "page setup, print options, fit-to-page, headers/footers of the sheets",
    "the theme, fileVersion, workbookPr, calcPr, definedNames (LibreOffice adds _xlnm._FilterDatabase), extLst",
    "docProps/app.xml and the dates, language, revision and lastModifiedBy of docProps/core.xml",
    "custom document property toolkit.generated_at",
)
IGNORED_CELLS = (
    "how a text is stored: shared string, inline string or a formula's string result (t=s, inlineStr, str) are all text",
    "how a number is spelt (12, 12.0, 1.2E1): compared as the number",
    "blank cells: a styled empty <c/> and an empty string are the same as no cell",
    "how a formula is spelt: `$`, spaces, case and a leading = (the product's formula_key), LibreOffice's aca attribute",
    "sheet protection details (password hash, option flags): only whether the sheet is protected",
    "workbook structure protection: LibreOffice 7.4 writes back an empty <workbookProtection/>",
)
IGNORED_VALIDATION = (
    "data validation flags (allowBlank, showDropDown, showInputMessage, showErrorMessage, errorStyle) and how "
    "they are spelt; how sqref groups cells (expanded to single cells); how a bound is spelt (0.0 or 0); the unused "
    "second formula LibreOffice writes for a one-operand rule (textLength lessThanOrEqual)",
    "conditional formats: priority, dxf style and the rule's formula (LibreOffice rewrites LEFT(B27,1) as "
    'LEFT(B27,LEN("✓"))); the cells, the rule type and its text are compared',
)
IGNORED_CHARTS = (
    "chart anchors, sizes, colours, fonts, axes and legends; which drawing part holds a chart (LibreOffice writes "
    "an empty drawing for sheets with an autofilter)",
    'series names LibreOffice adds as a literal formula (e.g. "原州区办理结果构成"); references to cells are compared',
)
IGNORED_DOCX = (
    "everything but text, paragraph style names, table cells, page size/orientation/margins and footer text",
    "empty paragraphs (LibreOffice merges an empty paragraph into the section break that follows it)",
    "how table cells are spread over the grid: each row is its physical cells (w:tc), not python-docx's grid "
    "(LibreOffice re-divides the grid of table 四, so a spanned cell repeats differently)",
    "the PAGE field's result in the footers: LibreOffice fills in 1, 3, 5; the product leaves it to Word",
    "runs, fonts, sizes, numbering definitions, styles.xml, settings.xml, document properties",
)

# ---------------------------------------------------------------- the normaliser: xlsx

_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_DRAWING_TEXT = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"
_CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
_DC = "{http://purl.org/dc/elements/1.1/}"
VOLATILE_PROPERTIES = (META_PREFIX + "generated_at",)
CORE_PROPERTIES = ("title", "subject", "creator")


class Package:
    """The parts of an OOXML zip, parsed on demand."""

    def __init__(self, data: bytes):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zip.namelist())

    def xml(self, part: str) -> ET.Element | None:
        return ET.fromstring(self.zip.read(part)) if part in self.names else None

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """rId -> (relationship type's last word, target part)."""
        folder, name = posixpath.split(part)
        root = self.xml(posixpath.join(folder, "_rels", name + ".rels"))
        out = {}
        for rel in [] if root is None else root.iter(_REL):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
        return out


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _cells_of(sqref: str) -> list[str]:
    """`B5 D6:E7` -> every single cell."""
    out = []
    for part in sqref.split():
        first, _, last = part.partition(":")
        (r1, c1), (r2, c2) = xl_cell_to_rowcol(first), xl_cell_to_rowcol(last or first)
        out += [xl_rowcol_to_cell(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
    return out


def _cell(c: ET.Element, strings: list[str], locked: list[bool]) -> tuple | None:
    """(type, value, formula key, locked) of one <c>, or None for a blank cell."""
    kind, f, v = c.get("t", "n"), c.find(_M + "f"), c.findtext(_M + "v")
    formula = formula_key(f.text or "") if f is not None else None
    if kind == "s":
        kind, value = "text", strings[int(v)] if v is not None else ""
    elif kind == "inlineStr":
        kind, value = "text", "".join(t.text or "" for t in c.iter(_M + "t"))
    elif kind == "str":
        kind, value = "text", v or ""
    elif kind == "b":
        kind, value = "bool", v in ("1", "true")
    elif kind == "e":
        kind, value = "error", v
    else:
        kind, value = "number", _number(v) if v is not None else None
    if formula is None and value in (None, ""):
        return None
    style = int(c.get("s", "0"))
    return (kind, value, formula, locked[style] if style < len(locked) else True)


def _locked_styles(pkg: Package, part: str | None) -> list[bool]:
    root = pkg.xml(part) if part else None
    xfs = None if root is None else root.find(_M + "cellXfs")
    out = []
    for xf in [] if xfs is None else xfs.findall(_M + "xf"):
        prot = xf.find(_M + "protection")
        out.append(prot is None or prot.get("locked", "1") not in ("0", "false"))
    return out


def _bound(text: str | None) -> int | float | str | None:
    try:
        return _number(text) if text is not None else None
    except ValueError:
        return formula_key(text)


def _validations(root: ET.Element) -> dict[str, tuple]:
    out = {}
    for dv in root.iter(_M + "dataValidation"):
        operator = dv.get("operator", "between")
        second = _bound(dv.findtext(_M + "formula2")) if operator in ("between", "notBetween") else None
        what = (dv.get("type", "none"), operator, _bound(dv.findtext(_M + "formula1")), second)
        texts = tuple(dv.get(k, "") for k in ("promptTitle", "prompt", "errorTitle", "error"))
        for a1 in _cells_of(dv.get("sqref", "")):
            out[a1] = what + texts
    return out


def _highlights(root: ET.Element) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for cf in root.iter(_M + "conditionalFormatting"):
        rules = sorted((r.get("type", ""), r.get("text", "")) for r in cf.iter(_M + "cfRule"))
        for a1 in _cells_of(cf.get("sqref", "")):
            out.setdefault(a1, []).extend(rules)
    return {a1: sorted(rules) for a1, rules in out.items()}


def _val(parent: ET.Element, tag: str) -> str | None:
    child = parent.find(_CHART + tag)
    return None if child is None else child.get("val")


def _chart(root: ET.Element) -> dict:
    """A chart as its title, plot types (bar direction, grouping) and the cell ranges it plots."""
    plot = root.find(f"{_CHART}chart/{_CHART}plotArea")
    kinds = [el for el in ([] if plot is None else plot) if el.tag.endswith("Chart")]
    title = root.find(f"{_CHART}chart/{_CHART}title")
    return {
        "title": "".join(t.text or "" for t in ([] if title is None else title.iter(_DRAWING_TEXT))),
        "types": [(k.tag.removeprefix(_CHART), _val(k, "barDir"), _val(k, "grouping")) for k in kinds],
        "refs": [f.text for f in root.iter(_CHART + "f") if f.text and not f.text.startswith('"')],
    }


def _charts(pkg: Package, sheet_part: str) -> list[dict]:
    out = []
    for kind, drawing in pkg.rels(sheet_part).values():
        if kind != "drawing":
            continue
        targets = pkg.rels(drawing)
        root = pkg.xml(drawing)
        for ref in [] if root is None else root.iter():
            rid = ref.get(_R_ID)
            if ref.tag == _CHART + "chart" and rid in targets:
                out.append(_chart(pkg.xml(targets[rid][1])))
    return out


def canonical_xlsx(data: bytes) -> dict:
    """Everything of a workbook that the golden tests compare (see the IGNORED_* constants)."""
    pkg = Package(data)
    book = pkg.xml("xl/workbook.xml")
    rels = pkg.rels("xl/workbook.xml")
    by_type = {kind: part for kind, part in rels.values()}
    sst = pkg.xml(by_type["sharedStrings"]) if "sharedStrings" in by_type else None
    strings = [] if sst is None else ["".join(t.text or "" for t in si.iter(_M + "t")) for si in sst.findall(_M + "si")]
    locked = _locked_styles(pkg, by_type.get("styles"))
    sheets, worksheets = [], {}
    for s in book.iter(_M + "sheet"):
        name, part = s.get("name", ""), rels[s.get(_R_ID, "")][1]
        sheets.append((name, s.get("state", "visible")))
        root = pkg.xml(part)
        cells = {}
        for c in root.iter(_M + "c"):
            cell = _cell(c, strings, locked)
            if cell is not None:
                cells[c.get("r")] = cell
        protection = root.find(_M + "sheetProtection")
        worksheets[name] = {
            "cells": cells,
            "merged": sorted(m.get("ref", "") for m in root.iter(_M + "mergeCell")),
            "protected": protection is not None and protection.get("sheet", "0") in ("1", "true"),
            "validations": _validations(root),
            "highlights": _highlights(root),
            "charts": _charts(pkg, part),
        }
    custom_root = pkg.xml("docProps/custom.xml")
    custom = {
        p.get("name", ""): "".join(v.text or "" for v in p) for p in ([] if custom_root is None else custom_root.iter(_CUSTOM))
    }
    core_root = pkg.xml("docProps/core.xml")
    core = {k: (core_root.findtext(_DC + k) or "") if core_root is not None else "" for k in CORE_PROPERTIES}
    return {
        "sheets": sheets,
        "worksheets": worksheets,
        "custom": {k: v for k, v in custom.items() if k not in VOLATILE_PROPERTIES},
        "core": core,
    }


# ---------------------------------------------------------------- the normaliser: docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _tc_text(tc) -> str:
    """A table cell's text (python-docx's lxml <w:tc>), its paragraphs joined by newlines."""
    return "\n".join("".join(t.text or "" for t in p.iter(_W + "t")) for p in tc.iter(_W + "p"))


def canonical_docx(data: bytes) -> dict:
    """The body in order (non-empty paragraphs as (style, text), tables as rows of physical cells' text),
    each section's page size, orientation and margins (EMU), and its footer text without digits."""
    document = docx.Document(io.BytesIO(data))
    body = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            body.append(("table", [[_tc_text(tc) for tc in row._tr.tc_lst] for row in block.rows]))
        elif block.text.strip():
            body.append(("paragraph", block.style.name if block.style is not None else "", block.text))
    sections = []
    for s in document.sections:
        footer = " ".join(p.text for p in s.footer.paragraphs)
        page = (s.page_width, s.page_height, s.orientation, s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)
        sections.append({"page": page, "footer": " ".join("".join(ch for ch in footer if not ch.isdigit()).split())})
    return {"body": body, "sections": sections}


# ---------------------------------------------------------------- comparing


def differences(today, golden, where: str = "") -> list[str]:
    """Every place where two canonical structures differ, as `where: today != golden`."""
    if isinstance(today, dict) and isinstance(golden, dict):
        out = []
        for key in sorted(set(today) | set(golden), key=str):
            here = f"{where}/{key}"
            if key not in golden:
                out.append(f"{here}: only today's output has {today[key]!r}")
            elif key not in today:
                out.append(f"{here}: only the golden file has {golden[key]!r}")
            else:
                out += differences(today[key], golden[key], here)
        return out
    if isinstance(today, list) and isinstance(golden, list) and len(today) == len(golden):
        return [d for i, (a, b) in enumerate(zip(today, golden, strict=True)) for d in differences(a, b, f"{where}[{i}]")]
    return [] if today == golden else [f"{where}: {today!r} != {golden!r}"]


def assert_same(today, golden, what: str) -> None:
    found = differences(today, golden)
    shown = "\n".join(found[:25]) + (f"\n… and {len(found) - 25} more" if len(found) > 25 else "")
    assert not found, f"{what}: today's output differs from the golden file in {len(found)} places:\n{shown}"


def same_number(python, cached) -> bool:
    """A value recomputed in Python (int or Decimal) equals a number the client cached (int or float)."""
    return isinstance(cached, int | float) and abs(Decimal(python) - Decimal(repr(cached))) <= Decimal("1e-9")


def _part(canonical: dict, *keys: str) -> dict:
    """The same parts of every worksheet."""
    return {name: {k: sheet[k] for k in keys} for name, sheet in canonical["worksheets"].items()}


# ---------------------------------------------------------------- returns


@pytest.fixture(scope="module", params=FORM_IDS)
def returns(request):
    """(form id, today's filled workbook canonical, golden canonical, golden path)."""
    form_id = request.param
    today = build_filled_workbook(golden_return(form_id), generated_at=GENERATED_AT)
    golden = return_golden(form_id)
    return form_id, canonical_xlsx(today), canonical_xlsx(golden.read_bytes()), golden


def test_return_sheets_and_properties_match_golden(returns):
    """Sheet names, order and state (_meta hidden); custom document properties (form id, version, fingerprint,
    agency, year, tool version); title, subject and author. Ignores IGNORED_PACKAGE."""
    form_id, today, golden, _ = returns
    assert_same(
        {k: today[k] for k in ("sheets", "custom", "core")}, {k: golden[k] for k in ("sheets", "custom", "core")}, form_id
    )
    assert golden["custom"][META_PREFIX + "form_id"] == form_id


def test_return_cells_match_golden(returns):
    """Every non-blank cell: type, value (labels, typed figures, texts, fields; the cached totals and check texts),
    normalised formula and lock flag; merged ranges; sheet protection. Ignores IGNORED_PACKAGE and IGNORED_CELLS."""
    form_id, today, golden, _ = returns
    assert_same(_part(today, "cells", "merged", "protected"), _part(golden, "cells", "merged", "protected"), form_id)
    layout = layout_of(get_form(form_id))
    sample = layout.cells[next(iter(get_form(form_id).equations)).target]
    assert golden["worksheets"][sample.sheet]["cells"][sample.a1][2], "the golden file's totals are formulas"


def test_return_validations_and_highlights_match_golden(returns):
    """Data validation of every input cell (type, bounds, prompt and error texts) and the ✓/✗/⚠ conditional
    formats of the check cells. Ignores IGNORED_PACKAGE and IGNORED_VALIDATION."""
    form_id, today, golden, _ = returns
    assert_same(_part(today, "validations", "highlights"), _part(golden, "validations", "highlights"), form_id)
    form, layout = get_form(form_id), layout_of(get_form(form_id))
    validated = {(name, a1) for name, sheet in golden["worksheets"].items() for a1 in sheet["validations"]}
    assert {(layout.cells[c.id].sheet, layout.cells[c.id].a1) for c in form.input_cells} <= validated


def test_python_recomputation_equals_libreoffice_cached_results(returns):
    """The golden file's totals and check texts were computed by LibreOffice (make_golden.py removes the
    product's cached results before LibreOffice recalculates): each equals the product's recomputation
    (check_file(golden).values) and check_cell_text. Ignores nothing of these cells."""
    form_id, _, golden, path = returns
    form, layout = get_form(form_id), layout_of(get_form(form_id))
    values = check_file(path).values
    wrong = []
    for eq in form.equations:
        pos = layout.cells[eq.target]
        kind, cached, formula, _ = golden["worksheets"][pos.sheet]["cells"][pos.a1]
        if formula is None or kind != "number" or not same_number(values[eq.target], cached):
            wrong.append(f"{pos.ref} {eq.target}: LibreOffice {cached!r} ({kind}, formula {formula}), Python {values[eq.target]}")
    for rule in form.rules:
        pos = layout.rules[rule.id]
        kind, cached, formula, _ = golden["worksheets"][pos.sheet]["cells"][pos.a1]
        expected = check_cell_text(rule, values)
        if formula is None or kind != "text" or cached != expected:
            wrong.append(f"{pos.ref} {rule.id}: LibreOffice {cached!r} ({kind}, formula {formula}), Python {expected!r}")
    assert not wrong, "\n".join(wrong)


def test_golden_return_passes_check_with_what_was_typed(returns):
    """check_file(golden): no error; the 2019 form's one intended warning; inputs, texts and fields read back
    as built (LibreOffice kept every figure, negative numbers and decimals included)."""
    form_id, _, _, path = returns
    ret = check_file(path)
    built = golden_return(form_id)
    assert ret.accepted and not ret.errors, [p.message for p in ret.errors]
    assert [p.rule for p in ret.warnings] == ([WARNING_RULE] if form_id == "gov-info-2019" else [])
    assert (ret.form_id, ret.agency, ret.year) == (form_id, built.agency, built.year)
    form = get_form(form_id)
    assert {c.id: ret.values[c.id] for c in form.input_cells} == {
        c.id: Decimal(repr(built.values[c.id])) if isinstance(built.values[c.id], float) else built.values[c.id]
        for c in form.input_cells
    }
    assert ret.texts == {k: v.strip() for k, v in built.texts.items()}
    assert {k: ret.fields[k] for k in built.fields} == built.fields


# ---------------------------------------------------------------- collection.xlsx


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """(today's Collection, today's collection.xlsx canonical, golden canonical, golden path)."""
    tmp = tmp_path_factory.mktemp("golden-collection")
    stage_collection_inputs(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)  # the relative folder 回收/, as make_golden.py merges it: the paths written are the same
        c = merge_returns([COLLECTION_INBOX], name=COLLECTION_NAME)
        written = write_outputs(c, Path("out"))
        today = canonical_xlsx((tmp / written[0]).read_bytes())
    path = GOLDEN / COLLECTION_GOLDEN
    return c, today, canonical_xlsx(path.read_bytes()), path


def test_collection_matches_golden(collection):
    """状态, 汇总, 明细, 文字 and 图表: every cell (the 明细 合计 SUM formulas included), merged ranges, the
    charts (type, title, ranges); sheets and properties. Ignores IGNORED_PACKAGE (so toolkit.generated_at,
    the merge's own time), IGNORED_CELLS, IGNORED_VALIDATION and IGNORED_CHARTS."""
    _, today, golden, _ = collection
    assert_same(today, golden, "collection.xlsx")
    charts = [chart for sheet in golden["worksheets"].values() for chart in sheet["charts"]]
    assert len(charts) == 3 and all(chart["refs"] for chart in charts)


def test_collection_golden_totals_are_python_totals_and_it_checks_clean(collection):
    """LibreOffice's cached 明细 合计 (SUM) and the 汇总 figures equal the Python totals of today's merge, and
    `check` recognises the LibreOffice-saved collection (汇总 = sum of 明细) without a problem."""
    c, _, golden, path = collection
    assert c.counts()["accepted"] == 3 and c.counts()["rejected"] == 1
    detail, summary = golden["worksheets"][DETAIL]["cells"], golden["worksheets"][SUMMARY]["cells"]
    cells, lead = summary_cells(c.form), len(DETAIL_LEAD)
    total_row = DETAIL_HEADER_ROWS + len(c.returns)
    wrong = []
    for j, cid in enumerate(c.form.cells):
        kind, cached, formula, _ = detail[xl_rowcol_to_cell(total_row, lead + j)]
        if kind != "number" or formula is None or not formula.startswith("SUM(") or not same_number(c.totals[cid], cached):
            wrong.append(f"{DETAIL} {cid}: {cached!r} ({formula}) != {c.totals[cid]}")
        shown = summary[xl_rowcol_to_cell(*cells[cid])][1]
        if not same_number(c.totals[cid], shown):
            wrong.append(f"{SUMMARY} {cid}: {shown!r} != {c.totals[cid]}")
    assert not wrong, "\n".join(wrong[:20])
    ret = check_file(path)
    assert ret.problems == [] and ret.metadata["kind"] == "collection"


# ---------------------------------------------------------------- the Word report


def test_report_matches_golden():
    """The 2019-form sample's report: every non-empty paragraph (style and text) and table cell in order, page
    setup of each section and footer text. Ignores IGNORED_DOCX."""
    ret = check_or_refuse(report_source())
    assert ret.accepted, [p.message for p in ret.errors]
    today = canonical_docx(render_report(ret))
    golden = canonical_docx((GOLDEN / REPORT_GOLDEN).read_bytes())
    assert_same(today, golden, REPORT_GOLDEN)
    assert sum(1 for block in golden["body"] if block[0] == "table") == 7
