"""Align runners: where an alignment run's pair blocks are aligned.

The run (``protiso.align.run``) plans the sample and its blocks, commits each finished block and records
the run; a runner only aligns. ``LocalAlignRunner`` (``--engine local``) uses a process pool here
(``protiso.align.worker.BlockRunner``); ``protiso.engines.ray_align.RayAlignRunner`` (``--engine ray``)
uses Ray actors. Both build the same aligners, so the scores do not depend on the runner.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

from protiso.align.worker import BlockRunner

Session = tuple[Callable[..., Any], "int | None", dict[str, Any]]  # (block runner factory, workers, recorded)


class AlignRunner(ABC):
    """Where pair blocks run. ``session(workers)`` holds the runner's resources for one run and yields
    (block runner factory with ``BlockRunner``'s signature, workers, parameters recorded with the run)."""

    engine = "local"

    def check(self) -> None:
        """Fail on a runner that cannot start (before anything is written)."""

    @abstractmethod
    def session(self, workers: int | None) -> contextlib.AbstractContextManager[Session]:
        """A context manager (``contextlib.contextmanager``) yielding a ``Session``."""


class LocalAlignRunner(AlignRunner):
    """A process pool here (``workers`` processes, default all cores). ``block_runner``: another class with
    ``BlockRunner``'s constructor and interface (tests interrupt runs with one)."""

    def __init__(self, block_runner: Callable[..., Any] = BlockRunner) -> None:
        self.block_runner = block_runner

    @contextlib.contextmanager
    def session(self, workers: int | None) -> Iterator[Session]:
        yield self.block_runner, workers, {}
