"""Why rho_corrected's half splits are common to all emotions: the cross-half ratio under both schemes.

``per-emotion`` draws each emotion's half at random on its own (the scheme before 2026-12-04); ``common`` is the
shipped :func:`rsastats.inference.ceiling.split_counts`: one random key per prompt label and split, shared by
every emotion, so with every prompt valid all emotions have the same prompt labels in a half.  Where prompt
``p`` of every emotion is built from one template (designs with ``templ``, and every design of the third model,
``m3-``: :mod:`.cli_model`), a split per emotion puts different
templates into different emotions' halves: the template effect, common to all emotions in the full prompt set,
becomes half-RDM noise that is anti-correlated between the two halves of a split, the split-half correlations
fall more than the cross-half ones, and the ratio is biased upward.  Where prompts are exchangeable within an
emotion and independent across emotions (every other design here), both schemes give the half RDMs the same
joint distribution, and the two rows of a design differ by Monte Carlo error only.

Per design and scheme: ``given`` (the share of data sets whose smaller split-half correlation is >=
:data:`~rsastats.inference.corrected.MIN_SPLIT_HALF`), the median smaller split-half correlation, and over the
data sets where it is given ``bias`` (the ratio minus the data set's own noise-free rho) and ``sd``.

Run:  python -m analyses.calibration.half_split [--sets 60]   (about 3 min on 2 cores)
Writes reports/calibration/half_split.csv.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from rsastats.inference.ceiling import DEFAULT_N_SPLITS, split_counts
from rsastats.inference.corrected import MIN_SPLIT_HALF, CrossHalf
from rsastats.inference.engine import ResamplingEngine

from .equalize_bias import _data_sets
from .studies import design_table

__all__ = ["DEFAULT_DESIGNS", "per_emotion_split", "design_rows", "main"]

DEFAULT_DESIGNS = ("m3-n30-P8-templ", "m3-n21-P3", "n21-P8-templ", "n21-P3-templ-hetero", "n21-P20-r0.8-high-lowrank-templ1",
                   "n21-P8-equal", "n21-P3-equal", "n12-P8-missing", "n21-P8-r0.8-near1-lowrank", "n40-P20-r0.8-low-hub")
PAIR = np.array([[0, 1]])


def per_emotion_split(engine: ResamplingEngine, n_splits: int, seed) -> list[tuple[np.ndarray, np.ndarray]]:
    """The earlier scheme: each emotion's valid prompts split at random on their own (same layout as
    :func:`~rsastats.inference.ceiling.split_counts`)."""
    rng = np.random.default_rng(seed)
    out = []
    for group in engine.groups:
        first = np.zeros((n_splits,) + group.valid.shape)
        for s in range(n_splits):
            for e, slots in enumerate(group.slots):
                first[s, e, rng.permutation(slots)[: len(slots) // 2]] = 1.0
        out.append((first, group.valid[None].astype(np.float64) - first))
    return out


def _ratio(engine: ResamplingEngine, halves: list) -> tuple[float, float]:
    cross = CrossHalf.__new__(CrossHalf)
    cross._build(engine, halves, DEFAULT_N_SPLITS, True)
    point, aa = cross.corrected(None, PAIR)
    return float(point[0, 0]), float(aa[0].min())


def design_rows(name: str, n_sets: int = 60, seed: int = 11) -> list[dict]:
    """One row per scheme of one design (see the module docstring)."""
    values: dict[str, list[tuple[float, float, float]]] = {"per-emotion": [], "common": []}
    for k, (inputs, truth) in enumerate(_data_sets(name, n_sets, seed)):
        engine = ResamplingEngine(inputs, rank="spearman", scheme="prompts", rdm_method="cosine")
        sequence = np.random.SeedSequence([seed, k])
        for scheme, halves in (("per-emotion", per_emotion_split(engine, DEFAULT_N_SPLITS, sequence)),
                               ("common", split_counts(engine, DEFAULT_N_SPLITS, sequence))):
            values[scheme].append((*_ratio(engine, halves), truth))
    rows = []
    for scheme, got in values.items():
        point, half, truth = np.array(got).T
        given = half >= MIN_SPLIT_HALF
        error = point[given] - truth[given]
        rows.append({"design": name, "scheme": scheme, "n_sets": n_sets, "given": float(given.mean()),
                     "split_half": float(np.median(half)), "bias": float(error.mean()) if given.any() else None,
                     "sd": float(error.std()) if given.any() else None})
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=60)
    parser.add_argument("--designs", nargs="*", default=list(DEFAULT_DESIGNS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/half_split.csv")
    args = parser.parse_args(argv)
    return design_table(design_rows, args.designs, args.sets, args.jobs, args.out)


if __name__ == "__main__":
    main()
