"""The two entry points: :func:`decompose` (files or datasets -> RDMs) and :func:`decompose_rdms`
(RDMs and their conditions -> the fitted decomposition with intervals, tests and the simple view)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from ..rng import SeedLike, seed_to_int
from ..compare import rank_correlation
from ..exceptions import LabelError, ValidationError
from ..inputs import Source, check_same_emotions, open_source, split_file_layer
from ..intervals import BOOTSTRAP_CI_METHODS, ci_method_name
from ..limits import check_count_fits
from ..rdm import rdm_from_dataset, rdm_method_name, upper
from ..vectors import DEFAULT_N_PCS, normalization_name, select_layers
from .bootstrap import Replicates, ReplicateIntervals, bootstrap, jackknife
from .contrasts import condition_contrasts, contrast_pairs, pair_rows
from .design import DEFAULT_COMPONENTS, build_design, file_condition, parse_components
from .fit import engine_name, implied_correlation, relative_variances
from .lrt import FittedModel, fit_model
from .responses import RESPONSES, standardise
from .results import DecompositionDiagnostics, DecompositionResult, FileCondition
from .tables import component_rows, layer_rows

__all__ = ["decompose", "decompose_rdms"]


# --------------------------------------------------------------------------- input checks
def _decompose_iv(rdms, emotions, conditions, names, components, response, n_boot, confidence, ci_method, engine):
    rdms = np.asarray(rdms, dtype=np.float64)
    if rdms.ndim != 3 or rdms.shape[1] != rdms.shape[2]:
        raise ValidationError(f"rdms must be an array (files, emotions, emotions), got shape {rdms.shape}")
    n_files, n = rdms.shape[:2]
    names = [f"file{i}" for i in range(n_files)] if names is None else [str(x) for x in names]
    if len(names) != n_files or len(set(names)) != n_files:
        raise ValidationError(f"need {n_files} distinct file names, got {names}")
    emotions = [str(e) for e in emotions]
    if len(emotions) != n:
        raise LabelError(f"{len(emotions)} emotion labels for RDMs over {n} emotions")
    if len(set(emotions)) != n:
        dup = sorted({e for e in emotions if emotions.count(e) > 1})
        raise LabelError(f"duplicated emotion label(s) {dup}")
    if n < 4:
        raise ValidationError(f"the decomposition needs at least 4 common emotions (6 RDM cells), got {n}")
    if n_files < 2:
        raise ValidationError(f"the decomposition needs at least 2 files, got {n_files}")
    if len(conditions) != n_files:
        raise ValidationError(f"{len(conditions)} conditions for {n_files} files")
    for name, rdm in zip(names, rdms):
        if not np.all(np.isfinite(rdm)):
            raise ValidationError("RDM has NaN or infinite values", path=name)
        if np.ptp(upper(rdm)) == 0:
            raise ValidationError("all RDM cells are equal: the file has no emotion geometry to decompose", path=name)
    comps = parse_components(DEFAULT_COMPONENTS if components is None else components)
    if response not in RESPONSES:
        raise ValidationError(f"response must be one of {RESPONSES}, got {response!r}")
    if int(n_boot) != n_boot or n_boot < 0 or n_boot == 1:
        raise ValidationError(f"n_boot must be 0 (no intervals) or at least 2, got {n_boot!r}")
    # Each replicate holds its child generator (about 0.9 KiB with its seed sequence) until its range is
    # done, and its variances and pair rhos in three copies (the ranges, their concatenation, an interval).
    check_count_fits("--n-boot", int(n_boot), 1024 + 24 * (len(comps) + 1 + n_files * (n_files - 1) // 2))
    if not 0 < confidence < 1:
        raise ValidationError(f"confidence must be in (0, 1), got {confidence!r}")
    ci_method = ci_method_name(ci_method, BOOTSTRAP_CI_METHODS)
    engine = engine_name(engine)
    # file_condition is idempotent, so conditions may be attrs or levels from an earlier result.
    conds = [file_condition(c) for c in conditions]
    return rdms, emotions, conds, names, comps, int(n_boot), ci_method, engine


# --------------------------------------------------------------------------- RDMs -> decomposition
def decompose_rdms(
    rdms: np.ndarray,
    emotions: Sequence[str],
    conditions: Sequence[Mapping[str, Any]],
    names: Sequence[str] | None = None,
    *,
    components: Sequence[str] | None = None,
    response: str = "rank",
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str = "bca",
    engine: str = "exact",
    reml: bool = True,
    test: bool = True,
    seed: SeedLike = 0,
    progress: Callable[[int], None] | None = None,
    scheduler: Any = None,
) -> DecompositionResult:
    """Decompose the variation among RDMs of the same emotions into method layers.

    Parameters
    ----------
    rdms : array (files, emotions, emotions) of dissimilarities (e.g. cosine distance).
    emotions : the emotion labels of the RDMs' rows, the same for every file.
    conditions : one mapping per file with the attributes in :data:`FACTORS` (a file's attrs).
    names : file names used in results and messages (default ``file0``, ``file1``, ...).
    components : which cell-by-factor components to fit, as factor names joined by ``:``
        (default :data:`DEFAULT_COMPONENTS`); the shared cell effect and the residual are always in.
    response : ``"rank"`` (default; ranks within each file, so shares speak Spearman) or ``"zscore"``.
    n_boot : bootstrap replicates over emotions for the CIs (0: no CIs).
    confidence : level of the CIs.
    ci_method : an interval method of :data:`rsastats.intervals.CI_METHODS`: ``"bca"`` (default; with a
        leave-one-emotion-out jackknife), ``"percentile"`` or ``"basic"``; docs/decomposition.md gives
        their simulated coverage.
    engine : ``"exact"`` (default; the likelihood on per-cell sufficient statistics) or ``"statsmodels"``
        (the same model through ``statsmodels.MixedLM``: identical estimates, much slower).
    reml : REML (default, as lme4) or ML.
    test : compute a likelihood-ratio test for every estimable component.
    seed : seed of the bootstrap; replicate ``b`` uses child stream ``b`` of it.
    progress : called with 1 after every bootstrap replicate (after every chunk on a cluster).
    scheduler : a dask scheduler address or ``distributed.Client``: the bootstrap replicates run in
        chunks on the cluster, with the same result (see :mod:`rsastats.parallel`); None runs
        everything in this process.

    Returns
    -------
    DecompositionResult
    """
    rdms, emotions, conds, names, comps, n_boot, ci_method, engine = _decompose_iv(
        rdms, emotions, conditions, names, components, response, n_boot, confidence, ci_method, engine)
    # The fits multiply F x F matrices thousands of times: threaded BLAS gains nothing at that size and
    # loses a lot when cores are shared (measured 9x slower on a busy 2-core machine).
    from threadpoolctl import threadpool_limits

    from ..parallel import runner_for

    with threadpool_limits(limits=1, user_api="blas"), runner_for(scheduler if n_boot else None) as runner:
        return _decompose_checked(rdms, emotions, conds, names, comps, response=response, n_boot=n_boot,
                                  confidence=confidence, ci_method=ci_method, engine=engine, reml=reml, test=test,
                                  seed=seed, progress=progress, runner=runner)


def _replicates(rdms, fitted: FittedModel, pair_idx, response, engine, reml, n_boot, ci_method, seed, progress,
                runner) -> tuple[Replicates | None, np.ndarray | None, np.ndarray | None]:
    """The bootstrap replicates and (for BCa) the jackknife values; their failures become warnings."""
    if not n_boot:
        return None, None, None
    start = relative_variances(fitted.full) if engine == "exact" else None
    shared = (rdms, fitted.g, fitted.levels, pair_idx, response, engine, reml, start)
    reps = bootstrap(*shared, n_boot, seed, progress, runner)
    jack_var = jack_rho = None
    if ci_method == "bca":
        jack_var, jack_rho = jackknife(*shared)
    if reps.failed:
        fitted.warnings.append(f"{reps.failed} of {n_boot} bootstrap replicates failed (a file's resampled cells "
                               "were all equal) and were left out of the CIs")
    if reps.nonconverged:
        fitted.warnings.append(f"{reps.nonconverged} of {n_boot} bootstrap fits did not converge (kept in the CIs)")
    return reps, jack_var, jack_rho


def _refuse_duplicates(y: np.ndarray, names, response: str) -> None:
    """A ValidationError naming two files whose responses are equal in every cell: the model's file-level noise is
    common to all files, so such a pair drives it to 0, where no fit converges and the bootstrap's shares pile up at
    the cap of the relative variances (docs/decomposition.md, 'What can be estimated')."""
    _, first_of, inverse = np.unique(np.round(y.T, 9), axis=0, return_index=True, return_inverse=True)
    repeats = np.flatnonzero(first_of[inverse.ravel()] != np.arange(y.shape[1]))
    if not repeats.size:
        return
    first = int(repeats[0])
    other = int(first_of[inverse.ravel()[first]])
    raise ValidationError(
        f"files {names[other]!r} and {names[first]!r} have the same RDM after the {response} transform (equal in every "
        "cell): the model's file-level noise, common to all files, would be 0, where no fit converges; give each file "
        "once, or, if they are distinct conditions whose geometry agrees exactly (two precisions that move no rank), "
        "drop one of them" + (" or use --response zscore" if response == "rank" else ""))


def _decompose_checked(rdms, emotions, conds, names, comps, *, response, n_boot, confidence, ci_method, engine, reml,
                       test, seed, progress, runner=None) -> DecompositionResult:
    """:func:`decompose_rdms` after its inputs were checked."""
    n_files, n = rdms.shape[:2]
    design = build_design(comps, conds)
    pairs = np.column_stack(np.triu_indices(n, 1))
    cells = rdms[:, pairs[:, 0], pairs[:, 1]]
    y = standardise(cells, response)
    if np.allclose(y, y[:, :1], rtol=0, atol=1e-12):
        raise ValidationError(f"all {n_files} files have the same RDM (after the {response} transform): "
                              "there is no variation between them to decompose")
    _refuse_duplicates(y, names, response)
    if not any(design.estimable):
        # the fit would have no component: say why instead of failing inside it
        example = next(f"{c.name}: {r}" for c, r in zip(comps, design.reasons) if r)
        raise ValidationError(f"none of the variance components can be estimated from these {n_files} files: every "
                              f"factor is constant or has no two files at the same level (e.g. {example})")
    fitted = fit_model(y, rdms, response, n, design, comps, engine, reml, test)

    pair_list = contrast_pairs(conds)
    pair_idx = np.array([[f, h] for _, _, f, h in pair_list], dtype=int).reshape(-1, 2)
    observed_rho = np.array([rank_correlation(cells[f], cells[h]) for f, h in pair_idx])
    reps, jack_var, jack_rho = _replicates(rdms, fitted, pair_idx, response, engine, reml, n_boot, ci_method, seed,
                                           progress, runner)
    intervals = ReplicateIntervals(reps, jack_var, ci_method, confidence, fitted.warnings)
    components_out = component_rows(fitted, design, comps, intervals)
    layers_out = layer_rows(components_out, fitted, intervals)
    pairs_out = pair_rows(pair_list, conds, names, observed_rho, implied_correlation(fitted.full, fitted.g), reps,
                          jack_rho, ci_method, confidence, fitted.warnings)
    contrasts_out = condition_contrasts(pairs_out, reps, jack_rho, observed_rho, ci_method, confidence,
                                        fitted.warnings)
    kept_terms = [c.term for c, ok in zip(comps, design.estimable) if ok]
    diagnostics = DecompositionDiagnostics(
        formula="y ~ 1 + " + " + ".join(["(1 | cell)"] + kept_terms), engine=engine,
        method="REML" if reml else "ML", response=response, converged=fitted.full.converged,
        singular=bool(fitted.full.at_boundary.any()), log_likelihood=fitted.full.log_likelihood, n_files=n_files,
        n_emotions=n, n_cells=pairs.shape[0], n_observations=pairs.shape[0] * n_files, n_boot=n_boot,
        n_boot_nonconverged=reps.nonconverged if reps is not None else 0,
        n_boot_failed=reps.failed if reps is not None else 0, ci_method=ci_method, confidence=confidence,
        seed=seed_to_int(seed), warnings=tuple(dict.fromkeys(fitted.warnings)), notes=tuple(design.notes))
    files_out = tuple(FileCondition(nm, "rdm", "as given", dict(c)) for nm, c in zip(names, conds))
    n_est = len(fitted.names) + 1
    boot_shares = (reps.variances / reps.variances.sum(axis=1, keepdims=True)) if reps is not None else np.zeros((0, n_est))
    return DecompositionResult(tuple(components_out), tuple(layers_out), contrasts_out, tuple(pairs_out), files_out,
                               tuple(emotions), diagnostics, boot_shares)


# --------------------------------------------------------------------------- files -> RDMs
def _names(inputs: list, names: Sequence[str] | None) -> list[str]:
    if names is None:
        names = [f"input{i}" if isinstance(x, xr.Dataset) else x.name if isinstance(x, Source) else str(x)
                 for i, x in enumerate(inputs)]
    names = [str(x) for x in names]
    if len(names) != len(inputs):
        raise ValidationError(f"{len(names)} names for {len(inputs)} inputs")
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ValidationError(f"{dup[0]} is given more than once")
    return names


def _open(inputs: list, names: list[str], layer: int | None, last_k: int | None) -> list[tuple[Source, bool]]:
    """Each input opened once, with the same set of emotions; files are read with only the layers
    used (the flag says so: their layers are then all averaged)."""
    opened = []
    for item, name in zip(inputs, names):
        item, own = split_file_layer(item)  # FILE@LAYER: that file's own layer
        chosen, k = (own, None) if own is not None else (layer, last_k)
        is_path = isinstance(item, (str, os.PathLike))
        layers = None
        if is_path:
            layers = lambda labels, where=str(item), chosen=chosen, k=k: select_layers(labels, chosen, k, where)[0]  # noqa: E731
        opened.append((open_source(item, name=name, layers=layers, what="the decomposition"), is_path))
    check_same_emotions([source for source, _ in opened])
    return opened


def _rdm(source: Source, selected: bool, reference: list[str], rdm: str, layer, last_k, normalization,
         n_pcs) -> tuple[np.ndarray, str]:
    """The source's RDM in the order of ``reference`` and which layers it came from."""
    ds = source.dataset
    if "layer" not in ds.dims:  # vector sets without a layer axis, RDM files: as stored
        layer = last_k = None
    elif selected:  # read with only the chosen layers: averaging all of them is the same choice, described alike
        layer, last_k = None, ds.sizes["layer"]
    matrix = rdm_from_dataset(ds, method=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs,
                              source=source.name)
    if source.kind == "rdm" and matrix.method != rdm:
        raise ValidationError(f"is an RDM file of {matrix.method} dissimilarities; the decomposition uses {rdm} "
                              "(choose it with rdm=/--rdm, or give the vectors)", path=source.name)
    order = [matrix.labels.index(e) for e in reference]
    chosen = "as stored (RDM file)" if source.kind == "rdm" else str(matrix.attrs.get("layer_selection", ""))
    return np.asarray(matrix.matrix)[np.ix_(order, order)], chosen


def decompose(
    inputs: Sequence[str | os.PathLike | xr.Dataset],
    *,
    layer: int | None = None,
    last_k: int | None = None,
    normalization: str = "raw",
    n_pcs: int = DEFAULT_N_PCS,
    rdm: str = "cosine",
    names: Sequence[str] | None = None,
    **options: Any,
) -> DecompositionResult:
    """Decompose emotion geometry across files of the same models under varied conditions.

    Parameters
    ----------
    inputs : activations or vector-set files (paths) or datasets, schema v1, whose attributes say
        the model, method, generation sub-parameters, precision and experiment.  RDM files are
        accepted when their dissimilarity is ``rdm``.
    layer : layer label, or a negative position from the end of each file's layers; default: every
        file's last layer.  ``last_k`` averages each file's final ``k`` layers instead.  Vector sets
        without a layer axis are used as stored.
    normalization : normalization of the emotion vectors (:data:`rsastats.vectors.NORMALIZATIONS`);
        ``n_pcs`` baseline components are removed by ``"neutral-pc"``.
    rdm : dissimilarity of the emotion vectors: ``"cosine"`` (default), ``"correlation"``, ``"euclidean"``.
    names : names of the inputs in results and messages (default: the paths; ``input0``, ... for datasets).
    **options : see :func:`decompose_rdms` (components, response, n_boot, confidence, ci_method,
        engine, reml, test, seed, progress).

    Every file must hold the same set of emotions (in any order); a file whose emotion set differs,
    has duplicated labels, NaN values or a zero vector stops the analysis with a one-line error
    naming it.
    """
    if isinstance(inputs, (str, os.PathLike, xr.Dataset)):
        raise ValidationError("inputs must be a sequence of files or datasets")
    inputs = list(inputs)
    names = _names(inputs, names)
    rdm = rdm_method_name(rdm)
    opened = _open(inputs, names, layer, last_k)
    sources = [source for source, _ in opened]
    reference = list(sources[0].emotions)
    made = [_rdm(s, selected, reference, rdm, layer, last_k, normalization, n_pcs) for s, selected in opened]
    result = decompose_rdms(np.array([m for m, _ in made]), reference, [file_condition(s.attrs) for s in sources],
                            names, **options)
    files = tuple(FileCondition(f.name, s.kind, chosen, f.levels) for f, s, (_, chosen) in zip(result.files, sources, made))
    diagnostics = replace(result.diagnostics, layer=layer, last_k=last_k, normalization=normalization_name(normalization),
                          rdm=rdm)
    stimulus_sets = {str(s.attrs.get("stimulus_set", "")) for s in sources} - {""}
    if len(stimulus_sets) > 1 and not result.component("experiment").estimable:
        # Layer 4 is read from `experiment` only; say so when the files plainly come from several.
        note = (f"the files use {len(stimulus_sets)} stimulus sets but their experiment attribute does not separate "
                "them; set experiment (e.g. to the stimulus set) to estimate the cross-experiment layer")
        diagnostics = replace(diagnostics, notes=diagnostics.notes + (note,))
    return replace(result, files=files, diagnostics=diagnostics)
