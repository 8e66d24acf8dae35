"""Import vectors made elsewhere (``protiso import-vectors``): plan, check, commit all or nothing.

Reads an ESM ``extract.py`` directory, HDF5, ``.npy`` + ids, ``.npz`` or Parquet / Arrow
(``protiso.interchange``), matches each record to a protein by accession or sequence MD5, and writes the
embedding job's ``embeddings`` / ``residues`` layout with residue and embedding statistics, so later steps
cannot tell imported vectors from embedded ones. Records stream in chunks of about ``CHUNK_BYTES`` (read
one ahead); parts are written as they come and catalogued in one transaction at the end. Any error
deletes them and leaves the warehouse as it was, with a one-line message; ``skip_unknown`` keeps
unmatched records in ``rejects`` instead; proteins already holding the model's vector are skipped.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Full, Queue

import pyarrow as pa
from tqdm import tqdm

from protiso.embedding.controls import check_control, shuffle, with_control
from protiso.embedding.stage_io import parse_residues
from protiso.errors import ProtisoError
from protiso.interchange.ids import IdResolver, Match
from protiso.interchange.readers import open_source
from protiso.interchange.rows import RowBuilder
from protiso.interchange.source import FORMATS, MAX_LAYER, Record, Source
from protiso.options import whole_number
from protiso.sequences.normalise import seq_hash
from protiso.warehouse import Warehouse
from protiso.warehouse.embedding_stats import EmbeddingStats, staging

CHUNK_BYTES = 16 * 1024 * 1024  # vector bytes read before one chunk's rows are built and written
UNKNOWN = "matches no protein of the warehouse by accession or sequence MD5"


@dataclass(frozen=True)
class ImportOptions:
    """What to import (see ``protiso import-vectors --help`` for each option's meaning).

    ``layer``: the layer to store (ESM: pick one of the file's, ``-1`` the highest; default all of
    them; other formats: the number to store their one layer under, default the layer a protiso
    export recorded, else -1). ``pooling``: the rule that made the per-protein vectors, in words
    (default: from the file or the format). ``residues``: ``all``, ``none`` or a fraction of proteins
    whose per-residue vectors are stored (residue statistics always use all). ``ids``: the id list of
    a ``.npy`` matrix. ``num_layers``: the model's last layer number, recorded so that reports know
    which stored layer is the model's last (known without it for the study's models,
    ``protiso.report.published.model_layers``).
    """

    path: str
    model: str
    layer: int | None = None
    format: str = "auto"
    pooling: str | None = None
    residues: str | float = "all"
    ids: str | None = None
    skip_unknown: bool = False
    num_layers: int | None = None
    control: str = "none"
    seed: int = 0

    def check(self) -> float:
        """Check the values that need no file; returns the fraction of residue vectors stored."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise ProtisoError(f"--model must name the model the vectors came from; got {self.model!r}")
        if self.format not in FORMATS:
            raise ProtisoError(f"--format must be one of {', '.join(FORMATS)}; got {self.format!r}")
        if self.layer is not None and (isinstance(self.layer, bool) or not isinstance(self.layer, int)
                                       or not -1 <= self.layer <= MAX_LAYER):
            raise ProtisoError(f"--layer must be a layer number (0 to {MAX_LAYER:,}, or -1 for the last); "
                               f"got {self.layer!r}")
        if self.num_layers is not None and (isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int)
                                            or self.num_layers < 1):
            raise ProtisoError(f"--num-layers must be the model's number of layers (>= 1); got {self.num_layers!r}")
        check_control(self.control)
        whole_number("--seed", self.seed, 0)
        if self.pooling is not None and not str(self.pooling).strip():
            raise ProtisoError("--pooling must describe the rule in words; got an empty string")
        return parse_residues(self.residues)

    def params(self, source: Source) -> dict:
        return {"path": str(Path(self.path).resolve()), "format": source.format, "model": self.model,
                "layer": self.layer, "pooling": self.pooling, "residues": str(self.residues),
                "ids": self.ids, "skip_unknown": self.skip_unknown, "num_layers": self.num_layers,
                "control": self.control, **({"seed": self.seed} if self.control == "shuffled" else {})}


@dataclass
class ImportSummary:
    """What one ``import_vectors`` call did."""

    run_id: str
    model: str
    path: str
    format: str
    layers: list[int]
    pooling: str | None
    dims: dict[int, int]
    records: int  # records read from the input
    vectors: int  # embeddings rows written
    proteins: int  # distinct proteins given vectors
    residues: int  # residue vectors in the residue statistics
    residues_stored: int  # of which stored in `residues`
    skipped: int  # (protein, layer) pairs already stored, left as they were
    seconds: float
    rejected: list[str] = field(default_factory=list)  # records matching no protein (skip_unknown)
    created: int = 0  # proteins created from the records' ids (a warehouse without sequences)
    control: str = "none"  # what the vectors are of (protiso.embedding.controls)

    @property
    def rows_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        dims = ", ".join(f"layer {layer}: dim {dim}" for layer, dim in sorted(self.dims.items())) or "no vectors"
        what = self.model if self.control == "none" else f"{self.model}, control {self.control}"
        first = (f"imported {self.vectors:,} vectors for {self.proteins:,} proteins as {what} ({dims}) from "
                 f"{self.path} ({self.format}, {self.records:,} records) in {self.seconds:,.1f} s "
                 f"({self.rows_per_second:,.0f} records/s)")
        lines = [first, f"run {self.run_id}; pooling: {self.pooling}"]
        if self.residues:
            lines.append(f"{self.residues:,} residue vectors in the residue statistics, "
                         f"{self.residues_stored:,} stored in `residues`")
        if self.created:
            lines.append(f"created {self.created:,} proteins from the records' ids (no sequences: isotropy, "
                         "groups and the report work; alignments need sequences)")
        if self.skipped:
            lines.append(f"skipped {self.skipped:,} vectors already stored for {self.model} at that layer")
        if self.rejected:
            shown = ", ".join(self.rejected[:5]) + (" ..." if len(self.rejected) > 5 else "")
            lines.append(f"rejected {len(self.rejected):,} records that {UNKNOWN} (see the rejects table): {shown}")
        return "\n".join(lines)


def import_vectors(wh: Warehouse, options: ImportOptions, progress: bool = True) -> ImportSummary:
    """Import the vectors ``options`` names into ``wh`` (see the module docstring)."""
    fraction = options.check()
    source = open_source(options.path, options.format, options.ids)
    resolver = IdResolver(wh, options.model, options.control)
    letters = _control_letters(options, resolver.sequences)
    try:
        created: dict[str, int | None] | None = None
        if not wh.con.execute(wh.sql_text("has_sequences")).fetchall()[0][1]:
            created = {}  # no sequences to match: records naming no protein create one (vectors only)
        with wh.run("import", options.params(source), model=options.model, defer=True) as run:
            builder = RowBuilder(options.model, run.id, options.layer, source.layer, options.pooling,
                                 source.pooling, fraction, _stored_dims(wh, options.model))
            rejected: list[tuple[str, str, str]] = []  # (file, record, reason) with skip_unknown
            started = time.perf_counter()
            records = 0
            bar = tqdm(total=source.count(), unit="rec", unit_scale=True, desc=f"import {options.model}",
                       file=sys.stderr, disable=not progress, smoothing=0.1)
            global_stats = EmbeddingStats()
            new_proteins = 0
            with bar, staging(wh), run.commit(final=True) as tx:
                for chunk in _read_ahead(_chunks(source.records())):
                    kept = _matched(chunk, source, resolver, options.skip_unknown, rejected, wh, created)
                    if created:
                        tx.write_part("proteins", _new_proteins(created, source, run.id))
                        new_proteins += len(created)
                        created.clear()
                    tables = builder.build([r for r, _ in kept], [f for _, f in kept], letters)
                    for layer, (embeddings, residues) in sorted(tables.items()):
                        partition = {"model": options.model, "layer": layer,
                                     **({} if options.control == "none" else {"control": options.control})}
                        embeddings = _as_control(embeddings, options.control, letters)
                        residues = _as_control(residues, options.control, letters)
                        if embeddings is not None:
                            tx.write_part("embeddings", embeddings, partition)
                            global_stats.add(embeddings, f"vectors of {options.model}")
                        if residues is not None:
                            tx.write_part("residues", residues, partition)
                    records += len(chunk)
                    bar.update(len(chunk))
                for layer, stats in builder.statistics().items():
                    tx.execute(wh.sql_text("embed_residue_stats_upsert"),
                               [run.id, options.model, layer, *stats.to_flat(), options.control])
                global_stats.stage(wh, tx, run.id)
                if rejected:
                    sources, labels, reasons = (list(column) for column in zip(*rejected))
                    tx.execute(wh.sql_text("import_insert_rejects"),
                               {"run_id": run.id, "sources": sources, "records": labels, "reasons": reasons})
                summary = _summary(run.id, options, source, builder, records, rejected, started)
                summary.created = new_proteins
                summary.control = options.control
                run.columns.update(layer=",".join(map(str, builder.layers)) or None, pooling=builder.pooling)
                run.params["layers"] = builder.layers
                run.params["summary"] = {**asdict(summary), "rejected": len(rejected)}
    finally:
        resolver.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _control_letters(options: ImportOptions, sequences: Callable[[list[str]], dict[str, str]]
                     ) -> Callable[[list[str]], dict[str, str]]:
    """The stored sequences as the vectors saw them: for ``shuffled``, in the order ``protiso shuffle`` wrote
    them (seed, accession), so residue letters and sequence hashes are the shuffled sequence's."""
    if options.control != "shuffled":
        return sequences
    return lambda accessions: {a: shuffle(a, s, options.seed)[0] for a, s in sequences(accessions).items() if s}


def _as_control(table: pa.Table | None, control: str, letters: Callable[[list[str]], dict[str, str]]
                ) -> pa.Table | None:
    """``table`` with its ``control`` column; a shuffled control's embeddings carry the shuffled sequence's
    hash where the sequence is known, as ``protiso embed --control shuffled`` writes them."""
    if table is None or control == "none":
        return table
    table = with_control(table, control)
    if control == "shuffled" and "seq_hash" in table.column_names:
        accessions = table.column("accession").to_pylist()
        known = letters(accessions)
        hashes = [seq_hash(known[a]) if known.get(a) else h
                  for a, h in zip(accessions, table.column("seq_hash").to_pylist())]
        table = table.set_column(table.schema.get_field_index("seq_hash"), "seq_hash", pa.array(hashes, pa.string()))
    return table


def _matched(chunk: list[Record], source: Source, resolver: IdResolver, skip_unknown: bool, rejected: list,
             wh: Warehouse, created: dict[str, int | None] | None = None) -> list[tuple[Record, list]]:
    """(record, matches) of the records that name a protein; the others fail the import or are rejected,
    or, with ``created`` (a warehouse without sequences), name a new protein added to ``created``.

    Records whose names match nothing get the source's further names (``more_names``) and a second try.
    """
    found = resolver.resolve([list(r.names) for r in chunk])
    unmatched = [i for i, matches in enumerate(found) if not matches]
    more_names = getattr(source, "more_names", None)
    if unmatched and more_names is not None:
        extra = more_names([chunk[i] for i in unmatched])
        for i, names in zip(unmatched, extra):
            chunk[i].names = tuple(dict.fromkeys(chunk[i].names + names))
        for i, matches in zip(unmatched, resolver.resolve([list(names) for names in extra])):
            found[i] = matches
    kept = []
    for record, matches in zip(chunk, found):
        if matches:
            kept.append((record, matches))
        elif created is not None:
            kept.append((record, [_new_protein(record, created)]))
        elif skip_unknown:
            rejected.append((str(record.file), record.label, UNKNOWN))
        else:
            tried = ", ".join(record.names[:4]) or "no id"
            raise ProtisoError(f"{record.where()}: {UNKNOWN} (tried {tried}; {resolver.proteins:,} proteins in "
                               f"{wh.path})")
    return kept


def _new_protein(record: Record, created: dict[str, int | None]) -> Match:
    """A protein named by the record's id (a UniProt header's accession), its length the residue count
    when the record has per-residue vectors, else unknown."""
    token = record.names[0] if record.names else record.label
    fields = [f for f in token.split("|") if f]
    accession = fields[1] if len(fields) >= 2 and fields[0].lower() in ("sp", "tr") else token
    counts = [len(v) for v in record.residues.values()]
    created[accession] = max(counts) if counts else None
    return Match(accession, None, created[accession], "created", ())


def _new_proteins(created: dict[str, int | None], source: Source, run_id: str) -> pa.Table:
    n = len(created)
    return pa.table({"accession": pa.array(list(created), pa.string()),
                     "length": pa.array(list(created.values()), pa.int32()),
                     "source": pa.array([f"import-vectors {Path(source.path).name} (no sequence)"] * n, pa.string()),
                     "run_id": pa.array([run_id] * n, pa.string())})


def _summary(run_id: str, options: ImportOptions, source: Source, builder: RowBuilder, records: int,
             rejected: list, started: float) -> ImportSummary:
    counts = builder.counts
    return ImportSummary(
        run_id=run_id, model=options.model, path=str(source.path), format=source.format, layers=builder.layers,
        pooling=builder.pooling, dims=dict(builder.dims), records=records, vectors=counts["vectors"],
        proteins=len(builder.imported), residues=counts["residues"], residues_stored=counts["residues_stored"],
        skipped=counts["skipped"], seconds=time.perf_counter() - started, rejected=[r[1] for r in rejected])


def _chunks(records: Iterator[Record]) -> Iterator[list[Record]]:
    """Records in lists of about CHUNK_BYTES of vectors; the source is closed however the import ends."""
    chunk: list[Record] = []
    size = 0
    try:
        for record in records:
            chunk.append(record)
            size += record.nbytes
            if size >= CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


def _read_ahead(chunks: Iterator[list[Record]]) -> Iterator[list[Record]]:
    """``chunks``, read one ahead in a thread: reading the next chunk overlaps writing this one's parts
    (Parquet compression and fsync release the GIL). Holds at most three chunks; errors reach the caller
    in order, after the chunks read before them."""
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which raises it
            put(error)
        finally:
            chunks.close()

    thread = threading.Thread(target=read, name="protiso-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _stored_dims(wh: Warehouse, model: str):
    """Layer -> dimension of the raw vectors ``model`` already holds there (None: none)."""
    cache: dict[int, int | None] = {}

    def dim(layer: int) -> int | None:
        if layer not in cache:
            rows = wh.con.execute(wh.sql_text("import_stored_dim"), {"model": model, "layer": layer}).fetchall()
            cache[layer] = int(rows[0][0]) if rows else None
        return cache[layer]

    return dim
