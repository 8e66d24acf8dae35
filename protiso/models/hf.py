"""Shared machinery for Hugging Face transformer encoders (BERT, XLNet, ESM-2, T5, generic).

Each family module subclasses :class:`HFEncoderAdapter` and only states its conventions:
how residues are written for the tokenizer (space-separated or not), which residues map to
``X``, which tokenizer and model classes to load and the longest input; the one constructor
(``path, *, name, device, revision, max_residues``) loads any of them. Encoding bypasses string
tokenisation: at load time :class:`ResidueCodec` asks the tokenizer for the id of every
residue and for its special-token layout, then checks on a probe sequence that direct
encoding gives exactly the tokenizer's ids. A batch is then a padded id matrix plus a mask of
residue positions; the global vector is the mean over residue positions, in fp32. Outputs are
float32 torch tensors on the model's device (see ``SequenceOutput``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from protiso.errors import ProtisoError
from protiso.models import random_init
from protiso.models.base import ModelAdapter, SequenceOutput
from protiso.models.cpu_kernels import accelerate

CANDIDATE_RESIDUES = "ABCDEFGHIKLMNOPQRSTUVWXYZ"
PROBE = (
    "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALR"
    "PDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVG"
    "IGGKLSDGHRHDVRAPDYDDWSTPSELGHAGLNGDILVWNPVLEDAFELSSMGIRVDADTLKHQLALTGDEDRLELEWHQALLRGEMPQTIGGGIGQSRL"
    "TMLLLQLPHIGQVQAGVWPAACRESVPALL"
)


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is a user error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ProtisoError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ProtisoError(f"unknown device {device!r}: use auto, cpu or cuda") from error


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 (or fp16 where bf16 is unsupported) autocast on CUDA; nothing on CPU (fp32)."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def weights_revision(directory: Path) -> str:
    """Identify weights: the HF snapshot commit when loaded from the hub cache, else a content hash.

    The hash covers config.json and every weight file (whole files up to 1 GiB, otherwise the
    size plus the first and last 16 MiB), so a changed checkpoint changes the revision.
    """
    directory = Path(directory).resolve()
    if directory.parent.name == "snapshots" and len(directory.name) == 40:
        return directory.name
    digest = hashlib.sha256()
    names = ["config.json"] + sorted(
        p.name for p in directory.iterdir() if p.suffix in {".bin", ".safetensors", ".pt", ".h5"}
    )
    for name in names:
        path = directory / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{name}:{size}".encode())
        with path.open("rb") as handle:
            if size <= 1 << 30:
                for block in iter(lambda: handle.read(1 << 24), b""):
                    digest.update(block)
            else:
                digest.update(handle.read(1 << 24))
                handle.seek(size - (1 << 24))
                digest.update(handle.read())
    return "sha256:" + digest.hexdigest()[:16]


@dataclass(frozen=True)
class ResidueCodec:
    """Direct residue -> token-id encoding, verified against the tokenizer at load time."""

    ids: dict[str, int]
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    pad_id: int
    pad_left: bool

    @classmethod
    def from_tokenizer(cls, tokenizer, name: str, spaced: bool, extra: dict[str, int] | None = None) -> ResidueCodec:
        def fmt(seq: str) -> str:
            return " ".join(seq) if spaced else seq

        unk = tokenizer.unk_token_id
        ids: dict[str, int] = {}
        for residue in CANDIDATE_RESIDUES:
            got = tokenizer(fmt(residue), add_special_tokens=False)["input_ids"]
            if len(got) == 1 and got[0] != unk:
                ids[residue] = int(got[0])
        ids.update(extra or {})
        probe = "".join(r for r in PROBE if r in ids) + "".join(sorted(ids))
        body = [ids[r] for r in probe]
        full = list(tokenizer(fmt(probe), add_special_tokens=True)["input_ids"])
        starts = [i for i in range(len(full) - len(body) + 1) if full[i : i + len(body)] == body]
        if len(ids) < 20 or not starts:
            raise ProtisoError(f"{name}: tokenizer does not give one token per residue; cannot embed with it")
        start = starts[0]
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return cls(
            ids=ids,
            prefix=tuple(full[:start]),
            suffix=tuple(full[start + len(body) :]),
            pad_id=int(pad_id),
            pad_left=getattr(tokenizer, "padding_side", "right") == "left",
        )

    @functools.cached_property
    def _lookup(self) -> np.ndarray:
        """ASCII code -> token id (-1 for residues outside the vocabulary)."""
        lut = np.full(128, -1, dtype=np.int64)
        for key, value in self.ids.items():
            lut[ord(key)] = value
        return lut

    def encode(self, sequences: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded ids, attention mask and residue mask (all (batch, tokens))."""
        width = max(len(s) for s in sequences) + len(self.prefix) + len(self.suffix)
        input_ids = torch.full((len(sequences), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(sequences), width), dtype=torch.long)
        residue = torch.zeros((len(sequences), width), dtype=torch.bool)
        lut = self._lookup
        for row, seq in enumerate(sequences):
            body = lut[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
            tokens = np.concatenate([np.array(self.prefix, np.int64), body, np.array(self.suffix, np.int64)])
            offset = width - len(tokens) if self.pad_left else 0
            input_ids[row, offset : offset + len(tokens)] = torch.from_numpy(tokens)
            attention[row, offset : offset + len(tokens)] = 1
            first = offset + len(self.prefix)
            residue[row, first : first + len(seq)] = True
        return input_ids, attention, residue


class HFEncoderAdapter(ModelAdapter):
    """A transformers encoder whose tokenizer gives one token per residue.

    The constructor loads ``tokenizer_class`` and ``model_class`` (names in ``transformers``,
    imported only when a model loads) from a hub-layout directory, with ``tokenizer_kwargs`` and
    ``model_kwargs`` and always in fp32. A family states only what differs: these class
    attributes, ``spaced`` and ``x_map``, and the hooks ``load_tokenizer``, ``prepare_tokenizer``,
    ``prepare_model``, ``extra_ids``, ``make_codec`` and ``max_residues_from``.
    """

    spaced: bool = True  # residues written space-separated for the tokenizer (ESM: together)
    x_map: str = ""  # residues mapped to X by normalise (e.g. "UZOB")
    tokenizer_class: ClassVar[str] = "AutoTokenizer"
    model_class: ClassVar[str] = "AutoModel"
    tokenizer_kwargs: ClassVar[Mapping[str, object]] = {}
    model_kwargs: ClassVar[Mapping[str, object]] = {}

    def __init__(
        self,
        path: str | Path,
        *,
        name: str,
        device: str = "auto",
        revision: str | None = None,
        max_residues: int | None = None,
        init_seed: int | None = None,
    ) -> None:
        path = Path(path)
        with quiet_transformers():
            tokenizer = self.load_tokenizer(path, name)
            if init_seed is None:
                model = transformers_class(self.model_class).from_pretrained(
                    str(path), dtype=torch.float32, **self.model_kwargs
                )
            else:
                model = self.random_model(path, init_seed)
        source = revision or weights_revision(path)
        self.attach(
            model,
            tokenizer,
            name=name,
            revision=source if init_seed is None else random_init.revision(init_seed, source),
            device=resolve_device(device),
            max_residues=max_residues,
        )

    @classmethod
    def from_loaded(
        cls,
        model: torch.nn.Module,
        tokenizer,
        *,
        name: str,
        revision: str,
        device: torch.device,
        max_residues: int | None = None,
    ) -> HFEncoderAdapter:
        """An adapter around a model and tokenizer already in memory (benchmarks build random ones)."""
        adapter = cls.__new__(cls)
        adapter.attach(model, tokenizer, name=name, revision=revision, device=device, max_residues=max_residues)
        return adapter

    def attach(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        name: str,
        revision: str,
        device: torch.device,
        max_residues: int | None,
        pooling: str = "mean over residue tokens",
    ) -> None:
        """Set the adapter up around a loaded model: codec, facts, limit, CPU kernels."""
        self.device = device
        self.model = self.prepare_model(model).eval().to(device)
        self.tokenizer = tokenizer
        self.prepare_tokenizer(tokenizer)
        self.codec = self.make_codec(tokenizer, name)
        self.name = name
        self.revision = revision
        config = self.model.config
        self.dim = int(getattr(config, "hidden_size", None) or config.d_model)
        self.num_layers = int(config.num_hidden_layers)
        self.max_residues = self.max_residues_from(config) if max_residues is None else max_residues
        self.pooling = pooling
        self.alphabet = frozenset(self.codec.ids)
        self._table = str.maketrans({r: "X" for r in self.x_map}) if "X" in self.codec.ids else None
        self.cpu_kernels = "torch"  # which kernels run the linear layers (see protiso.models.cpu_kernels)
        if device.type == "cpu":
            self.cpu_kernels = accelerate(self.model, self._probe_hidden)

    def random_model(self, path: Path, seed: int) -> torch.nn.Module:
        """The checkpoint's architecture with weights drawn by its class's own initialisation under ``seed``
        (the random-init control; ``protiso.models.random_init``)."""
        config = transformers_class("AutoConfig").from_pretrained(str(path))
        cls = transformers_class(self.model_class)
        make = cls.from_config if hasattr(cls, "from_config") else cls._from_config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return make(config, dtype=torch.float32, **self.model_kwargs)

    # -- hooks a family overrides ---------------------------------------------------

    def load_tokenizer(self, path: Path, name: str):
        """The tokenizer of the checkpoint at ``path`` (called inside ``quiet_transformers``)."""
        return transformers_class(self.tokenizer_class).from_pretrained(str(path), **self.tokenizer_kwargs)

    def prepare_tokenizer(self, tokenizer) -> None:
        """Adjust the loaded tokenizer in place (e.g. its padding side) before the codec reads it."""

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to run, given the loaded one (e.g. the encoder of an encoder-decoder)."""
        return model

    def extra_ids(self, tokenizer) -> dict[str, int]:
        """Residue -> token id entries the tokenizer does not give itself (e.g. X as <unk>)."""
        return {}

    def make_codec(self, tokenizer, name: str) -> ResidueCodec:
        return ResidueCodec.from_tokenizer(tokenizer, name, self.spaced, self.extra_ids(tokenizer))

    def max_residues_from(self, config) -> int | None:
        """The longest input when none is given (called once ``self.codec`` is set). Default: none."""
        return None

    def _probe_hidden(self) -> tuple[torch.Tensor, ...]:
        """All hidden states of a short real sequence (the CPU kernel check compares them)."""
        probe = "".join(r for r in PROBE if r in self.codec.ids)[: min(48, self.max_residues or 48)]
        input_ids, attention, _ = self.codec.encode([probe])
        return tuple(self.forward_hidden(input_ids.to(self.device), attention.to(self.device)))

    def normalise(self, sequence: str) -> str:
        sequence = sequence.upper()
        return sequence.translate(self._table) if self._table else sequence

    def forward_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """All hidden states: index 0 is the embedding output, index ``num_layers`` the last layer."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.hidden_states

    def embed_batch(self, sequences: list[str], layers: list[int]) -> list[SequenceOutput]:
        input_ids, attention, residue = self.codec.encode(sequences)
        with torch.inference_mode(), autocast(self.device):
            hidden = self.forward_hidden(input_ids.to(self.device), attention.to(self.device))
            mask = residue.to(self.device)
            weights = mask.to(torch.float32).unsqueeze(-1)
            counts = weights.sum(dim=1)
            outputs = [SequenceOutput() for _ in sequences]
            for layer in layers:
                # Vectors stay on the device (the stage reduces them there); pooling is fp32.
                states = hidden[layer].to(torch.float32)
                pooled = (states * weights).sum(dim=1) / counts
                flat = states[mask]  # residues of all rows, row-major in order
                start = 0
                for row, seq in enumerate(sequences):
                    outputs[row].global_[layer] = pooled[row]
                    outputs[row].residues[layer] = flat[start : start + len(seq)]
                    start += len(seq)
        return outputs


def max_positions(config, specials: int) -> int | None:
    """Longest residue count for absolute position embeddings (``None`` when positions are relative)."""
    limit = getattr(config, "max_position_embeddings", None)
    return int(limit) - specials if limit else None


def transformers_class(name: str) -> type:
    """``transformers.<name>``, imported on first use (``protiso --help`` never imports transformers)."""
    # lazy: transformers (seconds to load) only when a model loads
    import transformers

    return getattr(transformers, name)


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports and weight-loading progress bars (we report our own)."""
    # lazy: transformers (seconds to load) only when a model loads
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
