"""Measured, not adopted (yet): a jackknife-t interval for rho_corrected, on the Fisher-z scale with the
second-order correction that rho's default interval uses.

rho_corrected's shipped interval (BCa over 2000 emotion resamples) covers more than 97.5% in most designs of the
three generative models (docs/calibration.md; reports/calibration/cli_model/coverage.md), its upper end generous.
rho's default, ``jackknife-t`` (:mod:`rsastats.intervals.jackknife`), removes the second-order part of the variance
that the leave-one-out jackknife counts twice.  The same is done here for the cross-half ratio: ``z = atanh(ratio)``,
the leave-one-emotion-out values ``z_(i)``, and the excess estimated from leave-two-out values
(``D_ij = z - z_(i) - z_(j) + z_(ij)``, U-centred, as ``analyses/calibration/uneven_se.py`` does for the check);
``zjt`` is Tukey's interval on the plain jackknife variance, ``zjtc`` on the corrected one
(:func:`~rsastats.intervals.jackknife.corrected_variance`), ``zjtc-bc`` the same around the jackknife
bias-corrected ``z``.  Where the ratio or one of its leave-one- or leave-two-out values is not inside (-1, 1) the
z scale has no value and the row counts as a fallback (the shipped BCa interval would be kept there).

Per design: the data sets where the shipped rule gives rho_corrected (from the stored results; the check of uneven
shrinkage included), their jackknife intervals with the shipped half splits, and the coverage of the noise-free rho
with the side of the misses.  ``bca`` is the stored shipped interval of the same data sets.  Results run before the
half splits became common to all emotions (the JSON has no ``half_split``) were made with other splits of the same
distribution: their ``bca`` column is the stored coverage over all their data sets, not over the same splits.

Run:  python -m analyses.calibration.corrected_jackknife [--sets 200] [--studies atlas independent cli]   (about
15 min on 2 cores).  Writes reports/calibration/corrected_jackknife.csv.
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
from rsastats.inference.settings import streams
from rsastats.intervals.jackknife import corrected_variance
from rsastats.io import atomic_path

from . import cli_model
from .studies import HALF_SPLIT, binomial_ci
from .uneven import FOLDERS, _source
from .uneven_se import leave_two_out_excess, leave_two_out_weights

__all__ = ["METHODS", "jackknife_intervals", "design_row", "main"]

METHODS = ("zjt", "zjtc", "zjtc-bc")
PAIR = np.array([[0, 1]])
EDGE = 1.0 - 1e-9
FOLDERS = {**FOLDERS, "cli": cli_model.FOLDER}


def jackknife_intervals(halves: CrossHalf, confidence: float = 0.95) -> dict:
    """The ratio and its three jackknife intervals (module docstring), or ``fallback`` where the z scale fails."""
    n = halves.n_emotions
    point = float(halves.corrected(None, PAIR)[0][0, 0])
    jack = halves.leave_one_out(PAIR)[:, 0]
    two = halves.batched(leave_two_out_weights(n), PAIR)[:, 0]
    values = np.concatenate([[point], jack, two])
    if not (np.isfinite(values).all() and np.abs(values).max() < EDGE):
        return {"point": point, "fallback": True}
    z, zj, z2 = np.arctanh(point), np.arctanh(jack), np.arctanh(two)
    v = (n - 1) / n * ((zj - zj.mean()) ** 2).sum()
    excess = leave_two_out_excess(z, zj, z2)
    t = stdtrit(n - 1, 0.5 + confidence / 2.0)
    se_c = np.sqrt(corrected_variance(v, excess, n))
    centre = n * z - (n - 1) * zj.mean()
    out = {"point": point, "fallback": False}
    for key, mid, se in (("zjt", z, np.sqrt(v)), ("zjtc", z, se_c), ("zjtc-bc", centre, se_c)):
        out[f"{key}_low"], out[f"{key}_high"] = float(np.tanh(mid - t * se)), float(np.tanh(mid + t * se))
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
    frame = pd.read_csv(path.with_suffix(".csv"))
    if meta["design"].get("vectors_only") or "rho_corrected" not in frame:
        return None
    given = np.flatnonzero(frame["rho_corrected"].notna().to_numpy()[:n_sets])
    if len(given) < 20:
        return None
    with ProcessPoolExecutor(jobs) as pool:
        parts = pool.map(_chunk, [(study, meta, list(given[k::jobs])) for k in range(jobs)])
    got = pd.DataFrame([r for part in parts for r in part]).sort_values("i").reset_index(drop=True)
    same_split = meta.get("half_split") == HALF_SPLIT
    stored = frame.iloc[got["i"].to_numpy()] if same_split else frame[frame["rho_corrected"].notna()]
    if same_split and not np.allclose(stored["rho_corrected"], np.clip(got["point"], -1, 1), rtol=0, atol=1e-9):
        raise RuntimeError(f"{path}: the ratio differs from the stored rho_corrected")
    truth = meta["truth"]["free"]
    row = {"study": study, "design": meta["design"]["name"], "n_given": len(got), "truth": truth,
           "same_splits": same_split, "fallback": float(got["fallback"].mean())}
    row.update({f"bca_{k}": v for k, v in _rate(stored["corrected_ci_low"], stored["corrected_ci_high"], truth).items()})
    bca = frame.iloc[got["i"].to_numpy()]
    for method in METHODS:
        low = got[f"{method}_low"].where(~got["fallback"], bca["corrected_ci_low"].to_numpy())
        high = got[f"{method}_high"].where(~got["fallback"], bca["corrected_ci_high"].to_numpy())
        row.update({f"{method}_{k}": v for k, v in _rate(low, high, truth).items()})
    print(f"{study} {row['design']}: n {len(got)}, bca {100 * row['bca_coverage']:.1f}, zjtc {100 * row['zjtc_coverage']:.1f}",
          flush=True)
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200, help="the first data sets of each design")
    parser.add_argument("--studies", nargs="*", default=["cli", "independent", "atlas"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/corrected_jackknife.csv")
    args = parser.parse_args(argv)
    rows = [row for study in args.studies for path in sorted(Path(FOLDERS[study]).glob("*.json"))
            if (row := design_row(study, path, args.sets, args.jobs)) is not None]
    table = pd.DataFrame(rows)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    band = lambda c: ((c >= 0.925) & (c <= 0.975)).sum()  # noqa: E731
    for method in ("bca", *METHODS):
        print(f"{method}: {band(table[f'{method}_coverage'])} of {len(table)} designs within [92.5%, 97.5%]; "
              f"below {(table[f'{method}_coverage'] < 0.925).sum()}")
    return table


if __name__ == "__main__":
    main()
