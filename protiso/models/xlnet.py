"""ProtXLNet (``Rostlab/prot_xlnet``): XLNet with special tokens at the END and padding on the LEFT.

Input layout is ``<pad>... A C D ... <sep> <cls>`` (residues space-separated, SentencePiece
pieces ``▁A``). The vocabulary has only the 20 standard residues; as the model card does,
``U Z O B`` and ``X`` become ``<unk>``. The global vector is the mean over residue tokens only.
XLNet's positions are relative, so there is no length limit unless one is given.
"""

from __future__ import annotations

import torch

from protiso.models.hf import HFEncoderAdapter


class XLNetAdapter(HFEncoderAdapter):
    x_map = "UZOB"
    tokenizer_class = "XLNetTokenizer"
    model_class = "XLNetModel"
    tokenizer_kwargs = {"do_lower_case": False}

    def prepare_tokenizer(self, tokenizer) -> None:
        tokenizer.padding_side = "left"

    def extra_ids(self, tokenizer) -> dict[str, int]:
        vocab = tokenizer.get_vocab()
        return {} if "X" in vocab or "▁X" in vocab else {"X": tokenizer.unk_token_id}

    def forward_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, use_mems=False, output_hidden_states=True
        )
        return out.hidden_states
