"""BERT-family protein models: AntiBERTy (weights shipped in the ``antiberty`` package) and ProtBert.

Both write residues space-separated as ``[CLS] A C D ... [SEP]``; the global vector is the
mean of the residue tokens' hidden states (no ``[CLS]``, ``[SEP]`` or padding), in fp32.
ProtBert maps ``U Z O B`` to ``X`` (as its model card does); AntiBERTy's vocabulary has only
the 20 standard residues, so any other residue is an error.
"""

from __future__ import annotations

from pathlib import Path

import torch

from protiso.errors import ProtisoError
from protiso.models.hf import (
    HFEncoderAdapter,
    max_positions,
    quiet_transformers,
    resolve_device,
    weights_revision,
)


def antiberty_dir() -> Path:
    """``antiberty/trained_models`` inside the installed ``antiberty`` package."""
    try:
        import antiberty
    except ImportError as error:
        raise ProtisoError(
            "model antiberty needs the antiberty package: pip install 'protiso[antiberty]' (antiberty==0.1.3)"
        ) from error
    return Path(antiberty.__file__).parent / "trained_models"


class BertAdapter(HFEncoderAdapter):
    """Any BERT checkpoint with a residue-per-token vocabulary (ProtBert, ProtBert-BFD, local dirs)."""

    spaced = True
    x_map = "UZOB"

    def __init__(
        self,
        path: str | Path,
        *,
        name: str,
        device: str = "auto",
        vocab_file: str | Path | None = None,
        revision: str | None = None,
        max_residues: int | None = None,
    ) -> None:
        from transformers import BertModel, BertTokenizer

        path = Path(path)
        vocab = Path(vocab_file) if vocab_file else path / "vocab.txt"
        if not vocab.is_file():
            raise ProtisoError(f"{name}: no vocab.txt at {vocab}")
        # transformers 5 ignores ``vocab_file=``; ``vocab=`` is the path argument.
        tokenizer = BertTokenizer(vocab=str(vocab), do_lower_case=False)
        with quiet_transformers():
            model = BertModel.from_pretrained(str(path), dtype=torch.float32, add_pooling_layer=False)
        super().__init__(
            model,
            tokenizer,
            name=name,
            revision=revision or weights_revision(path),
            device=resolve_device(device),
            max_residues=max_residues or max_positions(model.config, 2),
        )


class AntiBERTy(BertAdapter):
    """AntiBERTy (Ruffolo et al. 2021), 8 layers x 512, from ``antiberty==0.1.3``'s shipped weights."""

    x_map = ""

    def __init__(self, device: str = "auto", max_residues: int | None = None) -> None:
        root = antiberty_dir()
        checkpoint = root / "AntiBERTy_md_smooth"
        if not (checkpoint / "config.json").is_file():
            raise ProtisoError(f"antiberty: weights missing at {checkpoint}; reinstall antiberty==0.1.3")
        super().__init__(
            checkpoint,
            name="antiberty",
            device=device,
            vocab_file=root / "vocab.txt",
            max_residues=max_residues,
        )
