"""`protiso run JOB.toml`: declarative jobs (protiso.jobs.spec)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from protiso.cli.common import app, friendly

# -- jobs: declarative TOML specs (protiso/jobs/spec.py) -----------------------------------


@app.command()
@friendly
def run(
    job: Annotated[Path, typer.Argument(help="Job spec (TOML), e.g. ingest/demo.toml.")],
    warehouse: Annotated[Optional[Path], typer.Option(
        "--warehouse", "-w", metavar="DIR", help="Override the spec's warehouse directory.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr.")] = True,
) -> None:
    """Run a whole job from a TOML spec: ingest, embed, post-process, isotropy, align, report.

    Every step is resumable, so a killed job is finished by running it again.
    """
    from protiso.jobs import load_job, run_job  # lazy: loads torch and matplotlib, which protiso --help must not

    typer.echo(run_job(load_job(job, warehouse), progress=progress).render())
