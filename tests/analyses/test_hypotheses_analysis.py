"""analyses/hypotheses.py without models: on a small synthetic activations file (with texts and token
spans), the numbers of one model x experiment are checked against independent computations (numpy
vectors, scipy's cosine distances and Spearman rho, pingouin's partial correlation), and the pure
helpers against hand-made cases."""

from __future__ import annotations

import types

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from analyses import hypotheses as H
from rsastats.io import write_dataset
from rsastats.io.features import read_feature_table
from rsastats.simulate import simulate_activations

# 8 emotions of the valence table and two it lacks (afraid, neutral), in the order of the data
EMOTIONS = ["happy", "sad", "afraid", "calm", "angry", "proud", "neutral", "guilty", "hopeful", "gloomy"]
N_PROMPTS = 5


def _file(tmp_path, seed: int = 0):
    """A synthetic activations file with texts whose length and wording differ between emotions."""
    rng = np.random.default_rng(seed)
    ds = simulate_activations(len(EMOTIONS), N_PROMPTS, 2, 16, noise=0.7, emotions=EMOTIONS, seed=seed,
                              attrs={"model": "synthetic"})
    words = ["warm", "cold", "slow", "quick", "bright", "dark", "small", "large", "soft", "loud", "the", "a"]
    texts, stops = [], []
    for i, e in enumerate(EMOTIONS):
        row_t, row_s = [], []
        for p in range(N_PROMPTS):
            n = 3 + (i % 5) + int(rng.integers(0, 3))
            row_t.append(" ".join([f"I feel {e}"] + list(rng.choice(words, size=n))))
            row_s.append(1 + n + 3)
        texts.append(row_t)
        stops.append(row_s)
    ds = ds.assign_coords(text=(("emotion", "prompt"), np.array(texts, dtype=object).astype(str)))
    ds["pool_start"] = (("emotion", "prompt"), np.ones((len(EMOTIONS), N_PROMPTS), dtype=np.int32))
    ds["pool_stop"] = (("emotion", "prompt"), np.array(stops, dtype=np.int32))
    path = tmp_path / f"m{seed}.nc"
    write_dataset(ds, path)
    return path, ds


def _ctx(paths: dict, random: set):
    sizes = types.SimpleNamespace(n_boot=200, permutations=999, n_splits=4)
    entry = lambda name: types.SimpleNamespace(is_random=name in random)  # noqa: E731
    return types.SimpleNamespace(file=lambda m, r: str(paths[m]), model_set=types.SimpleNamespace(entry=entry),
                                 sizes=sizes, seed=0)


def test_valence_emotions_keeps_the_data_order_and_names_the_rest():
    kept, left = H.valence_emotions(["sad", "happy", "calm"], ["happy", "afraid", "sad", "calm", "neutral"])
    assert kept == ["happy", "sad", "calm"] and left == ["afraid", "neutral"]


def test_one_fit_against_independent_computations(tmp_path):
    path, ds = _file(tmp_path)
    table = read_feature_table(H.VALENCE)
    keep, left = H.valence_emotions(table.index, EMOTIONS)
    assert left == ["afraid", "neutral"]
    gaps: list = []
    item = H.restrict(_ctx({"m": path}, set()), "m", "named", keep, gaps)
    assert list(item.data.rdm.labels) == keep and [c.name for c in item.confounds] == [H.TOKENS, H.WORDS] and not gaps
    valence, rows, diffs, _ = H.fit(item, _ctx({"m": path}, set()))
    # by hand: vectors = mean over prompts at the last layer; cosine RDM; |valence difference|; Spearman of the cells
    vectors = ds["activations"].isel(layer=-1).mean("prompt").sel(emotion=keep).values.astype(np.float64)
    data = pdist(vectors, "cosine")
    v = table.loc[keep, "valence"].to_numpy()
    hyp = pdist(v[:, None], "cityblock")
    rho = spearmanr(data, hyp).statistic
    assert valence["rho"] == pytest.approx(rho, abs=1e-12) and valence["scipy_rho"] == pytest.approx(rho, abs=1e-12)
    assert valence["ci_low"] <= valence["rho"] <= valence["ci_high"] and 0 < valence["p_value"] <= 1
    # the token-count RDM as a rival hypothesis, and the partial correlation given both confounds (pingouin)
    tokens = (ds["pool_stop"] - ds["pool_start"]).sel(emotion=keep).mean("prompt").values
    length = pdist(tokens[:, None], "cityblock")
    assert rows[1]["hypothesis"] == H.TOKENS and rows[1]["rho"] == pytest.approx(spearmanr(data, length).statistic)
    words = squareform(item.confounds[1].rdm.matrix, checks=False)
    pg = pytest.importorskip("pingouin")
    import pandas as pd

    cells = pd.DataFrame({"d": data, "v": hyp, "t": length, "w": words})
    ref = pg.partial_corr(cells, x="d", y="v", covar=["t", "w"], method="spearman")["r"].iloc[0]
    assert valence["partial_rho"] == pytest.approx(ref, abs=1e-10)
    assert valence["confounds"] == "token count, bag of words"
    assert [(d["hypothesis_a"], d["hypothesis_b"]) for d in diffs] == [("valence", H.TOKENS), ("valence", H.WORDS),
                                                                      (H.TOKENS, H.WORDS)]
    assert diffs[0]["difference"] == pytest.approx(rho - rows[1]["rho"])


def test_confounds_that_cannot_order_the_emotions_are_left_out(tmp_path):
    path, ds = _file(tmp_path)
    same = ds.copy()
    same["pool_stop"] = same["pool_stop"] * 0 + 5  # every text equally long
    same = same.assign_coords(text=(("emotion", "prompt"), np.full(same["text"].shape, "I feel it")))  # same words
    flat = tmp_path / "flat.nc"
    write_dataset(same, flat)
    gaps: list = []
    keep = H.valence_emotions(read_feature_table(H.VALENCE).index, EMOTIONS)[0]
    item = H.restrict(_ctx({"m": flat}, set()), "m", "named", keep, gaps)
    assert item.confounds == () and [g[0] for g in gaps] == [H.GAP_TOKENS, H.GAP_WORDS]
    valence, _, diffs, _ = H.fit(item, _ctx({"m": flat}, set()))
    assert np.isnan(valence["partial_rho"]) and valence["confounds"] == "none" and diffs == []
    assert H.grouped([("r1", "a"), ("r2", "b"), ("r1", "c")]) == ["r1 (2: a, c).", "r2 (1: b)."]


def test_trained_against_random_contrast_shares_the_valence_rdm(tmp_path):
    paths = {"t": _file(tmp_path, 0)[0], "r": _file(tmp_path, 1)[0]}
    ctx = _ctx(paths, {"r"})
    keep = H.valence_emotions(read_feature_table(H.VALENCE).index, EMOTIONS)[0]
    items = [H.restrict(ctx, m, "named", keep, []) for m in ("t", "r")]
    rows = H.contrasts(items, ctx)
    assert len(rows) == 1 and rows[0]["trained"] == "t" and rows[0]["random"] == "r"
    rho_t = H.fit(items[0], ctx)[0]["rho"]
    rho_r = H.fit(items[1], ctx)[0]["rho"]
    assert rows[0]["rho_a"] == pytest.approx(rho_t) and rows[0]["rho_b"] == pytest.approx(rho_r)
    assert rows[0]["difference"] == pytest.approx(rho_t - rho_r)
    assert rows[0]["ci_low"] <= rows[0]["difference"] <= rows[0]["ci_high"]


@pytest.mark.parametrize("p, low, estimate, start", [
    (0.01, 0.1, 0.4, "valence ordering (the permutation test and the interval over emotions agree)"),
    (0.01, -0.1, 0.3, "valence ordering on these emotions by the permutation test, but the interval"),
    (0.20, -0.1, 0.3, "no valence ordering detected"),
    (0.01, -0.6, -0.4, "no valence ordering detected"),  # a significant negative rho is not a valence ordering
    (float("nan"), 0.1, 0.4, "no valence ordering detected"),
])
def test_verdict_reads_the_test_and_the_interval_together(p, low, estimate, start):
    assert H.verdict(p, low, estimate, "valence ordering").startswith(start)
