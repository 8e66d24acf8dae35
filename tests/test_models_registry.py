"""Model resolution: short names, hub ids (local cache only), local directories, devices, errors."""

from __future__ import annotations

import json

import pytest
import torch
from hub_models import protbert

from protiso.errors import ProtisoError
from protiso.models.hf import resolve_device
from protiso.models.registry import load_model


@pytest.mark.parametrize("name,match", [
    ("esm-9000", "unknown model 'esm-9000'"),
    ("", "no model given"),
    ("./nowhere/model", "no such file"),
    ("proteinbert", "pretrained pickle"),
])
def test_bad_names_are_one_line_errors(name, match):
    with pytest.raises(ProtisoError, match=match) as error:
        load_model(name, device="cpu")
    assert "\n" not in str(error.value)


def test_missing_weight_files(tmp_path):
    with pytest.raises(ProtisoError, match="not found"):
        load_model("unirep-64", device="cpu", weights=str(tmp_path / "missing.npz"))
    with pytest.raises(ProtisoError, match="not found"):
        load_model("proteinbert", device="cpu", weights=str(tmp_path / "missing.pkl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProtisoError, match="no config.json"):
        load_model(str(tmp_path / "empty"), device="cpu")


def test_directory_without_weights_is_a_protiso_error(tmp_path):
    model_dir = protbert(tmp_path / "prot_bert")
    (model_dir / "model.safetensors").unlink()
    with pytest.raises(ProtisoError) as error:
        load_model(str(model_dir), device="cpu")
    assert "\n" not in str(error.value) and str(model_dir) in str(error.value)


def test_local_directory_dispatches_on_model_type(tmp_path):
    model_dir = protbert(tmp_path / "prot_bert")
    adapter = load_model(str(model_dir), device="cpu", max_residues=100)
    assert type(adapter).__name__ == "BertAdapter" and adapter.name == "prot_bert"
    assert adapter.max_residues == 100 and adapter.device.type == "cpu"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"]


def test_unirep_short_names_load_lazily():
    adapter = load_model("unirep-64", device="cpu")
    assert type(adapter).__name__ == "UniRep" and adapter.dim == 64


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ProtisoError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ProtisoError, match="unknown device"):
        resolve_device("tpu")
