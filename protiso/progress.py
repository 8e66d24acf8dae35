"""Progress bars of long steps, in one style: tqdm on stderr, shown only when stderr is a terminal and
not switched off (``protiso COMMAND --no-progress``, ``with shown(False):`` around a library call).

Steps deep inside a job ask ``disable()`` for tqdm's ``disable`` argument instead of taking a flag
through every signature; the switch is a context variable, so it holds for the call that set it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tqdm import tqdm

_SHOWN: ContextVar[bool] = ContextVar("protiso_progress", default=True)


def disable() -> bool | None:
    """tqdm's ``disable``: True when switched off, else None (tqdm shows bars only on a terminal)."""
    return None if _SHOWN.get() else True


@contextmanager
def shown(on: bool) -> Iterator[None]:
    """Show (or not) the progress bars of everything run inside the block."""
    token = _SHOWN.set(bool(on))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def bar(iterable: Any = None, **options: Any) -> tqdm:
    """A tqdm bar on stderr that follows the switch."""
    return tqdm(iterable, file=sys.stderr, disable=disable(), **options)
