"""analyses/calibration/heavy_tails.py: its generator, its plain ratio, and a summary that counts its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kurtosis

from analyses.calibration import heavy_tails as ht


def test_the_noise_has_heavy_tailed_coordinates_or_is_normal():
    rng = np.random.default_rng(0)
    for name, heavy in (("21x12-t3", True), ("21x12-gauss", False)):
        gen = ht.HeavyTails(*ht.DESIGNS[name])
        a, _, pa, _, valid = gen.draw(rng)
        eps = ((pa - a[:, None, :]) / gen.noise).ravel()
        assert abs(eps.var() - 1.0) < 0.1  # unit variance either way
        assert (kurtosis(eps) > 3.0) == heavy  # t with 3 df: infinite excess kurtosis; normal: about 0
        assert valid[:, :3].all() and 0.0 < (~valid).mean() < 0.2


def test_the_ratios_without_noise_are_the_noise_free_rho():
    gen = ht.HeavyTails(*ht.DESIGNS["12x8-t3"])
    gen.noise = 0.0
    a, b, pa, pb, valid = gen.draw(np.random.default_rng(1))
    for mode in ht.RATIOS:  # no noise: the halves are the noise-free vectors, and every inflation is 0
        assert abs(ht.ratio(pa, pb, valid, np.random.default_rng(2), mode) - ht.noise_free_rho(a, b)) < 1e-12, mode


def test_the_summary_counts_its_rows():
    rows = pd.DataFrame(ht.design_rows(("12x8-t3", 4, 5, 0, 1)))
    assert len(rows) == 4 and rows["rho"].between(-1, 1).all()
    table = ht.summary(rows, {"12x8-t3": (0.8, 0.87)})
    given = rows[rows["rho_corrected"].notna()]
    hit = ((given["corrected_ci_low"] <= 0.87) & (0.87 <= given["corrected_ci_high"])).mean()
    assert table.loc[0, "corrected_given"] == len(given) and table.loc[0, "corrected_coverage"] == hit
    assert table.loc[0, "corrected_bias"] == (given["rho_corrected"] - given["noise_free"]).mean()


def test_the_equalized_ratio_matches_the_shipped_half_rdms():
    """``all`` reproduces rsastats.inference.equalize.equalized with all the prompts' noise on one half."""
    from rsastats.inference.equalize import equalized

    gen = ht.HeavyTails(*ht.DESIGNS["12x8-t3"])
    _, _, pa, _, valid = gen.draw(np.random.default_rng(3))
    mask = valid.copy()
    mask[:, 4:] = False
    means = ht._means(pa, mask)
    counts = mask.astype(float)[None]
    noise = ht._noise(pa, valid)
    ours = ht._equalized_gram(means, noise / mask.sum(axis=1))
    sums = np.einsum("ep,eph->eh", mask, pa)
    shipped = equalized((sums @ sums.T)[None, None] / np.outer(mask.sum(1), mask.sum(1)), noise[None], counts,
                        mask.sum(axis=1)[None].astype(float))[0, 0]
    assert np.allclose(ours, shipped, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("design", ["21x12-t3", "30x4-t3", "21x6-gauss-levels"])
def test_the_shipped_half_rdms_are_the_hybrid(design):
    """The engine's equalized half RDMs (rsastats.inference.equalize.half_noise) are the study's ``hybrid`` ones, with
    halves above and below HYBRID_MIN prompts."""
    from analyses.calibration.independent import _inputs
    from rsastats.inference.engine import ResamplingEngine
    from rsastats.inference.equalize import HALF_NOISE_MIN

    assert HALF_NOISE_MIN == ht.HYBRID_MIN
    gen = ht.HeavyTails(*ht.DESIGNS[design])
    _, _, pa, pb, valid = gen.draw(np.random.default_rng(7))
    engine = ResamplingEngine(_inputs(np.stack([pa, pb]), valid), rank="spearman", scheme="prompts", rdm_method="cosine")
    rng = np.random.default_rng(8)
    first = np.zeros(valid.shape, bool)
    for e in range(gen.n_e):
        idx = rng.permutation(np.flatnonzero(valid[e]))
        first[e, idx[: len(idx) // 2]] = True
    for mask in (valid & first, valid & ~first):
        uppers = engine.rdm_uppers([mask[None].astype(float)], equalize=True)[:, 0]
        for upper, p in zip(uppers, (pa, pb)):
            whole, own = ht._noise(p, valid), ht._noise(p, mask)
            own = np.where(mask.sum(axis=1) >= ht.HYBRID_MIN, own, whole)
            want = ht._cosine_cells(ht._equalized_gram(ht._means(p, mask), own / mask.sum(axis=1)))
            np.testing.assert_allclose(upper, want, rtol=1e-9, atol=1e-12)


def test_the_hybrid_takes_all_prompts_below_its_minimum_and_the_half_above():
    gen = ht.HeavyTails(*ht.DESIGNS["30x4-t3"])  # 4 prompts: halves of 2, below HYBRID_MIN
    _, _, pa, pb, valid = gen.draw(np.random.default_rng(4))
    valid[:] = True
    same = [ht.ratio(pa, pb, valid, np.random.default_rng(5), m) for m in ("hybrid", "all")]
    assert same[0] == same[1]
    gen = ht.HeavyTails(*ht.DESIGNS["21x12-t3"])  # halves of 6
    _, _, pa, pb, valid = gen.draw(np.random.default_rng(4))
    valid[:] = True
    assert ht.ratio(pa, pb, valid, np.random.default_rng(5), "hybrid") == ht.ratio(pa, pb, valid,
                                                                                   np.random.default_rng(5), "half")


def test_levels_scale_each_emotions_noise_alike_in_both_models():
    gen = ht.HeavyTails(*ht.DESIGNS["21x8-gauss-levels"])
    a, b, pa, pb, _ = gen.draw(np.random.default_rng(6))
    sd_a = (pa - a[:, None, :]).std(axis=(1, 2))
    sd_b = (pb - b[:, None, :]).std(axis=(1, 2))
    assert np.corrcoef(np.log(sd_a), np.log(sd_b))[0, 1] > 0.9 and sd_a.max() / sd_a.min() > 2
