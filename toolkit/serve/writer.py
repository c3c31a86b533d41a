"""Group commit for SQLite: one thread runs the writes waiting at that moment in one transaction, so one
fsync of the WAL makes many uploads durable. Each caller is answered only after the commit."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy import Connection, Engine

MAX_BATCH = 100


class GroupWriter:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[Connection], object]) -> Future:
        """fn(conn) inside a write transaction; the future is resolved once that transaction is committed."""
        future: Future = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="toolkit-writer", daemon=True)
                self._thread.start()
        self._queue.put((fn, future))
        return future

    def close(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _batch(self) -> list | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # close after this batch
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while (batch := self._batch()) is not None:
            try:
                with self.engine.begin() as conn:
                    results = [fn(conn) for fn, _ in batch]
            except Exception:  # one write failed: the others must not fail with it, so each goes alone
                for fn, future in batch:
                    self._alone(fn, future)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def _alone(self, fn, future: Future) -> None:
        try:
            with self.engine.begin() as conn:
                result = fn(conn)
        except Exception as e:
            future.set_exception(e)
        else:
            future.set_result(result)
