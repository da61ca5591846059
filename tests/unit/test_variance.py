"""rsastats.variance: the decomposition's design, estimates, tests, simple view and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from rsastats.variance import fit as variance_fit
from rsastats.variance.bootstrap import replicate
from rsastats.variance.fit import CellStatistics, fit_variance_components
from rsastats.variance.lrt import chibar_pvalue
from rsastats.variance.responses import resampled_cells, standardise
from rsastats.results import to_jsonable
from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.exceptions import FileFormatError, LabelError, ValidationError
from rsastats.simulate import simulate_activations, simulate_condition_rdms, simulate_condition_vectors
from rsastats.variance import DEFAULT_COMPONENTS, DecompositionResult, decompose, decompose_rdms, file_condition

COMPONENTS = ["model", "method", "precision", "experiment", "temperature", "model:experiment"]
PLANTED = {"shared": 1.0, "model": 0.4, "method": 0.3, "precision": 0.2, "temperature": 0.15, "model:experiment": 0.2}
RESIDUAL = 0.3


def study_conditions(models=("m1", "m2", "m3", "m4")):
    """Per model: two replicate comprehension fp32 runs, an int8 run, a second experiment, two temperatures."""
    out = []
    for model in models:
        out += [dict(model=model, method="comprehension", precision="fp32", experiment="A") for _ in range(2)]
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp32", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=64, template="plain", seed=1))
    return out


def labels(n):
    return [f"e{i}" for i in range(n)]


def true_shares(planted=PLANTED, residual=RESIDUAL):
    total = sum(planted.values()) + residual
    return {**{k: v / total for k, v in planted.items()}, "residual": residual / total}


# --------------------------------------------------------------------------- conditions
def test_file_condition_normalises_levels_and_marks_generation_only_factors():
    comp = file_condition({"model": "q", "method": "comprehension", "temperature": 0.7, "precision": "fp16"})
    assert comp["temperature"] == "n/a" and comp["seed"] == "n/a"
    assert comp["experiment"] == "(unknown)"
    gen1 = file_condition({"model": "q", "method": "generation", "temperature": "0.70", "max_new_tokens": 100.0})
    gen2 = file_condition({"model": "q", "method": "generation", "temperature": 0.7, "max_new_tokens": "100"})
    assert gen1 == gen2 and gen1["temperature"] == "0.7"
    assert file_condition(gen1) == gen1  # idempotent


# --------------------------------------------------------------------------- recovery
@pytest.mark.parametrize("response", ["zscore", "rank"])
def test_planted_components_are_recovered(response):
    conds = study_conditions()
    errors = []
    for seed in range(5):
        rdms = simulate_condition_rdms(conds, PLANTED, 30, residual=RESIDUAL, seed=seed)
        result = decompose_rdms(rdms, labels(30), conds, components=COMPONENTS, response=response, n_boot=0, test=False)
        truth = true_shares()
        errors.append([result.component(name).share - truth.get(name, 0.0) for name in ["shared", *COMPONENTS, "residual"]])
        assert result.diagnostics.converged
    mean_error = np.abs(np.mean(errors, axis=0))
    assert np.all(mean_error < 0.03), mean_error


def test_shares_sum_to_one_and_layers_add_up():
    conds = study_conditions()
    rdms = simulate_condition_rdms(conds, PLANTED, 12, residual=RESIDUAL, seed=3)
    result = decompose_rdms(rdms, labels(12), conds, n_boot=20, seed=1)
    estimable = [c for c in result.components if c.estimable]
    assert sum(c.share for c in estimable) == pytest.approx(1.0)
    layer_total = sum(x.share for x in result.layers if np.isfinite(x.share))
    assert layer_total == pytest.approx(1.0)
    for comp in estimable:
        low, high = comp.share_ci
        assert 0.0 <= low <= high <= 1.0
    assert np.allclose(result.bootstrap_shares.sum(axis=1), 1.0)


def test_rank_response_ignores_monotone_rescaling_of_a_file():
    """Why ranks: a precision that shrinks or bends all distances of a file must not look like geometry."""
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 10, residual=RESIDUAL, seed=4)
    bent = rdms.copy()
    bent[2] = np.sqrt(bent[2] - bent[2].min() + 1.0) * 7.0  # strictly increasing map of the int8 file's cells
    np.fill_diagonal(bent[2], 0.0)
    a = decompose_rdms(rdms, labels(10), conds, components=COMPONENTS, n_boot=0, test=False)
    b = decompose_rdms(bent, labels(10), conds, components=COMPONENTS, n_boot=0, test=False)
    assert np.allclose(a.to_frame().variance, b.to_frame().variance, atol=1e-9, equal_nan=True)


def test_component_order_does_not_change_estimates():
    conds = study_conditions(("m1", "m2", "m3"))
    rdms = simulate_condition_rdms(conds, PLANTED, 10, residual=RESIDUAL, seed=5)
    a = decompose_rdms(rdms, labels(10), conds, components=COMPONENTS, n_boot=0, test=False)
    b = decompose_rdms(rdms, labels(10), conds, components=COMPONENTS[::-1], n_boot=0, test=False)
    for comp in a.components:
        assert b.component(comp.name).variance == pytest.approx(comp.variance, abs=1e-6)


# --------------------------------------------------------------------------- the exact engine
def test_exact_engine_matches_statsmodels_on_a_generated_design():
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=6)
    exact = decompose_rdms(rdms, labels(8), conds, components=COMPONENTS, n_boot=0, test=False)
    sm = decompose_rdms(rdms, labels(8), conds, components=COMPONENTS, n_boot=0, test=False, engine="statsmodels")
    for comp in exact.components:
        assert sm.component(comp.name).variance == pytest.approx(comp.variance, abs=2e-3), comp.name
    assert sm.diagnostics.log_likelihood == pytest.approx(exact.diagnostics.log_likelihood, abs=1e-2)
    assert sm.diagnostics.log_likelihood <= exact.diagnostics.log_likelihood + 1e-6


def test_identical_files_collapse_the_residual_and_are_refused():
    y = np.tile(np.arange(6.0)[:, None], (1, 3))
    y = (y - y.mean()) / y.std()
    fit = fit_variance_components(CellStatistics.from_cells(y), np.ones((1, 3, 3)))
    assert not fit.converged and "collapsed" in fit.message
    rdms = np.repeat(simulate_condition_rdms([{}], {}, 6, seed=0), 3, axis=0)
    with pytest.raises(ValidationError, match="same RDM"):
        decompose_rdms(rdms, labels(6), [{"model": m} for m in "abc"], n_boot=0)


def test_two_files_with_the_same_rdm_among_others_are_named_and_refused():
    """A file given twice (or two conditions that move no rank) makes the file-level noise 0: refused with both names,
    for ranks and for z-scored values; distinct files are fitted."""
    conds = [{"model": m, "precision": p} for m in "ab" for p in ("fp32", "fp16")]
    rdms = simulate_condition_rdms(conds, {"model": 0.5}, 8, residual=0.3, seed=3)
    names = ["a32", "a16", "b32", "b16"]
    decompose_rdms(rdms, labels(8), conds, names=names, n_boot=0)
    twice = rdms.copy()
    twice[3] = twice[2]
    for response in ("rank", "zscore"):
        with pytest.raises(ValidationError, match=f"files 'b32' and 'b16' have the same RDM after the {response}"):
            decompose_rdms(twice, labels(8), conds, names=names, response=response, n_boot=0)
    monotone = rdms.copy()
    monotone[1] = monotone[0] ** 2  # the same ranks, other values: a duplicate for ranks only
    with pytest.raises(ValidationError, match="--response zscore"):
        decompose_rdms(monotone, labels(8), conds, names=names, n_boot=0)
    decompose_rdms(monotone, labels(8), conds, names=names, response="zscore", n_boot=0)


# --------------------------------------------------------------------------- estimability
def test_factor_that_does_not_vary_is_named_and_the_rest_is_fitted():
    conds = [c for c in study_conditions() if c["precision"] == "fp32"]
    rdms = simulate_condition_rdms(conds, PLANTED, 10, residual=RESIDUAL, seed=7)
    result = decompose_rdms(rdms, labels(10), conds, n_boot=0, test=False)
    precision = result.component("precision")
    assert not precision.estimable and np.isnan(precision.share)
    assert "precision does not vary: it is fp32 in all 20 files" in precision.note
    assert result.component("top_p").note.startswith("not estimable: top_p does not vary")
    assert result.component("method").estimable and result.component("model").estimable
    layer = {x.layer: x for x in result.layers}["3 precision"]
    assert np.isnan(layer.share) and "precision" in layer.note


def test_no_generation_files_make_sub_parameters_inapplicable():
    conds = [c for c in study_conditions() if c["method"] == "comprehension"]
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=8)
    result = decompose_rdms(rdms, labels(8), conds, n_boot=0, test=False)
    assert "no generation files" in result.component("temperature").note
    assert "method does not vary" in result.component("method").note


def test_confounded_factors_are_reported_and_merged():
    conds = []  # experiment B is exactly the int8 runs: the two factors coincide
    for model in ("m1", "m2", "m3"):
        conds += [dict(model=model, method="comprehension", precision="fp32", experiment="A") for _ in range(2)]
        conds.append(dict(model=model, method="comprehension", precision="int8-token", experiment="B"))
    rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.3, "precision": 0.3}, 10, residual=0.3, seed=9)
    result = decompose_rdms(rdms, labels(10), conds, components=["model", "precision", "experiment", "model:precision"],
                            n_boot=0, test=False)
    experiment = result.component("experiment")
    assert not experiment.estimable and "confounded with precision" in experiment.note
    assert "includes experiment" in result.component("precision").note
    model_precision = result.component("model:precision")
    assert model_precision.estimable  # the fp32 runs are replicated, so it is separable from the residual


def test_interaction_without_replicates_is_confounded_with_the_residual():
    conds = []
    for model in ("m1", "m2", "m3"):
        for precision in ("fp32", "int8-token", "bf16"):
            conds.append(dict(model=model, method="comprehension", precision=precision, experiment="A"))
    rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.3, "precision": 0.3}, 10, residual=0.3, seed=10)
    result = decompose_rdms(rdms, labels(10), conds, components=["model", "precision", "model:precision"], n_boot=0)
    assert "confounded with the residual" in result.component("model:precision").note
    assert result.component("precision").estimable and np.isfinite(result.component("precision").lrt_p)


def test_unbalanced_design_fits_what_is_estimable():
    conds = study_conditions(("m1", "m2", "m3"))
    conds = [c for c in conds if not (c["model"] != "m1" and c["method"] == "generation")]  # only m1 was generated
    rdms = simulate_condition_rdms(conds, PLANTED, 10, residual=RESIDUAL, seed=11)
    result = decompose_rdms(rdms, labels(10), conds, n_boot=10, seed=0)
    assert result.diagnostics.converged
    estimable = {c.name for c in result.components if c.estimable}
    assert {"model", "method", "precision", "experiment", "temperature"} <= estimable
    assert result.component("model:method").n_levels == 4  # m1 x both methods, m2 and m3 x comprehension
    for comp in result.components:
        assert comp.estimable == np.isfinite(comp.variance)
        assert comp.estimable or comp.note.startswith("not estimable")


# --------------------------------------------------------------------------- singular fits, convergence
def test_singular_fit_is_flagged_not_silently_zero():
    conds = study_conditions(("m1", "m2", "m3"))
    planted = {k: v for k, v in PLANTED.items() if k not in ("model", "model:experiment")}
    rdms = simulate_condition_rdms(conds, planted, 10, residual=RESIDUAL, seed=12)
    result = decompose_rdms(rdms, labels(10), conds, components=COMPONENTS, n_boot=0)
    zero = [c for c in result.components if c.estimable and c.variance == 0.0]
    assert zero, "expected at least one component on the boundary"
    for comp in zero:
        assert comp.at_boundary and "boundary" in comp.note
    assert result.diagnostics.singular
    assert any(w.startswith("singular fit") for w in result.diagnostics.warnings)


def test_non_convergence_is_reported(monkeypatch):
    monkeypatch.setattr(variance_fit, "GRAD_TOL", -1.0)  # no fit can pass: the reporting path must show it
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=13)
    result = decompose_rdms(rdms, labels(8), conds, components=COMPONENTS, n_boot=5, seed=0)
    assert not result.diagnostics.converged
    assert any("did not converge" in w for w in result.diagnostics.warnings)
    assert result.diagnostics.n_boot_nonconverged == 5


def test_statsmodels_warnings_are_captured(monkeypatch):
    import warnings as warnings_module

    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    original = MixedLM.fit

    def noisy_fit(self, *args, **kwargs):
        warnings_module.warn("The MLE may be on the boundary of the parameter space.", ConvergenceWarning)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", noisy_fit)
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 6, residual=RESIDUAL, seed=14)
    result = decompose_rdms(rdms, labels(6), conds, components=["model", "precision"], n_boot=0, test=False,
                            engine="statsmodels")
    assert "The MLE may be on the boundary of the parameter space." in result.diagnostics.warnings


# --------------------------------------------------------------------------- tests of components
def test_chibar_critical_value():
    # 2.7055 is the 5% critical value of the 50:50 mixture of chi2(0) and chi2(1) (the chi2(1) 10% point).
    assert chibar_pvalue(2.705543454095404) == pytest.approx(0.05, abs=1e-9)
    assert chibar_pvalue(0.0) == 1.0
    assert np.isnan(chibar_pvalue(float("nan")))


def test_design_effect_is_near_one_for_independent_cells_and_large_for_shared_emotions():
    conds = study_conditions(("m1", "m2", "m3"))
    names = ["model", "precision"]
    effects = {}
    for dependence in (0.0, 0.9):
        values = []
        for seed in range(8):
            rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.3}, 16, residual=0.5,
                                           emotion_dependence=dependence, seed=seed)
            result = decompose_rdms(rdms, labels(16), conds, components=names, n_boot=0)
            values.append(result.component("precision").design_effect)
        effects[dependence] = np.median(values)
    assert 0.5 < effects[0.0] < 1.6  # 1 in expectation for independent cells
    assert effects[0.9] > 2 * effects[0.0]


def test_lrt_detects_a_planted_component_and_adjusted_p_is_never_smaller():
    conds = study_conditions(("m1", "m2", "m3"))
    rdms = simulate_condition_rdms(conds, PLANTED, 16, residual=RESIDUAL, emotion_dependence=0.4, seed=15)
    result = decompose_rdms(rdms, labels(16), conds, components=COMPONENTS, n_boot=0)
    assert result.component("method").lrt_p_adjusted < 1e-3
    for comp in result.components:
        if comp.estimable and comp.name != "residual":
            assert comp.lrt_p_adjusted >= comp.lrt_p - 1e-15
            assert comp.lrt_statistic >= 0


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_is_seeded_and_independent_of_the_number_of_replicates():
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=16)
    kwargs = dict(components=COMPONENTS, test=False)
    a = decompose_rdms(rdms, labels(8), conds, n_boot=12, seed=3, **kwargs)
    b = decompose_rdms(rdms, labels(8), conds, n_boot=12, seed=3, **kwargs)
    c = decompose_rdms(rdms, labels(8), conds, n_boot=20, seed=3, **kwargs)
    d = decompose_rdms(rdms, labels(8), conds, n_boot=12, seed=4, **kwargs)
    assert np.array_equal(a.bootstrap_shares, b.bootstrap_shares)
    assert np.array_equal(a.bootstrap_shares, c.bootstrap_shares[:12])  # replicate b depends on (seed, b) only
    assert not np.array_equal(a.bootstrap_shares, d.bootstrap_shares)
    assert json.dumps(to_jsonable(a.to_dict())) == json.dumps(to_jsonable(b.to_dict()))


def test_resampled_cells_drop_self_pairs_and_bootstrap_rho_is_spearman():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 5))
    rdms = np.array([1 - np.corrcoef(v) for v in x])
    index = np.array([0, 0, 3, 5, 5, 6, 2])
    cells, positions = resampled_cells(rdms, index)
    assert np.all(index[positions[:, 0]] != index[positions[:, 1]])
    assert cells.shape[1] == 21 - 2  # the two duplicated pairs (0,0) and (5,5)
    ranks = standardise(cells, "rank")
    rho = ranks[:, 0] @ ranks[:, 2] / ranks.shape[0]
    assert rho == pytest.approx(stats.spearmanr(cells[0], cells[2]).statistic)
    g = np.ones((1, 3, 3))
    _, reps, _ = replicate(rdms, index, g, [["all"] * 3], np.array([[0, 2]]), "rank", "exact", True, None)
    assert reps[0] == pytest.approx(rho)


def test_ci_methods_and_confidence_are_applied():
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=17)
    kwargs = dict(components=COMPONENTS, test=False, n_boot=40, seed=0)
    wide = decompose_rdms(rdms, labels(8), conds, confidence=0.95, **kwargs).component("method").share_ci
    narrow = decompose_rdms(rdms, labels(8), conds, confidence=0.5, **kwargs).component("method").share_ci
    assert wide[0] <= narrow[0] <= narrow[1] <= wide[1]
    bca = decompose_rdms(rdms, labels(8), conds, ci_method="bca", **kwargs)
    assert bca.diagnostics.ci_method == "bca" and np.all(np.isfinite(bca.component("method").share_ci))


# --------------------------------------------------------------------------- simple view
def test_simple_view_pairs_rho_and_implied_rho():
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 10, residual=RESIDUAL, seed=18)
    result = decompose_rdms(rdms, labels(10), conds, components=COMPONENTS, n_boot=30, seed=0)
    iu = np.triu_indices(10, 1)
    names = [f.name for f in result.files]
    for pair in result.pairs:
        f, g = names.index(pair.file_a), names.index(pair.file_b)
        assert pair.rho == pytest.approx(stats.spearmanr(rdms[f][iu], rdms[g][iu]).statistic)
        assert pair.ci[0] <= pair.ci[1]
    precision_pairs = [p for p in result.pairs if p.factor == "precision"]
    assert len(precision_pairs) == 2 * 2  # per model: two fp32 replicates vs the int8 run
    assert {(p.level_a, p.level_b) for p in precision_pairs} == {("fp32", "int8-token")}
    # Two comprehension files that differ only in precision share everything but precision and the
    # residual; the generation-only temperature component is not part of their variance.
    var = {c.name: c.variance for c in result.components if c.estimable}
    own = sum(var.values()) - var["temperature"]
    assert precision_pairs[0].implied_rho == pytest.approx(1 - (var["precision"] + var["residual"]) / own)
    layers = {c.layer for c in result.contrasts}
    assert layers == {"model", "1 method", "2 sub-parameters", "3 precision", "4 experiment"}
    summary = next(c for c in result.contrasts if c.factor == "precision")
    assert summary.n_pairs == 4 and summary.mean_rho == pytest.approx(np.mean([p.rho for p in precision_pairs]))


# --------------------------------------------------------------------------- results
def test_result_is_frozen_and_serialisable():
    conds = study_conditions(("m1", "m2"))
    rdms = simulate_condition_rdms(conds, PLANTED, 8, residual=RESIDUAL, seed=19)
    result = decompose_rdms(rdms, labels(8), conds, n_boot=10, seed=0)
    assert isinstance(result, DecompositionResult)
    with pytest.raises(AttributeError):
        result.components = ()
    text = json.dumps(to_jsonable(result.to_dict()), allow_nan=False)
    back = json.loads(text)
    assert [c["component"] for c in back["components"]] == ["shared", *DEFAULT_COMPONENTS, "residual"]
    assert back["diagnostics"]["n_files"] == len(conds) and back["diagnostics"]["n_cells"] == 28
    frame = result.to_frame()
    assert {"component", "share", "share_ci_low", "lrt_p_adjusted", "estimable", "note"} <= set(frame.columns)
    assert len(result.layers_frame()) == 7 and len(result.files_frame()) == len(conds)


# --------------------------------------------------------------------------- files and bad input
def _write(datasets, tmp_path, stem="v"):
    return [write_dataset(ds, tmp_path / f"{stem}{i}.nc") for i, ds in enumerate(datasets)]


@pytest.fixture
def design_files(tmp_path):
    conds = study_conditions(("m1", "m2"))
    datasets = simulate_condition_vectors(conds, {"model": 0.5, "method": 0.4, "precision": 0.3}, 10, 16, seed=0)
    return _write(datasets, tmp_path), datasets


def test_decompose_files_equals_datasets(design_files):
    paths, datasets = design_files
    from_files = decompose(paths, n_boot=0)
    from_datasets = decompose(datasets, names=[str(p) for p in paths], n_boot=0)
    assert to_jsonable(from_files.to_dict()["components"]) == to_jsonable(from_datasets.to_dict()["components"])
    assert from_files.files[0].kind == "vectors" and from_files.files[0].layers == "as stored"
    assert from_files.diagnostics.rdm == "cosine" and from_files.diagnostics.normalization == "raw"


def test_emotion_order_does_not_matter(design_files):
    paths, datasets = design_files
    shuffled = [ds.isel(emotion=np.random.default_rng(i).permutation(ds.sizes["emotion"])) for i, ds in enumerate(datasets)]
    a = decompose(datasets, n_boot=0)
    b = decompose(shuffled, n_boot=0)
    assert np.allclose(a.to_frame().variance, b.to_frame().variance, equal_nan=True)


def test_activations_use_the_chosen_layer(tmp_path):
    conds = study_conditions(("m1", "m2"))[:4]
    datasets = [simulate_activations(6, 4, 3, 8, attrs=c, seed=i) for i, c in enumerate(conds)]
    components = ["model", "precision", "experiment"]
    result = decompose(datasets, n_boot=0, components=components)
    assert {f.layers for f in result.files} == {"layer 2"} and result.diagnostics.layer is None
    result1 = decompose(datasets, layer=1, n_boot=0, components=components)
    assert {f.layers for f in result1.files} == {"layer 1"} and result1.diagnostics.layer == 1
    assert not np.allclose(result.to_frame().variance, result1.to_frame().variance)
    result2 = decompose(datasets, last_k=2, n_boot=0, components=components)
    assert {f.layers for f in result2.files} == {"mean of last 2 layers (1-2)"}
    with pytest.raises(ValidationError, match="input0: no layer 7"):
        decompose(datasets, layer=7, n_boot=0)


def test_rdm_files_are_accepted_when_their_dissimilarity_matches(design_files, tmp_path):
    from rsastats.rdm import rdm_from_dataset

    paths, datasets = design_files
    rdm_paths = []
    for i, ds in enumerate(datasets):
        rdm = rdm_from_dataset(ds)
        out = make_rdm(np.asarray(rdm.matrix), list(rdm.labels), attrs={**dict(ds.attrs), "rdm_method": "cosine",
                                                                          "source": f"v{i}"})
        rdm_paths.append(write_dataset(out, tmp_path / f"r{i}.nc"))
    from_vectors = decompose(paths, n_boot=0)
    from_rdms = decompose(rdm_paths, n_boot=0)
    assert np.allclose(from_vectors.to_frame().variance, from_rdms.to_frame().variance, equal_nan=True)
    with pytest.raises(ValidationError, match="r0.nc: is an RDM file of cosine dissimilarities"):
        decompose(rdm_paths, rdm="euclidean", n_boot=0)


def test_mismatched_emotion_sets_name_the_file(design_files, tmp_path):
    paths, datasets = design_files
    odd = datasets[3].isel(emotion=slice(0, 9))
    bad = write_dataset(odd, tmp_path / "odd.nc")
    with pytest.raises(LabelError) as err:
        decompose([*paths[:3], bad], n_boot=0)
    message = str(err.value)
    assert message.startswith(f"{bad}: emotion sets differ (only in {paths[0]}: hopeful)") and "\n" not in message


def test_duplicated_labels_and_nan_in_files_are_one_line_errors(design_files, tmp_path):
    from rsastats.io import netcdf_encoding as _encoding

    paths, datasets = design_files
    dup = datasets[1].copy()
    dup = dup.assign_coords(emotion=["happy"] * 2 + list(dup.emotion.values[2:]))
    dup_path = tmp_path / "dup.nc"
    dup.to_netcdf(dup_path, engine="netcdf4", encoding=_encoding(dup))
    with pytest.raises(LabelError, match="dup.nc: duplicated emotion label"):
        decompose([paths[0], dup_path], n_boot=0)
    nan = datasets[1].copy(deep=True)
    nan["vectors"][0, 0] = np.nan
    nan_path = tmp_path / "nan.nc"
    nan.to_netcdf(nan_path, engine="netcdf4", encoding=_encoding(nan))
    with pytest.raises(ValidationError, match="nan.nc: .*NaN"):
        decompose([paths[0], nan_path], n_boot=0)


def test_other_bad_inputs(design_files, tmp_path):
    paths, datasets = design_files
    with pytest.raises(ValidationError, match="at least 2 files"):
        decompose(paths[:1], n_boot=0)
    with pytest.raises(ValidationError, match="more than once"):
        decompose([paths[0], paths[0]], n_boot=0)
    with pytest.raises(FileFormatError, match="missing.nc"):
        decompose([paths[0], tmp_path / "missing.nc"], n_boot=0)
    flat = make_vectors(np.ones((10, 16)), list(datasets[0].emotion.values), attrs=dict(datasets[1].attrs))
    with pytest.raises(ValidationError, match="flat: all RDM cells are equal"):
        decompose([datasets[0], flat], names=["first", "flat"], n_boot=0)
    few = [ds.isel(emotion=slice(0, 3)) for ds in datasets[:2]]
    with pytest.raises(ValidationError, match="at least 4 common emotions"):
        decompose(few, n_boot=0)
    with pytest.raises(ValidationError, match="unknown factor"):
        decompose(paths, components=["model", "colour"], n_boot=0)
    with pytest.raises(ValidationError, match="interval method must be one of percentile, basic, normal, bca"):
        decompose(paths, ci_method="studentized", n_boot=0)
    with pytest.raises(ValidationError, match="n_boot"):
        decompose(paths, n_boot=-1)
    with pytest.raises(ValidationError, match="0 .no intervals. or at least 2, got 1"):
        decompose(paths, n_boot=1)  # one resample gives no interval


def test_stimulus_sets_without_experiment_are_pointed_out(design_files):
    _, datasets = design_files
    relabelled = []
    for i, ds in enumerate(datasets):
        ds = ds.copy()
        ds.attrs = dict(ds.attrs, experiment="", stimulus_set=f"set{i % 2}")
        relabelled.append(ds)
    result = decompose(relabelled, n_boot=0, test=False)
    assert not result.component("experiment").estimable
    assert any("2 stimulus sets" in note for note in result.diagnostics.notes)


def test_files_that_can_estimate_no_component_get_a_one_line_error():
    """Two files that differ only in the model (one file per model): every component is constant or
    confounded with the residual; this used to fail inside the fit with a reshape error."""
    rng = np.random.default_rng(0)
    rdms = []
    for _ in range(2):
        x = rng.standard_normal((6, 5))
        rdms.append(np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)))
    conditions = [{"model": "a", "method": "comprehension", "precision": "fp32"},
                  {"model": "b", "method": "comprehension", "precision": "fp32"}]
    with pytest.raises(ValidationError, match="none of the variance components can be estimated"):
        decompose_rdms(np.array(rdms), list("abcdef"), conditions, n_boot=0)


# --------------------------------------------------------------------------- intervals and the factor table
def test_interval_falls_back_from_bca_with_a_message_naming_the_statistic():
    from rsastats.variance.bootstrap import interval

    rng = np.random.default_rng(0)
    reps = 0.6 + 0.1 * rng.random(50)  # every replicate above the estimate: BCa's z0 is infinite
    messages: list[str] = []
    low, high = interval(0.5, reps, rng.random(8), "bca", 0.9, (0.0, 1.0), messages, "the share of method")
    assert messages[0] == ("BCa interval undefined for the share of method (every replicate on one side of the "
                           "estimate); percentile interval given")
    assert (low, high) == pytest.approx(tuple(np.quantile(reps, [0.05, 0.95])), abs=0.02)
    quiet: list[str] = []
    assert np.isnan(interval(0.5, np.array([np.nan, 0.4]), None, "basic", 0.9, (0.0, 1.0), quiet, "x")).all()
    assert quiet == []  # an undefined interval adds no message (the failed replicates are reported once)
    variance = interval(0.4, np.linspace(0.1, 0.9, 40), None, "basic", 0.9, (0.0, np.inf), quiet, "v")
    assert variance[0] == 0.0 and variance[1] > 0  # a basic interval of a variance is kept >= 0


def test_a_contrastive_recipe_is_a_level_of_the_method_factor():
    conds = []
    for model in ("m1", "m2", "m3"):
        for method in ("comprehension", "comprehension", "pca-diff", "mean-diff"):
            conds.append(dict(model=model, method=method, precision="fp32", experiment="A", temperature=0.7))
    rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.3, "method": 0.4}, 10, residual=0.3, seed=20)
    result = decompose_rdms(rdms, labels(10), conds, components=["model", "method", "temperature"], n_boot=0,
                            test=False)
    assert result.component("method").n_levels == 3 and result.component("method").estimable
    assert "no generation files" in result.component("temperature").note  # n/a outside generation
    assert {(p.level_a, p.level_b) for p in result.pairs if p.factor == "method"} == {
        ("comprehension", "pca-diff"), ("comprehension", "mean-diff"), ("pca-diff", "mean-diff")}


def test_a_sub_parameter_of_another_method_needs_one_table_entry(monkeypatch):
    from rsastats.variance import design

    monkeypatch.setitem(design.FACTOR_TABLE, "n_pairs", design.Factor("n_pairs", "2 sub-parameters", "pca-diff"))
    conds = [dict(model=m, method=method, n_pairs=k, precision="fp32", experiment="A")
             for m in ("m1", "m2") for method, k in (("comprehension", 0), ("pca-diff", 16), ("pca-diff", 64))]
    levels = [file_condition(c) for c in conds]
    assert levels[0]["n_pairs"] == "n/a" and levels[1]["n_pairs"] == "16"
    (comp,) = design.parse_components(["n_pairs"])
    assert comp.term == "(0 + pca-diff | cell:n_pairs)" and comp.layer == "2 sub-parameters"
    with pytest.raises(ValidationError, match="crosses sub-parameters of different methods"):
        design.parse_components(["temperature:n_pairs"])
    rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.3}, 8, residual=0.3, seed=21)
    result = decompose_rdms(rdms, labels(8), conds, components=["model", "method", "n_pairs"], n_boot=0, test=False)
    assert result.component("n_pairs").n_levels == 2
    assert {(p.layer, p.factor) for p in result.pairs if p.factor == "n_pairs"} == {("2 sub-parameters", "n_pairs")}


@pytest.mark.parametrize("ci_method, seed", [("bca", 0), ("percentile", 1), ("basic", 2)])
def test_every_share_estimate_is_inside_its_interval(ci_method, seed):
    """Issue 14: component and layer shares lie inside their own intervals, including components
    planted at 0 (at the boundary, where replicates pile up on one side of the estimate)."""
    conds = study_conditions()
    components = ["model", "method", "precision", "experiment", "temperature", "model:method", "model:experiment"]
    rdms = simulate_condition_rdms(conds, PLANTED, 12, residual=RESIDUAL, emotion_dependence=0.4, seed=seed)
    result = decompose_rdms(rdms, labels(12), conds, components=components, n_boot=40, seed=seed, ci_method=ci_method)
    checked = 0
    for item in [c for c in result.components if c.estimable] + list(result.layers):
        if np.isfinite(item.share_ci_low):
            assert item.share_ci_low <= item.share <= item.share_ci_high, item
            checked += 1
    assert checked >= 10
