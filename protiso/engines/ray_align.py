"""Alignment pair blocks on Ray: the same aligners and blocks as the local process pool.

``RayBlockRunner`` has the interface of ``protiso.align.worker.BlockRunner`` (``self_scores``,
``run``, ``close``): Ray Data ``map_batches`` over a fixed actor pool, each actor holding the
encoded sample and one aligner (parasail or Biopython, built by
``protiso.align.aligners.make_aligner`` exactly as a local worker builds it), one block per call.
Scores are therefore identical to the local engine's. ``RayAlignRunner`` is the run's runner
(``protiso.align.runners``). The driver (``protiso.align.run``) commits
each finished block as one ``alignments`` part (``run-<id>/block-<n>``), and skips blocks already
committed, so a killed worker costs a retry and a killed driver costs a rerun of the missing blocks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pyarrow as pa

from protiso.align.aligners import PairStats, SequenceSet, make_aligner
from protiso.align.long_pairs import DEFAULT_MAX_CELLS
from protiso.align.runners import AlignRunner, Session
from protiso.align.sampling import PairPlan
from protiso.align.scoring import Scoring
from protiso.engines.ray_session import original_error, ray_session, worker_count

TASKS = pa.schema([
    ("block", pa.int64()),
    ("start", pa.int64()),
    ("stop", pa.int64()),
    ("a", pa.list_(pa.int64())),  # explicit pairs (random-pairs runs); else null: all pairs start..stop
    ("b", pa.list_(pa.int64())),
])
INT_FIELDS = ("identities", "positives", "length", "gaps")
RESULTS = pa.schema([
    ("block", pa.int64()),
    ("a", pa.list_(pa.int64())),
    ("b", pa.list_(pa.int64())),
    ("score", pa.list_(pa.float64())),
    *[(name, pa.list_(pa.int64())) for name in INT_FIELDS],
    ("fallbacks", pa.int64()),
    ("cells", pa.int64()),
    ("linear", pa.int64()),
    ("skipped", pa.int64()),
])


class AlignWorker:
    """A Ray Data actor: one aligner over the run's encoded sample."""

    def __init__(self, scoring: dict, aligner: str, texts: list[str], codes: np.ndarray, offsets: np.ndarray,
                 n_proteins: int, max_cells: int) -> None:
        self.aligner = make_aligner(aligner, Scoring(**scoring), SequenceSet(texts, codes, offsets), max_cells)
        self.plan = PairPlan(n_proteins)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for task in batch.to_pylist():
            if task["a"] is None:
                a, b = self.plan.pairs(task["start"], task["stop"])
            else:
                a, b = np.asarray(task["a"], np.int64), np.asarray(task["b"], np.int64)
            stats = self.aligner.align_pairs(a, b)
            rows.append({
                "block": task["block"], "a": a, "b": b, "score": np.asarray(stats.score, np.float64),
                **{name: np.asarray(getattr(stats, name), np.int64) for name in INT_FIELDS},
                "fallbacks": int(stats.fallbacks), "cells": int(stats.cells), "linear": int(stats.linear),
                "skipped": int(stats.skipped),
            })
        return pa.Table.from_pylist(rows, schema=RESULTS)


class RayBlockRunner:
    """``BlockRunner`` on Ray (the caller holds a Ray connection, see ``ray_session``)."""

    def __init__(self, ray: ModuleType, scoring: Scoring, aligner: str, seqs: SequenceSet, n_proteins: int,
                 workers: int, cpus_per_worker: float = 1.0, max_cells: int = DEFAULT_MAX_CELLS) -> None:
        self.ray, self.workers, self.cpus = ray, max(1, workers), cpus_per_worker
        self.init = {
            "scoring": {"matrix": scoring.matrix, "mode": scoring.mode, "open_score": scoring.open_score,
                        "extend_score": scoring.extend_score},
            "aligner": aligner, "texts": seqs.texts, "codes": seqs.codes, "offsets": seqs.offsets,
            "n_proteins": n_proteins, "max_cells": max_cells,
        }

    def _results(self, tasks: list[dict]) -> Iterator[dict]:
        if not tasks:
            return
        dataset = self.ray.data.from_arrow([pa.Table.from_pylist([t], schema=TASKS) for t in tasks])
        dataset = dataset.map_batches(
            AlignWorker, batch_size=1, batch_format="pyarrow", num_cpus=self.cpus,
            compute=self.ray.data.ActorPoolStrategy(size=min(self.workers, len(tasks))),
            fn_constructor_kwargs=self.init,
        )
        try:
            for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
                yield from block.to_pylist()
        except Exception as error:
            cause = original_error(error)
            if cause is not error:
                raise cause from None
            raise

    def self_scores(self, n: int, chunk: int = 256) -> tuple[np.ndarray, int]:
        """(score of each protein aligned with itself, parasail fallbacks), computed here in the driver.

        n self-alignments against n(n-1)/2 pairs: starting an actor pool for them costs more than
        they do. Same aligner, same code as a worker, so the scores are identical.
        """
        init = self.init
        aligner = make_aligner(init["aligner"], Scoring(**init["scoring"]),
                               SequenceSet(init["texts"], init["codes"], init["offsets"]), init["max_cells"])
        scores, fallbacks = np.zeros(n), 0
        for start in range(0, n, chunk):
            indices = np.arange(start, min(start + chunk, n), dtype=np.int64)
            stats = aligner.align_pairs(indices, indices)
            scores[indices] = stats.score
            fallbacks += stats.fallbacks
        return scores, fallbacks

    def run(self, tasks: list[tuple]) -> Iterator[tuple[int, np.ndarray, np.ndarray, PairStats]]:
        """(block, a, b, stats) per finished block, in completion order; each block exactly once."""
        rows = [{"block": block, "start": start, "stop": stop,
                 "a": None if a is None else np.asarray(a).tolist(), "b": None if b is None else np.asarray(b).tolist()}
                for block, start, stop, a, b in tasks]
        seen: set[int] = set()
        for row in self._results(rows):
            if row["block"] in seen:
                continue
            seen.add(row["block"])
            stats = PairStats(np.asarray(row["score"], np.float64),
                              *(np.asarray(row[name], np.int64) for name in INT_FIELDS),
                              fallbacks=row["fallbacks"], cells=row["cells"], linear=row["linear"],
                              skipped=row["skipped"])
            yield row["block"], np.asarray(row["a"], np.int64), np.asarray(row["b"], np.int64), stats

    def close(self, terminate: bool = False) -> None:
        """Nothing to release: Ray Data stops the actor pool when a dataset's iteration ends."""


class RayAlignRunner(AlignRunner):
    """Pair blocks on Ray actors at ``address`` (None: a local Ray instance), ``cpus_per_worker`` each."""

    engine = "ray"

    def __init__(self, address: str | None = None, cpus_per_worker: float = 1.0) -> None:
        self.address, self.cpus_per_worker = address, cpus_per_worker

    @contextlib.contextmanager
    def session(self, workers: int | None) -> Iterator[Session]:
        """A Ray connection for one alignment run: (block runner factory, actors, executor parameters)."""
        with ray_session(self.address) as ray:
            n_workers = worker_count(ray, workers, self.cpus_per_worker, 0.0)
            cpus = self.cpus_per_worker

            def runner(scoring, aligner, seqs, n_proteins, count, max_cells=DEFAULT_MAX_CELLS):
                return RayBlockRunner(ray, scoring, aligner, seqs, n_proteins, count, cpus, max_cells)

            yield runner, n_workers, {"executor": "ray", "address": self.address, "ray_workers": n_workers,
                                      "cpus_per_worker": cpus}
