"""What an embedding run is asked to do, checked once, before anything is committed.

``EmbedOptions`` is the one list of embedding options: the CLI (``protiso embed``, ``protiso ingest
--model``), TOML job specs (``[[embed]]``), the job (``protiso.embedding.job``) and every runner read
it. ``prepare(options, runner)`` checks it completely — option values, the ``--where`` predicate,
the ``--accessions`` file (read), the model and its weights (loaded), the layers against the
model — and returns a ``Prepared`` embedding; nothing is written before ``prepare`` has succeeded,
so a bad option fails with the warehouse unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from protiso.embedding.controls import check_control
from protiso.embedding.lengths import DEFAULT_LENGTH_POLICY, LENGTH_POLICIES
from protiso.embedding.runners import LocalRunner, Runner
from protiso.embedding.stage_io import CPU_BATCH_TOKENS, GPU_BATCH_TOKENS, StageOptions, parse_residues
from protiso.errors import ProtisoError
from protiso.models.base import ModelAdapter
from protiso.models.registry import load_model
from protiso.warehouse.predicates import check_predicate, read_accessions


@dataclass(frozen=True)
class EmbedOptions:
    """Every option of an embedding run (see ``protiso ingest --help`` for each one's meaning).

    ``layers``: ``None``/``last``, ``all``, ``"4,-1"`` or a list of ints. ``residues``: ``all``,
    ``none`` or the fraction of proteins (seeded by accession) whose per-residue vectors are
    stored; statistics always cover every residue. ``length_policy`` (``--long``): ``truncate``
    (default), ``window``, ``skip`` or ``chunk`` for sequences longer than the model's limit (see
    ``protiso.embedding.lengths``). ``batch_tokens``: padded tokens per forward (default 2,048 on
    CPU, 32,768 on CUDA). ``chunk_residues``: residues per committed chunk (default: about
    ``commit_seconds`` of work locally, about four chunks per worker on Ray).

    Which proteins (``protiso.embedding.select``; default: every protein not yet embedded):
    ``accessions`` (a file with one accession a line, or a list), ``where`` (one SQL boolean
    expression over proteins and their annotations), ``sample`` (N proteins of that selection,
    drawn by ``seed``; ``seed`` also seeds the per-residue sample).

    ``control`` (``protiso.embedding.controls``): ``none``, ``shuffled`` (each protein's residues in
    the order ``seed`` and its accession draw) or ``random-init`` (the architecture with weights drawn
    by ``seed``).
    """

    model: str = "antiberty"
    layers: str | Sequence[int] | None = None
    residues: str | float = "none"
    device: str = "auto"
    batch_tokens: int | None = None
    length_policy: str = DEFAULT_LENGTH_POLICY
    seed: int = 0
    weights: str | None = None
    max_residues: int | None = None
    skip_invalid: bool = False
    chunk_residues: int | None = None
    commit_seconds: float = 60.0
    sample: int | None = None
    accessions: str | Sequence[str] | None = None
    where: str | None = None
    control: str = "none"

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str) -> EmbedOptions:
        """Options from a mapping (a TOML table): unknown keys and wrong types are one-line errors."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ProtisoError(f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")
        if "model" not in values:
            raise ProtisoError(f"{where}: `model` is required")
        return cls(**values)

    def check(self) -> float:
        """Check every value that needs no model; returns the residue fraction kept."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise ProtisoError(f"--model must be a model name or path; got {self.model!r}")
        if self.length_policy not in LENGTH_POLICIES:
            raise ProtisoError(f"the length policy (--long, --length-policy) must be one of "
                               f"{', '.join(LENGTH_POLICIES)}; got {self.length_policy!r}")
        for name in ("batch_tokens", "chunk_residues", "max_residues", "sample"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ProtisoError(f"--{name.replace('_', '-')} must be a positive integer; got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ProtisoError(f"--seed must be an integer; got {self.seed!r}")
        if not isinstance(self.skip_invalid, bool):
            raise ProtisoError(f"skip_invalid must be true or false; got {self.skip_invalid!r}")
        if not isinstance(self.device, str):
            raise ProtisoError(f"--device must be auto, cpu or cuda; got {self.device!r}")
        if not isinstance(self.commit_seconds, (int, float)) or self.commit_seconds <= 0:
            raise ProtisoError(f"commit_seconds must be a positive number; got {self.commit_seconds!r}")
        check_predicate(self.where)
        check_control(self.control)
        if self.accessions is not None and not isinstance(self.accessions, (str, list, tuple)):
            raise ProtisoError(f"--accessions must be a file or a list of accessions; got {self.accessions!r}")
        return parse_residues(self.residues)

    @property
    def chosen(self) -> bool:
        """Whether the user chose proteins (accessions, where or sample) rather than all pending."""
        return self.sample is not None or self.accessions is not None or self.where is not None

    def params(self) -> dict[str, Any]:
        """The options as recorded in the run's parameters."""
        return {"model": self.model, "layers": self.layers, "residues": str(self.residues), "device": self.device,
                "batch_tokens": self.batch_tokens, "chunk_residues": self.chunk_residues,
                "length_policy": self.length_policy, "seed": self.seed, "weights": self.weights,
                "max_residues": self.max_residues, "skip_invalid": self.skip_invalid, "sample": self.sample,
                "accessions": self.accessions if isinstance(self.accessions, (str, type(None)))
                else f"{len(self.accessions)} listed", "where": self.where, "control": self.control,
                "control_seed": None if self.control == "none" else self.seed}


@dataclass
class Prepared:
    """An embedding run whose options, model and layers have all been checked."""

    options: EmbedOptions
    adapter: ModelAdapter
    layers: list[int]
    batch_tokens: int
    fraction: float  # proteins whose residue vectors are stored
    accessions: list[str] | None = None  # the --accessions list, read and de-duplicated

    @property
    def init_seed(self) -> int | None:
        """The seed of the random weights (``--control random-init``), else None (trained weights)."""
        return self.options.seed if self.options.control == "random-init" else None

    def stage_options(self, run_id: str, layers: Sequence[int] | None = None) -> StageOptions:
        return StageOptions(layers=tuple(layers or self.layers), residues=self.fraction,
                            length_policy=self.options.length_policy, batch_tokens=self.batch_tokens,
                            seed=self.options.seed, run_id=run_id, control=self.options.control)


def prepare(options: EmbedOptions, runner: Runner | None = None, adapter: ModelAdapter | None = None) -> Prepared:
    """Check ``options`` for ``runner`` (default: the local one) and load the model; writes nothing.

    ``adapter`` reuses an already loaded model. The runner says where the driver loads the model
    (Ray workers load their own copy; the driver only checks sequences and reads metadata).
    """
    fraction = options.check()
    accessions = read_accessions(options.accessions)
    runner = runner or LocalRunner()
    runner.check()
    if adapter is None:
        adapter = load_model(options.model, device=runner.driver_device(options.device),
                             weights=options.weights, max_residues=options.max_residues,
                             init_seed=options.seed if options.control == "random-init" else None)
    layers = parse_layers(options.layers, adapter)
    if options.length_policy == "window" and adapter.max_residues is not None and adapter.residue_dim != adapter.dim:
        raise ProtisoError(f"--long window needs a model whose global vector is the mean of its residue vectors; "
                           f"{adapter.name}'s are {adapter.dim}- and {adapter.residue_dim}-dimensional")
    batch_tokens = options.batch_tokens
    if batch_tokens is None:
        batch_tokens = GPU_BATCH_TOKENS if runner.worker_device(options.device, adapter) == "cuda" else CPU_BATCH_TOKENS
    return Prepared(options, adapter, layers, batch_tokens, fraction, accessions)


def parse_layers(spec: str | Sequence[int] | None, adapter: ModelAdapter) -> list[int]:
    """``None``/``last`` -> [last]; ``all`` -> every layer; ``"4,-1"`` or ``[4, -1]`` -> those (negatives from the end).

    Range checks are the adapter's (``ModelAdapter.resolve_layers``).
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "last")):
        return adapter.resolve_layers(None)
    if isinstance(spec, str) and spec.strip().lower() == "all":
        return list(range(adapter.first_layer, adapter.num_layers + 1))
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = [spec]
    if not isinstance(spec, (str, list, tuple)):
        raise ProtisoError(f"--layers takes last, all or integers; got {spec!r}")
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        layers = [int(item) for item in items if not isinstance(item, (bool, float))]
    except (TypeError, ValueError):
        raise ProtisoError(f"--layers takes last, all or integers; got {spec!r}") from None
    if len(layers) != len(items):
        raise ProtisoError(f"--layers takes last, all or integers; got {spec!r}")
    return adapter.resolve_layers(layers)
