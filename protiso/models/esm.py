"""ESM-2 (``facebook/esm2_t*``) through transformers' ``EsmModel`` and ``EsmTokenizer``.

Input layout is ``<cls> ACD... <eos>`` (residues not separated); the global vector is the mean
over residue tokens. The last hidden state is after ESM's final layer norm, as in fair-esm's
``representations[num_layers]``. The limit is 1,022 residues (1,024 tokens), as in fair-esm.
"""

from __future__ import annotations

from protiso.models.hf import HFEncoderAdapter, max_positions


class ESMAdapter(HFEncoderAdapter):
    spaced = False
    tokenizer_class = "EsmTokenizer"
    model_class = "EsmModel"
    model_kwargs = {"add_pooling_layer": False}

    def max_residues_from(self, config) -> int | None:
        return max_positions(config, 4)  # fair-esm: 1,026 positions, 1,022 residues
