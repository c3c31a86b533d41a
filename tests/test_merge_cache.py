"""The merge cache: a re-run reuses what did not change, redoes what did, and never changes an output."""

from __future__ import annotations

import pickle
import re
import shutil
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline import make_returns, random_return  # noqa: E402

from toolkit.cli import main  # noqa: E402
from toolkit.collection import cache as cache_module  # noqa: E402
from toolkit.collection import documents, rendering  # noqa: E402
from toolkit.collection import merge as merge_module  # noqa: E402
from toolkit.collection.cache import CACHE_DIR, Cache  # noqa: E402
from toolkit.collection.model import Previous  # noqa: E402
from toolkit.core.batch import SERIAL_BELOW, SMALL_BATCHES_HERE, pool_for, process_pool  # noqa: E402
from toolkit.forms.spec import get_form, parse_form  # noqa: E402
from toolkit.pipeline import merge_returns, write_outputs  # noqa: E402
from toolkit.workbook.writer import build_filled_workbook  # noqa: E402

FORM = get_form("gov-info-2021")
OUTPUTS = ("collection.xlsx", "collection.docx", "summary.docx")
N = 6
_VOLATILE = [
    re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)"),  # docProps/core.xml dates
    re.compile(rb"(<vt:lpwstr>)\d{4}-\d\d-\d\dT[\d:]+[+-]\d\d:\d\d(</vt:lpwstr>)"),  # generated_at
]


def _parts(path: Path) -> dict[str, bytes]:
    """Every part of a package, its volatile metadata blanked (zip timestamps are not compared at all)."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            for pattern in _VOLATILE:
                data = pattern.sub(rb"\1\2", data)
            out[name] = data
    return out


def _outputs(folder: Path) -> dict[str, dict[str, bytes]]:
    return {name: _parts(folder / name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inbox")
    make_returns(FORM, N, folder, jobs=1)
    return folder


def _merge(inbox: Path, out: Path, cache: Cache | None, form=FORM, previous=None):
    c = merge_returns([inbox], form, "测试市", previous=previous, cache=cache)
    write_outputs(c, out, cache=cache)
    return c


class _Spy:
    """Counts the calls of a function it stands in for."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def spies(monkeypatch):
    check = _Spy(merge_module.check_or_refuse)
    render = _Spy(rendering.render_report)
    monkeypatch.setattr(merge_module, "check_or_refuse", check)
    monkeypatch.setattr(rendering, "render_report", render)
    monkeypatch.setattr(documents, "render_report", render)  # a report whose entry went bad after it was found
    return check, render


def _copy(inbox: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(inbox, folder)
    return folder


def _correct(folder: Path, i: int) -> None:
    """Agency i sends a corrected return: one more case in 表三 and a changed text."""
    ret = random_return(FORM, i)
    ret.values["t3.open.natural"] += 1
    ret.values["t3.new.natural"] += 1
    first = FORM.text_sections[0].id
    ret.texts[first] += "更正：补报一件。"
    (folder / f"return-{i:05d}.xlsx").write_bytes(build_filled_workbook(ret, generated_at="2025-01-21T09:00:00+08:00"))


def test_a_warm_merge_checks_and_renders_nothing_and_writes_the_same_outputs(inbox, tmp_path, spies):
    check, render = spies
    uncached, out = tmp_path / "uncached", tmp_path / "out"
    _merge(inbox, uncached, None)
    check.calls = render.calls = 0
    _merge(inbox, out, Cache(out / CACHE_DIR))
    assert check.calls == N and render.calls == N + 2  # each report, the package's first, summary.docx
    cold = _outputs(out)
    check.calls = render.calls = 0
    warm_c = _merge(inbox, out, Cache(out / CACHE_DIR))
    assert (check.calls, render.calls) == (0, 0)
    assert _outputs(out) == cold == _outputs(uncached)
    assert warm_c.counts()["accepted"] == N
    assert len(docx.Document(out / "collection.docx").paragraphs) > 20 * N  # every report, not an empty shell


def test_a_corrected_file_is_checked_and_rendered_again_and_only_it(inbox, tmp_path, spies):
    check, render = spies
    folder, out = _copy(inbox, tmp_path), tmp_path / "out"
    _merge(folder, out, Cache(out / CACHE_DIR))
    _correct(folder, 2)
    check.calls = render.calls = 0
    _merge(folder, out, Cache(out / CACHE_DIR))
    assert check.calls == 1
    assert render.calls == 2  # its report, and summary.docx (new totals); the package's first is agency 0's
    fresh = tmp_path / "fresh"
    _merge(folder, fresh, None)
    assert _outputs(out) == _outputs(fresh)
    detail = openpyxl.load_workbook(out / "collection.xlsx")["明细"]
    column = next(c for c in range(1, detail.max_column + 1) if detail.cell(4, c).value == "t3.open.natural")
    row = next(r for r in range(5, 5 + N) if detail.cell(r, 1).value == "测试市第00002局")
    assert detail.cell(row, column).value == random_return(FORM, 2).values["t3.open.natural"] + 1
    text = "\n".join(p.text for p in docx.Document(out / "collection.docx").paragraphs)
    assert "更正：补报一件。" in text


def test_a_changed_form_text_fingerprint_or_version_misses_every_entry(inbox, tmp_path, spies, monkeypatch):
    check, _ = spies
    out = tmp_path / "out"
    _merge(inbox, out, Cache(out / CACHE_DIR))
    commented = parse_form(FORM.text + "\n# a rule's wording changed\n", FORM.source)
    assert commented.fingerprint == FORM.fingerprint  # the workbook's shape is the same: only the text tells
    check.calls = 0
    merge_returns([inbox], commented, "测试市", cache=Cache(out / CACHE_DIR))
    assert check.calls == N
    version = cache_module.__version__
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    cache_module.code_stamp.cache_clear()
    try:
        check.calls = 0
        merge_returns([inbox], FORM, "测试市", cache=Cache(out / CACHE_DIR))
        assert check.calls == N
    finally:
        monkeypatch.setattr(cache_module, "__version__", version)
        cache_module.code_stamp.cache_clear()
    check.calls = 0
    merge_returns([inbox], FORM, "测试市", cache=Cache(out / CACHE_DIR))
    assert check.calls == 0  # the original entries are still found


def test_the_forms_fingerprint_is_in_the_key(inbox):
    forms = merge_module.known_forms((FORM,))
    path = str(next(inbox.glob("*.xlsx")))
    digest = cache_module.sha256_file(path)
    stamp = cache_module.forms_stamp(forms.values())
    other = [[fid, "0" * 16, text] for fid, _, text in stamp]
    assert cache_module.key_of("returns", path, digest, stamp) != cache_module.key_of("returns", path, digest, other)


def _entries(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in (folder / kind).glob("??/*") if p.is_file())


def test_truncated_garbled_or_foreign_entries_are_misses_never_errors(inbox, tmp_path, spies):
    check, render = spies
    out = tmp_path / "out"
    _merge(inbox, out, Cache(out / CACHE_DIR))
    cold = _outputs(out)
    returns, reports = _entries(out / CACHE_DIR, "returns"), _entries(out / CACHE_DIR, "reports")
    assert len(returns) == N and len(reports) == N
    returns[0].write_bytes(returns[0].read_bytes()[:40])  # truncated
    data = bytearray(returns[1].read_bytes())
    data[-3] ^= 0xFF  # one byte garbled
    returns[1].write_bytes(bytes(data))
    Cache(out / CACHE_DIR).put("returns", returns[2].name, b'{"form": 5, "values": []}')  # checksum right, content not ours
    reports[0].write_bytes(b"")  # emptied
    Cache(out / CACHE_DIR).put("reports", reports[1].name, b'{"head": 1}')
    check.calls = render.calls = 0
    _merge(inbox, out, Cache(out / CACHE_DIR))
    assert check.calls == 3 and render.calls == 2
    assert _outputs(out) == cold
    for entry in _entries(out / CACHE_DIR, "reports"):  # the first report's among them: still every report
        entry.write_bytes(entry.read_bytes()[:-1])
    render.calls = 0
    _merge(inbox, out, Cache(out / CACHE_DIR))
    assert render.calls == N
    assert _outputs(out) == cold


def test_cross_year_findings_are_not_cached(inbox, tmp_path):
    out = tmp_path / "out"
    _merge(inbox, out, Cache(out / CACHE_DIR))
    agency = random_return(FORM, 0).agency
    last_year = {cid: 10**6 for cid in FORM.cells}  # nothing this year can follow from these
    previous = Previous("上年.xlsx", FORM.id, 2023, {agency: last_year})
    warm = merge_returns([inbox], FORM, "测试市", previous=previous, cache=Cache(out / CACHE_DIR))
    cold = merge_returns([inbox], FORM, "测试市", previous=previous)
    flagged = {e.ret.agency: e.cross_year for e in warm.entries if e.cross_year}
    assert set(flagged) == {agency}
    assert flagged == {e.ret.agency: e.cross_year for e in cold.entries if e.cross_year}
    again = merge_returns([inbox], FORM, "测试市", cache=Cache(out / CACHE_DIR))
    assert not any(e.cross_year for e in again.entries)


def test_the_cli_keeps_its_cache_in_the_output_folder_or_where_told_and_prunes_it(inbox, tmp_path):
    folder, out, elsewhere = _copy(inbox, tmp_path), tmp_path / "out", tmp_path / "缓存"
    runner = CliRunner()
    first = runner.invoke(main, ["merge", str(folder), "-o", str(out), "-q", "--jobs", "1"])
    assert first.exit_code == 0, first.output
    assert len(_entries(out / CACHE_DIR, "returns")) == N
    told = runner.invoke(main, ["merge", str(folder), "-o", str(tmp_path / "out2"), "--cache", str(elsewhere), "-q"])
    assert told.exit_code == 0, told.output
    assert len(_entries(elsewhere, "returns")) == N and not (tmp_path / "out2" / CACHE_DIR).exists()
    before = set(_entries(out / CACHE_DIR, "returns"))
    _correct(folder, 1)
    again = runner.invoke(main, ["merge", str(folder), "-o", str(out), "-q", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    after = set(_entries(out / CACHE_DIR, "returns"))
    assert len(after) == N and len(after - before) == 1  # the corrected file's entry replaced the old one
    shutil.rmtree(out / CACHE_DIR)  # safe to delete
    cold = runner.invoke(main, ["merge", str(folder), "-o", str(out), "-q", "--jobs", "1"])
    assert cold.exit_code == 0, cold.output
    assert "缓存文件夹" in runner.invoke(main, ["merge", "--help"]).output


def test_a_merged_returns_values_read_as_the_dict_they_were_made_from():
    from decimal import Decimal

    from toolkit.collection.model import CompactValues

    first, second, third = list(FORM.cells)[:3]
    given = {second: Decimal("1.500000"), first: 7}  # a cell left out, and not in the form's order
    values = CompactValues(FORM, given)
    assert values == given and dict(values) == given and len(values) == 2
    assert list(values) == [first, second]  # the form's order
    assert values.get(third) is None and values.get(third, 0) == 0 and third not in values
    with pytest.raises(KeyError):
        values[third]
    assert str(values[second]) == "1.500000"
    copied = pickle.loads(pickle.dumps(values))
    assert type(copied) is dict and copied == given


class _CountingPool(ThreadPoolExecutor):
    """An executor that counts the tasks given to it; `own` marks it as a command's own pool (core.batch.process_pool)."""

    def __init__(self, own: bool):
        super().__init__(2)
        self.tasks = 0
        if own:
            setattr(self, SMALL_BATCHES_HERE, True)

    def submit(self, fn, /, *args, **kwargs):
        self.tasks += 1
        return super().submit(fn, *args, **kwargs)


def _re_merge_tasks(tmp_path: Path, own: bool) -> tuple[int, int]:
    """Tasks given to the pool by a cold merge of SERIAL_BELOW + 1 returns, and by the re-merge after one correction."""
    folder, out = tmp_path / f"inbox-{own}", tmp_path / f"out-{own}"
    folder.mkdir()
    make_returns(FORM, SERIAL_BELOW + 1, folder, jobs=1)
    with _CountingPool(own) as pool:
        c = merge_returns([folder], FORM, "测试市", executor=pool, cache=Cache(out / CACHE_DIR))
        write_outputs(c, out, pool, cache=Cache(out / CACHE_DIR))
        cold = pool.tasks
        _correct(folder, 2)
        c = merge_returns([folder], FORM, "测试市", executor=pool, cache=Cache(out / CACHE_DIR))
        write_outputs(c, out, pool, cache=Cache(out / CACHE_DIR))
    detail = openpyxl.load_workbook(out / "collection.xlsx")["明细"]
    row = next(r for r in range(5, 6 + SERIAL_BELOW) if detail.cell(r, 1).value == "测试市第00002局")
    column = next(col for col in range(1, detail.max_column + 1) if detail.cell(4, col).value == "t3.open.natural")
    assert detail.cell(row, column).value == random_return(FORM, 2).values["t3.open.natural"] + 1  # the correction is in
    return cold, pool.tasks - cold


def test_a_re_merge_that_redoes_one_return_does_it_in_the_commands_own_process(tmp_path):
    """Forking workers from a process that holds every return already costs more (memory, start-up) than the one
    return saves; a merge of many still uses the pool."""
    cold, warm = _re_merge_tasks(tmp_path, own=True)
    assert cold > 0 and warm == 0


def test_an_executor_the_command_was_given_gets_even_one_return(tmp_path):
    """The web service's pool (its checks stay out of the server process) or a Dask cluster's gets every batch."""
    cold, warm = _re_merge_tasks(tmp_path, own=False)
    assert cold > 0 and warm == 2  # the corrected return's check and its report


def test_the_commands_pool_is_the_one_that_keeps_small_batches_here():
    with process_pool(2) as pool:
        assert pool_for(pool, SERIAL_BELOW - 1) is None and pool_for(pool, SERIAL_BELOW) is pool
    with ThreadPoolExecutor(2) as given:
        assert pool_for(given, 1) is given
