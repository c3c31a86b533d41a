"""Fuzzing: a mutator over a valid return. Whatever the damage, checking ends with a clean
problem report or a refusal (exit 0, 1 or 2), never an unhandled exception.

Mutations: flip bytes inside XML parts (re-zipped properly), drop parts, duplicate <row>
elements, swap sheet names in workbook.xml, change cell types and stored values, garble cell
attributes, inject a DOCTYPE, truncate the file.

Bounded in CI: TOOLKIT_FUZZ_EXAMPLES examples (default 60) for each kind of mutation, each
followed by up to two more of any kind. More on demand, e.g.
`TOOLKIT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`; a failing example is printed and
replayed first on the next run (hypothesis keeps it in .hypothesis/).
"""

from __future__ import annotations

import functools
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cli import main
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_or_refuse
from toolkit.returns.model import Problem, Return

FORM = get_form("gov-info-2021")
EXAMPLES = int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "60"))
CJK = re.compile(r"[\u4e00-\u9fff]")
WORKBOOK = "xl/workbook.xml"

_ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_FORMULA_CELL = re.compile(rb"<c\b[^>]*?>(?:(?!</c>).)*?<f>.*?</c>", re.S)  # totals and check cells
_SHEET_NAME = re.compile(rb'(<sheet\b[^>]*?\bname=")([^"]*)(")')
_DOCTYPES = [
    b"<!DOCTYPE worksheet>",
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
]
_ODD_VALUES = [
    "",
    " ",
    "2023",
    "gov-info-2019",
    "1e999999999",
    "-1e-999999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-0",
    "9" * 5000,
    "١٢",
    "²",
    "1,234",
    "0x10",
]
_ODD_ATTRIBUTES = [
    b' s="x"',
    b' s="-1"',
    b' s="99999999999"',
    ' s="²"'.encode(),
    b' r="A0"',
    b' r="ZZZZ1"',
    b' r="1A"',
    b' r="A99999999"',
]
_TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30) | st.sampled_from(_ODD_VALUES)
_PROPERTY_VALUE = re.compile(rb"<vt:lpwstr[^>]*>[^<]*</vt:lpwstr>")
_TYPES = [b"", b' t="s"', b' t="n"', b' t="b"', b' t="e"', b' t="str"', b' t="inlineStr"', b' t="d"', b' t="zz"']


@functools.cache
def valid() -> dict[str, bytes]:
    """The parts of one valid, complete return (made once; not a fixture, so hypothesis does not print it)."""
    with tempfile.TemporaryDirectory() as folder:
        path = fill_workbook(FORM, Path(folder) / "valid.xlsx", texts=complete_texts(FORM), fields=complete_fields())
        with zipfile.ZipFile(path) as zf:
            return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzzed") / "fuzzed.xlsx"


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def _xml_parts(parts) -> list[str]:
    return sorted(n for n in parts if n.endswith((".xml", ".rels")))


def _sheets(parts) -> list[str]:
    return sorted(n for n in parts if n.startswith("xl/worksheets/")) or _xml_parts(parts)


def _replace_match(data: bytes, pattern: re.Pattern, draw, change) -> bytes:
    """`data` with one match of `pattern` (drawn) replaced by change(match bytes)."""
    matches = list(pattern.finditer(data))
    if not matches:
        return data
    m = draw(st.sampled_from(matches))
    return data[: m.start()] + change(m.group(0)) + data[m.end() :]


def flip_bytes(parts, draw) -> None:
    name = draw(st.sampled_from(_xml_parts(parts)))
    data = bytearray(parts[name])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    parts[name] = bytes(data)


def drop_part(parts, draw) -> None:
    del parts[draw(st.sampled_from(sorted(parts)))]


def duplicate_row(parts, draw) -> None:
    name = draw(st.sampled_from(_sheets(parts)))
    parts[name] = _replace_match(parts[name], _ROW, draw, lambda row: row + row)


def swap_sheet_names(parts, draw) -> None:
    book = parts.get(WORKBOOK, b"")
    names = [m.group(2) for m in _SHEET_NAME.finditer(book)]
    if len(names) < 2:
        return
    i, j = draw(st.lists(st.integers(0, len(names) - 1), min_size=2, max_size=2, unique=True))
    names[i], names[j] = names[j], names[i]
    it = iter(names)
    parts[WORKBOOK] = _SHEET_NAME.sub(lambda m: m.group(1) + next(it) + m.group(3), book)


def _retype(cell: bytes, kind: bytes, value: bytes | None) -> bytes:
    head, _, rest = cell.partition(b">") if not cell.endswith(b"/>") else (cell[:-2], b"", b"</c>")
    head = re.sub(rb'\st="[^"]*"', b"", head) + kind
    if value is not None:
        rest = re.sub(rb"<v>.*?</v>|<v/>", b"", rest, flags=re.S)
        rest = b"<v>" + value + b"</v>" + rest
    return head + b">" + rest


def change_cell_type(parts, draw) -> None:
    name = draw(st.sampled_from(_sheets(parts)))
    kind = draw(st.sampled_from(_TYPES))
    value = draw(st.none() | _TEXTS.map(lambda t: escape(t).encode()))
    pattern = draw(st.sampled_from([_CELL, _FORMULA_CELL]))
    parts[name] = _replace_match(parts[name], pattern, draw, lambda cell: _retype(cell, kind, value))


def garble_cell_attribute(parts, draw) -> None:
    name = draw(st.sampled_from(_sheets(parts)))
    attribute = draw(st.sampled_from(_ODD_ATTRIBUTES))
    key = attribute.split(b"=")[0]

    def change(cell: bytes) -> bytes:
        cell = re.sub(key + rb'="[^"]*"', b"", cell, count=1)
        return b"<c" + attribute + cell[2:]

    parts[name] = _replace_match(parts[name], _CELL, draw, change)


def inject_doctype(parts, draw) -> None:
    name = draw(st.sampled_from(_xml_parts(parts)))
    data, doctype = parts[name], draw(st.sampled_from(_DOCTYPES))
    declaration = re.match(rb"<\?xml[^>]*\?>\s*", data)
    at = declaration.end() if declaration else 0
    parts[name] = data[:at] + doctype + data[at:]


def odd_metadata(parts, draw) -> None:
    """A custom document property (form id, version, agency, year…) with an odd value."""
    name = "docProps/custom.xml"
    value = draw(_TEXTS.map(lambda t: escape(t).encode()))
    parts[name] = _replace_match(
        parts.get(name, b""), _PROPERTY_VALUE, draw, lambda m: re.sub(rb">[^<]*<", lambda _: b">" + value + b"<", m)
    )


MUTATIONS = [
    flip_bytes,
    drop_part,
    duplicate_row,
    swap_sheet_names,
    change_cell_type,
    garble_cell_attribute,
    inject_doctype,
    odd_metadata,
]


def _mutated(first, draw) -> bytes:
    """`first` mutation, then up to two more of any kind, zipped again; sometimes truncated."""
    parts = dict(valid())
    for mutate in [first, *draw(st.lists(st.sampled_from(MUTATIONS), max_size=2))]:
        if parts:
            mutate(parts, draw)
    data = _zip(parts)
    if draw(st.integers(0, 9)) == 0:  # one file in ten is cut short as well
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


def _assert_clean(ret) -> None:
    assert isinstance(ret, Return)
    for p in ret.problems:
        assert isinstance(p, Problem) and p.severity in ("error", "warning")
        assert p.message.strip() and CJK.search(p.message), p


@pytest.mark.parametrize("first", MUTATIONS, ids=lambda m: m.__name__)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_damaged_return_never_crashes_check(target, first, data):
    target.write_bytes(_mutated(first, data.draw))
    _assert_clean(check_or_refuse(target))
    result = CliRunner().invoke(main, ["check", str(target)])
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output


def test_the_unmutated_return_is_accepted(target):
    target.write_bytes(_zip(valid()))
    assert check_or_refuse(target).accepted
