"""Any other Hugging Face encoder: ``AutoModel`` + ``AutoTokenizer``, mean over non-special tokens.

The tokenizer must give one token per residue, with residues written together (ESM-like) or
space-separated (BERT-like vocabularies); the adapter tries both, in that order, and keeps the
first that round-trips a probe sequence exactly. The limit comes from absolute position embeddings when
the config has them (minus the special tokens), else there is none.
"""

from __future__ import annotations

from pathlib import Path

import torch

from protiso.errors import ProtisoError
from protiso.models.hf import HFEncoderAdapter, quiet_transformers, resolve_device, weights_revision


class GenericAdapter(HFEncoderAdapter):
    x_map = "UZOB"

    def __init__(
        self,
        path: str | Path,
        *,
        name: str,
        device: str = "auto",
        revision: str | None = None,
        max_residues: int | None = None,
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModel.from_pretrained(str(path), dtype=torch.float32)
        if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
            model = model.get_encoder()
        kwargs = dict(
            name=name,
            revision=revision or weights_revision(Path(path)),
            device=resolve_device(device),
            max_residues=max_residues,
        )
        errors = []
        for spaced in (False, True):
            self.spaced = spaced
            try:
                super().__init__(model, tokenizer, **kwargs)
                break
            except ProtisoError as error:
                errors.append(error)
        else:
            raise errors[-1]
        specials = len(self.codec.prefix) + len(self.codec.suffix)
        limit = getattr(model.config, "max_position_embeddings", None)
        if max_residues is None and limit and getattr(model.config, "position_embedding_type", "absolute") == "absolute":
            # RoBERTa-style position ids start after the padding index.
            offset = int(model.config.pad_token_id or 0) + 1 if "roberta" in model.config.model_type else 0
            self.max_residues = int(limit) - specials - offset
