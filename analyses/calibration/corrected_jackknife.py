"""rho_corrected's interval taken apart: what each of its parts does to its coverage, on the stored results.

The shipped interval (:mod:`rsastats.inference.corrected_ci`, adopted 2026-12-04) is a Fisher-z jackknife-t interval
of the cross-half ratio whose variance is (1) corrected for the second-order part the jackknife counts twice and
(2) widened by the variance of the random half splits, with (3) the BCa interval of 2,000 emotion resamples near
the bound.  For every data set where the stored (shipped) results give rho_corrected, this script recomputes on the
same half splits:

- ``zjt``: the jackknife-t interval on the plain jackknife variance (none of the three);
- ``zjtc``: with the second-order correction (1) only;
- ``nosplit``: (1) and (3), no split variance;
- ``noswitch``: (1) and (2) wherever the z scale is defined, the stored interval elsewhere (no switch to BCa on
  the raw-scale rule);
- ``shipped``: the stored interval.  Checked: where the shipped rule picks the jackknife interval it equals the
  stored one (1e-9).

``near_bound`` is the share of data sets where the shipped interval is BCa.  Before this interval was adopted the
same script compared BCa (then shipped everywhere) with ``zjt`` and ``zjtc`` on 200 data sets per design; that
table is reports/calibration/corrected_jackknife.csv at commit 4ce46b9 (docs/statistics.md cites it).

Run:  python -m analyses.calibration.corrected_jackknife [--sets 400] [--studies independent atlas]   (about
12 min on 2 cores).  Writes reports/calibration/corrected_jackknife.csv.  The third model (``cli``) was part of the
run of 2026-12-04; since its interval is widened (2026-12-04, later) its results, written through the command line,
keep only the widened ends, so it cannot be taken apart and is not a default study (asked for, it stops with an
error at its first widened data set).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
from rsastats.inference.corrected_ci import jackknife_corrected
from rsastats.inference.degeneracy import leave_two_out_excess, leave_two_out_weights
from rsastats.inference.settings import streams
from rsastats.intervals.jackknife import corrected_variance
from rsastats.io import atomic_path

from . import cli_model
from .studies import binomial_ci
from .join_bound import joined_unrecorded
from .uneven import FOLDERS, _source, unwidened

__all__ = ["METHODS", "jackknife_intervals", "design_row", "main"]

METHODS = ("zjt", "zjtc", "nosplit", "noswitch", "shipped")
PAIR = np.array([[0, 1]])
EDGE = 1.0 - 1e-9
FOLDERS = {**FOLDERS, "cli": cli_model.FOLDER}


def jackknife_intervals(halves: CrossHalf, confidence: float = 0.95) -> dict:
    """The ratio, its z-scale jackknife intervals with and without each part (module docstring), whether the
    shipped rule uses BCa (``near_bound``), and ``defined``: whether the z scale has a value."""
    n = halves.n_emotions
    point = halves.corrected(None, PAIR)[0][0]
    jack = halves.leave_one_out(PAIR)
    shipped = jackknife_corrected(halves, PAIR, point, jack, confidence)[0]
    two = halves.batched(leave_two_out_weights(n), PAIR)[:, 0]
    split = float(halves.split_variance(PAIR)[0])
    values = np.concatenate([point, jack[:, 0], two])
    out = {"point": float(point[0]), "near_bound": shipped is None, "defined": False}
    if shipped is not None:
        out["shipped_low"], out["shipped_high"] = shipped
    if not (np.isfinite(values).all() and np.abs(values).max() < EDGE and np.isfinite(split)):
        return out
    z, zj, z2 = np.arctanh(values[0]), np.arctanh(values[1:n + 1]), np.arctanh(values[n + 1:])
    v = (n - 1) / n * ((zj - zj.mean()) ** 2).sum()
    v_c = corrected_variance(v, leave_two_out_excess(z, zj, z2), n)
    t = stdtrit(n - 1, 0.5 + confidence / 2.0)
    out["defined"] = True
    for key, var in (("zjt", v), ("zjtc", v_c), ("noswitch", v_c + split / (1.0 - values[0] ** 2) ** 2)):
        out[f"{key}_low"], out[f"{key}_high"] = float(np.tanh(z - t * np.sqrt(var))), float(np.tanh(z + t * np.sqrt(var)))
    return out


def _draw(study: str, meta: dict):
    """``(i -> (model inputs, split seed))`` as the stored results were run."""
    if study == "cli":
        design = cli_model.Design(**meta["design"])

        def get(i):
            _, _, x_a, x_b, valid = cli_model.Model(design).draw(
                np.random.default_rng([meta["seed"], design.n_emotions, design.n_prompts, i]))
            return cli_model.model_inputs(x_a, x_b, valid, as_file=True), streams(i).splits
        return get
    draw, _, _, seqs = _source(meta, study)
    return lambda i: (draw(seqs[i]), streams(seqs[i]).splits)


def _chunk(args: tuple) -> list[dict]:
    study, meta, indices = args
    get = _draw(study, meta)
    rows = []
    for i in indices:
        models, split_seed = get(i)
        rows.append({"i": i, **jackknife_intervals(CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, split_seed))})
    return rows


def _rate(low: pd.Series, high: pd.Series, truth: float) -> dict:
    hit = (low <= truth) & (truth <= high)
    cp = binomial_ci(int(hit.sum()), len(hit))
    return {"coverage": float(hit.mean()), "cp_low": cp[0], "cp_high": cp[1], "miss_high": float((low > truth).mean()),
            "miss_low": float((high < truth).mean()), "width": float((high - low).mean())}


def design_row(study: str, path: Path, n_sets: int, jobs: int = 2) -> dict | None:
    """One row per design (module docstring), or None where rho_corrected is given in fewer than 20 data sets."""
    meta = json.loads(path.read_text())
    frame = unwidened(pd.read_csv(path.with_suffix(".csv")))  # the parts of the interval, before the widening
    if meta["design"].get("vectors_only") or "rho_corrected" not in frame:
        return None
    given = np.flatnonzero(frame["rho_corrected"].notna().to_numpy()[:n_sets])
    if len(given) < 20:
        return None
    with ProcessPoolExecutor(jobs) as pool:
        parts = pool.map(_chunk, [(study, meta, list(given[k::jobs])) for k in range(jobs)])
    got = pd.DataFrame([r for part in parts for r in part]).sort_values("i").reset_index(drop=True)
    columns = [f"{m}_{end}" for m in ("zjt", "zjtc", "noswitch", "shipped") for end in ("low", "high")]
    got = got.reindex(columns=list(dict.fromkeys([*got.columns, *columns])))  # a design may lack one kind
    stored = frame.iloc[got["i"].to_numpy()].reset_index(drop=True)
    jk = ~got["near_bound"].to_numpy(bool) & ~joined_unrecorded(stored)  # those are recomputed, not checked
    if not (np.allclose(stored["rho_corrected"], np.clip(got["point"], -1, 1), rtol=0, atol=1e-9)
            and np.allclose(stored["corrected_ci_low"][jk], got["shipped_low"][jk], rtol=0, atol=1e-9)
            and np.allclose(stored["corrected_ci_high"][jk], got["shipped_high"][jk], rtol=0, atol=1e-9)):
        raise RuntimeError(f"{path}: the stored rho_corrected or its interval differs from the shipped one on the "
                           "same splits (rerun the study with the shipped code first)")
    truth = meta["truth"]["free"]
    row = {"study": study, "design": meta["design"]["name"], "n_given": len(got), "truth": truth,
           "near_bound": float(got["near_bound"].mean()), "z_undefined": float((~got["defined"].astype(bool)).mean())}
    shipped = (stored["corrected_ci_low"], stored["corrected_ci_high"])
    defined = got["defined"].astype(bool)
    near = got["near_bound"].astype(bool)
    intervals = {"zjt": (got["zjt_low"], got["zjt_high"]), "zjtc": (got["zjtc_low"], got["zjtc_high"]),
                 "noswitch": (got["noswitch_low"], got["noswitch_high"]), "shipped": shipped}
    intervals["nosplit"] = (got["zjtc_low"].where(~near, shipped[0]), got["zjtc_high"].where(~near, shipped[1]))
    for method in METHODS:
        low, high = intervals[method]
        if method != "shipped":  # where the z scale has no value the shipped (BCa) interval stands
            low, high = low.where(defined, shipped[0]), high.where(defined, shipped[1])
        row.update({f"{method}_{k}": v for k, v in _rate(low, high, truth).items()})
    print(f"{study} {row['design']}: n {len(got)}, shipped {100 * row['shipped_coverage']:.1f}, "
          f"near the bound {100 * row['near_bound']:.0f}%", flush=True)
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400, help="the first data sets of each design")
    parser.add_argument("--studies", nargs="*", default=["independent", "atlas"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/corrected_jackknife.csv")
    args = parser.parse_args(argv)
    rows = [row for study in args.studies for path in sorted(Path(FOLDERS[study]).glob("*.json"))
            if (row := design_row(study, path, args.sets, args.jobs)) is not None]
    table = pd.DataFrame(rows)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    band = lambda c: ((c >= 0.925) & (c <= 0.975)).sum()  # noqa: E731
    for method in METHODS:
        print(f"{method}: {band(table[f'{method}_coverage'])} of {len(table)} designs within [92.5%, 97.5%]; "
              f"below {(table[f'{method}_coverage'] < 0.925).sum()}; mean |coverage - 95%| "
              f"{100 * (table[f'{method}_coverage'] - 0.95).abs().mean():.2f} points")
    return table


if __name__ == "__main__":
    main()
