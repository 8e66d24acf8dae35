"""The `protiso` command line: thin typer commands over the library.

Each command parses its options, makes one library call, prints, and turns a ProtisoError into a
one-line message with exit code 2 (``common.friendly``). torch and the model code are imported inside
commands, so `protiso --help` stays fast. One module per area registers its commands on ``app``.
"""

import sys

from protiso.cli import (  # noqa: F401  (each registers its commands on app)
    warehouse_commands,
    embedding_commands,
    vector_commands,
    analysis_commands,
    align_commands,
    job_commands,
)
from protiso.cli.common import app, friendly

__all__ = ["app", "friendly", "main"]


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
