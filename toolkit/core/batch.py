"""Run one function over many items, in a process pool or any concurrent.futures Executor.

Results come back in input order with a bounded number of tasks in flight, so memory stays flat
whatever the batch size. A caller may pass its own executor (for example a Dask cluster's
`client.get_executor()`), so a batch can outgrow one machine without code changes.

The workers of process_pool never outlive the run: on Linux each asks the kernel to kill it when its
parent dies (even by kill -9); Ctrl-C reaches the parent only (the workers ignore SIGINT), and when
the parent stops on any error, Ctrl-C or SIGTERM it terminates its workers instead of waiting for them.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext, suppress
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # multiprocessing is imported when a pool is started: a one-file command starts faster
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int], object]  # told how many more items are done

SERIAL_BELOW = 8  # a pool costs more than it saves on a handful of items
SMALL_BATCHES_HERE = "toolkit_small_batches_here"  # marks a command's own pool: pool_for keeps small batches in-process
CHUNK = 16  # items per task: fewer round trips between processes
WINDOW = 8  # tasks in flight per worker


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def workers_of(executor: Executor | None) -> int:
    return getattr(executor, "_max_workers", None) or default_jobs()


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# ---------------------------------------------------------------- signals and workers

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
MANAGER_GRACE = 10  # seconds to wait for a stopped pool's manager thread


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_free() -> bool:
    """Whether SIGTERM may be taken over here: it exists, has its default action, and this is the main
    thread (the only one that may set a handler)."""
    return (
        hasattr(signal, "SIGTERM")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )


def interrupt_on_sigterm() -> None:
    """From now on SIGTERM unwinds the main process as Ctrl-C does (KeyboardInterrupt): temporary
    files are removed and pool workers stopped on the way out. For a program's entry point, called once
    in the main thread; leaves alone a SIGTERM handler the program installed itself."""
    if _sigterm_free():
        signal.signal(signal.SIGTERM, _interrupt)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """interrupt_on_sigterm for the duration of the block only."""
    installed = _sigterm_free()
    if installed:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        if installed and threading.current_thread() is threading.main_thread():  # a generator may end elsewhere
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _die_with_parent(parent: int | None) -> None:
    """Linux: the kernel sends this process SIGKILL when its parent dies. No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before prctl took effect: nobody is waiting for this worker


def _worker_start(parent: int | None) -> None:
    """Pool initializer: Ctrl-C is the parent's to handle, SIGTERM (terminate()) ends the worker; what the
    worker inherited is frozen out of the garbage collector's scans (fewer pauses, no copy-on-write of it)."""
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the parent's handler
    _die_with_parent(parent)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop now: pending tasks cancelled, the worker processes terminated (killed if they linger),
    and the pool's manager thread finished before this returns."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    _end(workers)
    _release_manager(manager, results)


def _end(workers: list) -> None:
    for worker in workers:
        with suppress(ValueError, ProcessLookupError):  # a worker already gone
            worker.terminate()
    for worker in workers:
        with suppress(ValueError, ProcessLookupError):
            worker.join(2)
            if worker.is_alive():
                worker.kill()
                worker.join()


def _release_manager(manager: threading.Thread | None, results: object) -> None:
    """Let the manager thread of a pool whose workers were just killed finish, and wait for it.

    A worker killed while sending a result leaves half a message in the result pipe; the manager
    thread would wait for the rest forever (and the interpreter for it at exit), because this
    process holds the pipe's writing end too. Closing that end turns the wait into end-of-file,
    which the manager thread takes for a broken pool: it cleans up and ends. Waiting for it here
    also keeps its clean-up from racing the interpreter's own at exit."""
    writer = getattr(results, "_writer", None)
    if writer is not None:
        with suppress(OSError):
            writer.close()
    if manager is not None and manager is not threading.current_thread():
        manager.join(MANAGER_GRACE)


def _pool(n: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context()
    parent = None if context.get_start_method() == "forkserver" else os.getpid()  # a forkserver's child is not ours
    return ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=_worker_start, initargs=(parent,))


def worker_pool(n: int) -> ProcessPoolExecutor:
    """A long-lived pool (the web service's) whose workers ignore Ctrl-C and die with their parent, even on kill -9."""
    return _pool(n)


@contextmanager
def process_pool(jobs: int | None) -> Iterator[Executor | None]:
    """A pool of `jobs` worker processes (default: every core); None when one job is asked for.

    While it is open SIGTERM interrupts like Ctrl-C (sigterm_interrupts). The block ending normally
    waits for the workers; an error, Ctrl-C or SIGTERM stops them at once (stop_pool), and on Linux
    they die with the parent even when it is killed (PR_SET_PDEATHSIG)."""
    n = jobs or default_jobs()
    with sigterm_interrupts():
        if n <= 1:
            yield None
            return
        pool = _pool(n)
        setattr(pool, SMALL_BATCHES_HERE, True)  # see pool_for
        try:
            yield pool
            pool.shutdown()
        except BaseException:
            stop_pool(pool)
            raise


def pool_for(executor: Executor | None, items: int) -> Executor | None:
    """The executor for a batch of `items`; None (this process) when they are too few for a pool to pay and the
    pool is one process_pool made for this command: a re-merge that redoes one return must not fork workers from a
    process holding 10,000 already. Any other executor (the web service's, whose checks stay out of the server
    process; a Dask cluster's) gets every batch."""
    return None if items < SERIAL_BELOW and getattr(executor, SMALL_BATCHES_HERE, False) else executor


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
