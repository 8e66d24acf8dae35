"""ProtT5 encoder (``Rostlab/prot_t5_xl_half_uniref50-enc`` and other T5 protein encoders).

Residues are space-separated, ``U Z O B`` become ``X``, and ``</s>`` closes the sequence (no
start token). Only the encoder runs (``T5EncoderModel``); its last hidden state is after the
final layer norm. The global vector is the mean over residue tokens. T5 positions are relative
buckets, so there is no length limit unless one is given. The half-precision hub checkpoint is
loaded in fp32 on CPU; on CUDA it runs under bf16 autocast.
"""

from __future__ import annotations

from protiso.models.hf import HFEncoderAdapter


class T5EncoderAdapter(HFEncoderAdapter):
    x_map = "UZOB"
    tokenizer_class = "T5Tokenizer"
    model_class = "T5EncoderModel"
    tokenizer_kwargs = {"do_lower_case": False}
