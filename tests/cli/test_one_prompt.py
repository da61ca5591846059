"""Activations with one valid prompt for an emotion (one prompt per emotion, or a generation run whose other
continuations failed): no split half exists for that model, so it has no reliability, noise ceiling or
rho_corrected -- but rho, its interval and the Mantel p are still given by every command, and the output says why
the rest is missing.  `matrix`, `hypotheses` and `report` stopped with an error here until 2026-12-07, while
`compare` gave its results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.inference import noise_ceiling
from rsastats.io import write_dataset
from rsastats.io.construct import make_activations
from rsastats.exceptions import ValidationError

N, P, H = 12, 4, 24


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one_prompt")
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((N, 1, 1, H))
    labels = [f"e{i}" for i in range(N)]
    valid = np.ones((N, P), np.int8)
    valid[2, 1:] = 0  # emotion e2 kept one of its four continuations
    thin = np.where(valid[:, :, None, None] == 1, mu + 0.5 * rng.standard_normal((N, P, 1, H)), np.nan)
    paths = {
        "thin": make_activations(thin, labels, valid=valid, attrs={"model": "thin"}),
        "single": make_activations(mu + 0.5 * rng.standard_normal((N, 1, 1, H)), labels, attrs={"model": "single"}),
        "full": make_activations(mu + 0.5 * rng.standard_normal((N, P, 1, H)), labels, attrs={"model": "full"}),
        "other": make_activations(mu + 0.5 * rng.standard_normal((N, P, 1, H)), labels, attrs={"model": "other"}),
    }
    out = {k: str(write_dataset(ds, tmp / f"{k}.nc")) for k, ds in paths.items()}
    features = tmp / "features.csv"
    features.write_text("emotion,valence\n" + "".join(f"e{i},{v:.3f}\n" for i, v in enumerate(rng.standard_normal(N))))
    out["features"] = str(features)
    return out


def _json(args):
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_matrix_gives_every_pair_and_says_why_a_ceiling_is_missing(files):
    out = _json(["matrix", files["thin"], files["single"], files["full"], files["other"], "--n-boot", "100",
                 "--permutations", "99"])
    pairs = {(p["a"], p["b"]): p for p in out["pairs"]}
    assert len(pairs) == 6
    for (a, b), p in pairs.items():
        assert p["ci_low"] <= p["rho"] <= p["ci_high"] and 0 < p["p_value"] <= 1
        if {a, b} & {"thin", "single"}:
            assert p["rho_corrected"] is None and "valid prompts per emotion" in p["corrected_note"]
    assert pairs[("full", "other")]["rho_corrected"] is not None
    models = {m["name"]: m for m in out["noise_ceiling"]["models"]}
    for name in ("thin", "single"):
        assert models[name]["split_half"] is None and models[name]["reliability"] is None
        assert "fewer than 2 valid prompts, so its prompts cannot be split" in models[name]["note"]
    assert models["full"]["split_half"] is not None
    assert out["noise_ceiling"]["lower"] is not None  # the leave-one-out group bounds need no prompts


def test_the_other_models_ceilings_do_not_depend_on_the_thin_one(files):
    """The split keys are drawn per prompt label, shared by the models; leaving the thin model out of the split-half
    computation changes nothing for the others."""
    args = ["--n-boot", "100", "--permutations", "99"]
    both = _json(["matrix", files["thin"], files["full"], files["other"], *args])["noise_ceiling"]["models"]
    alone = _json(["matrix", files["full"], files["other"], *args])["noise_ceiling"]["models"]
    assert [m["split_half"] for m in both[1:]] == [m["split_half"] for m in alone]


def test_hypotheses_and_report_run(files, tmp_path):
    out = _json(["hypotheses", files["thin"], files["full"], "--models", files["features"], "--n-boot", "100",
                 "--permutations", "99"])
    fits = {r["data"]: r for r in out["fits"]}
    assert fits["thin"]["noise_ceiling"] is None
    assert "fewer than 2 valid prompts, so its prompts cannot be split" in fits["thin"]["ceiling_note"]
    assert fits["full"]["noise_ceiling"] is not None and fits["thin"]["ci_low"] <= fits["thin"]["rho"]
    res = CliRunner().invoke(cli, ["report", files["thin"], files["full"], files["other"], "--out", str(tmp_path / "r"),
                                   "--n-boot", "100"])
    assert res.exit_code == 0, res.output


def test_noise_ceiling_asked_for_directly_still_refuses(files):
    """Asked for by name, the reliability of a model that cannot be split is an error, not a silent None."""
    with pytest.raises(ValidationError, match="needs >= 2 valid prompts per emotion; too few for thin:e2"):
        noise_ceiling([files["thin"], files["full"]])
