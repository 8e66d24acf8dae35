"""Engines: where jobs run, ``local`` (this machine, the default) or ``ray`` (a Ray cluster, optional extra).

An engine only decides where the stage runs; the jobs plan, commit and record the same way on
both, so both land the same rows in the same warehouse layout. Embedding: ``embed_runner`` gives
the job's runner (``protiso.embedding.runners.LocalRunner`` or ``ray_embed.RayRunner``).
Alignment: ``align_runner`` gives the alignment run's (``protiso.align.runners.LocalAlignRunner``, a
process pool here, or ``ray_align.RayAlignRunner``, Ray actors). Ray is imported lazily, so protiso works without it
(``pip install 'protiso[ray]'`` adds it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from protiso.align.runners import LocalAlignRunner
from protiso.engines.ray_align import RayAlignRunner
from protiso.errors import ProtisoError

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "align_runner", "check_engine", "embed_runner"]


def check_engine(name: str) -> str:
    """``name`` lower-cased if it is a known engine; else a one-line ProtisoError."""
    key = (name or "").strip().lower()
    if key not in ENGINES:
        raise ProtisoError(f"--engine must be one of {', '.join(ENGINES)}; got {name!r}")
    return key


def embed_runner(engine: str = "local", *, address: str | None = None, workers: int | None = None,
                 gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                 source: Sequence[str | Path] | None = None):
    """The embedding runner for ``engine``; the Ray options apply to ``ray`` only (``workers`` < 1 is refused
    on either engine, before anything runs)."""
    if workers is not None and workers < 1:
        raise ProtisoError(f"--workers must be at least 1; got {workers}")
    if check_engine(engine) == "local":
        # lazy: the runners load torch; check_engine (used by align) does not need it
        from protiso.embedding.runners import LocalRunner

        return LocalRunner()
    # lazy: the runners load torch; check_engine (used by align) does not need it
    from protiso.engines.ray_embed import RayRunner

    return RayRunner(address=address, workers=workers, gpus_per_worker=gpus_per_worker,
                     cpus_per_worker=cpus_per_worker, source=source)


def align_runner(engine: str = "local", *, address: str | None = None, cpus_per_worker: float = 1.0):
    """The alignment runner for ``engine``; ``address`` and ``cpus_per_worker`` apply to ``ray`` only."""
    if check_engine(engine) == "local":
        return LocalAlignRunner()
    return RayAlignRunner(address=address, cpus_per_worker=cpus_per_worker)
