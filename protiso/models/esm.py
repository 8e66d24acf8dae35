"""ESM-2 (``facebook/esm2_t*``) through transformers' ``EsmModel`` and ``EsmTokenizer``.

Input layout is ``<cls> ACD... <eos>`` (residues not separated); the global vector is the mean
over residue tokens. The last hidden state is after ESM's final layer norm, as in fair-esm's
``representations[num_layers]``. The limit is 1,022 residues (1,024 tokens), as in fair-esm.
"""

from __future__ import annotations

from pathlib import Path

import torch

from protiso.models.hf import HFEncoderAdapter, quiet_transformers, resolve_device, weights_revision


class ESMAdapter(HFEncoderAdapter):
    spaced = False
    x_map = ""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str,
        device: str = "auto",
        revision: str | None = None,
        max_residues: int | None = None,
    ) -> None:
        from transformers import EsmModel, EsmTokenizer

        with quiet_transformers():
            tokenizer = EsmTokenizer.from_pretrained(str(path))
            model = EsmModel.from_pretrained(str(path), dtype=torch.float32, add_pooling_layer=False)
        limit = getattr(model.config, "max_position_embeddings", None)
        super().__init__(
            model,
            tokenizer,
            name=name,
            revision=revision or weights_revision(Path(path)),
            device=resolve_device(device),
            max_residues=max_residues or (int(limit) - 4 if limit else None),
        )
