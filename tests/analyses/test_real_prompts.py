"""analyses.calibration.real_prompts: prompts drawn from a real file's larger set, compared through the CLI."""

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from analyses.calibration import real_prompts as rp
from rsastats.io import make_activations, write_dataset


def _cells(x):
    m = x.mean(axis=1)
    u = m / np.linalg.norm(m, axis=1, keepdims=True)
    return (1.0 - u @ u.T)[np.triu_indices(len(m), 1)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(4)
    folder = tmp_path_factory.mktemp("real")
    emotions = [f"e{i}" for i in range(8)]
    signal = rng.standard_normal((8, 1, 24))
    paths = []
    for name in ("a", "b"):
        x = np.zeros((8, 12, 2, 24), dtype=np.float32)
        for layer in range(2):
            x[:, :, layer] = 2.0 + signal + (0.6 + 0.3 * layer) * rng.standard_normal((8, 12, 24))
        paths.append(write_dataset(make_activations(x, emotions, layers=[3, 5], attrs={"model": name, "precision": "fp32"}),
                                   folder / f"{name}.nc"))
    return paths


def test_truths_and_the_cli_rows(files, tmp_path):
    a, b = rp.read_layer(f"{files[0]}:5"), rp.read_layer(f"{files[1]}:3")
    assert a[0] == "a-L5" and a[1].shape == (8, 12, 24)
    truth = rp.truths(a[1], b[1], 4)
    assert truth["free"] == pytest.approx(spearmanr(_cells(a[1]), _cells(b[1]))[0], abs=1e-12)
    frame, meta = rp.run_pair(a, b, 4, 3, jobs=1)
    assert meta["truth"] == truth and len(frame) == 3
    for row in frame.to_dict(orient="records"):
        labels = [int(v) for v in row["labels"].split()]
        assert len(set(labels)) == 4
        # the CLI's rho is the rho of these prompts' means (float32 files)
        xa, xb = a[1][:, labels].astype(np.float32), b[1][:, labels].astype(np.float32)
        assert row["rho"] == pytest.approx(spearmanr(_cells(xa.astype(float)), _cells(xb.astype(float)))[0], abs=1e-9)
        assert row["ci_low"] <= row["rho"] <= row["ci_high"]
    # the same seed draws the same labels
    again, _ = rp.run_pair(a, b, 4, 1, jobs=1)
    assert again["labels"][0] == frame["labels"][0]
    frame.to_csv(tmp_path / "x.csv", index=False)
    (tmp_path / "x.json").write_text(json.dumps(meta))
    table = rp.summary_table(tmp_path)
    row = table.iloc[0]
    assert row["rho_cover"] == ((frame["ci_low"] <= truth["measured"]) & (truth["measured"] <= frame["ci_high"])).mean()
    assert row["ratio_error"] == pytest.approx((frame["ratio"] - truth["free"]).mean())
    assert "| a-L5 | b-L3 | 8 of 8 | 4 of 12 |" in rp.summary_markdown(table)
    rp.main(["--summary", "--out", str(tmp_path)])
    assert (tmp_path / "summary.md").read_text() == rp.summary_markdown(table)


def test_invalid_prompts_are_refused(tmp_path):
    x = np.ones((3, 4, 1, 5), dtype=np.float32) + np.arange(3)[:, None, None, None]
    valid = np.ones((3, 4), dtype=int)
    valid[0, 1] = 0
    path = write_dataset(make_activations(x, ["a", "b", "c"], valid=valid, attrs={"model": "m", "precision": "fp32"}),
                         tmp_path / "v.nc")
    with pytest.raises(ValueError, match="invalid"):
        rp.read_layer(f"{path}:0")


def test_emotions_drawn_per_data_set(files):
    a, b = rp.read_layer(f"{files[0]}:3"), rp.read_layer(f"{files[1]}:3")
    truth = rp.truths(a[1], b[1], 4, n_mc=40, n_emotions=5)
    rng = np.random.default_rng([3, 4, 5])  # the truths' own stream: the mean over its 40 emotion draws
    subsets = []
    for _ in range(40):
        rows = rp._draw(rng, a[1].shape, 4, 5)[1]
        subsets.append(spearmanr(_cells(a[1][rows]), _cells(b[1][rows]))[0])
    assert truth["free"] == pytest.approx(np.mean(subsets), abs=1e-12)
    # with every emotion, the noise-free truth is the rho of all emotions' means
    assert rp.truths(a[1], b[1], 4, n_mc=5, n_emotions=8)["free"] == pytest.approx(rp.truths(a[1], b[1], 4, n_mc=5)["free"])
    frame, meta = rp.run_pair(a, b, 4, 2, n_emotions=5, jobs=1)
    assert meta["emotions"] == 5 and meta["population_emotions"] == 8
    for row in frame.to_dict(orient="records"):
        names = row["emotions"].split()
        assert len(set(names)) == 5 and names == sorted(names, key=a[2].index)
        index = [a[2].index(n) for n in names]
        labels = [int(v) for v in row["labels"].split()]
        xa = a[1][index][:, labels].astype(np.float32).astype(float)
        xb = b[1][index][:, labels].astype(np.float32).astype(float)
        assert row["rho"] == pytest.approx(spearmanr(_cells(xa), _cells(xb))[0], abs=1e-9)


def test_emotion_word_stimuli_keep_the_named_texts():
    import pandas as pd

    stimuli = rp.emotion_word_stimuli()
    named = pd.read_csv(rp.NAMED)
    counts = stimuli.groupby("emotion").size()
    assert len(counts) == 102 and (counts == 48).all()
    for emotion, texts in named.groupby("emotion")["text"]:
        assert stimuli.loc[stimuli["emotion"] == emotion, "text"].tolist() == texts.tolist()
    assert "I feel nostalgic at work today." in set(stimuli["text"])
