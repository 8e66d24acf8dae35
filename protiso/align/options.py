"""The options of an alignment run (``AlignOptions``), each default once.

``protiso align``, a job spec's ``[align]`` table and ``align(wh, options, runner)`` all build it;
``check()`` validates the sample, the scoring and the blocks before anything is written. Where the
blocks run is the runner's business (``protiso.align.runners``), not an option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protiso.align.homologs import DEFAULT_EVALUE
from protiso.align.long_pairs import DEFAULT_MAX_CELLS, check_max_cells
from protiso.align.sampling import DESIGNS, SampleSpec
from protiso.align.scoring import Scoring
from protiso.errors import ProtisoError

DEFAULT_FRACTION = 0.01  # the study's: all pairs among 1% of the proteins, when no sample size is given
ALIGNERS = ("auto", "parasail", "biopython")
SAMPLE_FIELDS = ("fraction", "proteins", "pairs", "seed", "min_length", "max_length", "where", "design",
                 "homolog_share", "pair_count", "homolog_source", "homolog_evalue", "model", "all_proteins")


@dataclass(frozen=True)
class AlignOptions:
    """Every option of an alignment run (``protiso align --help`` explains each one).

    The sample: one of ``fraction`` / ``proteins`` (all pairs among them) / ``pairs`` (N random pairs), or
    ``design = "homolog-enriched"`` (``pair_count``, ``homolog_*``); default ``DEFAULT_FRACTION``. The scoring:
    ``matrix``, ``mode``, ``open_score``, ``extend_score``. ``workers``: processes here, or Ray actors.
    """

    fraction: float | None = None
    proteins: int | None = None
    pairs: int | None = None
    design: str = "random"
    seed: int = 0
    matrix: str = "PAM250"
    mode: str = "global"
    open_score: float = -10.0
    extend_score: float = -1.0
    min_length: int | None = None
    max_length: int | None = None
    where: str | None = None
    workers: int | None = None
    block_size: int = 20_000
    max_cells: int = DEFAULT_MAX_CELLS
    aligner: str = "auto"
    homolog_share: float = 0.5
    pair_count: int | None = None
    homolog_source: str = "auto"
    homolog_evalue: float = DEFAULT_EVALUE
    model: str | None = None
    all_proteins: bool = False

    @staticmethod
    def pairs_option(value: int | str | None) -> dict[str, Any]:
        """``--pairs`` / ``pairs =``: N random pairs, ``random`` or ``homolog-enriched``, as option fields."""
        if value is None:
            return {}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"pairs": value}
        text = str(value).strip()
        if text.isdigit():
            return {"pairs": int(text)}
        if text in DESIGNS:
            return {"design": text}
        raise ProtisoError(f"--pairs must be a number of pairs, {' or '.join(DESIGNS)}, not {value!r}")

    def scoring(self) -> Scoring:
        return Scoring(self.matrix, self.mode, float(self.open_score), float(self.extend_score))

    def sample_spec(self) -> SampleSpec:
        """The sample; all pairs among ``DEFAULT_FRACTION`` of the proteins when no size is given."""
        values = {name: getattr(self, name) for name in SAMPLE_FIELDS}
        if self.fraction is None and self.proteins is None and self.pairs is None and self.design == "random":
            values["fraction"] = DEFAULT_FRACTION
        return SampleSpec(**values)

    def check(self) -> AlignOptions:
        """Every value checked (one-line ProtisoErrors naming the option); returns self."""
        self.sample_spec().validate()
        self.scoring()
        if self.block_size < 1:
            raise ProtisoError(f"block size must be at least 1, not {self.block_size}")
        if self.workers is not None and self.workers < 1:
            raise ProtisoError(f"--workers must be at least 1; got {self.workers}")
        if self.aligner not in ALIGNERS:
            raise ProtisoError(f"aligner must be {', '.join(ALIGNERS[:-1])} or {ALIGNERS[-1]}, not {self.aligner!r}")
        check_max_cells(self.max_cells)
        return self
