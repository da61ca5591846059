"""The fitted model and its tests: the full fit with its warnings, and a likelihood-ratio test per
component (refit without it), referred to the chi-bar-square mixture and, after dividing by a
Rao-Scott design effect for cells that share an emotion, to the F(1, n-1) mixture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats

from .design import Component, Design
from .fit import VarianceFit, fit, relative_variances
from .responses import resampled_cells, standardise

__all__ = ["FittedModel", "fit_model", "chibar_pvalue", "design_effect"]


@dataclass
class FittedModel:
    """The fitted model and everything the result tables are built from."""

    names: list[str]  # "shared" then the estimable components, in G order
    g: np.ndarray  # (m, F, F)
    levels: list[list[str | None]]
    full: VarianceFit
    lrt: dict[str, tuple[float, float, float, float]]  # statistic, p, design effect, adjusted p
    warnings: list[str]


def fit_model(y: np.ndarray, rdms: np.ndarray, response: str, n: int, design: Design, comps: list[Component],
              engine: str, reml: bool, test: bool) -> FittedModel:
    """Fit the estimable components, then (``test``) refit without each for its likelihood-ratio test."""
    n_files = y.shape[1]
    kept = [i for i, ok in enumerate(design.estimable) if ok]
    g = np.array([np.ones((n_files, n_files))] + [design.matrices[i] for i in kept])
    levels = [["all"] * n_files] + [design.levels[i] for i in kept]
    names = ["shared"] + [comps[i].name for i in kept]
    full = fit(engine, y, g, levels, reml)
    messages = list(full.warnings)
    if engine == "statsmodels":
        # MixedLM can stop short of the optimum with many components and still say it converged
        # (benchmarks/bench_decomposition.py; tests/reference fixture3): check it against the exact likelihood.
        exact = fit("exact", y, g, levels, reml)
        if exact.log_likelihood > full.log_likelihood + 1e-3:
            messages.append(f"statsmodels.MixedLM stopped at logLik {full.log_likelihood:.4f}, below the optimum "
                            f"{exact.log_likelihood:.4f} of the same likelihood (exact engine): its estimates are not "
                            "the REML/ML estimates; use --engine exact")
    if not full.converged:
        messages.append(f"the fit did not converge: {full.message}")
    if full.at_boundary.any():
        at = [names[i] for i in np.flatnonzero(full.at_boundary)]
        messages.append(f"singular fit: {', '.join(at)} estimated at the boundary (variance 0)")
    fitted = FittedModel(names, g, levels, full, {}, messages)
    if test:
        _likelihood_ratio_tests(fitted, y, rdms, response, n, engine, reml)
    return fitted


def _likelihood_ratio_tests(fitted: FittedModel, y: np.ndarray, rdms: np.ndarray, response: str, n: int, engine: str,
                            reml: bool) -> None:
    """Fill ``fitted.lrt`` (and its warnings) with one refit without each component."""
    full, g, levels, names = fitted.full, fitted.g, fitted.levels, fitted.names
    for j, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != j]
        start = None if engine == "statsmodels" else relative_variances(full)[keep]
        null = fit(engine, y, g[keep], [levels[i] for i in keep], reml, start)
        statistic = max(0.0, 2.0 * (full.log_likelihood - null.log_likelihood))
        # Cells that share an emotion are dependent: divide by the design effect (never below 1).
        deff = design_effect(lambda idx: standardise(resampled_cells(rdms, idx)[0], response), n, null,
                             g[keep], g[j])
        deff = max(deff, 1.0) if np.isfinite(deff) else float("nan")  # never more liberal than independent cells
        adjusted = statistic / deff
        fitted.lrt[name] = (statistic, chibar_pvalue(statistic), deff, chibar_pvalue(adjusted, denominator_df=n - 1))
        fitted.warnings.extend(list(null.warnings))
        if not null.converged:
            fitted.warnings.append(f"the fit without {name} (for its LRT) did not converge ({null.message}); "
                                   f"that LRT is approximate")


def chibar_pvalue(statistic: float, denominator_df: float | None = None) -> float:
    """p-value of a likelihood-ratio statistic for one variance at the boundary of its space:
    the 50:50 mixture of chi-square(0) and chi-square(1) (Self and Liang 1987; Stram and Lee 1994).

    With ``denominator_df`` the chi-square(1) part becomes F(1, denominator_df), the reference for a
    statistic divided by a design effect estimated from that many degrees of freedom.
    """
    if not np.isfinite(statistic):
        return float("nan")
    if statistic <= 1e-8:  # numerically zero: the point mass at 0 has P(T >= 0) = 1
        return 1.0
    tail = stats.chi2.sf(statistic, 1) if denominator_df is None else stats.f.sf(statistic, 1, denominator_df)
    return float(0.5 * tail)


def design_effect(
    responses: Callable[[np.ndarray], np.ndarray],
    n_emotions: int,
    null_fit: VarianceFit,
    g_null: np.ndarray,
    g_test: np.ndarray,
) -> float:
    """How much the dependence between RDM cells that share an emotion inflates the variance of
    the score of a tested component, relative to independent cells: a Rao-Scott design effect
    (divide the likelihood-ratio statistic by it).

    The efficient score of the tested variance (at the null fit, nuisance variances projected out)
    is a mean over cells ``(i, j)``: a dyadic U-statistic of the emotions, computed from responses
    that are themselves standardised within each file.  Its variance is estimated by a
    leave-one-emotion-out jackknife that rebuilds (re-standardises) the responses without each
    emotion, keeping the null fit's parameters; over the variance under independent cells,
    ``S2 / K`` (``S2`` the cells' mean squared centred score), that gives the jackknife's design
    effect.  For a degree-2 U-statistic the jackknife over-estimates the independent-cells part of
    the variance by the factor ``2 (n-1) / (n-2)``, so ``n / (n-2)`` is subtracted (exact for
    independent cells; in simulations with correlated cells the result is within about 15% of the
    Monte-Carlo design effect, slightly below it).

    Parameters
    ----------
    responses : ``responses(emotions)`` -> (K', F) the standardised cell responses of the RDMs
        restricted to the given emotion indices (all ``n`` of them: the fitted data).
    n_emotions : number of emotions ``n`` (at least 4).
    null_fit : the fit without the tested component.
    g_null, g_test : (m, F, F) the null model's components and (F, F) the tested one.
    """
    n = int(n_emotions)
    y = responses(np.arange(n))
    k, n_files = y.shape
    mats = [*np.asarray(g_null).reshape(-1, n_files, n_files), np.eye(n_files), np.asarray(g_test)]
    psi = [*null_fit.variances, null_fit.residual]
    v_inv = np.linalg.inv(sum(p * m for p, m in zip(psi, mats[:-1])))
    v_inv_g = [v_inv @ m for m in mats]
    traces = np.array([np.trace(vg) for vg in v_inv_g])
    info = 0.5 * np.array([[np.sum(a * b.T) for b in v_inv_g] for a in v_inv_g])
    nuisance = slice(0, len(mats) - 1)
    coef = np.linalg.lstsq(info[nuisance, nuisance], info[nuisance, -1], rcond=None)[0]
    # The efficient score is linear in the per-cell quadratic forms: sum_j c_j (w' G_j w - tr(V^-1 G_j)) / 2.
    weights = np.append(-coef, 1.0)
    combined = sum(c * m for c, m in zip(weights, mats))
    offset = float(weights @ traces)

    def cell_scores(cells: np.ndarray) -> np.ndarray:
        w = (cells - null_fit.mean) @ v_inv
        return 0.5 * (np.einsum("kf,fg,kg->k", w, combined, w) - offset)

    full = cell_scores(y)
    s2 = float(np.mean((full - full.mean()) ** 2))
    if not s2 > 0:
        return float("nan")
    loo = np.array([cell_scores(responses(np.delete(np.arange(n), e))).mean() for e in range(n)])
    jackknife_var = (n - 1) / n * float(np.sum((loo - loo.mean()) ** 2))
    return float(jackknife_var / (s2 / k) - n / (n - 2))
