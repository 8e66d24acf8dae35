"""ProteinBERT port: weights in the original dump format, checked against Keras and a numpy forward."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from protiso.errors import ProtisoError
from protiso.models.proteinbert import ProteinBERT, block_seq_len

FIXTURES = Path(__file__).parent / "fixtures"

# proteinbert/tokenization.py
ALL_AAS = "ACDEFGHIKLMNPQRSTUVWXY"
OTHER, START, END, PAD = 22, 23, 24, 25


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "proteinbert_keras_tiny.npz") as npz:
        return {key: npz[key] for key in npz.files}


def test_matches_original_keras_model(golden):
    """Outputs of the original Keras code (tests/fixtures/make_proteinbert_keras_golden.py)."""
    model = ProteinBERT(FIXTURES / "proteinbert_keras_tiny.pkl", device="cpu")
    assert (model.dim, model.residue_dim, model.num_layers) == (32, 16, 2)
    sequences = [str(s) for s in golden["sequences"]]
    assert [block_seq_len(len(s)) for s in sequences] == [512] * 5 + [1024]
    outputs = model.embed_batch(sequences, [0, 1, 2])
    for accession, sequence, out in zip(golden["accessions"], sequences, outputs):
        keras_global, keras_local = golden[f"{accession}/global"], golden[f"{accession}/local"]
        for layer in (0, 1, 2):
            np.testing.assert_allclose(out.global_[layer], keras_global[layer], rtol=0, atol=1e-4)
        for layer in (1, 2):
            assert out.residues[layer].shape == (len(sequence), 16)
            np.testing.assert_allclose(out.residues[layer], keras_local[layer - 1], rtol=0, atol=1e-4)
    last = np.stack([out.global_[2] for out in outputs])
    assert np.abs(last - last[0]).max() > 1e-2  # the global track depends on the sequence
    np.testing.assert_array_equal(outputs[0].global_[0], outputs[1].global_[0])  # zero GO input


# ---- an independent numpy forward of create_model(), from the Keras layer definitions ----

HYPER = dict(n_annotations=7, d_seq=16, d_global=32, n_blocks=2, n_heads=2, d_key=6, kernel=5)
DILATION = 3


def keras_variables(n_annotations, d_seq, d_global, n_blocks, n_heads, d_key, kernel):
    """(name, shape) of ``model.variables`` of create_model(), in order."""
    d_value = d_global // n_heads
    out = [("dense-global-input/kernel", (n_annotations, d_global)), ("dense-global-input/bias", (d_global,)),
           ("embedding-seq-input/embeddings", (26, d_seq))]  # fmt: skip
    for k in range(1, n_blocks + 1):
        out += [
            (f"global-to-seq-dense-block{k}/kernel", (d_global, d_seq)), (f"global-to-seq-dense-block{k}/bias", (d_seq,)),
            (f"narrow-conv-block{k}/kernel", (kernel, d_seq, d_seq)), (f"narrow-conv-block{k}/bias", (d_seq,)),
            (f"wide-conv-block{k}/kernel", (kernel, d_seq, d_seq)), (f"wide-conv-block{k}/bias", (d_seq,)),
            (f"seq-merge1-norm-block{k}/gamma", (d_seq,)), (f"seq-merge1-norm-block{k}/beta", (d_seq,)),
            (f"seq-dense-block{k}/kernel", (d_seq, d_seq)), (f"seq-dense-block{k}/bias", (d_seq,)),
            (f"seq-merge2-norm-block{k}/gamma", (d_seq,)), (f"seq-merge2-norm-block{k}/beta", (d_seq,)),
            (f"global-dense1-block{k}/kernel", (d_global, d_global)), (f"global-dense1-block{k}/bias", (d_global,)),
            (f"global-attention-block{k}/Wq", (n_heads, d_global, d_key)),
            (f"global-attention-block{k}/Wk", (n_heads, d_seq, d_key)),
            (f"global-attention-block{k}/Wv", (n_heads, d_seq, d_value)),
            (f"global-merge1-norm-block{k}/gamma", (d_global,)), (f"global-merge1-norm-block{k}/beta", (d_global,)),
            (f"global-dense2-block{k}/kernel", (d_global, d_global)), (f"global-dense2-block{k}/bias", (d_global,)),
            (f"global-merge2-norm-block{k}/gamma", (d_global,)), (f"global-merge2-norm-block{k}/beta", (d_global,)),
        ]  # fmt: skip
    out += [("output-seq/kernel", (d_seq, 26)), ("output-seq/bias", (26,)),
            ("output-annotations/kernel", (d_global, n_annotations)), ("output-annotations/bias", (n_annotations,))]  # fmt: skip
    return out


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta, eps=1e-3):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def conv1d_same(x, kernel, bias, dilation):
    """Keras Conv1D(padding='same'): x (L, in), kernel (k, in, out)."""
    length, taps = x.shape[0], kernel.shape[0]
    total = dilation * (taps - 1)
    padded = np.pad(x, ((total // 2, total - total // 2), (0, 0)))
    return bias + sum(padded[j * dilation : j * dilation + length] @ kernel[j] for j in range(taps))


def reference_forward(w, sequence, seq_len, n_blocks, n_heads, d_key, dilation):
    """One sequence: [(global, local)] after the input layers and after each block, float64."""
    tokens = [START] + [ALL_AAS.index(a) if a in ALL_AAS else OTHER for a in sequence] + [END]
    tokens += [PAD] * (seq_len - len(tokens))
    annotations = np.zeros(w["dense-global-input/kernel"].shape[0])
    g = gelu(annotations @ w["dense-global-input/kernel"] + w["dense-global-input/bias"])
    s = w["embedding-seq-input/embeddings"][tokens]
    layers = [(g, s)]
    for k in range(1, n_blocks + 1):
        p = lambda name: w[name.replace("/", f"-block{k}/")]  # noqa: E731
        seqed = gelu(g @ p("global-to-seq-dense/kernel") + p("global-to-seq-dense/bias"))
        narrow = gelu(conv1d_same(s, p("narrow-conv/kernel"), p("narrow-conv/bias"), 1))
        wide = gelu(conv1d_same(s, p("wide-conv/kernel"), p("wide-conv/bias"), dilation))
        s = layer_norm(s + seqed[None, :] + narrow + wide, p("seq-merge1-norm/gamma"), p("seq-merge1-norm/beta"))
        s = layer_norm(s + gelu(s @ p("seq-dense/kernel") + p("seq-dense/bias")),
                       p("seq-merge2-norm/gamma"), p("seq-merge2-norm/beta"))  # fmt: skip
        heads = []
        for h in range(n_heads):
            query = np.tanh(g @ p("global-attention/Wq")[h])
            keys = np.tanh(s @ p("global-attention/Wk")[h])
            values = gelu(s @ p("global-attention/Wv")[h])
            scores = keys @ query / math.sqrt(d_key)
            attention = np.exp(scores - scores.max())
            heads.append((attention / attention.sum()) @ values)
        dense = gelu(g @ p("global-dense1/kernel") + p("global-dense1/bias"))
        g = layer_norm(g + dense + np.concatenate(heads), p("global-merge1-norm/gamma"), p("global-merge1-norm/beta"))
        g = layer_norm(g + gelu(g @ p("global-dense2/kernel") + p("global-dense2/bias")),
                       p("global-merge2-norm/gamma"), p("global-merge2-norm/beta"))  # fmt: skip
        layers.append((g, s))
    return layers


@pytest.fixture(scope="module")
def random_dump(tmp_path_factory):
    rng = np.random.default_rng(7)
    names, weights = [], []
    for name, shape in keras_variables(**HYPER):
        scale = 1.0 / math.sqrt(shape[-2]) if len(shape) > 1 else 0.3
        value = rng.standard_normal(shape) * scale
        if name.endswith("gamma"):
            value += 1.0
        names.append(name)
        weights.append(value.astype(np.float32))
    optimizer_weights = [np.zeros(3, dtype=np.float32), 5]
    path = tmp_path_factory.mktemp("proteinbert") / "dump.pkl"
    path.write_bytes(pickle.dumps((HYPER["n_annotations"], weights, optimizer_weights)))
    return path, dict(zip(names, (w.astype(np.float64) for w in weights)))


def test_matches_numpy_reference(random_dump, golden):
    path, w = random_dump
    model = ProteinBERT(path, device="cpu", wide_conv_dilation_rate=DILATION)
    assert (model.dim, model.residue_dim, model.num_layers) == (32, 16, 2)
    sequences = [str(s) for s in golden["sequences"][:2]] + ["MKTBZOJAAX"]  # B Z O J -> <OTHER>
    outputs = model.embed_batch(sequences, [0, 1, 2])
    for sequence, out in zip(sequences, outputs):
        expected = reference_forward(w, sequence, 512, HYPER["n_blocks"], HYPER["n_heads"], HYPER["d_key"], DILATION)
        for layer, (g, s) in enumerate(expected):
            np.testing.assert_allclose(out.global_[layer], g, rtol=0, atol=1e-4)
            np.testing.assert_allclose(out.residues[layer], s[1 : 1 + len(sequence)], rtol=0, atol=1e-4)
    # the same weights at a wrong dilation give different vectors: the argument is used
    other = ProteinBERT(path, device="cpu", wide_conv_dilation_rate=5).embed_batch(sequences[:1], [2])[0]
    assert np.abs(other.global_[2] - outputs[0].global_[2]).max() > 1e-3


def test_batched_equals_one_at_a_time(golden):
    model = ProteinBERT(FIXTURES / "proteinbert_keras_tiny.pkl", device="cpu")
    sequences = [str(s) for s in golden["sequences"]]
    batched = model.embed_batch(sequences[::-1], [])
    for sequence, together in zip(sequences[::-1], batched):
        alone = model.embed_batch([sequence], [])[0]
        assert list(together.global_) == list(together.residues) == [2]
        np.testing.assert_allclose(together.global_[2], alone.global_[2], rtol=0, atol=1e-5)
        np.testing.assert_allclose(together.residues[2], alone.residues[2], rtol=0, atol=1e-5)


def test_seq_len_rule():
    assert [block_seq_len(n) for n in (0, 510, 511, 1022, 1023)] == [512, 512, 1024, 1024, 2048]
    assert block_seq_len(100, start_seq_len=128) == 128


def test_alphabet():
    model = ProteinBERT(FIXTURES / "proteinbert_keras_tiny.pkl", device="cpu")
    model.check("P1", "ACDEFGHIKLMNPQRSTUVWXYBZOJ")
    with pytest.raises(ProtisoError, match=r"P2: residues '\*-'"):
        model.check("P2", "MK-*")


class _Boom:
    def __reduce__(self):
        return (print, ("code ran while loading",))


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        (b"not a pickle", "not a ProteinBERT dump"),
        (pickle.dumps((3, [_Boom()], [])), "refusing to load builtins.print"),
        (pickle.dumps((3, [np.zeros(2)] * 10, [])), "is not a ProteinBERT weight list"),
    ],
)
def test_bad_dumps(tmp_path, content, message, capsys):
    path = tmp_path / "dump.pkl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ProtisoError, match=message):
        ProteinBERT(path, device="cpu")
    assert "code ran" not in capsys.readouterr().out


def test_wrong_shapes(tmp_path):
    _, weights = pickle.loads((FIXTURES / "proteinbert_keras_tiny.pkl").read_bytes())[:2]
    weights = list(weights)
    weights[5], weights[15] = weights[15], weights[5]  # narrow-conv kernel <-> global-dense1 kernel
    path = tmp_path / "swapped.pkl"
    path.write_bytes(pickle.dumps((10, weights, [])))
    with pytest.raises(ProtisoError, match="block 1"):
        ProteinBERT(path, device="cpu")
