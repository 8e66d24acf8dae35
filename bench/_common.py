"""What several benchmarks share: this process's memory figures and the Swiss-Prot 2014 FASTA reader.

Imported as ``_common`` by scripts run from ``bench/`` (Python puts a script's folder on its path).
"""

from __future__ import annotations

import gzip
from pathlib import Path


def status_mib(field: str) -> float:
    """A figure of /proc/self/status (``VmRSS``, ``VmHWM``, ...) in MiB; 0 where the kernel has none."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    """This process's peak RSS (the kernel's high-water mark) in MiB."""
    return status_mib("VmHWM")


def reset_peak() -> None:
    """Reset the high-water mark to the current RSS, so the next peak is of what follows."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def read_fasta(path: Path, limit: int | None = None) -> list[tuple[str, str]]:
    """(accession, sequence) of a gzipped FASTA file in file order, the first ``limit`` records if given."""
    out, accession, chunks = [], None, []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if accession:
                    out.append((accession, "".join(chunks)))
                    if limit and len(out) >= limit:
                        return out
                accession, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if accession:
        out.append((accession, "".join(chunks)))
    return out[:limit] if limit else out
