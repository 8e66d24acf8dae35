"""Read an alignment sample from the warehouse: candidates, the seeded choice, encoded sequences."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from protiso.align.aligners import SequenceSet
from protiso.align.sampling import PairPlan, SampleSpec, choose_pairs, choose_proteins
from protiso.align.scoring import Scoring
from protiso.errors import ProtisoError
from protiso.warehouse.predicates import check_predicate

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse


@dataclass
class Sample:
    accessions: pa.Array        # sampled accessions, sorted; index = protein index of the plan
    seqs: SequenceSet
    plan: PairPlan
    n_candidates: int
    fingerprint: str            # sha256 over (accession, normalised sequence) of the sample
    mapped: int                 # residues mapped to X


def _candidates(wh: Warehouse, spec: SampleSpec) -> pa.Array:
    source = wh.sql_text("align_source")
    where = check_predicate(spec.where)
    if where:
        # On lines of its own, so that a trailing '--' comment cannot swallow the closing parenthesis.
        source = source.replace("/*WHERE*/ TRUE", f"(\n{where}\n)")
    if len(duckdb.extract_statements(source)) != 1:  # check_predicate already refuses this; belt and braces
        raise ProtisoError("--where must be one boolean SQL expression, not several statements")
    try:
        wh.con.execute(source)
        table = wh.query(wh.sql_text("align_candidates"),
                         {"min_length": spec.min_length, "max_length": spec.max_length})
    except duckdb.Error as error:
        what = f"--where {spec.where!r}" if spec.where else "the proteins table"
        raise ProtisoError(f"cannot select proteins with {what}: {str(error).splitlines()[0]}") from None
    return table.column("accession").combine_chunks()


def load_sample(wh: Warehouse, spec: SampleSpec, scoring: Scoring) -> Sample:
    total = wh.con.execute("SELECT count(*) FROM proteins").fetchall()[0][0]
    if total == 0:
        raise ProtisoError(f"the warehouse {wh.path} has no proteins; ingest some first (protiso ingest ...)")
    candidates = _candidates(wh, spec)
    n = len(candidates)
    if spec.pairs is not None:
        i, j = choose_pairs(n, spec.pairs, spec.seed)
        chosen, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
        plan = PairPlan(len(chosen), inverse[: len(i)].astype(np.int64), inverse[len(i):].astype(np.int64))
    else:
        chosen = choose_proteins(n, spec)
        plan = PairPlan(len(chosen))
    accessions = candidates.take(pa.array(chosen))
    wh.con.register("protiso_align_sample", pa.table({"accession": accessions}))
    try:
        rows = wh.query(wh.sql_text("align_sequences"))
    finally:
        wh.con.unregister("protiso_align_sample")
    sequences = rows.column("sequence").to_pylist()
    missing = [acc for acc, seq in zip(rows.column("accession").to_pylist(), sequences) if seq is None]
    if missing:
        raise ProtisoError(f"{len(missing)} sampled protein(s) are missing from the warehouse: "
                           f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    texts, codes, mapped = [], [], 0
    digest = hashlib.sha256()
    for accession, sequence in zip(accessions.to_pylist(), sequences):
        text, code, n_unknown = scoring.encode(sequence, accession)
        texts.append(text)
        codes.append(code)
        mapped += n_unknown
        digest.update(f"{accession}\t{text}\n".encode())
    return Sample(accessions, SequenceSet.from_codes(texts, codes), plan, n, digest.hexdigest(), mapped)
