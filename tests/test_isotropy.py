"""protiso.metrics: IsoScore, IsoScore*, effective dims, spectrum, cosine, sufficient statistics, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IsoScore.IsoScore import IsoScore, IsoScore_star
from isotropy_data import golden, reference_float64

from protiso.errors import ProtisoError
from protiso.metrics import (
    CosineStats,
    SufficientStats,
    bootstrap_isoscore,
    effective_dims,
    effective_dims_rounded,
    eigen_spectrum,
    isoscore,
    isoscore_star,
    isoscore_star_fixed,
    mean_pairwise_cosine,
)


def cloud(seed: int, n_points: int, dim: int, offset: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = np.geomspace(0.05, 4.0, dim)
    return rng.standard_normal((n_points, dim)) @ (rng.standard_normal((dim, dim)) * scales) + offset


SYNTHETIC = [(0, 400, 32), (1, 40, 64), (2, 65, 64), (3, 64, 64), (4, 1500, 8), (5, 3, 16)]


# -- equality with the reference package ---------------------------------------------------------


@pytest.mark.parametrize("seed,n_points,dim", SYNTHETIC)
def test_isoscore_equals_reference_package_on_synthetic_clouds(seed, n_points, dim):
    points = cloud(seed, n_points, dim)
    ours = isoscore(points)
    assert ours == pytest.approx(reference_float64(IsoScore, points), rel=1e-12)
    # The published package's float32 sqrt(n) matters more as IsoScore nears 0 (see below).
    assert ours == pytest.approx(float(IsoScore(points)), rel=1e-6 if ours > 0.05 else 5e-6)


@pytest.mark.parametrize("name", ["global_vectors", "residue_vectors"])
def test_isoscore_equals_reference_on_real_antiberty_vectors(name):
    points = golden()[name]
    ours = isoscore(points)
    # The package's own code, run in float64, agrees to rounding.
    assert ours == pytest.approx(reference_float64(IsoScore, points), rel=1e-12)
    # As published it takes sqrt(n) in float32 (and float32 points give a float32 covariance); for
    # strongly anisotropic real vectors (IsoScore ~0.01) that costs it up to ~1e-5 relative.
    assert ours == pytest.approx(float(IsoScore(points.astype(np.float64))), rel=3e-6)
    assert ours == pytest.approx(float(IsoScore(points)), rel=3e-5)


@pytest.mark.parametrize("zeta", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("seed,n_points,dim", SYNTHETIC[:3])
def test_isoscore_star_equals_reference_package(seed, n_points, dim, zeta):
    points = cloud(seed, n_points, dim)
    c0 = np.cov(cloud(seed + 100, 3 * dim, dim).T)
    for target in (np.eye(dim), c0):
        for variant in (isoscore_star, isoscore_star_fixed):   # a C0 given: both are the package's formula
            ours = variant(points, zeta, target)
            assert ours == pytest.approx(float(IsoScore_star(points, target, zeta)), rel=1e-6)
            assert ours == pytest.approx(reference_float64(IsoScore_star, points, target, zeta), rel=1e-11)
    assert isoscore_star_fixed(points, zeta) == pytest.approx(isoscore_star(points, zeta, np.eye(dim)), rel=1e-12)
    # The scale-free default shrinks towards (tr C / dim) I: the package's call with that C0.
    scaled = np.trace(np.cov(points.T)) / dim * np.eye(dim)
    assert isoscore_star(points, zeta) == pytest.approx(
        reference_float64(IsoScore_star, points, scaled, zeta), rel=1e-11)


def test_isoscore_star_on_real_vectors_equals_reference_in_float64():
    points = golden()["global_vectors"]
    dim = points.shape[1]
    assert isoscore_star_fixed(points, 0.2) == pytest.approx(
        reference_float64(IsoScore_star, points, np.eye(dim), 0.2), rel=1e-11)


def test_scale_free_isoscore_star_ignores_the_vectors_scale_the_fixed_one_does_not():
    """Issue 22: IsoScore* of imported vectors and of the same vectors x 100 agree to 1e-9; brute force:
    PR of the shrunk covariance from its eigenvalues."""
    points = golden()["global_vectors"].astype(np.float64)
    dim = points.shape[1]
    cov = np.cov(points.T)
    for zeta in (0.2, 0.5):
        shrunk = (1 - zeta) * cov + zeta * np.trace(cov) / dim * np.eye(dim)
        values = np.linalg.eigvalsh(shrunk)
        brute = (values.sum() ** 2 / (values**2).sum() - 1) / (dim - 1)
        base = isoscore_star(points, zeta)
        assert base == pytest.approx(brute, rel=1e-10)
        for factor in (1e-3, 10.0, 100.0):
            assert isoscore_star(points * factor, zeta) == pytest.approx(base, abs=1e-9)
            stats = SufficientStats.from_points(points * factor)
            assert stats.isoscore_star(zeta) == pytest.approx(base, abs=1e-9)
        fixed = [isoscore_star_fixed(points * factor, zeta) for factor in (1.0, 10.0, 100.0)]
        assert max(fixed) - min(fixed) > 0.05          # the package's C0 = I: the scale changes it


def test_isoscore_star_lifts_the_small_sample_bias():
    # 200 isotropic Gaussian points in 1024-d: plain IsoScore ~0.16 although the cloud is isotropic;
    # shrinking towards the identity raises it monotonically, to exactly 1 at zeta = 1.
    points = np.random.default_rng(0).standard_normal((200, 1024))
    assert 0.14 < isoscore(points) < 0.18
    scores = [isoscore_star(points, zeta) for zeta in (0.0, 0.2, 0.5, 0.8, 1.0)]
    assert scores[0] == pytest.approx(isoscore(points), rel=1e-10)
    assert all(a < b for a, b in zip(scores, scores[1:]))
    assert scores[-1] == pytest.approx(1.0)


# -- effective dims, spectrum, cosine --------------------------------------------------------------


@pytest.mark.parametrize("seed,n_points,dim", SYNTHETIC)
def test_effective_dims_is_participation_ratio(seed, n_points, dim):
    points = cloud(seed, n_points, dim)
    values = np.linalg.eigvalsh(np.cov(points.T))
    assert effective_dims(points) == pytest.approx(values.sum() ** 2 / (values**2).sum(), rel=1e-9)
    assert effective_dims(points) == pytest.approx(isoscore(points) * (dim - 1) + 1, rel=1e-12)


def test_a_rank_one_cloud_scores_zero_never_below():
    """Points on one line through a real AntiBERTy vector: PR is 1 up to rounding, IsoScore >= 0."""
    direction = golden()["global_vectors"][0].astype(np.float64)
    for seed in range(25):
        rng = np.random.default_rng(seed)
        points = rng.standard_normal((7, 1)) * direction + 3 * rng.standard_normal(direction.size)
        for score in (isoscore(points), SufficientStats.from_points(points).isoscore(),
                      isoscore_star(points, 0.0)):
            assert 0.0 <= score < 1e-15


def test_effective_dims_rounded_up():
    assert effective_dims_rounded(3.2) == 4
    assert effective_dims_rounded(3.0 + 1e-13) == 3  # rounding noise does not add a dimension
    assert effective_dims_rounded(None) is None


@pytest.mark.parametrize("seed,n_points,dim", SYNTHETIC)
def test_eigen_spectrum_matches_numpy(seed, n_points, dim):
    points = cloud(seed, n_points, dim)
    expected = np.clip(np.sort(np.linalg.eigvalsh(np.cov(points.T)))[::-1], 0, None)
    spectrum = eigen_spectrum(points)
    assert spectrum.shape == (dim,)
    np.testing.assert_allclose(spectrum, expected / expected.sum(), atol=1e-12)
    assert np.all(np.diff(spectrum) <= 1e-15)


def brute_force_cosine(points: np.ndarray) -> float:
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    sims = unit @ unit.T
    n = len(points)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


@pytest.mark.parametrize("points", [
    golden()["global_vectors"].astype(np.float64), golden()["residue_vectors"].astype(np.float64),
    cloud(7, 5000, 32, offset=0.0), cloud(8, 3000, 16, offset=10.0), cloud(9, 2, 5),
], ids=["antiberty-global", "antiberty-residues", "centred-5000", "offset-3000", "two"])
def test_mean_pairwise_cosine_equals_brute_force(points):
    assert mean_pairwise_cosine(points) == pytest.approx(brute_force_cosine(points), abs=1e-9)


def test_cosine_stats_merge_equals_one_pass():
    points = cloud(10, 900, 12)
    merged = CosineStats.from_points(points[:300]) + CosineStats.from_points(points[300:])
    assert merged.mean_cosine() == pytest.approx(mean_pairwise_cosine(points), abs=1e-13)


# -- sufficient statistics -----------------------------------------------------------------------


def test_local_isoscore_from_statistics_equals_stacking_real_residues():
    points = golden()["residue_vectors"]
    stats = SufficientStats(points.shape[1])
    for chunk in np.array_split(points, 7):
        stats = stats.merge(SufficientStats.from_points(chunk))
    assert stats.n == len(points)
    assert stats.isoscore() == pytest.approx(reference_float64(IsoScore, points), rel=1e-9)
    assert stats.isoscore_star(0.3) == pytest.approx(isoscore_star(points, 0.3), rel=1e-9)
    assert stats.effective_dims() == pytest.approx(effective_dims(points), rel=1e-9)
    np.testing.assert_allclose(stats.covariance(), np.cov(points.astype(np.float64).T), atol=1e-10)
    np.testing.assert_allclose(stats.eigen_spectrum(), eigen_spectrum(points), atol=1e-10)


def test_statistics_round_trip_through_flat_rows():
    stats = SufficientStats.from_points(cloud(11, 50, 6))
    again = SufficientStats.from_flat(*stats.to_flat())
    assert again.n == 50 and again.isoscore() == stats.isoscore()
    with pytest.raises(ProtisoError, match="dim 6"):
        SufficientStats.from_flat(50, 6, [0.0] * 5, [0.0] * 36)
    with pytest.raises(ProtisoError, match="merge"):
        stats.merge(SufficientStats(7))


# -- properties (hypothesis) ---------------------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)
shapes = st.tuples(st.integers(3, 80), st.integers(2, 24))


def random_rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@settings(max_examples=40, deadline=None)
@given(seeds, shapes, st.floats(1e-3, 1e3), st.floats(-50, 50))
def test_invariant_to_rotation_translation_and_scaling(seed, shape, scale, shift):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, shape[1])
    base = isoscore(points)
    moved = scale * points @ random_rotation(rng, shape[1]) + shift * rng.standard_normal(shape[1])
    assert isoscore(moved) == pytest.approx(base, rel=1e-8, abs=1e-12)
    assert effective_dims(moved) == pytest.approx(effective_dims(points), rel=1e-8)


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(2, 30), st.integers(0, 30), st.floats(1e-2, 1e2))
def test_k_equal_variance_dims_give_k_minus_1_over_n_minus_1(seed, k, extra, scale):
    dim = k + extra
    rng = np.random.default_rng(seed)
    # +-c e_i for i < k: equal variance on k axes and none elsewhere, then a random rotation.
    points = np.concatenate([np.eye(dim)[:k], -np.eye(dim)[:k]]) * scale
    points = points @ random_rotation(rng, dim)
    assert isoscore(points) == pytest.approx((k - 1) / (dim - 1), abs=1e-10)
    assert effective_dims_rounded(effective_dims(points)) == k


@settings(max_examples=40, deadline=None)
@given(seeds, shapes)
def test_isoscore_star_with_zero_zeta_is_isoscore(seed, shape):
    points = np.random.default_rng(seed).standard_normal(shape)
    assert isoscore_star(points, 0.0) == pytest.approx(isoscore(points), rel=1e-10)
    assert isoscore_star_fixed(points, 0.0) == pytest.approx(isoscore(points), rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(seeds, shapes, st.integers(1, 6))
def test_merged_statistics_equal_stacking(seed, shape, parts):
    points = np.random.default_rng(seed).standard_normal(shape) + 5.0
    stats = SufficientStats(shape[1])
    for chunk in np.array_split(points, parts):
        stats = stats + SufficientStats.from_points(chunk)
    assert stats.isoscore() == pytest.approx(isoscore(points), rel=1e-8)


# -- bad input -----------------------------------------------------------------------------------


def test_bad_input_rules():
    good = cloud(12, 10, 4)
    for bad in (good[0], good[None], np.array([["a", "b"], ["c", "d"]])):
        with pytest.raises(ProtisoError):
            isoscore(bad)
    for value in (np.nan, np.inf):
        broken = good.copy()
        broken[3, 1] = value
        with pytest.raises(ProtisoError, match="vector 3 contains NaN or infinity"):
            isoscore(broken)
    assert isoscore(good[:1]) is None and effective_dims(good[:1]) is None  # fewer than 2 points
    same = np.tile(good[0], (5, 1))
    assert isoscore(same) is None and effective_dims(same) is None and eigen_spectrum(same) is None
    assert isoscore_star_fixed(same, 0.3) == pytest.approx(1.0)  # shrunk covariance is 0.3 * I
    assert isoscore_star(same, 0.3) is None      # scale-free: the target (tr C / n) I is zero too
    assert isoscore_star(same, 0.0) is None and isoscore_star_fixed(same, 0.0) is None
    assert isoscore(good[:, :1]) is None and effective_dims(good[:, :1]) == pytest.approx(1.0)
    with pytest.raises(ProtisoError, match="zeta"):
        isoscore_star(good, 1.5)
    with pytest.raises(ProtisoError, match="symmetric"):
        isoscore_star(good, 0.5, np.triu(np.ones((4, 4))))
    with pytest.raises(ProtisoError, match="zero"):
        mean_pairwise_cosine(np.vstack([good, np.zeros(4)]))
    assert mean_pairwise_cosine(good[:1]) is None
    assert SufficientStats.from_points(same).isoscore() is None


# -- bootstrap -----------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    points = golden()["global_vectors"]
    first = bootstrap_isoscore(points, 100, seed=3)
    assert first == bootstrap_isoscore(points, 100, seed=3)
    assert first != bootstrap_isoscore(points, 100, seed=4)
    assert first.method == "points" and first.low < isoscore(points) < first.high


@pytest.mark.parametrize("n_points", [200, 3000])
def test_bootstrap_width_matches_sampling_spread(n_points):
    rng = np.random.default_rng(5)
    mix = rng.standard_normal((24, 24)) * np.geomspace(0.2, 2, 24)
    draws = [isoscore(rng.standard_normal((n_points, 24)) @ mix) for _ in range(40)]
    sample = rng.standard_normal((n_points, 24)) @ mix
    ci = bootstrap_isoscore(sample, 200, seed=1)
    assert ci.method == ("points" if n_points <= 1000 else "blocks")
    assert ci.low < isoscore(sample) < ci.high
    assert 0.5 < (ci.high - ci.low) / (2 * 1.96 * np.std(draws)) < 2.0


def test_bootstrap_undefined_cases():
    assert bootstrap_isoscore(np.ones((5, 3)), 10, seed=0) is None
    assert bootstrap_isoscore(np.ones((3000, 3)), 10, seed=0) is None
    with pytest.raises(ProtisoError):
        bootstrap_isoscore(cloud(1, 10, 3), 0, seed=0)
