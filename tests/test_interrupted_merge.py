"""A merge's outputs are one set: an interrupted, killed, disk-full or concurrent merge leaves the
folder's earlier set whole, no temporary file or staging folder, and no worker process behind.

The signal tests run the real command (`python -m toolkit merge`) and send it real signals while it
writes collection.docx; they need Linux (/proc, PR_SET_PDEATHSIG) and take a few seconds each.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline import random_return  # noqa: E402

from toolkit.collection import documents  # noqa: E402
from toolkit.core import fileio  # noqa: E402
from toolkit.core.errors import UserError  # noqa: E402
from toolkit.core.fileio import DiskFullError, folder_lock  # noqa: E402
from toolkit.forms.spec import get_form  # noqa: E402
from toolkit.pipeline import merge_returns, write_outputs  # noqa: E402
from toolkit.workbook.writer import build_filled_workbook  # noqa: E402

FORM = get_form("gov-info-2021")
MANY = 300  # enough that writing collection.docx takes a few seconds on two cores
SET = ["collection.docx", "collection.xlsx", "summary.docx"]
LINUX = sys.platform.startswith("linux")
on_linux = pytest.mark.skipif(not LINUX, reason="signals, /proc and PR_SET_PDEATHSIG are tested on Linux")
PATIENCE = 120  # seconds before a wait gives up: generous, a slow machine only makes the test slower


def _write_returns(folder: Path, numbers: range) -> Path:
    folder.mkdir(parents=True)
    for i in numbers:  # a different agency each: same-agency copies would be duplicates
        data = build_filled_workbook(random_return(FORM, i), generated_at="2025-01-20T10:00:00+08:00")
        (folder / f"return-{i:05d}.xlsx").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory):
    """Many returns for the merge that gets interrupted, a few others for the earlier set."""
    base = tmp_path_factory.mktemp("inboxes")
    return _write_returns(base / "many", range(MANY)), _write_returns(base / "few", range(10_000, 10_006))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != ".toolkit-cache"}  # merge's own cache


@pytest.fixture
def earlier(inboxes, tmp_path):
    """An output folder holding a complete earlier set; its files' bytes."""
    out = tmp_path / "out"
    write_outputs(merge_returns([inboxes[1]], FORM, "原州区"), out)
    snapshot = _snapshot(out)
    assert sorted(snapshot) == SET
    return out, snapshot


# ---------------------------------------------------------------- real processes


def _start_merge(inbox: Path, out: Path, log: Path) -> subprocess.Popen:
    """`python -m toolkit merge` in the background; its stderr to a file (a pipe held open by an orphaned
    worker would block the test, and then the test would not say what it found)."""
    with log.open("w", encoding="utf-8") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "toolkit", "merge", str(inbox), "-o", str(out), "--jobs", "2", "-q"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            start_new_session=True,  # its own process group, as a command typed at a terminal has
        )


def _docx_being_written(out: Path) -> Path | None:
    found = list(out.glob(fileio.STAGING_PREFIX + "*/.tmp-*.docx"))
    return found[0] if found else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _wait_for_docx_writing(proc: subprocess.Popen, out: Path, log: Path) -> None:
    """Until collection.docx is being streamed: its temporary file in the staging folder has grown."""
    deadline, first = time.monotonic() + PATIENCE, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the merge ended before writing collection.docx: {log.read_text(encoding='utf-8')}"
        tmp = _docx_being_written(out)
        size = _size(tmp) if tmp else -1
        if size > 0 and first is None:
            first = (tmp, size)
        elif first is not None and tmp == first[0] and size > first[1]:
            return
        time.sleep(0.005)
    pytest.fail("the merge never got to writing collection.docx")


def _start_time(pid: int) -> str | None:
    """The process's start time (to tell it from a later process given the same pid); None when it is
    gone or a zombie (dead, not yet reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` (pool workers; with a forkserver, its children too) and its start time."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for kid in map(int, (task / "children").read_text().split()):
            if (start := _start_time(kid)) is not None:
                found[kid] = start
                found.update(_descendants(kid))
    return found


def _alive(workers: dict[int, str]) -> list[int]:
    return [pid for pid, start in workers.items() if _start_time(pid) == start]


def _survivors(workers: dict[int, str]) -> list[int]:
    """The workers still alive once they have had every chance to go (a killed parent's are killed by
    the kernel, PR_SET_PDEATHSIG; a forkserver's leave when it does)."""
    deadline = time.monotonic() + PATIENCE
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _alive(workers)


def _merge_signalled(inbox: Path, out: Path, tmp_path: Path, signum: int, group: bool) -> tuple[int, str, dict[int, str]]:
    """Start a merge, signal it (or its whole process group, as Ctrl-C at a terminal does) while it
    writes collection.docx; its exit code, stderr and worker processes."""
    log = tmp_path / "stderr.txt"
    proc = _start_merge(inbox, out, log)
    try:
        _wait_for_docx_writing(proc, out, log)
        workers = _descendants(proc.pid)
        assert len(workers) >= 2, workers  # --jobs 2
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        code = proc.wait(PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, log.read_text(encoding="utf-8"), workers


@on_linux
@pytest.mark.parametrize(
    ("signum", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["Ctrl-C (SIGINT to the group)", "SIGTERM"]
)
def test_an_interrupted_merge_leaves_the_earlier_set_and_no_worker(inboxes, earlier, tmp_path, signum, group):
    out, before = earlier
    code, stderr, workers = _merge_signalled(inboxes[0], out, tmp_path, signum, group)
    assert (code, stderr.splitlines()) == (2, ["错误：已中断"])  # one line: no traceback from a worker either
    assert _snapshot(out) == before  # whole and unchanged; no temporary file, staging folder or lock file
    assert _survivors(workers) == []


@on_linux
def test_workers_die_with_a_killed_merge_and_the_next_merge_clears_its_staging_folder(inboxes, earlier, tmp_path):
    out, before = earlier
    code, _, workers = _merge_signalled(inboxes[0], out, tmp_path, signal.SIGKILL, False)
    assert code == -signal.SIGKILL
    assert _survivors(workers) == []
    left = {p.name for p in out.iterdir()}
    assert {name: (out / name).read_bytes() for name in SET} == before  # the earlier set is whole
    assert any(name.startswith(fileio.STAGING_PREFIX) for name in left)  # kill -9 gives no chance to clean up
    write_outputs(merge_returns([inboxes[1]], FORM, "原州区"), out)
    assert sorted(p.name for p in out.iterdir() if p.name != ".toolkit-cache") == SET


_STOP_WHILE_RESULTS_STREAM_IN = """
from concurrent.futures import FIRST_COMPLETED, wait
from toolkit.core.batch import process_pool
try:
    with process_pool(2) as pool:
        futures = [pool.submit(bytes, 32_000_000) for _ in range(40)]  # big results, back to back
        wait(futures, return_when=FIRST_COMPLETED)
        del futures
        raise KeyboardInterrupt
except KeyboardInterrupt:
    print("stopped")
"""


def test_a_pool_stopped_while_results_stream_in_lets_the_process_exit():
    """A worker killed halfway through sending a result must not leave the pool's manager thread (and
    the interpreter, which waits for it at exit) waiting for the rest of the message."""
    run = subprocess.run(
        [sys.executable, "-c", _STOP_WHILE_RESULTS_STREAM_IN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "stopped\n", "")


def test_a_second_merge_into_the_same_folder_fails_at_once(inboxes, earlier, tmp_path):
    out, before = earlier
    log = tmp_path / "stderr.txt"
    with folder_lock(out):  # as a merge running in another process holds it
        proc = _start_merge(inboxes[1], out, log)
        code = proc.wait(PATIENCE)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert (code, lines) == (2, [f"错误：{out}：另一个 toolkit merge 正在写入此文件夹，请等它完成后再运行"])
    assert _snapshot(out) == before
    write_outputs(merge_returns([inboxes[1]], FORM, "原州区"), out)  # released: the next one runs
    assert sorted(p.name for p in out.iterdir()) == SET


def test_the_lock_is_one_per_folder_and_nests_in_one_thread(tmp_path):
    failures: list[str] = []

    def other_thread() -> None:
        try:
            with folder_lock(tmp_path):
                failures.append("")
        except UserError as e:
            failures.append(str(e))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with folder_lock(tmp_path), folder_lock(tmp_path):  # the command holds it, the writer takes it again
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        with folder_lock(elsewhere):  # another folder: its own lock
            pass
    assert failures == [f"{tmp_path}：另一个 toolkit merge 正在写入此文件夹，请等它完成后再运行"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere"]  # the lock file goes with the lock
    with folder_lock(tmp_path):
        pass


# ---------------------------------------------------------------- failures while writing, in process


class _FailingFile:
    """The file object atomic_output writes through; the `nth` file opened fails after `after` bytes."""

    opened = 0

    def __init__(self, f, nth: int, after: int, error: BaseException):
        type(self).opened += 1
        self.f, self.written, self.after, self.error = f, 0, after, error
        self.failing = type(self).opened == nth

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def write(self, data):
        self.written += len(data)
        if self.failing and self.written > self.after:
            raise self.error
        return self.f.write(data)


def _fail_writing(monkeypatch, nth: int, error: BaseException, after: int) -> None:
    real = os.fdopen
    _FailingFile.opened = 0
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: _FailingFile(real(fd, mode), nth, after, error))


def _fail_after_two_reports(monkeypatch, error: BaseException) -> None:
    """The third report fails while collection.docx's body is streamed through its open member handle
    (as Ctrl-C or a full disk would stop it)."""
    real, added = documents._Combiner.add, []

    def add(self, data):
        if len(added) == 2:
            raise error
        added.append(real(self, data))

    monkeypatch.setattr(documents._Combiner, "add", add)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # nothing raised from a __del__
@pytest.mark.parametrize(
    ("error", "expected"),
    [(KeyboardInterrupt(), KeyboardInterrupt), (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), DiskFullError)],
    ids=["interrupted", "disk full"],
)
def test_a_failure_while_collection_docx_is_streamed_is_the_error_that_propagates(inboxes, earlier, monkeypatch, error, expected):
    out, before = earlier
    c = merge_returns([inboxes[1]], FORM, "原州区")
    _fail_after_two_reports(monkeypatch, error)
    with pytest.raises(expected) as caught:  # not "Can't close the ZIP file while there is an open writing handle"
        write_outputs(c, out)
    if expected is DiskFullError:
        assert str(caught.value).startswith(f"{out}：磁盘空间不足，无法写入 collection.docx（")
    assert _snapshot(out) == before


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_error_while_combining_is_the_error_that_propagates(tmp_path, monkeypatch):
    class Broken(Exception):
        pass

    def add(self, data):
        raise Broken

    monkeypatch.setattr(documents._Combiner, "add", add)
    reports = [documents.render_report(random_return(FORM, i)) for i in range(2)]
    with pytest.raises(Broken):
        documents.combine_reports(reports, ["甲", "乙"], tmp_path / "c.docx", "汇编")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, *([errno.EDQUOT] if hasattr(errno, "EDQUOT") else [])])
@pytest.mark.parametrize("nth", [1, 2, 3], ids=["collection.xlsx", "collection.docx", "summary.docx"])
def test_a_full_disk_is_one_line_naming_the_folder(inboxes, earlier, monkeypatch, nth, code):
    out, before = earlier
    c = merge_returns([inboxes[1]], FORM, "原州区")
    name = ["collection.xlsx", "collection.docx", "summary.docx"][nth - 1]  # written in this order
    _fail_writing(monkeypatch, nth, OSError(code, os.strerror(code)), 1000)
    with pytest.raises(DiskFullError) as caught:
        write_outputs(c, out)
    assert str(caught.value) == f"{out}：磁盘空间不足，无法写入 {name}（{os.strerror(code)}）；请清理磁盘后重试"
    assert isinstance(caught.value, UserError) and caught.value.errno == code
    assert _snapshot(out) == before


def test_a_full_disk_in_a_single_atomic_write_names_its_folder(tmp_path, monkeypatch):
    _fail_writing(monkeypatch, 1, OSError(errno.ENOSPC, "No space left on device"), 10)
    with pytest.raises(UserError, match=r"磁盘空间不足，无法写入 a\.xlsx"):
        fileio.atomic_write_bytes(tmp_path / "a.xlsx", b"x" * 100)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the commit


def _in_commit(dst) -> bool:
    """Whether an os.replace is commit's: from the staging folder to the output folder itself."""
    return not Path(dst).parent.name.startswith(fileio.STAGING_PREFIX)


def test_a_rename_that_fails_half_way_undoes_the_commit(inboxes, earlier, monkeypatch):
    out, before = earlier
    c = merge_returns([inboxes[1]], FORM, "原州区")
    real = os.replace

    def replace(src, dst):
        if _in_commit(dst) and Path(dst).name == "collection.docx":  # after collection.xlsx was moved
            raise PermissionError(errno.EACCES, "另一个程序正在使用此文件", str(dst))
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    with pytest.raises(PermissionError):
        write_outputs(c, out)
    assert _snapshot(out) == before


def test_ctrl_c_during_the_renames_waits_for_the_last(inboxes, earlier, tmp_path, monkeypatch):
    out, before = earlier
    c = merge_returns([_write_returns(tmp_path / "other", range(20_000, 20_003))], FORM, "原州区")
    real = os.replace

    def replace(src, dst):
        if _in_commit(dst):
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came now
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(c, out)
    after = _snapshot(out)
    assert sorted(after) == SET and all(after[name] != before[name] for name in SET)  # the new set, whole


def test_a_merge_with_nothing_accepted_removes_the_earlier_collection_docx(earlier, tmp_path):
    out, _ = earlier
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.xlsx").write_bytes(b"not a workbook")
    assert write_outputs(merge_returns([bad], FORM, "原州区"), out) == [out / "collection.xlsx", out / "summary.docx"]
    assert sorted(p.name for p in out.iterdir()) == ["collection.xlsx", "summary.docx"]


# ---------------------------------------------------------------- a really full disk

_TMPFS_RUN = r"""
import hashlib, json, os, subprocess, sys
out, few, many = sys.argv[1:4]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", out], check=True)
def merge(inbox):
    run = subprocess.run([sys.executable, "-m", "toolkit", "merge", inbox, "-o", out, "-q"], capture_output=True, text=True)
    files = {n: hashlib.sha256(open(os.path.join(out, n), "rb").read()).hexdigest() for n in sorted(os.listdir(out))}
    return {"code": run.returncode, "stderr": run.stderr, "files": files}
print(json.dumps([merge(few), merge(many)]))
"""


def _can_mount_tmpfs() -> bool:
    if not LINUX or shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as d:
        probe = subprocess.run(["unshare", "--mount", "mount", "-t", "tmpfs", "tmpfs", d], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root and unshare to mount a small tmpfs in a private namespace")
def test_a_really_full_disk(inboxes, tmp_path):
    """The output folder is a 320 KB tmpfs (in a mount namespace of its own, gone when the test ends):
    the earlier set fits, the big merge's does not."""
    out = tmp_path / "small-disk"
    out.mkdir()
    run = subprocess.run(
        ["unshare", "--mount", sys.executable, "-c", _TMPFS_RUN, str(out), str(inboxes[1]), str(inboxes[0])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=PATIENCE,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    first, second = json.loads(run.stdout)
    assert first["code"] == 0, first["stderr"]
    assert sorted(first["files"]) == SET
    assert second["code"] == 2
    line = second["stderr"].splitlines()
    assert len(line) == 1 and line[0].startswith(f"错误：{out}：磁盘空间不足，无法写入 "), second["stderr"]
    assert line[0].endswith(f"（{os.strerror(errno.ENOSPC)}）；请清理磁盘后重试")
    assert second["files"] == first["files"]
