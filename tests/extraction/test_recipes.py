"""The contrastive recipes on tiny random models: each stage against a hand computation on the hidden
states the model gives (``output_hidden_states``, not the package's capture), repeng's direction
against scikit-learn's PCA with repeng's sign rule, the built-in contrast pairs, and the recipes by name."""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.extraction.conftest import make_loaded  # noqa: E402

from extraction.config import RECIPES, make_config  # noqa: E402
from extraction.recipe_run import reading_path, run_extraction  # noqa: E402
from extraction.stimuli import CONTRAST_WORD, STUDY_EMOTIONS, load_stimuli  # noqa: E402
from extraction.vector_stages import NEUTRAL_PCS, pca_direction  # noqa: E402
from rsastats.exceptions import ValidationError  # noqa: E402
from rsastats.io import open_activations, open_vectors  # noqa: E402

EMOTIONS = ("happy", "sad", "calm", "afraid")
LIMIT = 4


def _hidden_last(loaded, texts, layer):
    """Hidden state of the last token of each text at ``layer`` (0 = embeddings), one text per pass,
    straight from the model's ``output_hidden_states`` (no chat template: the repeng and
    steering-vectors recipes tokenize the raw string)."""
    rows = []
    with torch.no_grad():
        for text in texts:
            ids = loaded.tokenizer(text, return_tensors="pt")
            out = loaded.model(**ids, output_hidden_states=True)
            rows.append(out.hidden_states[layer][0, -1].double().numpy())
    return np.array(rows)


def _repeng_direction(h):
    """repeng's read_representations for one layer, as its source writes it (method pca_diff):
    ``h`` interleaves positive and negative rows."""
    from sklearn.decomposition import PCA

    train = h[::2] - h[1::2]
    direction = PCA(n_components=1, whiten=False).fit(train).components_.squeeze(axis=0)
    projected = h @ direction / np.linalg.norm(direction)
    smaller = np.mean([projected[i] < projected[i + 1] for i in range(0, len(h), 2)])
    larger = np.mean([projected[i] > projected[i + 1] for i in range(0, len(h), 2)])
    return -direction if smaller > larger else direction


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Each contrastive recipe on one tiny llama (last layer = after the final norm), and the texts it read."""
    folder = tmp_path_factory.mktemp("recipes")
    loaded = make_loaded("llama", seed=3)
    files = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("steering-vectors", "repeng"):
            config = make_config(name, emotions=EMOTIONS, limit=LIMIT, layers="last", batch_size=3)
            files[name] = run_extraction(config, folder / f"{name}.nc", loaded=loaded).out
        for method in ("baseline-diff", "neutral-pc"):
            config = make_config(method=method, stimuli="named", emotions=EMOTIONS, limit=LIMIT, layers="last",
                                 baseline_limit=8, chat_template="off", batch_size=3)
            files[method] = run_extraction(config, folder / f"{method}.nc", loaded=loaded).out
    return loaded, files


def test_steering_vectors_rows_are_the_paired_differences(made):
    loaded, files = made
    stim = load_stimuli("contrast").select(emotions=EMOTIONS, limit=LIMIT)
    n_layers = loaded.model.config.num_hidden_layers
    negatives = _hidden_last(loaded, stim.baseline, n_layers)
    ds = open_activations(files["steering-vectors"])
    assert ds.attrs["method"] == "mean-diff" and ds.attrs["recipe"] == "steering-vectors"
    assert "baseline" not in ds.data_vars and ds.attrs["stimulus_set"] == stim.label
    assert (ds["n_tokens"].values > ds["pool_start"].values).all()  # where each positive was pooled is kept
    for e, emotion in enumerate(EMOTIONS):
        diffs = _hidden_last(loaded, stim.texts[e], n_layers) - negatives
        got = ds["activations"].sel(emotion=emotion).isel(layer=-1).values
        np.testing.assert_allclose(got, diffs, rtol=1e-4, atol=1e-5)
        # The emotion vector rsastats makes from the file (mean over prompts) is the mean difference.
        from rsastats.vectors import emotion_vectors

        vec = emotion_vectors(ds)["vectors"].sel(emotion=emotion).values
        np.testing.assert_allclose(vec, diffs.mean(axis=0), rtol=1e-4, atol=1e-5)
    assert not reading_path(files["steering-vectors"]).exists()


def test_repeng_direction_matches_sklearn_pca_with_repengs_sign_rule(made):
    loaded, files = made
    stim = load_stimuli("contrast").select(emotions=EMOTIONS, limit=LIMIT)
    n_layers = loaded.model.config.num_hidden_layers
    negatives = _hidden_last(loaded, stim.baseline, n_layers)
    ds = open_vectors(files["repeng"])
    assert ds.attrs["method"] == "pca-diff" and "vectors" in ds.data_vars
    for e, emotion in enumerate(EMOTIONS):
        positives = _hidden_last(loaded, stim.texts[e], n_layers)
        h = np.empty((2 * LIMIT, positives.shape[1]))
        h[::2], h[1::2] = positives, negatives
        expected = _repeng_direction(h)
        got = ds["vectors"].sel(emotion=emotion).isel(layer=-1).values
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
        assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)


def test_repeng_sign_rule_flips_a_direction_most_positives_fall_below():
    rng = np.random.default_rng(0)
    negative = rng.normal(size=(9, 5))
    push = np.array([3.0, 0, 0, 0, 0])
    scale = np.array([1, 2, 3, 4, 5, 6, 7, -0.5, -0.4])[:, None]  # 7 pairs above, 2 below along +x
    positive = negative + scale * push + rng.normal(scale=0.01, size=(9, 5))
    direction = pca_direction(positive, negative)
    h = np.empty((18, 5))
    h[::2], h[1::2] = positive, negative
    np.testing.assert_allclose(direction, _repeng_direction(h), atol=1e-10)
    assert direction[0] > 0  # most positives lie above their negative along the direction
    flipped = pca_direction(negative, positive)  # the pairs swapped: the rule flips the sign
    np.testing.assert_allclose(flipped, -direction, atol=1e-10)


def test_baseline_stages_match_numpy_and_rsastats_normalizations(made, tmp_path):
    loaded, files = made
    n_layers = loaded.model.config.num_hidden_layers
    config = make_config(stimuli="named", emotions=EMOTIONS, limit=LIMIT, layers="last", baseline_limit=8,
                         chat_template="off", batch_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = run_extraction(config, tmp_path / "plain.nc", loaded=loaded).out
    from rsastats.vectors import DEFAULT_N_PCS, emotion_vectors

    assert NEUTRAL_PCS == DEFAULT_N_PCS
    reading = open_activations(plain)
    stim = load_stimuli("named", baseline="builtin").select(emotions=EMOTIONS, limit=LIMIT, baseline_limit=8)
    base = _hidden_last(loaded, stim.baseline, n_layers)
    rows = np.stack([_hidden_last(loaded, t, n_layers) for t in stim.texts])
    sub = open_activations(files["baseline-diff"])
    np.testing.assert_allclose(sub["activations"].isel(layer=-1).values, rows - base.mean(axis=0), rtol=1e-4,
                               atol=1e-5)
    centred = base - base.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2][:NEUTRAL_PCS]
    projected = rows - (rows @ vt.T) @ vt
    npc = open_activations(files["neutral-pc"])
    np.testing.assert_allclose(npc["activations"].isel(layer=-1).values, projected, rtol=1e-3, atol=1e-4)
    # The same vectors as the comparison's normalizations of the plain reading.
    for name, stage in (("baseline-mean", sub), ("neutral-pc", npc)):
        np.testing.assert_allclose(emotion_vectors(stage)["vectors"].values,
                                   emotion_vectors(reading, normalization=name)["vectors"].values,
                                   rtol=1e-3, atol=1e-4)
    assert npc.attrs["n_pcs"] == NEUTRAL_PCS and "baseline" not in npc.data_vars


def test_contrast_pairs_differ_only_in_the_emotion_word_and_their_hash_is_the_content():
    stim = load_stimuli("contrast")
    assert stim.emotions == STUDY_EMOTIONS and stim.paired and len(stim.baseline) == stim.n_prompts == 48
    for emotion, texts in zip(stim.emotions, stim.texts):
        for text, negative in zip(texts, stim.baseline):
            a, b = re.findall(r"\w+|\W", text), re.findall(r"\w+|\W", negative)
            changed = [(x, y) for x, y in zip(a, b) if x != y]
            assert len(a) == len(b) and changed == [(emotion, CONTRAST_WORD)]
    payload = json.dumps({"emotions": list(stim.emotions), "texts": [list(t) for t in stim.texts],
                          "baseline": list(stim.baseline), "paired": True}, ensure_ascii=False, separators=(",", ":"))
    assert stim.sha256 == hashlib.sha256(payload.encode("utf-8")).hexdigest() == load_stimuli("contrast").sha256
    assert stim.sha256 != load_stimuli("named", baseline=None).sha256
    small = stim.select(emotions=EMOTIONS, limit=LIMIT, baseline_limit=0)
    assert small.baseline == stim.baseline[:LIMIT] and small.sha256 != stim.sha256  # the negatives follow the prompts


def test_recipes_by_name_and_bad_stage_settings():
    assert {"repeng", "steering-vectors"} <= set(RECIPES)
    assert (make_config("repeng").method, make_config("steering-vectors").method) == ("pca-diff", "mean-diff")
    assert make_config("story-mean").method == "neutral-pc"
    with pytest.raises(ValidationError, match="--stimuli contrast"):
        make_config(method="pca-diff", stimuli="named")
    with pytest.raises(ValidationError, match="--baseline none leaves none"):
        make_config(method="neutral-pc", baseline="none")
    from extraction.run import extract

    with pytest.raises(ValidationError, match="made from a reading"):
        extract(make_config("repeng"), "never.nc")


def test_a_peer_file_that_records_only_its_method_is_planned_with_that_methods_recipe():
    from extraction.reference_plan import plan_reference

    plan = plan_reference({"method": "pca-diff", "model": "peer", "precision": "fp16"}, "B", model="default",
                          emotions=EMOTIONS, n_prompts=None, limit=None, baseline=False)
    config = plan.config
    assert (config.recipe, config.method, config.stimuli, config.pooling, config.chat_template) == (
        "repeng", "pca-diff", "contrast", "last", "off")
    assumed = {x.attribute: x.value for x in plan.assumptions}
    assert assumed["pooling"] == "last" and assumed["stimulus_set"] == "contrast" and all(
        x.blocking for x in plan.assumptions if x.attribute in ("pooling", "stimulus_set"))
    neutral = plan_reference({"method": "neutral-pc", "pooling": "mean", "stimulus_source": "built-in:implicit"}, "A",
                             model="default", emotions=EMOTIONS, n_prompts=4, limit=None, baseline=False).config
    assert (neutral.method, neutral.baseline, neutral.stimuli, neutral.limit) == ("neutral-pc", "builtin", "implicit", 4)


def test_neutral_pc_with_too_few_baseline_texts_fails_before_reading(monkeypatch, tmp_path):
    import extraction.recipe_run as recipe_module

    def forbidden(*args, **kwargs):
        raise AssertionError("the reading ran before the cheap check")

    monkeypatch.setattr(recipe_module, "extract", forbidden)
    config = make_config(method="neutral-pc", stimuli="named", emotions=EMOTIONS, limit=2, baseline_limit=NEUTRAL_PCS)
    with pytest.raises(ValidationError, match=f"read at least {NEUTRAL_PCS + 1}"):
        run_extraction(config, tmp_path / "x.nc")


@pytest.mark.parametrize("recipe", ["repeng", "steering-vectors"])
def test_peer_recipes_read_every_block_output_and_name_a_layer_that_cannot_work(recipe, tmp_path):
    """repeng and steering-vectors read the blocks' outputs; at the embedding output (layer 0) the two texts of
    a pair end in the same token, so their difference is 0: the recipe leaves it out, and forcing it in gives
    a line naming the layer (pca-diff) or the all-zero vectors (mean-diff)."""
    loaded = make_loaded("llama", seed=0)
    n_blocks = loaded.model.config.num_hidden_layers
    out = tmp_path / f"{recipe}.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_extraction(make_config(recipe, emotions=EMOTIONS, limit=LIMIT, batch_size=3), out, loaded=loaded)
    made = open_vectors(out) if recipe == "repeng" else open_activations(out)  # mean-diff keeps the pairs
    assert [int(x) for x in made["layer"].values] == list(range(1, n_blocks + 1))
    forced = dict(emotions=EMOTIONS, limit=LIMIT, batch_size=3, layers="all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if recipe == "repeng":
            with pytest.raises(ValidationError, match="happy at layer 0: the paired differences do not vary.*--layers blocks"):
                run_extraction(make_config(recipe, **forced), tmp_path / "all.nc", loaded=make_loaded("llama", seed=0))
        else:  # the mean difference is written as it is: zero at the embedding output
            run_extraction(make_config(recipe, **forced), tmp_path / "all.nc", loaded=make_loaded("llama", seed=0))
            values = open_activations(tmp_path / "all.nc")["activations"].sel(layer=0).values
            assert not np.any(values)
