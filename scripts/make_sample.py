"""Cut the bundled demo sample from the shared Swiss-Prot 2014 files (run once; output is committed).

1,000 proteins drawn with a fixed seed from those of length 50-500 made only of the 20
standard amino acids (AntiBERTy's vocabulary has no X/U/B/Z/O), with their UniProt-GOA
annotation rows; GO term names and graph are copied whole.

    python scripts/make_sample.py ../shared/data/swissprot-2014 protiso/data/sample
"""

from __future__ import annotations

import csv
import gzip
import random
import shutil
import sys
from pathlib import Path

STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def read_fasta(path: Path):
    accession, chunks = None, []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if accession:
                    yield accession, "".join(chunks)
                accession, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if accession:
        yield accession, "".join(chunks)


def main(source: Path, target: Path, n: int = 1000, seed: int = 2014) -> None:
    eligible = [(a, s) for a, s in read_fasta(source / "swissprot_2014.fasta.gz")
                if 50 <= len(s) <= 500 and set(s) <= STANDARD]
    chosen = sorted(random.Random(seed).sample(eligible, n))
    target.mkdir(parents=True, exist_ok=True)
    with gzip.open(target / "swissprot_2014_sample.fasta.gz", "wt", compresslevel=9) as out:
        for accession, sequence in chosen:
            out.write(f">{accession}\n")
            for i in range(0, len(sequence), 60):
                out.write(sequence[i:i + 60] + "\n")
    wanted = {a for a, _ in chosen}
    with gzip.open(source / "swissprot_2014_annotations.tsv.gz", "rt") as src, \
            gzip.open(target / "swissprot_2014_sample_annotations.tsv.gz", "wt", compresslevel=9) as out:
        reader = csv.reader(src, delimiter="\t")
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(next(reader))
        for row in reader:
            if row[0] in wanted:
                writer.writerow(row)
    for name in ("go_2014_terms.tsv.gz", "go_2014_graph.tsv.gz"):
        shutil.copyfile(source / name, target / name)
    print(f"{len(eligible)} eligible, {n} chosen, {sum(len(s) for _, s in chosen)} residues")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
