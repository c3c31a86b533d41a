"""Run one function over many items, in a process pool or any concurrent.futures Executor.

Results come back in input order with a bounded number of tasks in flight, so memory stays flat
whatever the batch size. A caller may pass its own executor (for example a Dask cluster's
`client.get_executor()`), so a batch can outgrow one machine without code changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int], object]  # told how many more items are done

SERIAL_BELOW = 8  # a pool costs more than it saves on a handful of items
CHUNK = 16  # items per task: fewer round trips between processes
WINDOW = 8  # tasks in flight per worker


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def workers_of(executor: Executor | None) -> int:
    return getattr(executor, "_max_workers", None) or default_jobs()


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@contextmanager
def process_pool(jobs: int | None) -> Iterator[Executor | None]:
    """A pool of `jobs` worker processes (default: every core); None when one job is asked for."""
    n = jobs or default_jobs()
    if n <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=n) as pool:
        yield pool


def ordered_map(executor: Executor | None, fn: Callable, tasks: Iterable[tuple], window: int | None = None) -> Iterator:
    """fn(*task) for every task, in order, with at most `window` tasks in flight."""
    if executor is None:
        for task in tasks:
            yield fn(*task)
        return
    window = window or WINDOW * workers_of(executor)
    pending = []
    for task in tasks:
        pending.append(executor.submit(fn, *task))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def _apply(func: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [func(item) for item in chunk]


def run_batch(func: Callable[[T], R], items: list[T], jobs: int | None = None, executor: Executor | None = None) -> Iterator[R]:
    """`func(item)` for every item, in order; in parallel when it pays (func must be picklable)."""
    if executor is None and ((jobs or default_jobs()) <= 1 or len(items) < SERIAL_BELOW):
        yield from map(func, items)
        return
    with nullcontext(executor) if executor is not None else process_pool(jobs) as pool:
        for results in ordered_map(pool, _apply, [(func, chunk) for chunk in chunks(items, CHUNK)]):
            yield from results
