"""Output guards: names made from agency names stay in the output folder and never collide;
a failed write leaves neither half a file nor a temporary one."""

from __future__ import annotations

import os
import stat

import pytest

from toolkit.core import fileio
from toolkit.core.fileio import MAX_NAME_BYTES, atomic_write_bytes, safe_filename, unique_path

HOSTILE_NAMES = [
    "../../etc/passwd",
    "..",
    "/etc/cron.d/x",
    "\\\\server\\share\\x",
    "..\\..\\Windows\\System32",
    "C:",
    "C:\\Windows\\win.ini",
    "d:x",
    "CON",
    "con",
    "nul.txt",
    "NUL .txt",
    "COM1",
    "lpt9.doc",
    "COM¹",
    "CONIN$",
    "",
    ".",
    "...",
    " . . ",
    "\u3000",
    "___",
    "a\x00b",
    "\u202egpj.exe",
    "司法局\n办公室",
    "原州区司法局" * 60,
    "😀" * 100,
    "a" * 1000,
    'x<>:"|?*y',
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_name_from_user_text_stays_inside_the_folder(tmp_path, name):
    filename = safe_filename(name, "_批注.xlsx")
    path = unique_path(tmp_path, filename, set())
    assert path.parent == tmp_path and path.name == filename
    assert not set('/\\:<>"|?*') & set(filename) and all(ord(ch) >= 32 for ch in filename)
    assert filename.split(".")[0].upper() not in {"CON", "NUL", "COM1", "LPT9", "CONIN$"}
    assert not filename.startswith((".", " ")) and filename.endswith("_批注.xlsx")
    assert len(filename.removesuffix("_批注.xlsx").encode()) <= MAX_NAME_BYTES
    path.write_bytes(b"x")  # the file system accepts it
    assert path.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("原州区司法局", "原州区司法局.xlsx"),
        ("../../etc/passwd", "_.._etc_passwd.xlsx"),
        ("C:\\Windows\\win.ini", "C_Windows_win.ini.xlsx"),
        ("CON", "_CON.xlsx"),
        ("nul.txt", "_nul.txt.xlsx"),
        ("COM1", "_COM1.xlsx"),
        ("", "未命名.xlsx"),
        ("...", "未命名.xlsx"),
        ("a/b", "a_b.xlsx"),
    ],
)
def test_safe_filename_examples(name, expected):
    assert safe_filename(name, ".xlsx") == expected


def test_over_long_names_are_cut_on_characters_and_bytes():
    assert safe_filename("a" * 1000) == "a" * 80
    chinese = safe_filename("司" * 1000)
    assert chinese == "司" * (MAX_NAME_BYTES // 3)
    assert safe_filename("😀" * 100) == "😀" * (MAX_NAME_BYTES // 4)


def test_names_that_collide_get_numbers_case_insensitively(tmp_path):
    taken: set[str] = set()
    names = ["司法局", "司法局", "a/b", "a\\b", "a:b", "ABC", "abc", "Abc", "CON", "con", "", "..."]
    paths = [unique_path(tmp_path, safe_filename(n, ".xlsx"), taken) for n in names]
    assert [p.name for p in paths] == [
        "司法局.xlsx",
        "司法局 (2).xlsx",
        "a_b.xlsx",
        "a_b (2).xlsx",
        "a_b (3).xlsx",
        "ABC.xlsx",
        "abc (2).xlsx",
        "Abc (3).xlsx",
        "_CON.xlsx",
        "_con (2).xlsx",
        "未命名.xlsx",
        "未命名 (2).xlsx",
    ]
    assert len({p.name.casefold() for p in paths}) == len(names)


def test_a_numbered_name_given_by_the_user_does_not_collide(tmp_path):
    taken: set[str] = set()
    names = [unique_path(tmp_path, n, taken).name for n in ("a (2).xlsx", "a.xlsx", "a.xlsx")]
    assert names == ["a (2).xlsx", "a.xlsx", "a (3).xlsx"]


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_atomic_write_gives_a_normal_file_mode(tmp_path):
    target = tmp_path / "out.xlsx"
    atomic_write_bytes(target, b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


class _DiskFull:
    """A file whose write stores half the data and then fails, as a full disk does."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("existing", [None, b"the previous version"])
def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, existing):
    target = tmp_path / "out.xlsx"
    if existing is not None:
        target.write_bytes(existing)
    real_fdopen = os.fdopen
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: _DiskFull(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"x" * 100_000)
    assert [p.name for p in tmp_path.iterdir()] == ([] if existing is None else ["out.xlsx"])
    if existing is not None:
        assert target.read_bytes() == existing


def test_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "out.xlsx", b"data")
    assert list(tmp_path.iterdir()) == []


def test_write_into_a_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "missing" / "out.xlsx", b"data")
    assert list(tmp_path.iterdir()) == []


def test_find_workbooks_finds_every_xlsx_whatever_its_case_and_skips_lock_files(tmp_path):
    for name in ("b.xlsx", "a.xlsx", "~$a.xlsx", ".~lock.a.xlsx#", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.XLSX").write_bytes(b"x")
    found = fileio.find_workbooks([tmp_path, tmp_path / "c.txt", tmp_path / "a.xlsx"])
    assert [p.name for p in found] == ["a.xlsx", "b.xlsx", "d.XLSX", "c.txt"]
    with pytest.raises(FileNotFoundError):
        fileio.find_workbooks([tmp_path / "nope"])
