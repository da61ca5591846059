"""shared_prompt_variance (rsastats/inference/equalize.py): the prompt variance emotions share at a prompt label,
against a direct loop over pairs of emotions, by both engine routes, with invalid prompts; and what it does to the
check of uneven shrinkage where prompts are built from templates."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.calibration import cli_model
from analyses.calibration.independent import _inputs
from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf, norm_shift
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.equalize import shared_prompt_variance


def _direct(x: np.ndarray, valid: np.ndarray) -> float:
    """Mean over e < f of sum_p (x_ep - xbar_e).(x_fp - xbar_f) / (n - 1), over the labels valid in both."""
    values = []
    for e in range(x.shape[0]):
        for f in range(e + 1, x.shape[0]):
            s = valid[e] & valid[f]
            if s.sum() < 2:
                continue
            de, df = x[e, s] - x[e, s].mean(axis=0), x[f, s] - x[f, s].mean(axis=0)
            values.append((de * df).sum() / (s.sum() - 1))
    return float(np.mean(values))


def _data(seed: int, n_e=9, n_p=7, hidden=30, template=1.0):
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(2, n_e, 1, hidden))
    templates = template * rng.normal(size=(2, 1, n_p, hidden))  # prompt p of every emotion, per model
    x = mu + templates + rng.normal(size=(2, n_e, n_p, hidden))
    valid = rng.random((n_e, n_p)) > 0.2
    valid[:, :3] = True
    return x, valid


@pytest.mark.parametrize("rdm_method", ["cosine", "correlation"])
@pytest.mark.parametrize("gram", [True, False])
def test_both_routes_equal_a_direct_loop(rdm_method, gram):
    x, valid = _data(0)
    models = _inputs(x, valid)
    group = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method=rdm_method, gram=gram).groups[0]
    assert (group.gram_blocks is not None) is gram
    got = shared_prompt_variance(group.valid, group.gram_blocks, group.rows, rdm_method)
    rows = [np.where(valid[..., None], m.rows.values, 0.0) for m in models]
    if rdm_method == "correlation":
        rows = [r - r.mean(axis=-1, keepdims=True) for r in rows]
    np.testing.assert_allclose(got, [_direct(r, valid) for r in rows], rtol=1e-10)


def test_it_estimates_the_templates_variance_and_about_zero_without_them():
    est = {t: np.mean([shared_prompt_variance(v, None, list(x), "cosine") for x, v in (_data(s, 15, 10, 40, t)
                                                                                        for s in range(40))], axis=0)
           for t in (0.0, 1.0)}
    np.testing.assert_allclose(est[1.0], 40.0, rtol=0.1)  # trace of the template covariance: 40 dims of variance 1
    assert np.all(np.abs(est[0.0]) < 0.1 * 40.0 * 0.2)


def test_the_check_no_longer_counts_templates_as_uneven_shrinkage():
    """The third generative model's template design (30 emotions x 8 prompts crossed with templates): the ratio is
    nearly unbiased there, and the check's move, which averaged -0.05 when the templates' share of the prompt
    variance was subtracted from the diagonal too, is now about 0."""
    design = next(d for d in cli_model.DESIGNS if d.name == "m3-n30-P8-templ")
    pair = np.array([[0, 1]])
    moves = {"shared removed": [], "whole noise": []}
    for i in range(16):
        _, _, x_a, x_b, valid = cli_model.Model(design).draw(np.random.default_rng([9, 30, 8, i]))
        halves = CrossHalf(cli_model.model_inputs(x_a, x_b, valid), "spearman", "cosine", DEFAULT_N_SPLITS,
                           np.random.SeedSequence(i))
        point = halves.corrected(None, pair)[0][0]
        jack = halves.leave_one_out(pair)
        moves["shared removed"].append(norm_shift(halves, pair, point, jack)[0][0])
        for group in halves.engine.groups:  # as before: the whole prompt variance treated as the emotion's noise
            group.shared = np.zeros(len(group.members))
        moves["whole noise"].append(norm_shift(halves, pair, point, jack)[0][0])
    assert abs(np.mean(moves["shared removed"])) < 0.02
    assert np.mean(moves["whole noise"]) < -0.03
    assert np.std(moves["shared removed"]) < 0.5 * np.std(moves["whole noise"])
