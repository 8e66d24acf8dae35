"""The one exception type that reaches users as a one-line message."""

from __future__ import annotations


class ProtisoError(Exception):
    """An error caused by the user's input or environment.

    The CLI prints ``str(error)`` on one line and exits with code 2; library users
    catch it like any other exception. Messages name the file, record and reason.
    """
