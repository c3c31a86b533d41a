"""Run one function over many items, in a process pool or any concurrent.futures Executor.

Results come back in input order. A caller may pass its own executor (for example a Dask
cluster's `client.get_executor()`), so a batch can outgrow one machine without code changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

SERIAL_BELOW = 8  # a pool costs more than it saves on a handful of items


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_batch(func: Callable[[T], R], items: list[T], jobs: int | None = None, executor: Executor | None = None) -> Iterator[R]:
    """`func(item)` for every item, in order; parallel when it pays (func must be picklable)."""
    if executor is not None:
        yield from executor.map(func, items)
        return
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(items) < SERIAL_BELOW:
        yield from map(func, items)
        return
    chunk = max(1, min(64, len(items) // (jobs * 4)))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(func, items, chunksize=chunk)
