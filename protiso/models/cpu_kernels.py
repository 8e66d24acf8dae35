"""Faster fp32 inference on CPU: oneDNN linear kernels, with GELU fused, in place of ``nn.Linear``.

:func:`accelerate` swaps every ``nn.Linear`` for :class:`FusedLinear` (same weights; oneDNN's
``mkldnn._linear_pointwise``, the exact GELU of BERT-style ``intermediate`` blocks in the GEMM's epilogue).
The arithmetic stays fp32. A probe sequence is run before and after the swap, which is undone unless every
hidden state agrees to cosine 1 - 1e-7; ``PROTISO_CPU_KERNELS=torch`` turns it off. The speed-up is in
docs/benchmarks.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn

ENV = "PROTISO_CPU_KERNELS"
AGREEMENT = 1e-7  # largest allowed 1 - cosine between any hidden state before and after


class FusedLinear(nn.Linear):
    """``activation(x @ weight.T + bias)`` through oneDNN, sharing the original layer's tensors.

    Falls back to ``torch.nn.functional`` when autograd is on or the input is not fp32 on CPU.
    """

    activation: str  # "none" or "gelu" (exact, erf-based)

    @classmethod
    def from_linear(cls, linear: nn.Linear, activation: str = "none") -> FusedLinear:
        fused = cls.__new__(cls)
        nn.Module.__init__(fused)
        fused.in_features, fused.out_features = linear.in_features, linear.out_features
        fused.weight, fused.bias = linear.weight, linear.bias
        fused.activation = activation
        return fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.device.type != "cpu" or x.dtype != torch.float32:
            y = nn.functional.linear(x, self.weight, self.bias)
            return nn.functional.gelu(y) if self.activation == "gelu" else y
        algorithm = "none" if self.activation == "gelu" else ""
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.weight, self.bias, self.activation, [],
                                                  algorithm)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}, kernel=oneDNN"


def available() -> bool:
    """The oneDNN op exists in this torch build and the user has not turned it off."""
    if os.environ.get(ENV, "onednn").lower() in {"torch", "off", "0", "none"}:
        return False
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _is_exact_gelu(function: Callable) -> bool:
    probe = torch.linspace(-6, 6, 97)
    try:
        with torch.no_grad():
            return bool(torch.allclose(function(probe), nn.functional.gelu(probe), rtol=0, atol=1e-6))
    except Exception:  # an activation that is not a plain function of a tensor
        return False


def swap(model: nn.Module) -> list[tuple[nn.Module, str, object]]:
    """Swap the linears of ``model`` in place; returns what :func:`restore` needs to undo it."""
    undo: list[tuple[nn.Module, str, object]] = []
    for module in list(model.modules()):
        dense, act = getattr(module, "dense", None), getattr(module, "intermediate_act_fn", None)
        fuse_gelu = isinstance(dense, nn.Linear) and act is not None and _is_exact_gelu(act)
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                undo.append((module, name, child))
                activation = "gelu" if fuse_gelu and name == "dense" else "none"
                setattr(module, name, FusedLinear.from_linear(child, activation))
        if fuse_gelu:
            undo.append((module, "intermediate_act_fn", act))
            module.intermediate_act_fn = nn.Identity()
    return undo


def restore(undo: list[tuple[nn.Module, str, object]]) -> None:
    for module, name, original in reversed(undo):
        setattr(module, name, original)


def _agree(before: tuple[torch.Tensor, ...], after: tuple[torch.Tensor, ...]) -> bool:
    if len(before) != len(after):
        return False
    for a, b in zip(before, after):
        cosine = nn.functional.cosine_similarity(a.double().flatten(0, -2), b.double().flatten(0, -2), dim=-1)
        if not bool(torch.isfinite(cosine).all()) or float((1 - cosine).max()) > AGREEMENT:
            return False
    return True


@torch.inference_mode()
def accelerate(model: nn.Module, probe: Callable[[], tuple[torch.Tensor, ...]]) -> str:
    """Swap in oneDNN kernels if available and ``probe()`` (all hidden states) agrees; returns
    the kernels in use: ``"oneDNN"`` or ``"torch"``."""
    if not available():
        return "torch"
    before = probe()
    undo = swap(model)
    if not undo:
        return "torch"
    try:
        agree = _agree(before, probe())
    except RuntimeError:
        agree = False
    if not agree:
        restore(undo)
        return "torch"
    return "oneDNN"
