"""Null draws in worker processes (protiso.metrics.draws): the same values in draw order, a failure or a dead
worker as one line, and no process left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest

from protiso.errors import ProtisoError
from protiso.metrics.draws import SERIAL_S, available_cpus, can_fork, run_draws, worker_count

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked (Linux)")


def _gram(j: int) -> float:
    """A seeded float64 product, as a draw makes (its value depends on j only)."""
    z = np.random.default_rng([4, j]).standard_normal((50, 30))
    return float(np.linalg.norm(z.T @ z))


def test_workers_give_the_values_of_one_process_in_draw_order():
    seen = []
    expected = [_gram(j) for j in range(7)]
    for workers in (1, 2, 3, 7, 20):
        assert run_draws(_gram, 7, workers, progress=seen.append) == expected
    assert seen == [1] * 35                       # one progress step per draw, whoever drew it
    assert multiprocessing.active_children() == []


def test_automatic_workers_only_for_draws_worth_a_fork():
    assert worker_count(None, 30, SERIAL_S / 100) == 1
    assert worker_count(None, 30, 10.0) == min(available_cpus(), 30)
    assert worker_count(None, 1, 10.0) == 1 and worker_count(4, 2) == 2 and worker_count(1, 30) == 1


def test_a_failing_draw_is_one_line_naming_it():
    def draw(j: int) -> float:
        if j == 3:
            raise ProtisoError("group 12 has no spread")
        return float(j)

    with pytest.raises(ProtisoError, match=r"^null draw 3 failed in worker 1: group 12 has no spread$"):
        run_draws(draw, 6, 2)
    assert multiprocessing.active_children() == []


def test_a_worker_killed_mid_draw_is_one_line_and_the_others_are_ended():
    parent = os.getpid()

    def draw(j: int) -> float:
        if j == 1 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)       # as the kernel's out-of-memory killer would
        return float(j)

    with pytest.raises(ProtisoError, match=r"null-draw worker 1 died \(killed by signal 9 \(out of memory\?\)\) "
                                           r"before draw 1; rerun with --workers 1"):
        run_draws(draw, 8, 2)
    assert multiprocessing.active_children() == []
