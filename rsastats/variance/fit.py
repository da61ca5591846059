"""Variance-component fits for designs in which every cell sees the same files: the two engines.

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

Both engines are entries of :data:`ENGINES` with one signature, called through :func:`fit`.
The tests check both against each other and against lme4 (``tests/reference/``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import linalg, optimize

from ..exceptions import EstimationError, ValidationError

__all__ = [
    "CellStatistics",
    "VarianceFit",
    "fit_variance_components",
    "fit_statsmodels",
    "ENGINES",
    "engine_name",
    "fit",
    "relative_variances",
    "implied_correlation",
    "SINGULAR_TOL",
    "GRAD_TOL",
]

# A component whose standard deviation relative to the residual's is below this is at the boundary
# (lme4's isSingular default, applied to the same relative scale theta = sd_j / sd_residual).
SINGULAR_TOL = 1e-4
# Relative variances above this mean the residual variance has collapsed to ~0.
_TAU_MAX = 1e8
# Convergence: largest projected gradient of the deviance per cell.
GRAD_TOL = 1e-4


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
    converged = bool(max_grad < GRAD_TOL and np.all(tau < _TAU_MAX))
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


# --------------------------------------------------------------------------- the engines, by name
def _fit_exact(cells: np.ndarray, g: np.ndarray, levels: Sequence[Sequence[str | None]], reml: bool,
               start: np.ndarray | None) -> VarianceFit:
    return fit_variance_components(CellStatistics.from_cells(cells), g, reml=reml, start=start)


def _fit_mixedlm(cells: np.ndarray, g: np.ndarray, levels: Sequence[Sequence[str | None]], reml: bool,
                 start: np.ndarray | None) -> VarianceFit:
    # levels[0] is the shared cell intercept, which fit_statsmodels always includes; no start values.
    return fit_statsmodels(cells, levels[1:], reml=reml)


# name -> fit(cells (K, F), g (m, F, F), levels (m lists of F), reml, start relative variances or None)
ENGINES: dict[str, Callable[..., VarianceFit]] = {"exact": _fit_exact, "statsmodels": _fit_mixedlm}


def engine_name(engine: str) -> str:
    """``engine`` if it names an entry of :data:`ENGINES`; otherwise a one-line error."""
    if engine not in ENGINES:
        raise ValidationError(f"engine must be one of {tuple(ENGINES)}, got {engine!r}")
    return engine


def fit(engine: str, cells: np.ndarray, g: np.ndarray, levels: list[list[str | None]], reml: bool,
        start: np.ndarray | None = None) -> VarianceFit:
    """Fit the components ``g`` (with their per-file ``levels``; the first is the shared cell effect)
    to the standardised responses ``cells`` (K, F) with the engine of that name."""
    return ENGINES[engine](cells, g, levels, reml, start)


def relative_variances(fitted: VarianceFit) -> np.ndarray | None:
    """The variances relative to the residual (the exact engine's parameters), None if it is 0."""
    return fitted.variances / fitted.residual if fitted.residual > 0 else None


def implied_correlation(fitted: VarianceFit, g: np.ndarray) -> np.ndarray:
    """The files' correlation matrix (F, F) on the response scale that the fitted model implies."""
    v = np.tensordot(fitted.variances, g, axes=1) + fitted.residual * np.eye(g.shape[1])
    d = np.sqrt(np.diag(v))
    return v / np.outer(d, d)
