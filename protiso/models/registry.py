"""Resolve a model name to a loaded adapter: a short name, a Hugging Face id, or a local path.

* short names: ``antiberty``, ``unirep-64``/``unirep-256``/``unirep-1900``, ``proteinbert``
  (needs ``weights=`` the original pretrained pickle);
* a Hugging Face id (``Rostlab/prot_bert``, ``facebook/esm2_t6_8M_UR50D``, ...) is looked up in
  the local Hugging Face cache only: protiso never downloads weights;
* a local directory laid out as the hub does (``config.json`` + weights + tokenizer files):
  ``config.json``'s ``model_type`` chooses the adapter; a ``.npz`` file is UniRep weights and a
  ``.pkl``/``.pickle`` file a ProteinBERT dump.

Everything that goes wrong here is a one-line ProtisoError, raised before anything is written.
"""

from __future__ import annotations

import importlib
import json
import pickle
from pathlib import Path

from protiso.errors import ProtisoError, did_you_mean
from protiso.models.base import ModelAdapter

UNIREP_SIZES = {"unirep-64": 64, "unirep-256": 256, "unirep-1900": 1900}
SHORT_NAMES = ("antiberty", *UNIREP_SIZES, "proteinbert")
# model_type in config.json -> (module, class) of the adapter; anything else is generic.
FAMILIES = {
    "bert": ("protiso.models.bert", "BertAdapter"),
    "xlnet": ("protiso.models.xlnet", "XLNetAdapter"),
    "esm": ("protiso.models.esm", "ESMAdapter"),
    "t5": ("protiso.models.t5", "T5EncoderAdapter"),
}


def load_model(name_or_path: str, device: str = "auto", *, weights: str | None = None,
               max_residues: int | None = None, init_seed: int | None = None) -> ModelAdapter:
    """Load the model named ``name_or_path`` on ``device`` (``auto`` = CUDA when available).

    ``weights`` is a weight-file path for UniRep (overrides the packaged one) and ProteinBERT
    (required). ``max_residues`` overrides the longest sequence a forward accepts. ``init_seed``: the
    same architecture and tokenizer with random weights drawn by that seed, by the family's own
    initialisation (the random-init control, ``protiso.models.random_init``).
    """
    name = name_or_path.strip()
    if not name:
        raise ProtisoError("no model given (use a short name, a Hugging Face id or a local directory)")
    key = name.lower()
    if key == "antiberty":
        # lazy: only the family asked for loads its framework (torch, jax)
        from protiso.models.bert import AntiBERTy

        return AntiBERTy(device=device, max_residues=max_residues, init_seed=init_seed)
    if key in UNIREP_SIZES:
        # lazy: only the family asked for loads its framework (torch, jax)
        from protiso.models.unirep import UniRep

        return UniRep(size=UNIREP_SIZES[key], weights=_existing(weights, name) if weights else None, device=device,
                      init_seed=init_seed)
    if key == "proteinbert":
        if not weights:
            raise ProtisoError("proteinbert needs the path of its pretrained pickle (weights=...)")
        # lazy: only the family asked for loads its framework (torch, jax)
        from protiso.models.proteinbert import ProteinBERT

        return ProteinBERT(weights=_existing(weights, name), device=device, init_seed=init_seed)
    path = Path(name).expanduser()
    if path.exists():
        return _load_path(path, name, device, max_residues, init_seed)
    if _looks_like_path(name):
        raise ProtisoError(f"{name}: no such file or directory")
    if _looks_like_hub_id(name):
        directory = _hub_snapshot(name)
        return _load_directory(directory, name, device, max_residues, init_seed)
    raise ProtisoError(
        f"unknown model {name!r}{did_you_mean(name, SHORT_NAMES)}: use one of {', '.join(SHORT_NAMES)}, "
        "a Hugging Face id or a local directory"
    )


def _existing(weights: str, name: str) -> str:
    if not Path(weights).expanduser().is_file():
        raise ProtisoError(f"{name}: weights file {weights} not found")
    return str(Path(weights).expanduser())


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or name.endswith((".npz", ".pkl", ".pickle"))


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith(".")


def _hub_snapshot(repo_id: str) -> Path:
    """The cached snapshot directory of ``repo_id``; never touches the network."""
    # lazy: huggingface_hub only where a hub model is resolved
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as error:  # LocalEntryNotFoundError, RepositoryNotFoundError, ...
        raise ProtisoError(
            f"{repo_id}: weights not in the local Hugging Face cache ({constants.HF_HUB_CACHE}); "
            f"protiso never downloads: fetch them where a network is available "
            f"(`hf download {repo_id}`) and copy the cache there, or pass a local directory"
        ) from error


def _load_path(path: Path, name: str, device: str, max_residues: int | None,
               init_seed: int | None = None) -> ModelAdapter:
    if path.is_dir():
        return _load_directory(path, name, device, max_residues, init_seed)
    if path.suffix == ".npz":
        # lazy: only the family asked for loads its framework (torch, jax)
        from protiso.models.unirep import UniRep

        return UniRep(weights=path, device=device, init_seed=init_seed)
    if path.suffix in {".pkl", ".pickle"}:
        # lazy: only the family asked for loads its framework (torch, jax)
        from protiso.models.proteinbert import ProteinBERT

        return ProteinBERT(weights=path, device=device, init_seed=init_seed)
    raise ProtisoError(f"{path}: not a model directory, UniRep .npz or ProteinBERT .pkl")


def _load_directory(directory: Path, name: str, device: str, max_residues: int | None,
                    init_seed: int | None = None) -> ModelAdapter:
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ProtisoError(f"{directory}: no config.json; not a Hugging Face model directory")
    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type", "")
    except (OSError, ValueError) as error:
        raise ProtisoError(f"{config_file}: unreadable ({error})") from error
    module, cls = FAMILIES.get(model_type, ("protiso.models.generic", "GenericAdapter"))

    adapter_class = getattr(importlib.import_module(module), cls)
    label = name if _looks_like_hub_id(name) and not Path(name).exists() else directory.resolve().name
    try:
        if init_seed is None:
            return adapter_class(directory, name=label, device=device, max_residues=max_residues)
        return adapter_class(directory, name=label, device=device, max_residues=max_residues, init_seed=init_seed)
    except ProtisoError:
        raise
    except pickle.UnpicklingError:  # torch.load(weights_only=True) refused a pickled .bin: no code in it runs
        raise ProtisoError(
            f"{directory}: cannot load {model_type or 'model'} weights: a weight file holds Python objects other "
            "than tensors, which protiso does not load (loading them could run code); use a copy of the model "
            "saved as .safetensors") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ProtisoError(f"{directory}: cannot load {model_type or 'model'} weights: {message}") from error
