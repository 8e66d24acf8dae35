"""ProtXLNet (``Rostlab/prot_xlnet``): XLNet with special tokens at the END and padding on the LEFT.

Input layout is ``<pad>... A C D ... <sep> <cls>`` (residues space-separated, SentencePiece
pieces ``▁A``). The vocabulary has only the 20 standard residues; as the model card does,
``U Z O B`` and ``X`` become ``<unk>``. The global vector is the mean over residue tokens only.
XLNet's positions are relative, so there is no length limit unless one is given.
"""

from __future__ import annotations

from pathlib import Path

import torch

from protiso.models.hf import HFEncoderAdapter, quiet_transformers, resolve_device, weights_revision


class XLNetAdapter(HFEncoderAdapter):
    spaced = True
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
        from transformers import XLNetModel, XLNetTokenizer

        with quiet_transformers():
            tokenizer = XLNetTokenizer.from_pretrained(str(path), do_lower_case=False)
            model = XLNetModel.from_pretrained(str(path), dtype=torch.float32)
        tokenizer.padding_side = "left"
        extra = {} if "X" in tokenizer.get_vocab() or "▁X" in tokenizer.get_vocab() else {"X": tokenizer.unk_token_id}
        super().__init__(
            model,
            tokenizer,
            name=name,
            revision=revision or weights_revision(Path(path)),
            device=resolve_device(device),
            max_residues=max_residues,
            extra_ids=extra,
        )
        self.num_layers = int(model.config.n_layer)

    def forward_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, use_mems=False, output_hidden_states=True
        )
        return out.hidden_states
