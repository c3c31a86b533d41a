"""Faults: the server killed with SIGKILL mid-burst, a full disk, a read-only data folder. Nothing answered
with 201 is ever lost, no partial file is left, the uploader is told clearly when a file could not be kept."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_support import DATABASES, for_agency, fresh_database, make_round, open_site, return_bytes, seed_return
from sqlalchemy import func, select, text

from toolkit.serve.db import database_url, make_engine
from toolkit.serve.tables import blobs, uploads

NAMES = [f"负载测试机关{i:04d}" for i in range(1, 121)]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data: Path, port: int, db: str | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "toolkit", "serve", "--data", str(data), "--port", str(port), *(["--db", db] if db else [])]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _burst(port: int, files: list[tuple[str, bytes]], answered: list, stop_after: int, server: subprocess.Popen) -> None:
    """Upload from 16 threads; SIGKILL the server once `stop_after` uploads have their 201."""
    lock = threading.Lock()
    todo = list(files)

    def worker():
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    token, data = todo.pop()
                try:
                    r = client.post(f"http://127.0.0.1:{port}/a/{token}/uploads", files={"file": ("r.xlsx", data)})
                except httpx.HTTPError:
                    continue
                if r.status_code == 201:
                    with lock:
                        answered.append((r.json(), data))
                        if len(answered) == stop_after:
                            os.kill(server.pid, signal.SIGKILL)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("kind", DATABASES)
def test_sigkill_mid_burst_loses_no_acknowledged_upload(tmp_path, kind):
    data, db = tmp_path / "data", fresh_database(kind)
    _, tokens, _ = make_round(data, NAMES, db=db)
    seed = seed_return(tmp_path)
    files = [(tokens[n], for_agency(seed, n)) for n in NAMES]
    port = _port()
    server = _serve(data, port, db)
    workers = _children(server.pid)
    answered: list = []
    _burst(port, files, answered, 40, server)
    server.wait(30)
    assert server.returncode == -signal.SIGKILL
    assert 40 <= len(answered) < len(NAMES)  # killed mid-burst
    for _ in range(100):  # the check workers die with the server (PR_SET_PDEATHSIG)
        if not any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text() for w in workers):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("check workers outlived the server")

    restarted = _serve(data, port, db)
    try:
        engine = make_engine(database_url(data, db))
        with engine.connect() as conn:
            if db is None:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            rows = dict(conn.execute(select(uploads.c.id, uploads.c.sha256)).all())
            known = set(conn.execute(select(blobs.c.sha256)).scalars())
        for body, sent in answered:
            assert rows[body["upload_id"]] == body["sha256"] == hashlib.sha256(sent).hexdigest()
        assert set(rows.values()) <= known
        stored = list((data / "files").rglob("*"))
        for path in (p for p in stored if p.is_file()):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem  # no partial file in the store
        assert {p.stem for p in stored if p.is_file()} >= known
        assert list((data / "files" / ".incoming").iterdir()) == []  # leftovers of the killed process removed on start
        token, payload = files[0]
        r = httpx.post(f"http://127.0.0.1:{port}/a/{token}/uploads", files={"file": ("r.xlsx", payload)})
        assert r.status_code == 201
    finally:
        restarted.terminate()
        restarted.wait(30)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs as the data folder's disk (root only: mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=False).returncode
    ):
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_tells_the_uploader_and_keeps_what_was_stored(small_disk):
    site = open_site(small_disk, ["甲局"])
    site.data = small_disk / "data"
    with site.client:
        first = site.upload("甲局", return_bytes(small_disk.parent, "甲局", values={"t2_1.rules.issued": 1}))
        assert first.status_code == 201
        filler = _fill(small_disk)
        r = site.upload("甲局", return_bytes(small_disk.parent, "甲局", values={"t2_1.rules.issued": 2}))
        assert r.status_code == 507 and r.json()["error"].startswith("服务器磁盘空间不足，文件未能保存")
        assert list((site.data / "files" / ".incoming").iterdir()) == []
        filler.unlink()
        again = site.upload("甲局", return_bytes(small_disk.parent, "甲局", values={"t2_1.rules.issued": 2}))
        assert again.status_code == 201
        sha = first.json()["sha256"]
        assert hashlib.sha256((site.data / "files" / sha[:2] / f"{sha}.xlsx").read_bytes()).hexdigest() == sha
        with site.engine().connect() as conn:
            assert conn.execute(select(func.count()).select_from(uploads)).scalar() == 2


def _mount_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], check=False).returncode == 0
    )


def test_a_read_only_file_store_tells_the_uploader(tmp_path):
    """The store's folders made read-only under the running service (the database stays writable)."""
    store = [tmp_path / "data" / "files"]
    if not all(_mount_tmpfs(p) for p in store):
        pytest.skip("needs root to mount tmpfs")
    try:
        site = open_site(tmp_path, ["甲局"])
        with site.client:
            first = site.upload("甲局", return_bytes(tmp_path, "甲局", values={"t2_1.rules.issued": 1}))
            assert first.status_code == 201
            for p in store:
                subprocess.run(["mount", "-o", "remount,ro", str(p)], check=True)
            r = site.upload("甲局", return_bytes(tmp_path, "甲局", values={"t2_1.rules.issued": 2}))
            assert r.status_code == 503 and r.json()["error"].startswith("服务器的数据文件夹不可写，文件未能保存")
            sha = first.json()["sha256"]
            assert hashlib.sha256((store[0] / sha[:2] / f"{sha}.xlsx").read_bytes()).hexdigest() == sha
            with site.engine().connect() as conn:
                assert conn.execute(select(func.count()).select_from(uploads)).scalar() == 1
    finally:
        for p in store:
            subprocess.run(["umount", "-l", str(p)], check=False)
