"""The report's "missing" notes fitted to the warehouse's state, and printed one line per group of notes.

``fit_to_state`` names the command that fits: ``protiso embed`` once proteins are in, ``protiso ingest
FASTA --model`` before; and steps that need embeddings get the step that makes them first.
``missing_lines`` prints one line per command chain; a chain that starts a longer one (the same first commands,
perhaps with fewer options) joins it, so an empty warehouse prints five lines instead of thirteen.
"""

from __future__ import annotations

from protiso.report.common import COMMANDS, Missing
from protiso.warehouse import Warehouse

INGEST_EMBED = "protiso ingest FASTA -w W --model MODEL"
NEEDS_EMBEDDINGS = ("protiso isotropy ", "protiso postprocess ", "protiso pair-metrics ")


def fit_to_state(wh: Warehouse, notes: list[Missing]) -> None:
    """Rewrite each note's commands (still with ``-w W``) for what ``wh`` holds now."""
    state = wh.query(wh.sql_text("report_state")).to_pylist()[0]
    embed = COMMANDS["embeddings"]
    for note in notes:
        steps = list(note.commands)
        if not state["embeddings"] and steps and steps[0].startswith(NEEDS_EMBEDDINGS):
            steps.insert(0, embed)
        if not state["proteins"]:
            steps = [INGEST_EMBED + step[len(embed):] if step.startswith(embed) else step for step in steps]
        note.commands = steps


def _covers(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    """Whether ``shorter`` is ``longer`` or starts it with fewer commands, each perhaps with fewer options."""
    if shorter == longer:
        return True
    return len(shorter) < len(longer) and all((big + " ").startswith(small + " ")
                                              for small, big in zip(shorter, longer))


def missing_lines(notes: list[Missing]) -> list[str]:
    """``missing WHAT; WHAT: COMMAND; then COMMAND`` lines, one per chain no other chain covers."""
    chains = list(dict.fromkeys(tuple(note.commands) for note in notes))
    tops = [c for c in chains if not any(o != c and _covers(o, c) for o in chains)]
    groups: dict[tuple[str, ...], list[str]] = {top: [] for top in tops}
    for note in notes:
        chain = tuple(note.commands)
        home = min((top for top in tops if _covers(top, chain)), key=lambda top: (len(top), len(" ".join(top))))
        if note.what not in groups[home]:
            groups[home].append(note.what)
    return [f"missing {'; '.join(whats)}: {'; then '.join(chain)}" for chain, whats in groups.items()]
