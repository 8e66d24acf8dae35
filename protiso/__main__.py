"""`python -m protiso` runs the CLI."""

from protiso.cli import app

app(prog_name="protiso")
