"""Read an alignment sample from the warehouse: candidates, the seeded choice, encoded sequences."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.align.homologs import MAX_SEQS, SENSITIVITY, find_homologs
from protiso.align.pairstats import SequenceSet
from protiso.align.sampling import (
    DEFAULT_PAIR_COUNT,
    PairPlan,
    SampleSpec,
    choose_pairs,
    choose_proteins,
    stratified_pairs,
)
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
    design: dict = field(default_factory=dict)   # candidates rule, strata sizes, homolog sources (recorded)
    notes: list[str] = field(default_factory=list)


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


def _embedded(wh: Warehouse, spec: SampleSpec, candidates: pa.Array) -> tuple[pa.Array, str, list[str]]:
    """Candidates restricted to embedded proteins (see ``sampling``): (accessions, rule, notes)."""
    if spec.all_proteins:
        return candidates, "all proteins (--all-proteins)", []
    embedded = wh.query(wh.sql_text("align_embedded"), {"model": spec.model}).column("accession")
    if len(embedded) == 0:
        if spec.model is not None:
            raise ProtisoError(f"no protein has a vector of model {spec.model!r}; embed first, or pass "
                               "--all-proteins to sample from every protein")
        return candidates, "all proteins (none embedded yet)", [
            "no protein has an embedding yet: sampling from all proteins (embed first to sample embedded ones)"]
    kept = candidates.filter(pc.is_in(candidates, value_set=embedded.combine_chunks()))
    rule = f"embedded by {spec.model}" if spec.model is not None else "embedded by any model"
    return kept, rule, []


def _encode(scoring: Scoring, accessions: list[str], sequences: list[str]) -> tuple[list, list, int, str]:
    texts, codes, mapped = [], [], 0
    digest = hashlib.sha256()
    for accession, sequence in zip(accessions, sequences):
        text, code, n_unknown = scoring.encode(sequence, accession)
        texts.append(text)
        codes.append(code)
        mapped += n_unknown
        digest.update(f"{accession}\t{text}\n".encode())
    return texts, codes, mapped, digest.hexdigest()


def _sequences(wh: Warehouse, accessions: pa.Array) -> list[str]:
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
    return sequences


def _homolog_sample(wh: Warehouse, spec: SampleSpec, scoring: Scoring, candidates: pa.Array,
                    design: dict, notes: list[str], threads: int) -> Sample:
    """A homolog-enriched sample: proteins, homolog search, stratified pairs, reindexed to the used proteins."""
    n = len(candidates)
    if spec.fraction is not None or spec.proteins is not None:
        selected = candidates.take(pa.array(choose_proteins(n, spec)))
    else:
        selected = candidates
    texts, codes, mapped, _ = _encode(scoring, selected.to_pylist(), _sequences(wh, selected))
    homologs = find_homologs(wh, selected, texts, spec.homolog_source, spec.homolog_evalue, threads)
    notes += homologs.notes
    k = len(selected)
    strata = stratified_pairs(k, homologs.keys, spec.pair_count or DEFAULT_PAIR_COUNT, spec.homolog_share,
                              spec.seed)
    i, j = strata.keys // k, strata.keys % k
    used, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
    accessions = selected.take(pa.array(used))
    texts = [texts[u] for u in used.tolist()]
    codes = [codes[u] for u in used.tolist()]
    digest = hashlib.sha256()
    for accession, text in zip(accessions.to_pylist(), texts):
        digest.update(f"{accession}\t{text}\n".encode())
    digest.update(hashlib.sha256(homologs.keys.tobytes()).digest())
    plan = PairPlan(len(used), inverse[: len(i)].astype(np.int64), inverse[len(i):].astype(np.int64),
                    strata.stratum, strata.weight, homologs.lookup(strata.keys))
    design.update({"selected_proteins": k, "population_pairs": strata.population, "sampled_pairs": strata.sampled,
                   "homolog_sources": homologs.sources, "homolog_candidates": homologs.counts,
                   "homolog_evalue": spec.homolog_evalue,
                   "mmseqs": {"sensitivity": SENSITIVITY, "max_seqs": MAX_SEQS, "matrix": "BLOSUM62 (MMseqs2 default)"},
                   "weight": "N_h / n_h: population pairs of the stratum over sampled pairs"})
    design["residues_mapped_to_X_selected"] = mapped  # over every selected protein (the homolog search's input)
    return Sample(accessions, SequenceSet.from_codes(texts, codes), plan, n, digest.hexdigest(),
                  mapped, design, notes)


def load_sample(wh: Warehouse, spec: SampleSpec, scoring: Scoring, threads: int = 1) -> Sample:
    total = wh.con.execute("SELECT count(*) FROM proteins").fetchall()[0][0]
    if total == 0:
        raise ProtisoError(f"the warehouse {wh.path} has no proteins; ingest some first (protiso ingest ...)")
    candidates, rule, notes = _embedded(wh, spec, _candidates(wh, spec))
    design = {"candidates": rule}
    if spec.design == "homolog-enriched":
        return _homolog_sample(wh, spec, scoring, candidates, design, notes, threads)
    n = len(candidates)
    if spec.pairs is not None:
        i, j = choose_pairs(n, spec.pairs, spec.seed)
        chosen, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
        plan = PairPlan(len(chosen), inverse[: len(i)].astype(np.int64), inverse[len(i):].astype(np.int64))
    else:
        chosen = choose_proteins(n, spec)
        plan = PairPlan(len(chosen))
    accessions = candidates.take(pa.array(chosen))
    texts, codes, mapped, fingerprint = _encode(scoring, accessions.to_pylist(), _sequences(wh, accessions))
    return Sample(accessions, SequenceSet.from_codes(texts, codes), plan, n, fingerprint, mapped, design, notes)
