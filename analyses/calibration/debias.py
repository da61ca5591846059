"""Should rho_corrected's point estimate be the ratio less the worlds' bias?  (Measured, not shipped; issue 14.)

The shipped interval of rho_corrected is widened toward the cross-half ratio less its bias in sign-flip worlds,
by the part of the bias beyond ``WORLD_BEYOND_SE`` of its Monte Carlo standard errors
(:func:`rsastats.inference.widening.widened`); the point estimate stays the ratio.  The same soft threshold applied
to the estimate, ``ratio - sign(b) max(0, |b| - k SE)``, always lies inside the widened interval, so shipping it would
change no interval and no coverage -- only the estimate.  This script measures what it would do to the estimate's
error, from stored results alone (no data set is rerun):

- the calibration studies' stored data sets (``atlas``, ``independent``, ``few`` with at least 7 emotions; every
  data set where rho_corrected is given): error against the data set's own noise-free rho where the study stores it
  (``rho_free``: the second model and its few-emotion designs), else against the design's truth (the atlas: the
  noise-free rho averaged over emotion samples, so its RMSE includes the emotions' sampling variance);
- the real activations of :mod:`.real_prompts` (every data set; the ratio and the worlds' bias of
  :func:`analyses.calibration.world_check._measures`), against the rho of all the file's prompts for the data set's
  own emotions (``own_free``).

Per design: the mean error (``bias``) and root mean square error (``rmse``) of the ratio and of the debiased
estimate (``debiased_*``), and the share of data sets whose debiased estimate lies inside the stored interval.

Run:  python -m analyses.calibration.debias [--k 1.5]   (seconds).  Writes reports/calibration/debias.csv.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.widening import WORLD_BEYOND_SE
from rsastats.io import atomic_path

__all__ = ["debiased", "study_rows", "real_rows", "main"]

STUDIES = ("atlas", "independent", "few")
FOLDER = Path("reports/calibration")
MIN_GIVEN = 20


def debiased(ratio: np.ndarray, bias: np.ndarray, se: np.ndarray, k: float = WORLD_BEYOND_SE) -> np.ndarray:
    """The ratio less the part of its worlds' bias beyond ``k`` standard errors, in [-1, 1]."""
    bias = np.asarray(bias, dtype=float)
    return np.clip(np.asarray(ratio, dtype=float) - np.sign(bias) * np.maximum(0.0, np.abs(bias) - k * np.asarray(se)),
                   -1.0, 1.0)


def _row(study: str, design: str, ratio, estimate, truth, inside=np.nan) -> dict:
    err, deb = ratio - truth, estimate - truth
    return {"study": study, "design": design, "n": len(ratio), "bias": float(np.mean(err)),
            "rmse": float(np.sqrt(np.mean(err ** 2))), "debiased_bias": float(np.mean(deb)),
            "debiased_rmse": float(np.sqrt(np.mean(deb ** 2))), "inside": inside}


def study_rows(folder: Path = FOLDER, k: float = WORLD_BEYOND_SE) -> list[dict]:
    rows = []
    for study in STUDIES:
        for path in sorted((folder / study).glob("*.json")):
            meta = json.loads(path.read_text())
            n_emotions = meta.get("design", {}).get("n_emotions")
            f = pd.read_csv(path.with_suffix(".csv"))
            if n_emotions is None or n_emotions < 7 or "world_bias" not in f:
                continue
            g = f[f["rho_corrected"].notna() & f["world_bias"].notna()]
            if len(g) < MIN_GIVEN:
                continue
            truth = g["rho_free"].to_numpy() if "rho_free" in g else meta["truth"]["free"]
            estimate = debiased(g["rho_corrected"], g["world_bias"], g["world_bias_se"], k)
            low, high = g["corrected_ci_low"] - 1e-12, g["corrected_ci_high"] + 1e-12
            inside = float(((low <= estimate) & (estimate <= high)).mean())
            rows.append(_row(study, path.stem, g["rho_corrected"].to_numpy(), estimate, truth, inside))
    return rows


def real_rows(folder: Path = FOLDER / "real_prompts", k: float = WORLD_BEYOND_SE) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.json")):
        meta, f = json.loads(path.read_text()), pd.read_csv(path.with_suffix(".csv"))
        estimate = debiased(f["ratio"], f["world_bias"], f["world_bias_se"], k)
        truth = f["own_free"].to_numpy() if "own_free" in f else meta["truth"]["free"]
        rows.append(_row("real_prompts", path.stem, f["ratio"].to_numpy(), estimate, truth))
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=float, default=WORLD_BEYOND_SE)
    parser.add_argument("--out", default=str(FOLDER / "debias.csv"))
    args = parser.parse_args(argv)
    table = pd.DataFrame(study_rows(k=args.k) + real_rows(k=args.k))
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    real = table["study"] == "real_prompts"
    for name, part in (("simulated", table[~real]), ("real", table[real])):
        if len(part):
            rmse, deb = part["rmse"], part["debiased_rmse"]
            print(f"{name}: {len(part)} designs; mean RMSE {rmse.mean():.4f} -> {deb.mean():.4f}; debiased better in "
                  f"{int((deb < rmse).sum())}, worse by more than 0.005 in {int((deb > rmse + 0.005).sum())}; "
                  f"mean |bias| {part['bias'].abs().mean():.4f} -> {part['debiased_bias'].abs().mean():.4f}")
    return table


if __name__ == "__main__":
    main()
