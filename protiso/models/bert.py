"""BERT-family protein models: AntiBERTy (weights shipped in the ``antiberty`` package) and ProtBert.

Both write residues space-separated as ``[CLS] A C D ... [SEP]``; the global vector is the
mean of the residue tokens' hidden states (no ``[CLS]``, ``[SEP]`` or padding), in fp32.
ProtBert maps ``U Z O B`` to ``X`` (as its model card does); AntiBERTy's vocabulary has only
the 20 standard residues, so any other residue is an error.
"""

from __future__ import annotations

from pathlib import Path

from protiso.errors import ProtisoError
from protiso.models.hf import HFEncoderAdapter, max_positions, transformers_class


def antiberty_dir() -> Path:
    """``antiberty/trained_models`` inside the installed ``antiberty`` package."""
    try:
        # lazy: antiberty is an optional extra (pip install 'protiso[antiberty]')
        import antiberty
    except ImportError as error:
        raise ProtisoError(
            "model antiberty needs the antiberty package: pip install 'protiso[antiberty]' (antiberty==0.1.3)"
        ) from error
    return Path(antiberty.__file__).parent / "trained_models"


class BertAdapter(HFEncoderAdapter):
    """Any BERT checkpoint with a residue-per-token vocabulary (ProtBert, ProtBert-BFD, local dirs)."""

    x_map = "UZOB"
    tokenizer_class = "BertTokenizer"
    model_class = "BertModel"
    model_kwargs = {"add_pooling_layer": False}

    def vocab_file(self, path: Path) -> Path:
        """The tokenizer's ``vocab.txt`` (beside the weights, as on the hub)."""
        return path / "vocab.txt"

    def load_tokenizer(self, path: Path, name: str):
        vocab = self.vocab_file(path)
        if not vocab.is_file():
            raise ProtisoError(f"{name}: no vocab.txt at {vocab}")
        # transformers 5 ignores ``vocab_file=``; ``vocab=`` is the path argument.
        return transformers_class(self.tokenizer_class)(vocab=str(vocab), do_lower_case=False)

    def max_residues_from(self, config) -> int | None:
        return max_positions(config, 2)  # [CLS] and [SEP]


class AntiBERTy(BertAdapter):
    """AntiBERTy (Ruffolo et al. 2021), 8 layers x 512, from ``antiberty==0.1.3``'s shipped weights."""

    x_map = ""

    def __init__(self, device: str = "auto", max_residues: int | None = None, init_seed: int | None = None) -> None:
        checkpoint = antiberty_dir() / "AntiBERTy_md_smooth"
        if not (checkpoint / "config.json").is_file():
            raise ProtisoError(f"antiberty: weights missing at {checkpoint}; reinstall antiberty==0.1.3")
        super().__init__(checkpoint, name="antiberty", device=device, max_residues=max_residues, init_seed=init_seed)

    def vocab_file(self, path: Path) -> Path:
        return path.parent / "vocab.txt"  # trained_models/vocab.txt, beside the checkpoint folder
