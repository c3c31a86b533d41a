"""Fuzzing the zip headers and the shared strings of a valid return (samples/returns-2024/).

Zip headers: one to four bytes of the local headers, the central directory or the end record
(also of a zip64 copy: its zip64 end record and locator) changed at random. Checking ends as accepted, rejected or unreadable, never with an exception and
never with an `internal_error` (a bug of ours); and zipfile never reads more members than the
count the guards made before letting zipfile near the file.

Shared strings: random text, `_xHHHH_` escapes (surrogates, controls, C1 and bidi controls among
them), Excel's escaped literals (`_x005F_x0041_`), raw C1 and bidi characters and strings of up to
a megabyte, in 基本信息, a text section, a label and a number cell. Each escape is undone exactly
once, nothing unsafe reaches a field, a text, a message or the JSON, and the report stays small.

Bounded in CI like tests/test_fuzz.py: TOOLKIT_FUZZ_EXAMPLES examples (default 60) per target.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from xml.sax.saxutils import escape

import hostile_returns as h
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cli import main
from toolkit.pipeline import check_or_refuse
from toolkit.reading.zipdir import count_entries, find_directory
from toolkit.returns.model import Return

EXAMPLES = int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "60"))
GOOD = h.sample_bytes()
ZIP64 = h.as_zip64(GOOD)
REGIONS = h.regions(GOOD)
HEADERS = [*REGIONS.local, REGIONS.central, REGIONS.end]
Z64_END = (h.regions(ZIP64).central[1] - 76, len(ZIP64))  # zip64 end record, its locator and the classic record
# target -> (the valid file, where the first change goes, where the others may go)
TARGETS = {
    "local headers": (GOOD, list(REGIONS.local), HEADERS),
    "central directory": (GOOD, [REGIONS.central], HEADERS),
    "end record": (GOOD, [REGIONS.end], HEADERS),
    "zip64 end records": (ZIP64, [Z64_END], [*REGIONS.local, (REGIONS.central[0], Z64_END[0]), Z64_END]),
}
STATUSES = {"accepted", "rejected", "unreadable"}
CJK = re.compile(r"[\u4e00-\u9fff]")
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzzed") / "fuzzed.xlsx"


def _assert_clean(ret: Return) -> None:
    assert isinstance(ret, Return)
    assert ret.status in STATUSES
    codes = [p.code for p in ret.problems]
    assert "internal_error" not in codes, ret.problems
    for p in ret.problems:
        assert p.severity in ("error", "warning") and CJK.search(p.message), p
        for text in (p.message, p.value, p.expected, p.sheet, p.labels):
            assert not UNSAFE.search(text), p
    encoded = json.dumps(ret.to_dict(), ensure_ascii=False).encode("utf-8")  # no lone surrogate can hide in it
    assert len(encoded) < 200_000, len(encoded)


def _assert_cli(path) -> None:
    result = CliRunner().invoke(main, ["check", str(path)])
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "程序内部错误" not in result.output
    assert not UNSAFE.search(result.output)


# ---------------------------------------------------------------- zip headers


_BYTES = st.integers(0, 255) | st.sampled_from([0x00, 0xFF, 0x01, 0x08, 0x80, 0x7F, 0x50, 0x4B])


def _corrupted(where: str, draw) -> bytes:
    """A valid file with 1–4 bytes changed: the first in the target, the others in any header."""
    data, first, anywhere = TARGETS[where]
    out = bytearray(data)
    count = draw(st.integers(1, 4))
    for i in range(count):
        start, end = draw(st.sampled_from(first if i == 0 else anywhere))
        at = draw(st.integers(start, end - 1))
        out[at] = draw(_BYTES) if draw(st.booleans()) else out[at] ^ (1 << draw(st.integers(0, 7)))
    return bytes(out)


def _assert_count_bounds_zipfile(path) -> None:
    """zipfile never builds more members than the guards counted where they said zipfile would read."""
    size = path.stat().st_size
    with path.open("rb") as f:
        directory = find_directory(f, size)
        if directory is None or directory.start < 0:
            return
        counted = count_entries(f, directory)
    try:
        with zipfile.ZipFile(path) as zf:
            built = len(zf.infolist())
    except Exception:  # zipfile refuses it: nothing was built
        return
    assert built <= counted, (built, counted)


@pytest.mark.parametrize("where", TARGETS)
@SETTINGS
@given(data=st.data())
def test_corrupted_zip_headers_never_crash_check(target, where, data):
    target.write_bytes(_corrupted(where, data.draw))
    _assert_clean(check_or_refuse(target))
    _assert_count_bounds_zipfile(target)
    _assert_cli(target)


@pytest.mark.parametrize("data", [GOOD, ZIP64], ids=["zip", "zip64"])
def test_the_uncorrupted_sample_is_accepted(target, data):
    target.write_bytes(data)
    assert check_or_refuse(target).accepted


# ---------------------------------------------------------------- shared strings


def _escaped(n: int) -> tuple[str, str]:
    """`_xHHHH_` and what it reads as: the character, or nothing when no reader should get it."""
    unsafe = n in (0x0B, 0x0C) or n < 0x09 or 0x0E <= n <= 0x1F or 0x7F <= n <= 0x9F or 0xD800 <= n <= 0xDFFF
    unsafe = unsafe or n in BIDI or n in (0xFFFE, 0xFFFF)
    return f"_x{n:04X}_", "" if unsafe else chr(n)


_PLAIN = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="_\r"), max_size=12).map(
    lambda t: (escape(t), "".join(ch for ch in t if ord(ch) not in BIDI))
)
_CODES = st.integers(0, 0xFFFF).filter(lambda n: n != 0x0D)  # a CR joins a following LF: left out of the oracle
_PIECES = st.one_of(
    _PLAIN,
    _PLAIN,
    _CODES.map(_escaped),
    st.integers(0xD800, 0xDFFF).map(_escaped),  # lone surrogates, as Excel would escape them
    st.integers(0, 0x9F).filter(lambda n: n != 0x0D).map(_escaped),  # controls and C1
    _CODES.map(lambda n: (f"_x005F_x{n:04X}_", f"_x{n:04X}_")),  # a typed escape, as Excel saves it
    st.sampled_from(sorted(BIDI) + list(range(0x80, 0xA0))).map(lambda n: (chr(n), "")),  # raw, as XML allows
    st.integers(1, 1024 * 1024).map(lambda n: ("y" * n, "y" * n)),  # long, within every limit
)
_TEXTS = st.lists(_PIECES, max_size=6).map(lambda pieces: ("".join(s for s, _ in pieces), "".join(e for _, e in pieces)))


def _with_strings(contact: str, s6: str, label: str, number: str) -> bytes:
    texts = h._strings(GOOD)
    old_contact, old_s6 = texts[texts.index("联系人") + 1], texts[texts.index("六、其他需要报告的事项") + 2]
    data = h.with_text(GOOD, {old_contact: contact, old_s6: s6, "自然人": label, "0954-2001234": number})
    style = h.style_of(h.parts_of(data)[h.APPLICATIONS], "D6")
    index = h.string_index(GOOD, "0954-2001234")  # the phone's string, now the fuzzed one, in a number cell too
    return h.with_cells(data, h.APPLICATIONS, {"D6": f'<c r="D6" s="{style}" t="s"><v>{index}</v></c>'})


@SETTINGS
@given(contact=_TEXTS, s6=_TEXTS, label=_TEXTS, number=_TEXTS)
def test_fuzzed_shared_strings_read_once_and_reach_nothing_unsafe(target, contact, s6, label, number):
    target.write_bytes(_with_strings(contact[0], s6[0], label[0], number[0]))
    ret = check_or_refuse(target)
    _assert_clean(ret)
    assert ret.status != "unreadable", ret.problems
    assert ret.fields["contact"] == contact[1].strip()
    assert ret.fields["phone"] == number[1].strip()
    assert ret.texts["s6"] == s6[1].strip()
    _assert_cli(target)


def test_the_oracle_knows_excel_escapes():
    assert _escaped(0x41) == ("_x0041_", "A") and _escaped(0xD800) == ("_xD800_", "")
    assert _escaped(0x1B)[1] == "" and _escaped(0x9B)[1] == "" and _escaped(0x0A)[1] == "\n"
    with zipfile.ZipFile(io.BytesIO(_with_strings("a", "b", "c", "d"))) as zf:
        assert b"<v>" in zf.read(h.APPLICATIONS)
