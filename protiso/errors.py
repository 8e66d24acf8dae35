"""The one exception type that reaches users as a one-line message, and its "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ProtisoError(Exception):
    """An error caused by the user's input or environment.

    The CLI prints ``str(error)`` on one line and exits with code 2; library users
    catch it like any other exception. Messages name the file, record and reason.
    """


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` naming the one of ``known`` closest to ``name`` (difflib, any case), or ``""``."""
    by_lower = {item.lower(): item for item in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[close[0]]}?)" if close else ""
