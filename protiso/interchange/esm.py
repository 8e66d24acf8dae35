"""ESM ``extract.py`` output: a directory with one ``{label}.pt`` per protein.

Each file (found recursively: a header holding ``/`` makes a subdirectory) is a dict with ``label`` (the
FASTA header), ``mean_representations`` and / or ``representations`` (layer number -> tensor); other keys
are ignored. Files are read one at a time, in sorted path order, with ``torch.load(weights_only=True)`` from
their bytes, and converted to float32. docs/architecture.md (module notes) has the layout in full.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

from protiso.errors import ProtisoError
from protiso.interchange.ids import names_for
from protiso.interchange.source import MAX_LAYER, Record


def _pt_files(root: Path) -> list[Path]:
    """Every ``*.pt`` under ``root``, following symlinked folders (each real folder once); a folder that cannot be
    listed, or a ``.pt`` that is not a regular file (a FIFO would block the read), is an error naming it."""
    found: list[Path] = []
    seen: set[str] = set()

    def refuse(error: OSError) -> None:
        raise ProtisoError(f"{error.filename or root}: cannot be listed ({error.strerror or error}); every file "
                           "of the ESM output must be readable") from None

    for folder, dirs, names in os.walk(root, onerror=refuse, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop, or a folder reached twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in names:
            if not name.endswith(".pt"):
                continue
            file = Path(folder) / name
            try:
                mode = os.stat(file).st_mode
            except OSError as error:
                raise ProtisoError(f"{file}: cannot be read ({error.strerror or error})") from None
            if not stat.S_ISREG(mode):
                raise ProtisoError(f"{file}: not a regular file (a FIFO, socket or device); an ESM output holds "
                                   "LABEL.pt files")
            found.append(file)
    return sorted(found)

GLOBAL_KEY = "mean_representations"
RESIDUE_KEY = "representations"
POOLING = "mean over residue tokens (esm extract.py)"


class EsmSource:
    """An ``extract.py`` output directory, read one ``.pt`` file at a time."""

    format = "esm"
    layer = None

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise ProtisoError(f"{path}: --format esm reads a directory of LABEL.pt files (ESM extract.py output)")
        self.path = path
        self.files = _pt_files(path)
        if not self.files:
            raise ProtisoError(f"{path}: no .pt files (ESM extract.py writes one LABEL.pt per protein)")
        self.pooling: str | None = POOLING

    def count(self) -> int:
        return len(self.files)

    def records(self) -> Iterator[Record]:
        # lazy: torch (2 s to load) only to read ESM's .pt files
        import torch

        for file in self.files:
            try:
                with warnings.catch_warnings():  # torch's advice on a refused file is not for this reader
                    warnings.simplefilter("ignore")
                    data = torch.load(io.BytesIO(file.read_bytes()), map_location="cpu", weights_only=True)
            except (RuntimeError, OSError, EOFError, ValueError, KeyError, TypeError, AttributeError,
                    pickle.UnpicklingError) as error:  # what torch raises for a damaged or foreign file
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                if "weights only" in str(error).lower() or "weights_only" in str(error):
                    reason = "it holds Python objects other than tensors, dicts and numbers, which protiso does not load"
                raise ProtisoError(f"{file}: not a readable torch file ({reason})") from None
            yield _record(file, data, torch)


def _record(file: Path, data: object, torch) -> Record:
    if not isinstance(data, dict) or "label" not in data:
        raise ProtisoError(f"{file}: not an ESM extract.py file (expected a dict with 'label' and "
                           f"'{GLOBAL_KEY}' and/or '{RESIDUE_KEY}')")
    label = str(data["label"])
    record = Record(file, label, tuple(names_for(label)))
    for key, target, ndim in ((GLOBAL_KEY, record.global_, 1), (RESIDUE_KEY, record.residues, 2)):
        layers = data.get(key)
        if layers is None:
            continue
        if not isinstance(layers, dict) or not layers:
            raise ProtisoError(f"{record.where()}: '{key}' must map layer numbers to tensors")
        for layer, tensor in layers.items():
            if isinstance(layer, bool) or not isinstance(layer, int) or not isinstance(tensor, torch.Tensor):
                raise ProtisoError(f"{record.where()}: '{key}' must map layer numbers to tensors")
            if tensor.ndim != ndim:
                raise ProtisoError(f"{record.where()}: {key}[{layer}] has shape {tuple(tensor.shape)}, "
                                   f"expected {ndim}-D")
            if layer < 0 or layer > MAX_LAYER:
                raise ProtisoError(f"{record.where()}: '{key}' has layer {layer}; layers are 0 to {MAX_LAYER:,}")
            if tensor.layout != torch.strided or tensor.is_meta:
                kind = "a meta tensor (no data)" if tensor.is_meta else f"a {tensor.layout} tensor"
                raise ProtisoError(f"{record.where()}: {key}[{layer}] is {kind}; expected a dense tensor")
            if not tensor.is_floating_point():
                raise ProtisoError(f"{record.where()}: {key}[{layer}] holds {tensor.dtype}, not floats")
            target[layer] = tensor.detach().to(torch.float32).numpy() if tensor.dtype != torch.float32 \
                else tensor.detach().numpy()
    if not record.global_ and not record.residues:
        raise ProtisoError(f"{record.where()}: holds neither '{GLOBAL_KEY}' nor '{RESIDUE_KEY}' "
                           "(run extract.py with --include mean and/or per_tok)")
    return record
