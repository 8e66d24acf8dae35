"""ProtT5 encoder (``Rostlab/prot_t5_xl_half_uniref50-enc`` and other T5 protein encoders).

Residues are space-separated, ``U Z O B`` become ``X``, and ``</s>`` closes the sequence (no
start token). Only the encoder runs (``T5EncoderModel``); its last hidden state is after the
final layer norm. The global vector is the mean over residue tokens. T5 positions are relative
buckets, so there is no length limit unless one is given. The half-precision hub checkpoint is
loaded in fp32 on CPU; on CUDA it runs under bf16 autocast.
"""

from __future__ import annotations

from pathlib import Path

import torch

from protiso.models.hf import HFEncoderAdapter, quiet_transformers, resolve_device, weights_revision


class T5EncoderAdapter(HFEncoderAdapter):
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
        from transformers import T5EncoderModel, T5Tokenizer

        with quiet_transformers():
            tokenizer = T5Tokenizer.from_pretrained(str(path), do_lower_case=False)
            model = T5EncoderModel.from_pretrained(str(path), dtype=torch.float32)
        super().__init__(
            model,
            tokenizer,
            name=name,
            revision=revision or weights_revision(Path(path)),
            device=resolve_device(device),
            max_residues=max_residues,
        )
