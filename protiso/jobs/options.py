"""The options of the isotropy and export jobs (``IsotropyOptions``, ``ExportOptions``), each default once.

``protiso isotropy`` / ``protiso export``, the ``[isotropy]`` / ``[[export]]`` tables of a job spec and
``compute_isotropy(wh, options)`` / ``export_vectors(wh, options)`` all build these; ``check()`` is the one
validation, run before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from protiso.errors import ProtisoError
from protiso.jobs.budget import DEFAULT_MEMORY_BUDGET, parse_memory_budget
from protiso.metrics.isotropy import DEFAULT_ZETA, check_shrinkage
from protiso.options import as_tuple, whole_number

GROUPINGS = ("organism", "go_term", "length_bin")
SCOPES = ("global", "local")
NULL_METHODS = ("size", "length")


@dataclass(frozen=True)
class IsotropyOptions:
    """Every option of an isotropy run (``protiso isotropy --help`` explains each one).

    ``by``: groupings besides the row over all points. ``models`` / ``embedding_set`` / ``controls``:
    only these (None = all). ``memory_budget``: bytes, or a size such as ``"4GiB"``. ``null_draws`` random
    groups per group for ``size_z`` (``null``: size or length, the latter over ``strata`` length bins),
    drawn by ``workers`` processes (None: one per available CPU; the values do not depend on it).
    """

    by: tuple[str, ...] = ()
    bootstrap: int = 0
    zeta: float = DEFAULT_ZETA
    models: tuple[str, ...] | None = None
    embedding_set: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = SCOPES
    controls: tuple[str, ...] | None = None
    seed: int = 0
    level: float = 0.95
    min_points: int = 10
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET
    null_draws: int = 30
    null: str = "size"
    strata: int = 10
    workers: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "by", tuple(dict.fromkeys(as_tuple(self.by) or ())))
        set_(self, "scopes", as_tuple(self.scopes) or ())
        for name in ("models", "embedding_set", "controls"):
            set_(self, name, as_tuple(getattr(self, name)) or None)
        if not isinstance(self.memory_budget, int) or isinstance(self.memory_budget, bool):
            set_(self, "memory_budget", parse_memory_budget(self.memory_budget))

    def check(self) -> IsotropyOptions:
        """Every value checked (one-line ProtisoErrors naming the option); returns self."""
        for grouping in self.by:
            if grouping not in GROUPINGS:
                raise ProtisoError(f"unknown grouping {grouping!r}; choose from {', '.join(GROUPINGS)}")
        for scope in self.scopes:
            if scope not in SCOPES:
                raise ProtisoError(f"unknown scope {scope!r}; choose from {', '.join(SCOPES)}")
        for name in ("bootstrap", "null_draws"):
            if getattr(self, name) < 0:
                raise ProtisoError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.null not in NULL_METHODS:
            raise ProtisoError(f"unknown --null {self.null!r}; choose from {', '.join(NULL_METHODS)}")
        if self.workers is not None:
            whole_number("--workers", self.workers, 1)
        if self.strata < 1:
            raise ProtisoError(f"--strata must be >= 1, got {self.strata}")
        if self.min_points < 2:
            raise ProtisoError(f"--min-points must be >= 2, got {self.min_points}")
        if not 0 < self.level < 1:
            raise ProtisoError(f"--level must be in (0, 1), got {self.level}")
        check_shrinkage(self.zeta, 1, None)
        parse_memory_budget(self.memory_budget)
        for control in self.controls or ():
            _check_control(control)
        return self


@dataclass(frozen=True)
class ExportOptions:
    """Every option of an export (``protiso export --help``): ``output`` FILE.h5 / .npz / .parquet, ``model``,
    ``layer`` (None: the model's only one), ``embedding_set``, ``residues`` (the stored per-residue vectors
    too), ``force`` (replace an existing ``output``), ``control`` (none, shuffled or random-init vectors)."""

    output: str | Path
    model: str
    layer: int | None = None
    embedding_set: str = "raw"
    residues: bool = False
    force: bool = False
    control: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", Path(self.output))

    def check(self) -> ExportOptions:
        if self.residues and self.embedding_set != "raw":
            raise ProtisoError(f"--residues exports the stored (raw) residue vectors; use it with --set raw, "
                               f"not {self.embedding_set}")
        _check_control(self.control)
        return self


def _check_control(control: str) -> None:
    # Lazy: importing protiso.embedding loads scipy, and the CLI reads these options when it starts.
    from protiso.embedding.controls import check_control

    check_control(control)


@dataclass(frozen=True)
class ShuffleOptions:
    """``output``: the FASTA to write; ``model``: only proteins holding a real vector of it (default: every
    protein with a sequence); ``seed``: the shuffle's seed (the one to give ``import-vectors --seed``)."""

    output: str | Path
    model: str | None = None
    seed: int = 0
    force: bool = False

    def check(self) -> ShuffleOptions:
        """Every value checked (one-line ProtisoErrors naming the option); returns self."""
        whole_number("--seed", self.seed, 0)
        if self.model is not None and not str(self.model).strip():
            raise ProtisoError("--model must name a stored model; got an empty string")
        return self
