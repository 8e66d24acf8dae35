"""Seeded random weights for the random-init control (``protiso embed --control random-init --seed S``).

Each family draws its weights the way its own training code initialises them, with the checkpoint's
architecture kept; the same seed gives the same weights. docs/architecture.md (module notes) lists
each family's rule.
"""

from __future__ import annotations

import numpy as np


def revision(seed: int, architecture: str) -> str:
    """The ``revision`` a random-init adapter records."""
    return f"random-init seed {seed} (architecture of {architecture})"


def glorot_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras' fans: a kernel (..., in, out) has receptive field prod(shape[:-2])."""
    if len(shape) < 2:
        return shape[0], shape[0]
    field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * field, shape[-1] * field


def unirep_arrays(arrays: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """UniRep weight arrays of the same names and shapes as ``arrays``, drawn by ``seed``."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for key in sorted(arrays):
        shape = arrays[key].shape
        name = key.rsplit(".", 1)[-1]
        if key == "embedding":
            out[key] = rng.normal(size=shape)
        elif name == "b":
            out[key] = np.zeros(shape)
        elif name.startswith("w"):
            out[key] = glorot_normal(rng, shape)
        else:
            out[key] = arrays[key]  # gains: set below from their matrices
    for key in arrays:
        prefix, name = key.rsplit(".", 1) if "." in key else ("", key)
        if name.startswith("g"):
            matrix = out[f"{prefix}.w{name[1:]}"]
            out[key] = np.linalg.norm(matrix, axis=0).reshape(arrays[key].shape)
    return {k: v.astype(np.float32) for k, v in out.items()}


def proteinbert_arrays(weights: list[np.ndarray], names: list[str], seed: int) -> list[np.ndarray]:
    """ProteinBERT weight arrays of the same shapes as ``weights`` (named by ``names``), drawn by ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for array, name in zip(weights, names):
        shape = array.shape
        if name == "embedding":
            drawn = rng.uniform(-0.05, 0.05, size=shape)
        elif name.endswith("_g"):
            drawn = np.ones(shape)
        elif name.endswith("_b"):
            drawn = np.zeros(shape)
        else:
            drawn = glorot_uniform(rng, shape)
        out.append(drawn.astype(array.dtype))
    return out
