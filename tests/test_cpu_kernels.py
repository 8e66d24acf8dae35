"""oneDNN linear kernels on CPU: same fp32 results as torch's, checked at load time, undone otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hub_models import FIXTURE_FASTA, protbert, read_fasta
from torch import nn

from protiso.models import cpu_kernels
from protiso.models.registry import load_model

pytestmark = pytest.mark.skipif(not cpu_kernels.available(), reason="this torch build lacks oneDNN linear kernels")
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def linears(model: nn.Module) -> dict[str, type]:
    return {name: type(m) for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def test_antiberty_runs_oneDNN_kernels_with_gelu_fused_and_matches_transformers():
    from transformers import BertModel

    from protiso.models.bert import antiberty_dir

    adapter = load_model("antiberty", device="cpu")
    assert adapter.cpu_kernels == "oneDNN"
    kinds = linears(adapter.model)
    assert kinds and set(kinds.values()) == {cpu_kernels.FusedLinear}
    block = adapter.model.encoder.layer[0]
    assert block.intermediate.dense.activation == "gelu" and isinstance(block.intermediate.intermediate_act_fn, nn.Identity)
    assert block.output.dense.activation == "none"

    plain = BertModel.from_pretrained(str(antiberty_dir() / "AntiBERTy_md_smooth"), add_pooling_layer=False).eval()
    records = [s for _, s in read_fasta(FIXTURE_FASTA) if set(s) <= STANDARD][:6]
    ids, attention, residue = adapter.codec.encode([s[:300] for s in records])  # padded batch
    with torch.inference_mode():
        mine = adapter.model(input_ids=ids, attention_mask=attention, output_hidden_states=True).hidden_states
        theirs = plain(input_ids=ids, attention_mask=attention, output_hidden_states=True).hidden_states
    for a, b in zip(mine, theirs):
        a, b = a[residue].double(), b[residue].double()
        assert torch.nn.functional.cosine_similarity(a, b, dim=-1).min() >= 1 - 1e-9
        assert (a - b).abs().max() <= 1e-4 * b.abs().max()
    # Weights are shared with the original layers, not copied.
    assert block.intermediate.dense.weight is dict(adapter.model.named_parameters())[
        "encoder.layer.0.intermediate.dense.weight"
    ]


def test_environment_switch_keeps_torch_kernels(monkeypatch):
    monkeypatch.setenv(cpu_kernels.ENV, "torch")
    adapter = load_model("antiberty", device="cpu")
    assert adapter.cpu_kernels == "torch"
    assert set(linears(adapter.model).values()) == {nn.Linear}


def test_a_tanh_gelu_is_not_fused_but_the_linears_still_swap(tmp_path):
    directory = protbert(tmp_path / "bert")
    config = json.loads((directory / "config.json").read_text())
    config["hidden_act"] = "gelu_new"  # tanh approximation: oneDNN's erf GELU would be wrong
    (directory / "config.json").write_text(json.dumps(config))
    adapter = load_model(str(directory), device="cpu")
    assert adapter.cpu_kernels == "oneDNN"
    intermediate = adapter.model.encoder.layer[0].intermediate
    assert intermediate.dense.activation == "none"
    assert not isinstance(intermediate.intermediate_act_fn, nn.Identity)


def test_disagreeing_kernels_are_undone(monkeypatch):
    from transformers import BertModel

    from protiso.models.bert import antiberty_dir

    model = BertModel.from_pretrained(str(antiberty_dir() / "AntiBERTy_md_smooth"), add_pooling_layer=False).eval()
    before = {name: module for name, module in model.named_modules()}
    ids = torch.tensor([[2, *range(5, 25), 3]])

    def probe():
        return model(input_ids=ids, output_hidden_states=True).hidden_states

    broken = cpu_kernels.FusedLinear.forward
    monkeypatch.setattr(cpu_kernels.FusedLinear, "forward", lambda self, x: broken(self, x) * 1.01)
    assert cpu_kernels.accelerate(model, probe) == "torch"
    assert {name: module for name, module in model.named_modules()} == before
    assert set(linears(model).values()) == {nn.Linear}


def test_fused_linear_equals_linear_and_falls_back_under_autograd():
    torch.manual_seed(0)
    dense = nn.Linear(48, 96)
    fused = cpu_kernels.FusedLinear.from_linear(dense, "gelu")
    x = torch.randn(3, 17, 48)
    with torch.inference_mode():
        expected = nn.functional.gelu(dense(x))
        got = fused(x)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    y = fused(x.requires_grad_())  # autograd on: plain torch, so gradients flow
    y.sum().backward()
    assert x.grad is not None and dense.weight.grad is not None
    np.testing.assert_allclose(y.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
