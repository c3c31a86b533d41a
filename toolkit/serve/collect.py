"""The round's collection (collection.xlsx, collection.docx, summary.docx of the approved returns), made in
the background with toolkit.pipeline's merge_returns and write_outputs, and handed out as one zip."""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from concurrent.futures import Executor
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from toolkit.core.fileio import atomic_output, safe_filename
from toolkit.pipeline import get_form, merge_returns, write_outputs
from toolkit.serve.clock import now
from toolkit.serve.records import log
from toolkit.serve.store import FileStore
from toolkit.serve.tables import agencies, collections, uploads
from toolkit.serve.workflow import approved_uploads, board

FILES = ("collection.xlsx", "collection.docx", "summary.docx")


def zip_path(store: FileStore, job_id: int) -> Path:
    return store.derived / "collections" / f"{job_id}.zip"


def latest_job(engine: Engine, round_id: int):
    with engine.connect() as conn:
        query = select(collections).where(collections.c.round_id == round_id).order_by(collections.c.id.desc())
        return conn.execute(query).mappings().first()


def current(engine: Engine, round_id: int, deadline: str | None) -> list[int]:
    with engine.connect() as conn:
        return sorted(approved_uploads(board(conn, round_id, deadline)))


def start(engine: Engine, store: FileStore, executor: Executor, rnd, actor: str) -> int:
    """A new background job for the round (or the one already running): its id."""
    running = latest_job(engine, rnd["id"])
    if running and running["state"] == "running":
        return running["id"]
    chosen = current(engine, rnd["id"], rnd["deadline"])
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(collections).values(
                round_id=rnd["id"], state="running", total=max(1, len(chosen)) * 2, uploads=json.dumps(chosen), started_at=now()
            )
        ).inserted_primary_key[0]
        log(conn, actor, "collection_started", rnd["id"], job=job_id, uploads=len(chosen))
    threading.Thread(target=_run, args=(engine, store, executor, dict(rnd), job_id, chosen), daemon=True).start()
    return job_id


def _inputs(engine: Engine, store: FileStore, folder: Path, upload_ids: list[int]) -> tuple[list[Path], list[str]]:
    """The approved files under their agencies' names (hard links into the job's folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        rows = conn.execute(
            select(uploads.c.sha256, agencies.c.name)
            .join(agencies, agencies.c.id == uploads.c.agency_id)
            .where(uploads.c.id.in_(upload_ids))
            .order_by(agencies.c.position)
        ).all()
    paths = []
    for i, (sha, name) in enumerate(rows):
        target = folder / safe_filename(f"{i + 1:04d}_{name}", ".xlsx")
        try:
            os.link(store.path(sha), target)
        except OSError:
            shutil.copyfile(store.path(sha), target)
        paths.append(target)
    return paths, [name for _, name in rows]


def _progress(engine: Engine, job_id: int):
    lock, done = threading.Lock(), [0]

    def tell(n: int) -> None:
        with lock:
            done[0] += n
            with engine.begin() as conn:
                conn.execute(update(collections).where(collections.c.id == job_id).values(done=done[0]))

    return tell


def _run(engine: Engine, store: FileStore, executor: Executor, rnd: dict, job_id: int, upload_ids: list[int]) -> None:
    work = store.derived / "collections" / f"job-{job_id}"
    try:
        paths, names = _inputs(engine, store, work / "inputs", upload_ids)
        tell = _progress(engine, job_id)
        form = get_form(rnd["form_id"])
        c = merge_returns(
            paths, form=form, agency_order=names, year=rnd["year"], executor=executor if paths else None, progress=tell
        )
        written = write_outputs(c, work / "out", executor, progress=tell)
        with atomic_output(zip_path(store, job_id)) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for path in written:
                z.write(path, path.name)
        _finish(engine, job_id, "done", "")
    except Exception as e:  # the job's fate is shown on the page; the service goes on
        _finish(engine, job_id, "failed", f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(work / "inputs", ignore_errors=True)


def _finish(engine: Engine, job_id: int, state: str, error: str) -> None:
    with engine.begin() as conn:
        values = {"state": state, "error": error[:2000], "finished_at": now()}
        if state == "done":
            values["done"] = select(collections.c.total).where(collections.c.id == job_id).scalar_subquery()
        conn.execute(update(collections).where(collections.c.id == job_id).values(**values))
        log(conn, "system", f"collection_{state}", job=job_id, error=error[:200])


def recover(engine: Engine) -> None:
    """Jobs a dead process left running are failed (started again from the page)."""
    with engine.begin() as conn:
        conn.execute(
            update(collections)
            .where(collections.c.state == "running")
            .values(state="failed", error="服务重启，任务中断", finished_at=now())
        )
