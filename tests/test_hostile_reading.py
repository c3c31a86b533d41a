"""Hostile returns built from a valid sample: one bad file never crashes, hangs or floods a batch.

Each file is made inside the test from samples/returns-2024/ (tests/hostile_returns.py) and checked
through the real command line: `check`, `check --json`, `check --annotate`, and `merge` of a folder
where the bad file lies among good ones (every other file is still processed and summarised).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import hostile_returns as h
import pytest
from click.testing import CliRunner
from hostile import MB

from toolkit.cli import main
from toolkit.pipeline import check_or_refuse, read_return
from toolkit.reading.guards import BOMB, DAMAGED, TRUNCATED

GOOD = h.sample_bytes()
OTHERS = sorted(p for p in h.SAMPLES.glob("*.xlsx") if p != h.SAMPLE)  # other agencies: no duplicate of the bad file
OTHER_FATES = {p.name: "rejected" if "教育局" in p.name else "accepted" for p in OTHERS}  # 教育局 has “12件” by design
# what no output may hold: C0 controls but tab and newline, DEL and C1, surrogates, bidi controls
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# the same written as Excel escapes inside an output's XML
UNSAFE_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|00[89][0-9A-Fa-f]|007[Ff]|[Dd][89A-Fa-f][0-9A-Fa-f]{2}|202[A-Ea-e]|206[6-9])_")


def _run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _assert_safe(text: str) -> None:
    found = UNSAFE.search(text)
    assert found is None, (hex(ord(found.group())), text[max(found.start() - 60, 0) : found.end() + 60])
    assert "\x1b" not in text and "\ud800" not in text


def _assert_safe_package(path: Path) -> None:
    """Every XML part of an output (xlsx or docx) holds no unsafe character, raw or escaped."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                text = zf.read(name).decode("utf-8")
                _assert_safe(text)
                assert not UNSAFE_ESCAPE.search(text), (path.name, name, UNSAFE_ESCAPE.search(text).group())


def _check_json(path: Path, exit_code: int) -> dict:
    result = _run("check", "--json", path)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    _assert_safe(result.output)
    return json.loads(result.stdout)["files"][0]


def _check_text(path: Path, exit_code: int) -> str:
    result = _run("check", path)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and "程序内部错误" not in result.output
    _assert_safe(result.output)
    return result.output


def _codes(entry: dict) -> list[str]:
    return [p["code"] for p in entry["problems"]]


def _check_everywhere(tmp_path: Path, name: str, data: bytes, exit_code: int) -> tuple[str, dict]:
    """check, check --json and check --annotate of one hostile file: the same verdict, safe output."""
    path = _write(tmp_path / "in", name, data)
    text = _check_text(path, exit_code)
    entry = _check_json(path, exit_code)
    assert "internal_error" not in _codes(entry)
    annotated = tmp_path / "annotated"
    result = _run("check", "--annotate", annotated, path)
    assert result.exit_code == exit_code, result.output
    assert "无法生成批注副本" not in result.output
    _assert_safe(result.output)
    for copy in annotated.glob("*.xlsx") if annotated.exists() else ():
        _assert_comments_safe(copy)
    return text, entry


def _assert_comments_safe(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if "comments" in name:
                _assert_safe(zf.read(name).decode("utf-8"))


def _merge_among_good(tmp_path: Path, name: str, data: bytes, fate: str) -> dict:
    """merge of a folder holding the bad file and the other samples: every file has its fate, outputs are safe."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for other in OTHERS:
        shutil.copy(other, inbox / other.name)
    bad = _write(inbox, name, data)
    out = tmp_path / "merged"
    result = _run("merge", inbox, "-o", out, "--json", "--jobs", "1", "-q")
    assert result.exit_code == 1, result.output  # 教育局 is rejected, whatever the bad file's fate
    assert "Traceback" not in result.output
    _assert_safe(result.output)
    merged = json.loads(result.stdout)
    fates = {Path(e["path"]).name: e["fate"] for e in merged["files"]}
    assert fates == {**OTHER_FATES, bad.name: fate}, fates
    assert merged["summary"]["included"] == list(fates.values()).count("accepted")
    for output in ("collection.xlsx", "collection.docx", "summary.docx"):
        _assert_safe_package(out / output)
    return merged


# ---------------------------------------------------------------- 1. damaged zip headers


DAMAGED_PART = f"文件已损坏（部件 {h.APPLICATIONS} 无法解压），{DAMAGED}"


def test_a_local_name_that_is_not_utf8_is_a_damaged_part(tmp_path):
    data = h.bad_local_name(GOOD)
    with zipfile.ZipFile(io.BytesIO(data)) as zf, pytest.raises(UnicodeDecodeError):
        zf.open(h.APPLICATIONS)  # what zipfile does with it
    text, entry = _check_everywhere(tmp_path, "司法局.xlsx", data, 2)
    assert text.splitlines()[1] == f"  [错误] 无法读取：{DAMAGED_PART}"
    assert entry["status"] == "unreadable" and entry["problems"][0]["message"] == f"无法读取：{DAMAGED_PART}"
    merged = _merge_among_good(tmp_path, "司法局.xlsx", data, "unreadable")
    assert merged["summary"]["unreadable"] == 1


def test_a_directory_offset_that_lies_is_refused_not_a_crash(tmp_path):
    """The end record claims the directory starts later than it does: zipfile shifts every member
    before the file's start (a negative seek, ValueError); a claim of more than the file holds is cut short."""
    data = bytearray(GOOD)
    end = h.regions(GOOD).end[0]
    offset = struct.unpack_from("<L", data, end + 16)[0]
    struct.pack_into("<L", data, end + 16, offset + 1000)  # concat = -1000: every local header offset moves back
    path = _write(tmp_path, "移位.xlsx", bytes(data))
    ret = check_or_refuse(path)
    assert ret.status == "unreadable" and ret.problems[0].code == "unreadable", ret.problems
    struct.pack_into("<L", data, end + 12, len(data) * 2)  # a directory bigger than the file
    path = _write(tmp_path, "过大.xlsx", bytes(data))
    assert [p.message for p in check_or_refuse(path).problems] == [f"无法读取：{TRUNCATED}"]
    _check_text(path, 2)


# ---------------------------------------------------------------- 2 + 7. text made safe once, where it is read


def test_escapes_and_controls_never_reach_any_output(tmp_path):
    """_xD800_, _x001B_[2K, C1 (as an escape and raw) and RLO in a label, in 基本信息 and in a text section."""
    data = h.escapes_everywhere(GOOD)
    text, entry = _check_everywhere(tmp_path, "司法局.xlsx", data, 1)
    changed = [p for p in entry["problems"] if p["code"] == "label_changed"]
    assert changed and changed[0]["value"] == "自然人[2K", changed  # what is left of the label: plain text
    assert "自然人[2K" in text
    merged = _merge_among_good(tmp_path, "司法局.xlsx", data, "rejected")
    assert merged["summary"]["rejected"] == 2  # with 教育局


def test_escaped_text_reaches_merge_outputs_clean(tmp_path):
    """Accepted with the escapes in 基本信息 and a text: they reach collection.xlsx and the docx, cleaned."""
    data = h.escapes_everywhere(GOOD, label=False)
    _check_everywhere(tmp_path, "司法局.xlsx", data, 0)
    _merge_among_good(tmp_path, "司法局.xlsx", data, "accepted")
    with zipfile.ZipFile(tmp_path / "merged" / "collection.xlsx") as zf:
        strings = zf.read("xl/sharedStrings.xml").decode()
    assert "王一[2K" in strings and "[2K本年度未收取信息处理费" in strings
    ret = read_return(_write(tmp_path, "again.xlsx", data))
    assert ret.fields["contact"] == "王一[2K" and ret.texts["s6"].startswith("[2K本年度")


def test_an_escape_is_undone_exactly_once(tmp_path):
    """Excel writes a typed “_x0041_” as “_x005F_x0041_”: it reads back as “_x0041_”, never “A”."""
    texts = h._strings(GOOD)
    s6 = texts[texts.index("六、其他需要报告的事项") + 2]
    data = h.with_text(GOOD, {s6: "代码_x005F_x0041_与_x0042_"})
    ret = read_return(_write(tmp_path, "r.xlsx", data))
    assert ret.texts["s6"] == "代码_x0041_与B"
    _merge_among_good(tmp_path, "司法局.xlsx", data, "accepted")


def test_sheet_names_and_agency_metadata_are_cleaned_too(tmp_path):
    agency = "固原市原州区_x001B_[2K司法局\u202e\u0085"
    data = h.hostile_agency(GOOD, agency)
    text = _check_text(_write(tmp_path, "a.xlsx", data), 0)
    assert "（固原市原州区[2K司法局，2024年度" in text
    _merge_among_good(tmp_path, "司法局.xlsx", data, "accepted")
    # a hidden namesake whose name differs only by controls is the same name to a reader
    duplicated = h.hidden_duplicate(GOOD)
    book = h.parts_of(duplicated)[h.BOOK].replace(
        '<sheet name="三、依申请公开" sheetId="99"'.encode(), '<sheet name="三、依申请公开_x001B_\u202e" sheetId="99"'.encode()
    )
    crafted = h._edit_parts(duplicated, {h.BOOK: book})
    entry = _check_json(_write(tmp_path, "b.xlsx", crafted), 1)
    assert "duplicate_sheet" in _codes(entry)


def test_a_sheet_name_in_a_refusal_is_cleaned(tmp_path):
    book = h.parts_of(GOOD)[h.BOOK].replace('name="填报说明"'.encode(), 'name="填报_x001B_[2K说明\u202e"'.encode())
    parts = h.parts_of(GOOD)
    parts[h.BOOK] = book
    del parts["xl/worksheets/sheet1.xml"]
    data = h.zip_parts(parts)
    text = _check_text(_write(tmp_path, "c.xlsx", data), 2)
    assert "缺少工作表“填报[2K说明”的内容" in text


# ---------------------------------------------------------------- 3. bounded work and output


@pytest.mark.parametrize("size", [MB, 19 * MB], ids=["1MB", "19MB"])
def test_one_huge_shared_string_in_every_cell_gives_a_small_report(tmp_path, size):
    data = h.huge_shared_string(GOOD, size)
    path = _write(tmp_path / "in", "司法局.xlsx", data)
    result = _run("check", "--json", path)
    assert result.exit_code == 1, result.output[:2000]
    assert len(result.stdout) < 200_000, len(result.stdout)
    entry = json.loads(result.stdout)["files"][0]
    codes = _codes(entry)
    assert codes.count("not_a_number") == 30
    more = [p for p in entry["problems"] if p["code"] == "more_problems" and p["expected"] == "not_a_number"]
    assert len(more) == 1 and more[0]["severity"] == "error"
    assert "另有 136 个同类问题（not_a_number）未逐一列出" in more[0]["message"]
    first = next(p for p in entry["problems"] if p["code"] == "not_a_number")
    assert first["value"] == "x" * 100 + f"…（共 {size} 字）"
    assert len(first["message"]) < 400
    text = _check_text(path, 1)
    assert len(text) < 200_000
    merged = _merge_among_good(tmp_path, "司法局.xlsx", data, "rejected")
    assert len(json.dumps(merged, ensure_ascii=False)) < 200_000


def test_a_long_number_text_is_not_a_number_at_once(tmp_path):
    style = h.style_of(h.parts_of(GOOD)[h.APPLICATIONS], "D6")
    digits = "1" * 65
    cells = {
        "D6": f'<c r="D6" s="{style}" t="n"><v>{digits}</v></c>',
        "E6": f'<c r="E6" s="{style}" t="inlineStr"><is><t>{digits}</t></is></c>',
    }
    entry = _check_json(_write(tmp_path, "n.xlsx", h.with_cells(GOOD, h.APPLICATIONS, cells)), 1)
    rules = ("rule_failed", "rule_not_evaluated")  # the balance of each column says it could not be evaluated
    located = [(p["cell"], p["code"]) for p in entry["problems"] if p["code"] not in rules and p["cell"] in ("D6", "E6")]
    assert located == [("D6", "not_a_number"), ("E6", "not_a_number")]


# ---------------------------------------------------------------- 6. sheets by entry and visibility


@pytest.mark.parametrize("hidden_first", [False, True], ids=["hidden-second", "hidden-first"])
def test_a_hidden_namesake_never_stands_in_for_the_visible_sheet(tmp_path, hidden_first):
    data = h.hidden_duplicate(GOOD, hidden_first)
    text, entry = _check_everywhere(tmp_path, "司法局.xlsx", data, 1)
    codes = _codes(entry)
    assert "duplicate_sheet" in codes and "：未通过：" in text.splitlines()[0]
    read = [p for p in entry["problems"] if p["code"] == "not_a_number"]
    assert [(p["sheet"], p["cell"], p["value"]) for p in read] == [("三、依申请公开", "D6", "12件")]  # the visible sheet
    duplicate = next(p for p in entry["problems"] if p["code"] == "duplicate_sheet")
    assert duplicate["severity"] == "error" and duplicate["sheet"] == "三、依申请公开"
    _merge_among_good(tmp_path, "司法局.xlsx", data, "rejected")


def test_sheet_names_are_compared_case_insensitively(tmp_path):
    parts = h.parts_of(GOOD)
    entry = re.search(rb'<sheet name="_meta"[^>]*/>', parts[h.BOOK]).group(0)
    parts[h.BOOK] = parts[h.BOOK].replace(
        entry, entry + entry.replace(b"_meta", b"_META").replace(b'sheetId="9"', b'sheetId="98"')
    )
    found = _check_json(_write(tmp_path, "m.xlsx", h.zip_parts(parts)), 1)
    assert [p["sheet"] for p in found["problems"] if p["code"] == "duplicate_sheet"] == ["_meta"]


def test_a_hidden_form_sheet_is_a_warning(tmp_path):
    book = h.parts_of(GOOD)[h.BOOK].replace(
        '<sheet name="三、依申请公开" sheetId="5" state="visible"'.encode(),
        '<sheet name="三、依申请公开" sheetId="5" state="hidden"'.encode(),
    )
    entry = _check_json(_write(tmp_path, "h.xlsx", h._edit_parts(GOOD, {h.BOOK: book})), 0)
    assert [(p["code"], p["severity"], p["sheet"]) for p in entry["problems"]] == [("hidden_sheet", "warning", "三、依申请公开")]


# ---------------------------------------------------------------- 8. weaker spots in reading


def test_an_input_holding_a_formula_is_an_error(tmp_path):
    style = h.style_of(h.parts_of(GOOD)[h.APPLICATIONS], "D6")
    cells = {
        "D6": f'<c r="D6" s="{style}" t="n"><f>10+13</f><v>23</v></c>',  # with the cached value of the original 23
        "E6": f'<c r="E6" s="{style}"><f>E7*2</f></c>',  # without a cached value
    }
    data = h.with_cells(GOOD, h.APPLICATIONS, cells)
    text, entry = _check_everywhere(tmp_path, "司法局.xlsx", data, 1)
    found = [
        (p["cell"], p["code"], p["value"])
        for p in entry["problems"]
        if p["cell"] in ("D6", "E6") and p["code"] not in ("rule_failed", "rule_not_evaluated")
    ]
    assert found == [("D6", "input_is_formula", "10+13"), ("E6", "input_is_formula", "E7*2")]
    unknown = [p for p in entry["problems"] if p["code"] == "rule_not_evaluated"]  # E6 has no value: never counted as 0
    assert [p["expansion"] for p in unknown] == [{"c": "business"}] and "“=E7*2”" in unknown[0]["message"]
    assert "blank" not in _codes(entry)
    assert "填写项中是公式 =10+13" in text


def test_totals_saved_as_shared_formulas_are_the_template_formulas(tmp_path):
    data = h.shared_formulas(GOOD)
    assert b'<f t="shared" si="0"/>' in h.parts_of(data)[h.APPLICATIONS]
    _check_everywhere(tmp_path / "a", "司法局.xlsx", data, 0)
    _merge_among_good(tmp_path / "a", "司法局.xlsx", data, "accepted")
    changed = h.shared_formulas(GOOD, master="D6+E6+F6+G6+H6")  # one column left out, in every row it is shared to
    entry = _check_json(_write(tmp_path / "b", "b.xlsx", changed), 1)
    wrong = {p["cell"]: (p["value"], p["expected"]) for p in entry["problems"] if p["code"] == "formula_changed"}
    assert sorted(wrong, key=lambda a: int(a[1:])) == [f"J{r}" for r in range(6, 18)]
    assert wrong["J9"] == ("D9+E9+F9+G9+H9", "N(D9)+N(E9)+N(F9)+N(G9)+N(H9)+N(I9)")


def test_a_dependent_without_its_master_is_a_changed_formula(tmp_path):
    data = h.shared_formulas(GOOD)
    sheet = h.parts_of(data)[h.APPLICATIONS].replace(b'si="0">', b'si="7">', 1)  # the master now shares another index
    entry = _check_json(_write(tmp_path, "o.xlsx", h._edit_parts(data, {h.APPLICATIONS: sheet})), 1)
    assert {p["cell"] for p in entry["problems"] if p["code"] == "formula_changed"} == {f"J{r}" for r in range(7, 18)}


@pytest.mark.parametrize(("date1904", "expected"), [(False, "2025年1月20日"), (True, "2029年1月21日")])
def test_a_date_typed_as_a_date_reads_as_the_date(tmp_path, date1904, expected):
    info = h.parts_of(GOOD)[h.INFO]
    style = h.style_of(info, "B7")
    data = h.with_cells(GOOD, h.INFO, {"B7": f'<c r="B7" s="{style}" t="n"><v>45677</v></c>'})
    if date1904:
        book = h.parts_of(data)[h.BOOK].replace(b'date1904="false"', b'date1904="true"')
        data = h._edit_parts(data, {h.BOOK: book})
    assert read_return(_write(tmp_path, "d.xlsx", data)).fields["date"] == expected
    _merge_among_good(tmp_path, "司法局.xlsx", data, "accepted")
    with zipfile.ZipFile(tmp_path / "merged" / "collection.xlsx") as zf:
        assert expected in zf.read("xl/sharedStrings.xml").decode()


def test_attributes_count_in_the_tag_budget(tmp_path):
    path = _write(tmp_path, "属性.xlsx", h.many_attributes(GOOD, 600_000))
    reason = f"XML 内容异常庞大（部件 {h.APPLICATIONS}，超过 500000 个标记），{BOMB}"
    assert [p.message for p in check_or_refuse(path).problems] == [f"无法读取：{reason}"]
    assert _check_text(path, 2).splitlines()[1] == f"  [错误] 无法读取：{reason}"


@pytest.mark.parametrize("other", [h.APPLICATIONS, h.APPLICATIONS.upper()], ids=["same", "other-case"])
def test_two_members_of_one_name_are_refused(tmp_path, other):
    parts = h.parts_of(GOOD)
    data = h.zip_parts(parts, ((other, parts[h.APPLICATIONS].replace(b"<v>23</v>", b"<v>0</v>", 1)),))
    text, entry = _check_everywhere(tmp_path, "司法局.xlsx", data, 2)
    assert entry["status"] == "unreadable"
    assert "压缩包中有两个同名部件" in entry["problems"][0]["message"] and "Excel 不会这样保存" in text
    _merge_among_good(tmp_path, "司法局.xlsx", data, "unreadable")


def test_member_signatures_in_stored_media_do_not_trip_the_member_count(tmp_path):
    data = h.media_with_signatures(GOOD, 3000)
    assert data.count(b"PK\x01\x02") > 3000
    _check_everywhere(tmp_path, "司法局.xlsx", data, 0)
    _merge_among_good(tmp_path, "司法局.xlsx", data, "accepted")


def test_without_an_end_record_every_signature_counts(tmp_path):
    data = h.media_with_signatures(GOOD, 3000)
    cut = data[: h.regions(data).end[0]]  # no end-of-central-directory record: the whole file is counted
    path = _write(tmp_path, "截断.xlsx", cut)
    assert [p.message for p in check_or_refuse(path).problems] == [f"无法读取：压缩包成员过多（超过 2000 个），{BOMB}"]


def test_problems_are_limited_per_code_and_per_file():
    from toolkit.returns.problems import CATALOGUE, PER_CODE, PER_FILE, limit_problems, problem

    codes = [c for c in CATALOGUE if c not in ("more_problems", "rule_failed", "rule_warning")][:20]
    many = [problem(code, value="1", sheet="s", **_params(code)) for code in codes for _ in range(PER_CODE + 5)]
    listed = limit_problems(many)
    shown = [p for p in listed if p.code != "more_problems"]
    assert len(shown) == PER_FILE and all(sum(p.code == c for p in shown) <= PER_CODE for c in codes)
    counted = {p.expected: int(p.value) for p in listed if p.code == "more_problems"}
    assert sum(counted.values()) + len(shown) == len(many)
    assert limit_problems(listed) == listed


def _params(code: str) -> dict:
    import string

    from toolkit.returns.problems import CATALOGUE

    names = {n for _, n, _, _ in string.Formatter().parse(CATALOGUE[code][1]) if n} - {"value", "expected", "sheet"}
    return dict.fromkeys(names, "x")


def test_a_zip64_directory_is_found_through_its_own_end_records(tmp_path):
    data = h.as_zip64(h.media_with_signatures(GOOD, 3000))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # zipfile reads it through the zip64 records
        assert "xl/media/image1.png" in zf.namelist()
    _check_everywhere(tmp_path, "司法局.xlsx", data, 0)
    lying = bytearray(h.as_zip64(GOOD))
    at = lying.rindex(b"PK\x06\x06")
    struct.pack_into("<q", lying, at + 40, 1 << 40)  # a directory of a terabyte, more than the file holds
    path = _write(tmp_path, "大目录.xlsx", bytes(lying))
    assert [p.message for p in check_or_refuse(path).problems] == [f"无法读取：{TRUNCATED}"]


def test_a_carriage_return_in_a_number_cell_cannot_overwrite_the_line(tmp_path):
    style = h.style_of(h.parts_of(GOOD)[h.APPLICATIONS], "D6")
    cells = {"D6": f'<c r="D6" s="{style}" t="n"><v>[错误] 伪造&#13;12&#x202e;</v></c>'}
    text = _check_text(_write(tmp_path, "cr.xlsx", h.with_cells(GOOD, h.APPLICATIONS, cells)), 1)
    assert "“[错误] 伪造\n12”不是数字" in text
