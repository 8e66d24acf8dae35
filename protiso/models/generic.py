"""Any other Hugging Face encoder: ``AutoModel`` + ``AutoTokenizer``, mean over non-special tokens.

The tokenizer must give one token per residue, with residues written together (ESM-like) or
space-separated (BERT-like vocabularies); the adapter tries both, in that order, and keeps the
first that round-trips a probe sequence exactly. The limit comes from absolute position embeddings when
the config has them (minus the special tokens), else there is none.
"""

from __future__ import annotations

import torch

from protiso.errors import ProtisoError
from protiso.models.hf import HFEncoderAdapter, ResidueCodec, max_positions


class GenericAdapter(HFEncoderAdapter):
    x_map = "UZOB"

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
            return model.get_encoder()
        return model

    def make_codec(self, tokenizer, name: str) -> ResidueCodec:
        self.spaced = False
        try:
            return super().make_codec(tokenizer, name)
        except ProtisoError:
            self.spaced = True
            return super().make_codec(tokenizer, name)

    def max_residues_from(self, config) -> int | None:
        if getattr(config, "position_embedding_type", "absolute") != "absolute":
            return None
        # RoBERTa-style position ids start after the padding index.
        offset = int(config.pad_token_id or 0) + 1 if "roberta" in config.model_type else 0
        return max_positions(config, len(self.codec.prefix) + len(self.codec.suffix) + offset)
