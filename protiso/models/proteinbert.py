"""ProteinBERT (Brandes et al. 2022, nadavbra/protein_bert): a torch port that loads the original pickle.

A port rather than a TensorFlow extra: the network is small and plain, and one deep-learning runtime is
enough. The pickle is read by an unpickler that only rebuilds numpy arrays; widths, depth and heads come
from the weights' shapes. Inputs follow the original (``<START> residues <END>`` padded to the smallest
``512 * 2**k`` that holds them, an all-zero annotation vector); layer k is block k's output (global track
512-wide, residues 128-wide), layer 0 the input layers. docs/architecture.md (module notes) has the
weight layout and the rules in full.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from protiso.errors import ProtisoError
from protiso.models import random_init
from protiso.models.base import ModelAdapter, SequenceOutput
from protiso.models.hf import resolve_device
from protiso.models.unirep import file_digest

ALL_AAS = "ACDEFGHIKLMNPQRSTUVWXY"  # proteinbert.tokenization
OTHER, START, END, PAD = 22, 23, 24, 25
TOKEN = {aa: i for i, aa in enumerate(ALL_AAS)}
LAYER_NORM_EPS = 1e-3  # keras.layers.LayerNormalization default
BLOCK_ARRAYS = 23
NAMES_PER_BLOCK = (
    "g2s_w", "g2s_b", "narrow_w", "narrow_b", "wide_w", "wide_b", "ln1_g", "ln1_b",
    "seq_w", "seq_b", "ln2_g", "ln2_b", "gd1_w", "gd1_b", "wq", "wk", "wv",
    "gln1_g", "gln1_b", "gd2_w", "gd2_b", "gln2_g", "gln2_b",
)  # fmt: skip
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}  # fmt: skip


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_dump(path: Path) -> tuple[int, list[np.ndarray]]:
    """Read ``(n_annotations, model_weights, optimizer_weights)`` from a ProteinBERT dump."""
    if not path.is_file():
        raise ProtisoError(f"{path}: ProteinBERT weight file not found")
    try:
        with path.open("rb") as handle:
            n_annotations, model_weights, _ = _ArraysOnly(handle).load()
        weights = [np.asarray(w, dtype=np.float32) for w in model_weights]
    except Exception as error:  # any malformed pickle is the user's file's fault
        raise ProtisoError(f"{path}: not a ProteinBERT dump ({error})") from None
    if (len(weights) - 7) % BLOCK_ARRAYS or len(weights) < 7 + BLOCK_ARRAYS:
        raise ProtisoError(f"{path}: {len(weights)} arrays is not a ProteinBERT weight list")
    return int(n_annotations), weights


def weight_names(count: int) -> list[str]:
    """Names of the ``count`` arrays of a dump, in order (the output layers' as ``out*_w`` / ``out*_b``)."""
    blocks = (count - 7) // BLOCK_ARRAYS
    return ["global_w", "global_b", "embedding", *NAMES_PER_BLOCK * blocks, "out_seq_w", "out_seq_b",
            "out_global_w", "out_global_b"]


def block_seq_len(length: int, start_seq_len: int = 512) -> int:
    """The padded length the original evaluates a sequence of ``length`` residues at."""
    seq_len = start_seq_len
    while seq_len < length + 2:
        seq_len *= 2
    return seq_len


def check_shapes(weights: list[np.ndarray]) -> None:
    """Raise ProtisoError unless ``weights`` has the shapes and order of create_model()'s variables."""
    n_annotations, dg = weights[0].shape if weights[0].ndim == 2 else (0, 0)
    vocab, ds = weights[2].shape if weights[2].ndim == 2 else (0, 0)
    wq, wv, narrow = weights[3 + 14], weights[3 + 16], weights[3 + 2]
    h, _, dk = wq.shape if wq.ndim == 3 else (1, 0, 0)
    dv, k = (wv.shape[-1], narrow.shape[0]) if wv.ndim == 3 and narrow.ndim == 3 else (0, 0)
    per_block = [
        (dg, ds), (ds,), (k, ds, ds), (ds,), (k, ds, ds), (ds,), (ds,), (ds,), (ds, ds), (ds,),
        (ds,), (ds,), (dg, dg), (dg,), (h, dg, dk), (h, ds, dk), (h, ds, dv), (dg,), (dg,),
        (dg, dg), (dg,), (dg,), (dg,),
    ]  # fmt: skip
    n_blocks = (len(weights) - 7) // BLOCK_ARRAYS
    expected = [(n_annotations, dg), (dg,), (vocab, ds)] + per_block * n_blocks
    expected += [(ds, vocab), (vocab,), (dg, n_annotations), (n_annotations,)]
    for index, (array, shape) in enumerate(zip(weights, expected)):
        if array.shape != shape or 0 in shape:
            block, position = divmod(index - 3, BLOCK_ARRAYS)
            where = (
                f"block {block + 1} {NAMES_PER_BLOCK[position]}"
                if 0 <= block < n_blocks
                else "input/output layers"
            )
            raise ProtisoError(
                f"ProteinBERT weights: array {index} ({where}) has shape {array.shape}, expected {shape}"
            )
    if h * dv != dg:
        raise ProtisoError("ProteinBERT weights: global attention heads do not match the global width")


def conv_same(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, dilation: int) -> torch.Tensor:
    """Keras ``Conv1D(padding="same")`` on (B, L, in) with a Keras (k, in, out) kernel.

    One matmul per tap rather than cuDNN, whose TF32 default would round on the GPU.
    """
    taps, length = kernel.shape[0], x.shape[1]
    total = dilation * (taps - 1)
    padded = F.pad(x, (0, 0, total // 2, total - total // 2))
    out = bias + padded[:, :length] @ kernel[0]
    for j in range(1, taps):
        out = out + padded[:, j * dilation : j * dilation + length] @ kernel[j]
    return out


class _Net:
    """The ProteinBERT forward pass on torch tensors (weights named as in Keras)."""

    def __init__(self, weights: list[np.ndarray], dilation: int, device: torch.device) -> None:
        check_shapes(weights)

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        self.global_w, self.global_b, self.embedding = map(t, weights[:3])
        self.blocks = []
        for start in range(3, len(weights) - 4, BLOCK_ARRAYS):
            self.blocks.append(dict(zip(NAMES_PER_BLOCK, map(t, weights[start : start + BLOCK_ARRAYS]))))
        self.dilation = dilation
        self.d_seq = self.embedding.shape[1]
        self.d_global = self.global_w.shape[1]
        self.d_key = self.blocks[0]["wq"].shape[2]
        self.vocab = self.embedding.shape[0]

    def attention(self, block: dict, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """GlobalAttention: one query per head from the global vector over all positions."""
        q = torch.tanh(torch.einsum("bg,hgk->bhk", x, block["wq"]))
        k = torch.tanh(torch.einsum("bls,hsk->bhlk", s, block["wk"]))
        v = F.gelu(torch.einsum("bls,hsv->bhlv", s, block["wv"]))
        z = torch.softmax(torch.einsum("bhk,bhlk->bhl", q, k) / math.sqrt(self.d_key), dim=-1)
        return torch.einsum("bhl,bhlv->bhv", z, v).reshape(x.shape[0], -1)

    def __call__(self, tokens: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(B, seq_len) tokens -> [(global (B, dg), local (B, seq_len, ds))] for layers 0..n_blocks."""
        batch = tokens.shape[0]
        g = F.gelu(self.global_b).expand(batch, -1)  # Dense of the all-zero annotation vector
        s = self.embedding[tokens]
        layers = [(g, s)]
        for b in self.blocks:
            seqed_global = F.gelu(g @ b["g2s_w"] + b["g2s_b"])[:, None, :]
            narrow = F.gelu(conv_same(s, b["narrow_w"], b["narrow_b"], 1))
            wide = F.gelu(conv_same(s, b["wide_w"], b["wide_b"], self.dilation))
            s = s + seqed_global + narrow + wide
            s = F.layer_norm(s, (self.d_seq,), b["ln1_g"], b["ln1_b"], LAYER_NORM_EPS)
            s = s + F.gelu(s @ b["seq_w"] + b["seq_b"])
            s = F.layer_norm(s, (self.d_seq,), b["ln2_g"], b["ln2_b"], LAYER_NORM_EPS)
            g = g + F.gelu(g @ b["gd1_w"] + b["gd1_b"]) + self.attention(b, g, s)
            g = F.layer_norm(g, (self.d_global,), b["gln1_g"], b["gln1_b"], LAYER_NORM_EPS)
            g = g + F.gelu(g @ b["gd2_w"] + b["gd2_b"])
            g = F.layer_norm(g, (self.d_global,), b["gln2_g"], b["gln2_b"], LAYER_NORM_EPS)
            layers.append((g, s))
        return layers


class ProteinBERT(ModelAdapter):
    """ProteinBERT from the original pretrained dump: ``ProteinBERT(weights=path_to_pkl)``."""

    def __init__(
        self,
        weights: str | Path,
        device: str | torch.device = "auto",
        start_seq_len: int = 512,
        wide_conv_dilation_rate: int = 5,
        init_seed: int | None = None,
    ) -> None:
        path = Path(weights)
        _, arrays = load_dump(path)
        if init_seed is not None:  # the random-init control: same shapes, drawn weights (Keras defaults)
            check_shapes(arrays)
            arrays = random_init.proteinbert_arrays(arrays, weight_names(len(arrays)), init_seed)
        self.device = resolve_device(str(device))
        self.net = _Net(arrays, wide_conv_dilation_rate, self.device)
        if self.net.vocab != PAD + 1:
            raise ProtisoError(f"{path}: embedding has {self.net.vocab} tokens, ProteinBERT uses {PAD + 1}")
        self.start_seq_len = start_seq_len
        self.name = "proteinbert"
        self.revision = file_digest(path) if init_seed is None else random_init.revision(init_seed, file_digest(path))
        self.dim = self.net.d_global
        self.residue_dim = self.net.d_seq
        self.num_layers = len(self.net.blocks)
        self.max_residues = None
        self.pooling = "global track, all-zero annotation input"
        self.alphabet = frozenset(ALL_AAS + "BZOJ")  # B Z O J map to <OTHER>, as in the original

    def tokens(self, sequences: list[str], seq_len: int) -> torch.Tensor:
        """``<START> residues <END> <PAD>...`` token ids, (B, seq_len)."""
        ids = torch.full((len(sequences), seq_len), PAD, dtype=torch.long)
        for row, sequence in enumerate(sequences):
            codes = [START] + [TOKEN.get(a, OTHER) for a in sequence] + [END]
            ids[row, : len(codes)] = torch.tensor(codes)
        return ids.to(self.device)

    def embed_batch(self, sequences: list[str], layers: list[int]) -> list[SequenceOutput]:
        wanted = self.resolve_layers(layers)
        outputs = [SequenceOutput() for _ in sequences]
        groups: dict[int, list[int]] = {}
        for row, sequence in enumerate(sequences):
            groups.setdefault(block_seq_len(len(sequence), self.start_seq_len), []).append(row)
        with torch.inference_mode():
            for seq_len, rows in sorted(groups.items()):
                per_layer = self.net(self.tokens([sequences[r] for r in rows], seq_len))
                for layer in wanted:
                    g, s = (part.float().cpu().numpy() for part in per_layer[layer])
                    for i, row in enumerate(rows):
                        outputs[row].global_[layer] = g[i].copy()
                        outputs[row].residues[layer] = s[i, 1 : 1 + len(sequences[row])].copy()
        return outputs
