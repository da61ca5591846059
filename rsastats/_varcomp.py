"""Variance-component fits for designs in which every cell sees the same files.

The decomposition (:mod:`rsastats.variance`) observes every RDM cell ``k`` in every file, so the
vector of responses of one cell over the ``F`` files is ``y_k ~ N(mu 1, V)`` with the *same*
covariance ``V = sum_j psi_j G_j + psi_e I`` for every cell, where ``G_j = Z_j Z_j'`` is the
file-by-file indicator of "shares a level of component j".  This is exactly lme4's
``y ~ 1 + (1|cell) + (1|cell:factor) + ...`` (random effects independent across cells), but
because the cells share one design, the likelihood depends on the data only through
``C = Y'Y`` and ``s = Y'1``: one F x F Cholesky factor per evaluation instead of a sparse
system over all observations.  :func:`fit_variance_components` maximises that (restricted)
likelihood with the residual variance profiled out, as lme4 does; :func:`fit_statsmodels` fits the
same model through ``statsmodels.MixedLM`` (slow, used as the independent check and on request).

The tests check both against each other and against lme4 (``tests/reference/``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import linalg, optimize, stats

from .exceptions import EstimationError

__all__ = [
    "CellStatistics",
    "VarianceFit",
    "fit_variance_components",
    "fit_statsmodels",
    "chibar_pvalue",
    "design_effect",
    "SINGULAR_TOL",
]

# A component whose standard deviation relative to the residual's is below this is at the boundary
# (lme4's isSingular default, applied to the same relative scale theta = sd_j / sd_residual).
SINGULAR_TOL = 1e-4
# Relative variances above this mean the residual variance has collapsed to ~0.
_TAU_MAX = 1e8
# Convergence: largest projected gradient of the deviance per cell.
_GRAD_TOL = 1e-4


@dataclass(frozen=True)
class CellStatistics:
    """Sufficient statistics of a cells x files response matrix ``Y``."""

    cross: np.ndarray  # Y'Y, (F, F)
    total: np.ndarray  # Y'1, (F,)
    n_cells: int

    @classmethod
    def from_cells(cls, cells: np.ndarray) -> "CellStatistics":
        y = np.asarray(cells, dtype=np.float64)
        return cls(cross=y.T @ y, total=y.sum(axis=0), n_cells=int(y.shape[0]))

    @property
    def n_files(self) -> int:
        return int(self.cross.shape[0])


@dataclass(frozen=True)
class VarianceFit:
    """One fitted variance-component model (variances on the response scale, in ``G`` order)."""

    variances: np.ndarray
    residual: float
    mean: float
    log_likelihood: float
    reml: bool
    converged: bool
    message: str
    n_iterations: int
    max_gradient: float
    engine: str = "exact"
    warnings: tuple[str, ...] = ()

    @property
    def relative_sd(self) -> np.ndarray:
        """Each component's standard deviation over the residual's (lme4's theta)."""
        if self.residual <= 0:
            return np.full(self.variances.shape, np.inf)
        return np.sqrt(np.maximum(self.variances, 0.0) / self.residual)

    @property
    def at_boundary(self) -> np.ndarray:
        return self.relative_sd < SINGULAR_TOL


def _deviance(tau: np.ndarray, data: CellStatistics, g: np.ndarray, reml: bool) -> tuple[float, np.ndarray, float, float]:
    """-2 x (restricted) log-likelihood with the residual variance profiled out, its gradient in
    ``tau`` (variances relative to the residual), the residual variance and the mean."""
    n_files = data.n_files
    k = data.n_cells
    h = np.eye(n_files) + np.tensordot(tau, g, axes=1)
    factor = linalg.cho_factor(h, lower=True, check_finite=False)
    logdet = 2.0 * np.sum(np.log(np.diag(factor[0])))
    a = linalg.cho_solve(factor, np.eye(n_files), check_finite=False)
    a1 = a.sum(axis=1)
    one_a_one = a1.sum()
    a_s = a @ data.total
    mean = a_s.sum() / (k * one_a_one)
    quad = float(np.sum(a * data.cross) - a_s.sum() ** 2 / (k * one_a_one))
    if not quad > 0:
        raise EstimationError("the files' responses are identical in every cell: no variance to decompose")
    n_obs = k * n_files
    dof = n_obs - 1 if reml else n_obs
    dev = k * logdet + dof * (1.0 + np.log(2.0 * np.pi * quad / dof))
    one = np.ones(n_files)
    resid_cross = data.cross - mean * (np.outer(data.total, one) + np.outer(one, data.total)) + k * mean**2 * np.outer(one, one)
    m = a @ resid_cross @ a
    flat = g.reshape(g.shape[0], -1)  # tr(A G_j) = sum(A * G_j): both symmetric
    grad = k * (flat @ a.ravel()) - dof * (flat @ m.ravel()) / quad
    if reml:
        dev += np.log(k * one_a_one)
        grad -= (g @ a1) @ a1 / one_a_one
    return float(dev), grad, quad / dof, float(mean)


def _moment_start(data: CellStatistics, g: np.ndarray) -> np.ndarray:
    """Relative variances from a least-squares fit of the cells' covariance (clipped at 0)."""
    n_files = data.n_files
    k = data.n_cells
    mean = data.total.sum() / (k * n_files)
    cov = (data.cross - mean * (data.total[:, None] + data.total[None, :]) + k * mean**2) / k
    design = np.column_stack([m.ravel() for m in g] + [np.eye(n_files).ravel()])
    coef, *_ = np.linalg.lstsq(design, cov.ravel(), rcond=None)
    residual = max(coef[-1], 1e-3 * np.trace(cov) / n_files, 1e-12)
    return np.clip(coef[:-1] / residual, 0.0, 1e3)


def _projected_gradient(tau: np.ndarray, grad: np.ndarray) -> np.ndarray:
    out = grad.copy()
    out[(tau <= 0) & (grad > 0)] = 0.0
    out[(tau >= _TAU_MAX) & (grad < 0)] = 0.0
    return out


def fit_variance_components(
    data: CellStatistics,
    g: np.ndarray,
    *,
    reml: bool = True,
    start: np.ndarray | None = None,
) -> VarianceFit:
    """Maximise the (restricted) likelihood of ``y_k ~ N(mu 1, sum_j psi_j G_j + psi_e I)``.

    Parameters
    ----------
    data : sufficient statistics of the cells x files response matrix.
    g : array (m, F, F) of the components' "same level" matrices ``G_j = Z_j Z_j'``.
    reml : restricted (REML, lme4's default) or full maximum likelihood.
    start : relative variances ``psi_j / psi_e`` to start from; default: a moment estimate and
        all-ones, keeping the better optimum.

    Returns
    -------
    VarianceFit with absolute variances ``psi_j`` (in ``g`` order), the residual ``psi_e``, the
    intercept, the log-likelihood (lme4's ``logLik``), and the optimiser's diagnostics.
    """
    g = np.asarray(g, dtype=np.float64).reshape(-1, data.n_files, data.n_files)
    n_comp = g.shape[0]
    if n_comp == 0:
        dev, _, residual, mean = _deviance(np.zeros(0), data, g, reml)
        return VarianceFit(np.zeros(0), residual, mean, -dev / 2, reml, True, "no components", 0, 0.0)
    starts = [np.asarray(start, dtype=np.float64)] if start is not None else [_moment_start(data, g), np.ones(n_comp)]
    best = None
    for x0 in starts:
        res = optimize.minimize(
            lambda t: _deviance(t, data, g, reml)[:2],
            np.clip(x0, 0.0, _TAU_MAX),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, _TAU_MAX)] * n_comp,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
        )
        if best is None or res.fun < best.fun:
            best = res
    tau = np.clip(best.x, 0.0, _TAU_MAX)
    # L-BFGS-B can stop a hair above a bound that is the optimum; snap such values onto it.
    for j in np.flatnonzero((tau > 0) & (tau < SINGULAR_TOL**2)):
        trial = tau.copy()
        trial[j] = 0.0
        if _deviance(trial, data, g, reml)[0] <= _deviance(tau, data, g, reml)[0] + 1e-9:
            tau = trial
    dev, grad, residual, mean = _deviance(tau, data, g, reml)
    max_grad = float(np.max(np.abs(_projected_gradient(tau, grad))) / data.n_cells)
    converged = bool(max_grad < _GRAD_TOL and np.all(tau < _TAU_MAX))
    message = str(best.message)
    if np.any(tau >= _TAU_MAX):
        message = "residual variance collapsed to zero (a component explains the files exactly)"
    elif not converged:
        message = f"optimizer stopped with projected gradient {max_grad:.2g} per cell: {best.message}"
    return VarianceFit(
        variances=tau * residual,
        residual=float(residual),
        mean=mean,
        log_likelihood=-dev / 2,
        reml=reml,
        converged=converged,
        message=message,
        n_iterations=int(best.nit),
        max_gradient=max_grad,
    )


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


def fit_statsmodels(
    cells: np.ndarray,
    levels: Sequence[Sequence[str | None]],
    *,
    reml: bool = True,
) -> VarianceFit:
    """The same model fitted by ``statsmodels.MixedLM`` on the long table (cells x files rows).

    ``levels[j][f]`` is file ``f``'s level of component ``j`` (``None`` where the component does not
    apply, e.g. a generation sub-parameter for a comprehension file).  The cell random intercept
    (``re_formula="1"``) is always included and is returned first; ``variances`` then follow
    ``levels``.  statsmodels' warnings are captured into ``warnings``.
    """
    import pandas as pd
    from statsmodels.regression.mixed_linear_model import MixedLM

    y = np.asarray(cells, dtype=np.float64)
    k, n_files = y.shape
    long = pd.DataFrame({"y": y.ravel(), "cell": np.repeat(np.arange(k), n_files)})
    vc_formula: dict[str, str] = {}
    for j, lev in enumerate(levels):
        lev = list(lev)
        long[f"c{j}"] = np.tile(np.array(["n/a" if x is None else str(x) for x in lev], dtype=object), k)
        if any(x is None for x in lev):
            long[f"g{j}"] = np.tile(np.array([0.0 if x is None else 1.0 for x in lev]), k)
            vc_formula[f"c{j}"] = f"0 + C(c{j}):g{j}"
        else:
            vc_formula[f"c{j}"] = f"0 + C(c{j})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MixedLM.from_formula("y ~ 1", long, groups="cell", re_formula="1", vc_formula=vc_formula or None)
        result = model.fit(reml=reml)
    names = list(model.exog_vc.names) if vc_formula else []
    vcomp = np.asarray(result.vcomp, dtype=np.float64) if vc_formula else np.zeros(0)
    by_name = dict(zip(names, vcomp))
    variances = np.array([float(np.asarray(result.cov_re)[0, 0])] + [by_name[f"c{j}"] for j in range(len(levels))])
    messages = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    return VarianceFit(
        variances=variances,
        residual=float(result.scale),
        mean=float(np.asarray(result.fe_params)[0]),
        log_likelihood=float(result.llf),
        reml=reml,
        converged=bool(result.converged),
        message="converged" if result.converged else "statsmodels did not converge",
        n_iterations=-1,
        max_gradient=float("nan"),
        engine="statsmodels",
        warnings=messages,
    )
