"""Controls: the baselines every embedding result is compared with (issue 21).

* ``none``: the model's trained weights on the real sequences (every ordinary run);
* ``shuffled``: the trained model on each protein's residues in a seeded random order, so length and
  composition stay and order goes. The order depends only on ``(seed, accession)``, never on which
  proteins a run selects or in what order; the shuffled sequence and its permutation are stored in
  ``control_sequences`` (re-embed them with any other tool);
* ``random-init``: the same architecture and tokenizer with seeded random weights, drawn by the model
  family's own initialisation (``protiso.models.random_init``).

Each is a value of the ``control`` column of embeddings, residues, statistics, isotropy, pair metrics
and correlations, so one SQL query puts the real result beside its controls.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from protiso.errors import ProtisoError
from protiso.sequences.normalise import seq_hash

CONTROLS = ("none", "shuffled", "random-init")


def check_control(control: str) -> str:
    """``control`` if it is one of CONTROLS, else a one-line error."""
    if control not in CONTROLS:
        raise ProtisoError(f"--control must be one of {', '.join(CONTROLS)}; got {control!r}")
    return control


def permutation(accession: str, length: int, seed: int) -> np.ndarray:
    """The seeded order of a protein's residues (0-based positions in the original sequence)."""
    digest = hashlib.blake2b(f"shuffled:{seed}:{accession}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "big")).permutation(length)


def shuffle(accession: str, sequence: str, seed: int) -> tuple[str, np.ndarray]:
    """(shuffled sequence, permutation) with ``shuffled[i] == sequence[order[i]]``."""
    order = permutation(accession, len(sequence), seed)
    return "".join(sequence[i] for i in order), order


def shuffled_pending(pending: pa.Table, seed: int, run_id: str | None = None) -> tuple[pa.Table, pa.Table]:
    """``pending`` (accession, seq_hash, sequence, ...) with every sequence shuffled and its seq_hash that of
    the shuffled sequence, and the ``control_sequences`` rows that record the shuffles."""
    accessions = pending.column("accession").to_pylist()
    originals = pending.column("sequence").to_pylist()
    shuffled, orders = [], []
    for accession, sequence in zip(accessions, originals):
        text, order = shuffle(accession, sequence, seed)
        shuffled.append(text)
        orders.append((order + 1).astype(np.int32).tolist())
    hashes = [seq_hash(s) for s in shuffled]
    out = pending.set_column(pending.schema.get_field_index("sequence"), "sequence", pa.array(shuffled, pa.string()))
    out = out.set_column(out.schema.get_field_index("seq_hash"), "seq_hash", pa.array(hashes, pa.string()))
    rows = pa.table({
        "accession": pa.array(accessions, pa.string()),
        "control": pa.array(["shuffled"] * len(accessions), pa.string()),
        "seed": pa.array([seed] * len(accessions), pa.int64()),
        "seq_hash": pending.column("seq_hash"),
        "shuffled_hash": pa.array(hashes, pa.string()),
        "sequence": pa.array(shuffled, pa.string()),
        "permutation": pa.array(orders, pa.list_(pa.int32())),
        "run_id": pa.array([run_id] * len(accessions), pa.string()),
    })
    return out, rows


def with_control(table: pa.Table, control: str) -> pa.Table:
    """``table`` with a ``control`` column holding ``control`` (replacing one it has)."""
    column = pa.array([control] * table.num_rows, pa.string())
    if "control" in table.column_names:
        return table.set_column(table.schema.get_field_index("control"), "control", column)
    return table.append_column("control", column)


def record_shuffles(run, rows: pa.Table) -> None:
    """Store shuffled sequences (``shuffled_pending``'s rows) in ``control_sequences``, in one commit of ``run``
    (an embed run's before its vectors; ``protiso shuffle``'s before its FASTA appears)."""
    wh = run.warehouse
    wh.con.register("protiso_control_sequences", rows)
    try:
        with run.commit() as tx:
            tx.execute(wh.sql_text("embed_insert_control_sequences"), {"run_id": run.id})
    finally:
        wh.con.unregister("protiso_control_sequences")
