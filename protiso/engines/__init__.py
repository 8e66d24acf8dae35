"""Where jobs run: ``local`` (this process, the default) or ``ray`` (a Ray cluster, optional extra).

Every engine runs the same pure stage functions (``protiso.models.stage.embed_record_batch``,
the alignment of one pair block) and lands the same rows in the same warehouse layout; an engine
only decides where the stage runs. ``protiso.engines.ray_engine`` imports Ray lazily, so protiso
works without it (``pip install 'protiso[ray]'`` adds it).
"""

from __future__ import annotations

from protiso.errors import ProtisoError

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "check_engine"]


def check_engine(name: str) -> str:
    """``name`` lower-cased if it is a known engine; else a one-line ProtisoError."""
    key = (name or "").strip().lower()
    if key not in ENGINES:
        raise ProtisoError(f"--engine must be one of {', '.join(ENGINES)}; got {name!r}")
    return key
