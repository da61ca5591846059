"""Interval methods, formed from the stored resampling quantities of :mod:`.study`.

For ``rho`` (target: E[rho_hat] over data sets of the design):

``pct``        percentile of the emotion-bootstrap replicates;
``basic``      basic, clipped to [-1, 1] (the package's method, here with emotions only);
``bca``        BCa with the jackknife acceleration;
``normz``      Fisher-z normal: tanh(z +- 1.96 sd(z*));
``jackz``      Fisher-z normal with the jackknife SE;
``dvarz``      Fisher-z normal with the double-bootstrap variance correction
               Var = Var*^2 / mean_b Var**_b (the bootstrap's own variance inflation, measured one
               level down and divided out; Hall 1992, sec. 3.11; Davison & Hinkley 1997, sec. 3.9);
``dvarz_add``  the additive version, Var = 2 Var* - mean Var**;
``dblpct``     double-bootstrap calibrated percentile (Davison & Hinkley 1997, sec. 5.6);
``dblbasicz``  prepivoted basic on the z scale (Beran 1987);
``studz``      bootstrap-t on the z scale with a jackknife SE in every resample.

For ``rho_corrected`` (target: the noise-free rho averaged over emotion samples) the estimator is
the cross-half disattenuation ``xh`` (:mod:`.estimators`), clipped to [-1, 1] for display:

``pct``, ``basic``, ``norm`` (xh +- 1.96 sd*), ``dvar`` (the double-bootstrap corrected variance),
``bca``; all clipped to [-1, 1].
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from rsastats.intervals import acceleration, confidence_interval

from .estimators import estimators

__all__ = ["RHO_METHODS", "CORRECTED_METHODS", "rho_intervals", "corrected_intervals", "xh_values"]

RHO_METHODS = ("pct", "basic", "bca", "normz", "jackz", "dvarz", "dvarz_add", "dblpct", "dblbasicz", "studz",
               "mbasic", "mbasicz", "mbasic_dvar", "mbasicz_dvar", "mstudz")
CORRECTED_METHODS = ("pct", "basic", "bca", "norm", "dvar")
COMPONENTS = ("rho", "aa", "bb", "ab", "ba")
Z975 = float(ndtri(0.975))


def _z(r):
    return np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))


def _ci(est, reps, method, jack=None):
    reps = reps[np.isfinite(reps)]
    if reps.size < 20:
        return (np.nan, np.nan)
    try:
        if method == "bca":
            acc = acceleration(jack[np.isfinite(jack)])
            return confidence_interval(est, reps, method="bca", acceleration_value=acc)
        return confidence_interval(est, reps, method=method)
    except Exception:
        return (np.nan, np.nan)


def _quantile(values, levels):
    v = np.sort(values[np.isfinite(values)])
    return np.quantile(v, levels)


def _clip(lo, hi):
    return (float(np.clip(lo, -1, 1)), float(np.clip(hi, -1, 1)))


def rho_intervals(rec: dict, i: int) -> dict[str, tuple[float, float]]:
    """Every rho interval of data set ``i``."""
    est = float(rec["point"][i, 0])
    reps = rec["boot"][i, :, 0]
    jack = rec["jack"][i, :, 0]
    out = {m: _ci(est, reps, m if m != "pct" else "percentile", jack) for m in ("pct", "basic", "bca")}
    out["basic"] = _clip(*out["basic"])
    z, zr, zj = _z(est), _z(reps), _z(jack)
    v_star = np.nanvar(zr, ddof=1)
    out["normz"] = (np.tanh(z - Z975 * np.sqrt(v_star)), np.tanh(z + Z975 * np.sqrt(v_star)))
    n = zj.size
    v_jack = (n - 1) / n * np.sum((zj - zj.mean()) ** 2)
    out["jackz"] = (np.tanh(z - Z975 * np.sqrt(v_jack)), np.tanh(z + Z975 * np.sqrt(v_jack)))
    if "dbl_rho_var_z" in rec:
        inner = np.nanmean(rec["dbl_rho_var_z"][i])
        v = v_star**2 / inner
        out["dvarz"] = (np.tanh(z - Z975 * np.sqrt(v)), np.tanh(z + Z975 * np.sqrt(v)))
        v2 = max(2 * v_star - inner, 1e-12)
        out["dvarz_add"] = (np.tanh(z - Z975 * np.sqrt(v2)), np.tanh(z + Z975 * np.sqrt(v2)))
        lv = _quantile(rec["dbl_rho_u_pct"][i], [0.025, 0.975])
        q = _quantile(reps, lv)
        out["dblpct"] = (float(q[0]), float(q[1]))
        lb = _quantile(rec["dbl_rho_u_basic"][i], [0.025, 0.975])
        q = _quantile(zr - z, lb)
        out["dblbasicz"] = (float(np.tanh(z - q[1])), float(np.tanh(z - q[0])))
    if "stud_se_z" in rec:
        se = rec["stud_se_z"][i]
        k = se.size
        t = (zr[:k] - z) / se
        q = _quantile(t, [0.025, 0.975])
        out["studz"] = (float(np.tanh(z - q[1] * np.sqrt(v_jack))), float(np.tanh(z - q[0] * np.sqrt(v_jack))))
        t = (zr[:k] - np.nanmean(zr)) / se
        q = _quantile(t, [0.025, 0.975])
        out["mstudz"] = (float(np.tanh(z - q[1] * np.sqrt(v_jack))), float(np.tanh(z - q[0] * np.sqrt(v_jack))))
    out.update(_mean_basic(est, reps, rec, i))
    return out


def _mean_basic(est, reps, rec, i):
    """Basic intervals whose bootstrap-world truth is the mean of the replicates (the bootstrap analogue
    of E[rho_hat]), not the estimate: [est - (q_hi - m*), est - (q_lo - m*)], optionally with the
    root's quantiles scaled by the double-bootstrap variance correction sqrt(V*/mean V**)."""
    out = {}
    for name, f, finv, key in (("mbasic", lambda r: r, lambda r: np.clip(r, -1, 1), "dbl_rho_var"),
                               ("mbasicz", _z, np.tanh, "dbl_rho_var_z")):
        t = f(reps[np.isfinite(reps)])
        root = t - t.mean()
        q = _quantile(root, [0.025, 0.975])
        c = f(est)
        out[name] = (float(finv(c - q[1])), float(finv(c - q[0])))
        if key in rec:
            scale = np.sqrt(np.var(t, ddof=1) / np.nanmean(rec[key][i]))
            out[name.replace("mbasic", "mbasic") + "_dvar"] = (float(finv(c - scale * q[1])), float(finv(c - scale * q[0])))
    return out


def xh_values(comp: np.ndarray) -> np.ndarray:
    e = estimators({k: comp[..., j] for j, k in enumerate(COMPONENTS)})
    return e["xh"]


def corrected_intervals(rec: dict, i: int) -> tuple[float, dict[str, tuple[float, float]]]:
    """(clipped point estimate, intervals) of the corrected estimator for data set ``i``."""
    est = float(xh_values(rec["point"][i]))
    if not np.isfinite(est):
        return np.nan, {m: (np.nan, np.nan) for m in CORRECTED_METHODS}
    reps = xh_values(rec["boot"][i])
    jack = xh_values(rec["jack"][i])
    out = {m: _clip(*_ci(est, reps, m if m != "pct" else "percentile", jack)) for m in ("pct", "basic", "bca")}
    finite = reps[np.isfinite(reps)]
    v_star = np.var(finite, ddof=1) if finite.size > 20 else np.nan
    out["norm"] = _clip(est - Z975 * np.sqrt(v_star), est + Z975 * np.sqrt(v_star))
    if "dbl_xh_var" in rec:
        inner = np.nanmean(rec["dbl_xh_var"][i])
        v = v_star**2 / inner
        out["dvar"] = _clip(est - Z975 * np.sqrt(v), est + Z975 * np.sqrt(v))
    return float(np.clip(est, -1, 1)), out
