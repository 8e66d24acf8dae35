"""``protiso shuffle``: the shuffled-sequence control as FASTA, for a model protiso cannot run here.

Vectors imported from elsewhere (ProtBERT, ESM-2, ...) get their controls the same way: another tool
embeds the file this writes, and ``protiso import-vectors FILE --model M --control shuffled --seed S``
stores what it made beside the real vectors. Each protein's residues are put in the seeded order that
``protiso embed --control shuffled`` uses (``protiso.embedding.controls.shuffle``: it depends on the seed
and the accession only), the shuffles are recorded in ``control_sequences`` first, and the file appears
only when complete (an existing one is refused unless ``force``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from protiso.embedding.controls import record_shuffles, shuffled_pending
from protiso.errors import ProtisoError
from protiso.jobs.export_vectors import check_output, quietly_remove, temp_beside
from protiso.jobs.options import ShuffleOptions
from protiso.warehouse import Warehouse

LINE = 60   # residues per FASTA line


@dataclass
class ShuffleSummary:
    run_id: str
    output: str
    proteins: int
    residues: int
    seed: int
    model: str | None

    def render(self) -> str:
        which = f"holding vectors of {self.model}" if self.model else "with sequences"
        again = f" --model {self.model}" if self.model else " --model M"
        return (f"wrote {self.proteins:,} shuffled sequences ({self.residues:,} residues) of the proteins {which} "
                f"to {self.output} (seed {self.seed}; run {self.run_id}); embed them with the model, then "
                f"`protiso import-vectors FILE -w W{again} --control shuffled --seed {self.seed}`")


def write_shuffled(wh: Warehouse, options: ShuffleOptions) -> ShuffleSummary:
    """Write the shuffled sequences ``options`` names as FASTA and record them (see the module docstring)."""
    output = Path(options.check().output)
    check_output(output, options.force)
    pending = wh.query(wh.sql_text("shuffle_source"), {"model": options.model})
    if pending.num_rows == 0:
        if options.model:
            raise ProtisoError(f"no protein with a sequence holds a vector of {options.model}; "
                               "list the stored ones with `protiso sql -w W 'SELECT DISTINCT model FROM embeddings'`")
        raise ProtisoError("the warehouse holds no protein sequences; ingest a FASTA or UniProt file first")
    params = {"output": str(output.resolve()), "model": options.model, "seed": options.seed}
    with wh.run("shuffle", params, model=options.model) as run:
        shuffled, rows = shuffled_pending(pending, options.seed)
        record_shuffles(run, rows)
        accessions = shuffled.column("accession").to_pylist()
        sequences = shuffled.column("sequence").to_pylist()
        tmp = temp_beside(output)
        try:
            with open(tmp, "w") as handle:
                for accession, sequence in zip(accessions, sequences):
                    handle.write(f">{accession} shuffled seed={options.seed}\n")
                    for start in range(0, len(sequence), LINE):
                        handle.write(sequence[start:start + LINE] + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, output)
        except OSError as error:
            quietly_remove(tmp)
            raise ProtisoError(f"cannot write {output}: {error.strerror or error}; nothing was written") from None
        except BaseException:
            quietly_remove(tmp)
            raise
        summary = ShuffleSummary(run.id, str(output), len(accessions), sum(map(len, sequences)), options.seed,
                                 options.model)
        run.params["summary"] = {"proteins": summary.proteins, "residues": summary.residues}
    return summary
