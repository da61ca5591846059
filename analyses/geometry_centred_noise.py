"""Which prompt noise decides whether the noise-free emotion descriptors of ``rsastats geometry`` can have an interval.

    python analyses/geometry_centred_noise.py [--n-sims 200] [--n-boot 400] [--seed 11] [--jobs 2]
        [--out reports/geometry_coverage]

The noise-free descriptors (``Descriptor.noise_free``: the mean cosine, RDM spread, participation ratio and PC1 share
of the emotion vectors) estimate the values of the emotion vectors with unlimited prompts; the bootstrap's bias
correction is first order, so with too much prompt noise no interval reaches them (docs/geometry.md).  The rule
up to 2026-12-06 measured the noise against the vectors' whole squared norm (``kernels.emotion_noise_fraction``) and
gave an interval up to 5%.  The participation ratio and PC1 share describe the vectors *centred on their mean*: what
the noise distorts there is the spread of the emotions about their mean, which is much smaller than the whole norm
where the emotions share a large common direction (as language models' do).  This script draws data sets from
designs that cross the size of the common direction, the rank of the emotions' differences and the prompt noise,
forms every interval whatever the noise (the rule lifted), and scores each rule: the plain share, and the centred
share (``centred=True``) for the two centred descriptors.  Writes ``centred_noise.csv`` (per design, descriptor and
rule: data sets given an interval and covering) and ``centred_noise.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses.calibration import binomial_ci  # noqa: E402
from analyses.geometry_coverage import expected_noise_fractions  # noqa: E402
from rsastats.exceptions import RsaStatsWarning  # noqa: E402
from rsastats.geometry import geometry, intervals, kernels  # noqa: E402
from rsastats.io import make_activations  # noqa: E402
from rsastats.rng import spawn_sequences  # noqa: E402

NAMES = ("emotion_mean_cosine", "emotion_rdm_spread", "emotion_participation_ratio", "emotion_pc1_share")
CENTRED = ("emotion_participation_ratio", "emotion_pc1_share")
# name: (hidden, emotions, prompts, common direction's norm per sqrt(hidden), rank of the differences (0: isotropic),
#        prompt noise sd)
DESIGNS = {
    "isotropic, common 1, noise 0.5": (64, 12, 8, 1.0, 0, 0.5),
    "isotropic, common 1, noise 0.8": (64, 12, 8, 1.0, 0, 0.8),
    "isotropic, common 3, noise 0.8": (64, 12, 8, 3.0, 0, 0.8),
    "isotropic, common 3, noise 1.3": (64, 12, 8, 3.0, 0, 1.3),
    "isotropic, common 3, noise 1.6": (64, 12, 8, 3.0, 0, 1.6),
    "rank 3, common 1, noise 0.3": (64, 12, 8, 1.0, 3, 0.3),
    "rank 3, common 1, noise 0.5": (64, 12, 8, 1.0, 3, 0.5),
    "rank 3, common 1, noise 0.7": (64, 12, 8, 1.0, 3, 0.7),
    "rank 3, common 2, noise 0.9": (64, 12, 8, 2.0, 3, 0.9),
    "rank 3, common 2, noise 1.3": (64, 12, 8, 2.0, 3, 1.3),
    "rank 2, 21 x 6, common 2, noise 0.4": (128, 21, 6, 2.0, 2, 0.4),
    "rank 2, 21 x 6, common 2, noise 0.7": (128, 21, 6, 2.0, 2, 0.7),
    "rank 6, 16 x 10, common 3, noise 0.8": (96, 16, 10, 3.0, 6, 0.8),
    "rank 6, 16 x 10, common 3, noise 1.2": (96, 16, 10, 3.0, 6, 1.2),
}


class CommonDirectionModel:
    """Emotion vectors ``c sqrt(hidden) u + D`` (a common direction ``u`` of norm ``c sqrt(hidden)``, the differences
    ``D`` isotropic ``N(0, I)`` or spanning ``rank`` directions of sizes ``1, 1/2, ...``, scaled so that their mean
    squared norm is ``hidden``), and prompts that add ``N(0, noise^2 I)``."""

    def __init__(self, hidden, n_emotions, n_prompts, common, rank, noise, seed=57):
        rng = np.random.default_rng(seed)
        self.n_emotions, self.n_prompts, self.hidden, self.noise = n_emotions, n_prompts, hidden, noise
        u = rng.standard_normal(hidden)
        u *= common * np.sqrt(hidden) / np.linalg.norm(u)
        if rank:
            directions = np.linalg.qr(rng.standard_normal((hidden, rank)))[0].T
            diff = (rng.standard_normal((n_emotions, rank)) / np.arange(1, rank + 1)) @ directions
        else:
            diff = rng.standard_normal((n_emotions, hidden))
        diff -= diff.mean(axis=0)
        diff *= np.sqrt(hidden / np.mean(np.sum(diff**2, axis=1)))
        self.vectors = u + diff
        v = self.vectors
        self.plain_fraction, self.centred_fraction = expected_noise_fractions(v, noise, n_prompts)
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        cos = (unit @ unit.T)[np.triu_indices(n_emotions, k=1)]
        sv2 = np.linalg.svd(v - v.mean(axis=0), compute_uv=False) ** 2
        self.truth = {"emotion_mean_cosine": float(cos.mean()), "emotion_rdm_spread": float((1 - cos).std()),
                      "emotion_participation_ratio": float(sv2.sum() ** 2 / (sv2**2).sum()),
                      "emotion_pc1_share": float(sv2.max() / sv2.sum())}

    def prompts(self, rng: np.random.Generator) -> np.ndarray:
        shape = (self.n_emotions, self.n_prompts, self.hidden)
        return self.vectors[:, None, :] + self.noise * rng.standard_normal(shape)


def design_rows(job: tuple) -> list[dict]:
    name, n_sims, n_boot, seed = job
    model = CommonDirectionModel(*DESIGNS[name])
    # every interval formed (in this worker process); the rules are scored below
    intervals.MAX_NOISE_FRACTION = intervals.MAX_CENTRED_NOISE_FRACTION = np.inf
    groups = [np.arange(e * model.n_prompts, (e + 1) * model.n_prompts) for e in range(model.n_emotions)]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RsaStatsWarning)
        for k, seq in enumerate(spawn_sequences(seed, n_sims)):
            data_seed, boot_seed = seq.spawn(2)
            acts = model.prompts(np.random.default_rng(data_seed))
            flat = acts.reshape(-1, model.hidden)
            gram = flat @ flat.T
            plain = kernels.emotion_noise_fraction(gram, groups)
            centred = kernels.emotion_noise_fraction(gram, groups, centred=True)
            data = make_activations(acts[:, :, None, :], [f"e{i}" for i in range(model.n_emotions)],
                                    attrs={"model": "planted"})
            layer = geometry(data, n_boot=n_boot, seed=boot_seed).layers[0]
            for d in NAMES:
                est = layer[d]
                rows.append({"design": name, "set": k, "descriptor": d, "truth": model.truth[d],
                             "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                             "covered": int(est.ci_low <= model.truth[d] <= est.ci_high) if est.status == "ok" else -1,
                             "plain_fraction": plain, "centred_fraction": centred})
    return rows


THRESHOLDS = (0.05, 0.08, 0.10, 0.15, 0.20)
BINS = (0.0, 0.025, 0.05, 0.075, 0.10, 0.15, 0.20, 0.30, np.inf)


def _cov(hits: np.ndarray) -> str:
    if len(hits) == 0:
        return "–"
    low, high = binomial_ci(int(hits.sum()), len(hits))
    return f"{hits.mean():.3f} [{low:.2f}, {high:.2f}] ({len(hits)})"


def summary(rows: list[dict]):
    """Per design, descriptor and rule (``every``, ``plain``, ``centred<=t``): data sets given an interval and the
    number of them that cover, with the design's median plain and centred shares."""
    import pandas as pd

    df = pd.DataFrame(rows)
    out = []
    for (design, d), g in df.groupby(["design", "descriptor"], sort=False):
        hit = g["covered"].to_numpy()
        plain_ok = (g["plain_fraction"] <= 0.05).to_numpy()
        rules = {"every": np.ones(len(g), bool), "plain<=0.05": plain_ok}
        for t in THRESHOLDS:
            rules[f"plain<=0.05,centred<={t:g}"] = plain_ok & ((g["centred_fraction"] <= t).to_numpy()
                                                                if d in CENTRED else True)
        for rule, keep in rules.items():
            out.append({"design": design, "descriptor": d, "rule": rule, "truth": g["truth"].iloc[0],
                        "plain_fraction": g["plain_fraction"].median(),
                        "centred_fraction": g["centred_fraction"].median(),
                        "given": int(keep.sum()), "covered": int(hit[keep].sum())})
    return pd.DataFrame(out)


def _pooled(df, column: str, title: str) -> list[str]:
    """The coverage of each descriptor pooled over designs, by bins of ``column`` (a noise share)."""
    lines = ["", title, "",
             "| descriptor | " + " | ".join(f"{lo:.1%}-{hi:.1%}" for lo, hi in zip(BINS[:-1], BINS[1:])) + " |",
             "|---|" + "---|" * (len(BINS) - 1)]
    for d in NAMES:
        g = df[df["descriptor"] == d]
        cells = [d]
        for lo, hi in zip(BINS[:-1], BINS[1:]):
            inside = ((g[column] > lo) & (g[column] <= hi)).to_numpy()
            cells.append(_cov(g["covered"].to_numpy()[inside]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(rows: list[dict], meta: dict) -> str:
    """Per design and descriptor: the coverage with every interval formed, and under the plain rule (<= 5%) and the
    centred rule at each threshold; then the coverage pooled over designs by the centred share."""
    import pandas as pd

    df = pd.DataFrame(rows)
    lines = [f"Written by `python analyses/geometry_centred_noise.py --n-sims {meta['n_sims']} "
             f"--n-boot {meta['n_boot']} "
             f"--seed {meta['seed']}` ({meta['seconds']:.0f} s). Every interval formed whatever the noise, the default "
             "method, with the small-sample expansion; coverage of the noise-free value (Clopper-Pearson 95%; data "
             "sets in brackets). `plain`: the prompt noise's share of the emotion vectors' squared norm (median over "
             "data sets); `centred`: its share of their squared distance from their mean.", "",
             "| design | descriptor | truth | plain | centred | every data set | plain <= 5% | "
             + " | ".join(f"plain <= 5%, centred <= {t:.0%}" for t in THRESHOLDS) + " |",
             "|---|---|---|---|---|---|---|" + "---|" * len(THRESHOLDS)]
    for (design, d), g in df.groupby(["design", "descriptor"], sort=False):
        hit = g["covered"].to_numpy()
        plain_ok = (g["plain_fraction"] <= 0.05).to_numpy()
        cells = [design, d, f"{g['truth'].iloc[0]:.3f}", f"{g['plain_fraction'].median():.3f}",
                 f"{g['centred_fraction'].median():.3f}", _cov(hit), _cov(hit[plain_ok])]
        for t in THRESHOLDS:
            keep = plain_ok & ((g["centred_fraction"] <= t).to_numpy() if d in CENTRED else True)
            cells.append(_cov(hit[keep]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += _pooled(df, "centred_fraction", "Pooled over the designs, by the centred share (every interval formed):")
    lines += _pooled(df, "plain_fraction", "Pooled over the designs, by the plain share:")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=200)
    parser.add_argument("--n-boot", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--designs", nargs="*", default=list(DESIGNS))
    parser.add_argument("--out", default=str(ROOT / "reports" / "geometry_coverage"))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.designs) - set(DESIGNS))
    if unknown:
        print(f"error: unknown design {unknown[0]!r}; the designs are {', '.join(DESIGNS)}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    jobs = [(name, args.n_sims, args.n_boot, args.seed + k) for k, name in enumerate(DESIGNS) if name in args.designs]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [r for part in pool.map(design_rows, jobs) for r in part]
    meta = {"n_sims": args.n_sims, "n_boot": args.n_boot, "seed": args.seed, "seconds": time.perf_counter() - start}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary(rows).to_csv(out / "centred_noise.csv", index=False, float_format="%.6g")
    text = markdown(rows, meta)
    (out / "centred_noise.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
