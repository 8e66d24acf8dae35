"""Process-pool side of an alignment run: one aligner per worker, one block of pairs per task.

parasail's ctypes calls release the GIL, but the CIGAR bookkeeping is Python, so protiso
uses processes (``spawn``, so no DuckDB state is forked) and sends each worker the encoded
sample once; a task is ``(block, start, stop, a, b)`` with explicit pair arrays only in
``--pairs`` mode (all-pairs blocks are recomputed from ``start, stop``).

Workers die with their parent, kill -9 included: on Linux the kernel sends them SIGKILL when it
exits (``prctl(PR_SET_PDEATHSIG)``), and on every platform a watchdog thread exits the worker
once its parent process is gone (its parent id changes). multiprocessing's resource tracker then
sees its pipe close and exits too, so nothing is left running.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator

import numpy as np

from protiso.align.aligners import PairStats, SequenceSet, make_aligner
from protiso.align.long_pairs import DEFAULT_MAX_CELLS
from protiso.align.sampling import PairPlan
from protiso.align.scoring import Scoring

_STATE: dict[str, Any] = {}
PR_SET_PDEATHSIG = 1      # <linux/prctl.h>
WATCH_SECONDS = 0.5       # how often a worker checks that its parent is alive


def die_with_parent(parent: int) -> None:
    """Make this process exit when process ``parent`` (the one that started it) dies."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog below still works
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="protiso-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def _init_worker(parent: int, *args) -> None:
    """A pool worker's initializer: die with ``parent``, then set up like ``_init``."""
    die_with_parent(parent)
    _init(*args)


def _init(scoring: dict, aligner: str, texts: list[str], codes: np.ndarray, offsets: np.ndarray,
          n_proteins: int, max_cells: int) -> None:
    scoring_obj = Scoring(**scoring)
    seqs = SequenceSet(texts, codes, offsets)
    _STATE["aligner"] = make_aligner(aligner, scoring_obj, seqs, max_cells)
    _STATE["plan"] = PairPlan(n_proteins)


def _block(task: tuple) -> tuple[int, np.ndarray, np.ndarray, PairStats]:
    block, start, stop, a, b = task
    if a is None:
        a, b = _STATE["plan"].pairs(start, stop)
    return block, a, b, _STATE["aligner"].align_pairs(a, b)


def _self(indices: np.ndarray) -> tuple[np.ndarray, PairStats]:
    return indices, _STATE["aligner"].align_pairs(indices, indices)


class BlockRunner:
    """Runs blocks and self-alignments in-process (``workers == 1``) or on a spawn process pool.

    A ``ProcessPoolExecutor`` (not ``multiprocessing.Pool``) so that a worker that dies raises
    ``BrokenProcessPool`` instead of being replaced forever; at most ``2 * workers`` tasks are in flight.
    """

    def __init__(self, scoring: Scoring, aligner: str, seqs: SequenceSet, n_proteins: int, workers: int,
                 max_cells: int = DEFAULT_MAX_CELLS):
        args = ({"matrix": scoring.matrix, "mode": scoring.mode, "open_score": scoring.open_score,
                 "extend_score": scoring.extend_score}, aligner, seqs.texts, seqs.codes, seqs.offsets, n_proteins,
                max_cells)
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        if workers <= 1:
            _init(*args)
        else:
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_worker, initargs=(os.getpid(), *args))

    def _map(self, function: Callable, items: list) -> Iterator:
        """``function`` over ``items``, results in completion order."""
        if self.pool is None:
            yield from map(function, items)
            return
        pending: set = set()
        queue = iter(items)
        for item in queue:
            pending.add(self.pool.submit(function, item))
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(self.pool.submit(function, nxt))
                yield future.result()

    def self_scores(self, n: int, chunk: int = 256) -> tuple[np.ndarray, int]:
        """(score of each protein aligned with itself, NaN where long_pairs skips it; parasail fallbacks)."""
        chunks = [np.arange(s, min(s + chunk, n)) for s in range(0, n, chunk)]
        scores = np.zeros(n)
        fallbacks = 0
        for idx, stats in self._map(_self, chunks):
            scores[idx] = stats.score
            fallbacks += stats.fallbacks
        return scores, fallbacks

    def run(self, tasks: list[tuple]) -> Iterator[tuple[int, np.ndarray, np.ndarray, PairStats]]:
        yield from self._map(_block, tasks)

    def close(self, terminate: bool = False) -> None:
        if self.pool is not None:
            if terminate:
                for process in list(getattr(self.pool, "_processes", {}).values()):
                    process.terminate()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
