"""Null draws in parallel processes: the same numbers as one after the other, in less wall time.

A null's draws are independent and each is seeded by its number alone, so draw j gives the same values
whichever process computes it. ``run_draws`` forks ``workers`` processes (Linux; elsewhere, or with
one worker, it runs them in this process), each computing draws w, w + workers, ... single-threaded,
and collects them in draw order. Forked workers share the vectors with the parent (copy-on-write, read
only), so memory grows only by each worker's own moment matrices. scipy's ``dsyrk`` holds the GIL,
hence processes, not threads. A worker that fails or dies is one line naming it; Ctrl-C, an error or
the parent's death ends every worker (they ignore SIGINT and get SIGKILL when the parent dies).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable
from typing import TypeVar

from threadpoolctl import threadpool_limits

from protiso.errors import ProtisoError

T = TypeVar("T")
POLL_S = 0.5          # how often the parent looks for dead workers while it waits
FLOPS = 5e10          # float64 flop/s of one core's dsyrk, for ``row_seconds`` (49 GFLOP/s measured)
SERIAL_S = 2.0        # with workers=None, draws estimated to take less in all stay in this process
_PR_SET_PDEATHSIG = 1


def available_cpus() -> int:
    """CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                                   # macOS, Windows
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def row_seconds(rows: float, dim: int) -> float:
    """About how long rank-``rows`` updates of a (dim + 2)^2 moment matrix take on one core."""
    return rows * (dim + 2) ** 2 / FLOPS


def worker_count(workers: int | None, draws: int, seconds: float = float("inf")) -> int:
    """Processes for ``draws`` draws of about ``seconds`` each: ``workers``, or with None one per available
    CPU unless all of them would take under SERIAL_S (a fork costs more than it saves); at most one per draw."""
    if workers is None:
        workers = 1 if draws * seconds < SERIAL_S else available_cpus()
    return max(1, min(int(workers), draws)) if can_fork() else 1


def run_draws(draw: Callable[[int], T], draws: int, workers: int | None = None,
              progress: Callable[[int], None] | None = None, seconds: float = float("inf")) -> list[T]:
    """``[draw(0), ..., draw(draws - 1)]``, computed by ``worker_count(workers, draws, seconds)`` processes
    (``seconds``: the estimated time of one draw)."""
    count = worker_count(workers, draws, seconds)
    if count <= 1:
        out = []
        for j in range(draws):
            out.append(draw(j))
            if progress:
                progress(1)
        return out
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()
    parent = os.getpid()
    processes = [context.Process(target=_work, args=(draw, range(w, draws, count), results, parent),
                                 name=f"protiso-null-{w}", daemon=True) for w in range(count)]
    found: dict[int, T] = {}
    try:
        for process in processes:
            process.start()
        while len(found) < draws:
            try:
                message = results.get(timeout=POLL_S)
            except queue.Empty:
                _check_alive(processes, found, draws, count)
                continue
            if message[0] == "error":
                raise ProtisoError(f"null draw {message[1]} failed in worker {message[1] % count}: {message[2]}")
            found[message[1]] = message[2]
            if progress:
                progress(1)
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
    return [found[j] for j in range(draws)]


def _check_alive(processes: list, found: dict, draws: int, count: int) -> None:
    for w, process in enumerate(processes):
        if process.exitcode not in (None, 0):
            missing = [j for j in range(w, draws, count) if j not in found]
            how = f"killed by signal {-process.exitcode}" if process.exitcode < 0 else f"exit code {process.exitcode}"
            what = " (out of memory?)" if process.exitcode == -signal.SIGKILL else ""
            raise ProtisoError(f"null-draw worker {w} died ({how}{what}) before draw {missing[0] if missing else '?'}; "
                               "rerun with --workers 1 to draw in this process")


def _work(draw: Callable[[int], T], mine: range, results, parent: int) -> None:
    """A worker: draws ``mine`` one by one, single-threaded; ("done", j, value) or ("error", j, message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)             # Ctrl-C is the parent's to handle
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:                               # the parent died before prctl took effect
        os._exit(1)
    j = -1
    try:
        with threadpool_limits(1):
            for j in mine:
                results.put(("done", j, draw(j)))
    except BaseException as error:                            # noqa: BLE001  every failure goes to the parent
        results.put(("error", j, str(error) or type(error).__name__))
    results.close()
    results.join_thread()
