"""Long proteins: the stated rule for sequences longer than the model's limit (``--long``).

``truncate`` (default) embeds the first ``limit`` residues; ``window`` embeds evenly spread overlapping
windows of ``limit`` residues and stitches them so each residue takes its vector from the window whose
centre is nearest (``stitch_ranges``); ``skip`` leaves the protein pending and lists it in ``rejects``;
``chunk`` (from 0.1) embeds pieces without overlap. Shorter proteins are recorded ``length_policy =
'none'``; the job counts what each rule touched (``LongProteins``). docs/architecture.md (module notes)
has the window formula and the stitching rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from protiso.errors import ProtisoError

LENGTH_POLICIES = ("truncate", "window", "skip", "chunk")
DEFAULT_LENGTH_POLICY = "truncate"
LONG_REJECT_SOURCE = "embed-long:{model}"  # rejects.source of proteins --long skip left out


def window_starts(length: int, limit: int) -> list[int]:
    """Starts of the ``window`` rule's windows (each ``limit`` long) over a protein of ``length``."""
    if length <= limit:
        return [0]
    span, stride = length - limit, limit - limit // 2
    gaps = -(-span // stride)  # k - 1 = ceil(span / stride)
    return [index * span // gaps for index in range(gaps + 1)]


def stitch_ranges(bounds: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """For windows ``bounds`` (equal lengths, increasing starts): the [lo, hi) each one keeps.

    Residue ``j`` goes to the window whose centre is nearest (ties: the earlier one), which is
    the window where ``j`` is farthest from an edge; the ranges partition the protein.
    """
    ranges, lo = [], bounds[0][0]
    for (start, end), (next_start, _) in zip(bounds, bounds[1:]):
        hi = (start + next_start + end - start - 1) // 2 + 1
        ranges.append((lo, hi))
        lo = hi
    ranges.append((lo, bounds[-1][1]))
    return ranges


def plan_pieces(length: int, limit: int | None, policy: str) -> tuple[str, list[tuple[int, int]]]:
    """The length rule applied to one sequence: (policy recorded, [(start, end), ...] to embed)."""
    if policy not in LENGTH_POLICIES:
        raise ProtisoError(f"the length policy (--long, --length-policy) must be one of "
                           f"{', '.join(LENGTH_POLICIES)}; got {policy!r}")
    if limit is None or length <= limit:
        return "none", [(0, length)]
    if policy == "truncate":
        return "truncate", [(0, limit)]
    if policy == "window":
        return "window", [(start, start + limit) for start in window_starts(length, limit)]
    if policy == "chunk":
        count = math.ceil(length / limit)
        base, extra = divmod(length, count)
        bounds, start = [], 0
        for index in range(count):
            end = start + base + (1 if index < extra else 0)
            bounds.append((start, end))
            start = end
        return "chunk_mean", bounds
    raise ProtisoError(f"a protein of {length} residues is longer than the limit of {limit} (--long skip): "
                       "the job leaves such proteins out before the stage")


@dataclass
class LongProteins:
    """What the length rule did to one run's pending proteins (those over the model's limit)."""

    policy: str
    limit: int | None
    proteins: int = 0  # pending proteins longer than the limit
    residues: int = 0  # their residues
    residues_dropped: int = 0  # truncate: residues past the limit; skip: every residue of the skipped
    pieces: int = 0  # window / chunk: forwards (windows or pieces) they took

    @classmethod
    def count(cls, lengths: Sequence[int], limit: int | None, policy: str) -> LongProteins:
        out = cls(policy, limit)
        if limit is None:
            return out
        for length in lengths:
            if length <= limit:
                continue
            out.proteins += 1
            out.residues += length
            if policy == "truncate":
                out.residues_dropped += length - limit
            elif policy == "skip":
                out.residues_dropped += length
            else:
                out.pieces += len(plan_pieces(length, limit, policy)[1])
        return out

    def render(self, model: str) -> str | None:
        """One summary line, or None when no protein was over the limit."""
        if not self.proteins:
            return None
        head = f"long proteins: {self.proteins:,} over {model}'s limit of {self.limit:,} residues"
        if self.policy == "truncate":
            return (f"{head} truncated to their first {self.limit:,} (--long truncate, the default; "
                    f"{self.residues_dropped:,} residues not embedded; --long window covers every residue)")
        if self.policy == "window":
            return (f"{head} embedded in {self.pieces:,} overlapping windows (--long window; "
                    "every residue has a vector)")
        if self.policy == "chunk":
            return f"{head} embedded in {self.pieces:,} pieces without overlap (--long chunk)"
        return (f"{head} skipped, not embedded (--long skip; listed in rejects as "
                f"{LONG_REJECT_SOURCE.format(model=model)!r})")

    def params(self) -> dict:
        return {"policy": self.policy, "limit": self.limit, "proteins": self.proteins, "residues": self.residues,
                "residues_dropped": self.residues_dropped, "pieces": self.pieces}
