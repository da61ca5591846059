"""Coverage of the geometry CIs on planted data with known population values.

Used by ``test_geometry_coverage.py`` (slow) and runnable on its own to print the table in
``docs/geometry.md``::

    python -m tests.simulation.geometry_coverage [n_sim] [n_boot]

The planted model: baseline texts ``x = mu + Sigma^(1/2) z`` with a power-law spectrum and an
offset ``mu`` in one dimension (a rogue dimension that sets the anisotropy); prompts
``x_ep = v_e + noise``.  Population values come from large Monte Carlo samples of the same
model; emotion descriptors are compared with those of the noise-free vectors ``v_e``.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from rsastats.data import make_activations
from rsastats.exceptions import RsaStatsWarning
from rsastats.geometry import geometry
from rsastats.intervals import CI_METHODS

DESIGNS = {
    # name: (hidden, n_baseline, offset norm per sqrt(hidden), prompt noise, n_emotions, n_prompts)
    "moderate anisotropy, n > hidden": (32, 60, 1.0, 1.0, 12, 16),
    "high anisotropy, n < hidden": (96, 40, 3.0, 1.0, 12, 16),
}
CHECKED = ("baseline_anisotropy", "baseline_top_dim_contribution", "baseline_participation_ratio",
           "baseline_participation_ratio_plugin", "baseline_pc1_share", "baseline_norm_mean", "baseline_norm_sd",
           "prompt_anisotropy", "prompt_norm_mean", "prompt_norm_sd", "emotion_mean_cosine", "emotion_rdm_spread",
           "emotion_participation_ratio", "emotion_pc1_share")


class PlantedModel:
    """One planted model: draws data sets and knows its population descriptors."""

    def __init__(self, hidden: int, n_baseline: int, offset: float, noise: float, n_emotions: int, n_prompts: int,
                 seed: int = 123):
        rng = np.random.default_rng(seed)
        self.hidden, self.n_baseline, self.noise = hidden, n_baseline, noise
        self.n_emotions, self.n_prompts = n_emotions, n_prompts
        lam = np.arange(1, hidden + 1) ** -0.5
        self.lam = lam / lam.sum() * hidden
        self.basis = np.linalg.qr(rng.standard_normal((hidden, hidden)))[0]
        self.mu = np.zeros(hidden)
        self.mu[0] = offset * np.sqrt(hidden)
        self.vectors = rng.standard_normal((n_emotions, hidden)) + 1.0
        self.truth = self._truth(np.random.default_rng(seed + 1))

    def baseline(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mu + (rng.standard_normal((n, self.hidden)) * np.sqrt(self.lam)) @ self.basis.T

    def prompts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.vectors[:, None, :] + self.noise * rng.standard_normal((self.n_emotions, n, self.hidden))

    def _truth(self, rng: np.random.Generator) -> dict[str, float]:
        big = self.baseline(rng, 400_000)
        norms = np.linalg.norm(big, axis=1)
        unit = big / norms[:, None]
        half = len(unit) // 2
        lam = self.lam
        out = {
            "baseline_anisotropy": float(np.mean(np.sum(unit[:half] * unit[half:], axis=1))),
            "baseline_top_dim_contribution": float(np.max(unit.mean(axis=0) ** 2)),
            "baseline_participation_ratio": float(lam.sum() ** 2 / (lam**2).sum()),
            "baseline_participation_ratio_plugin": float(lam.sum() ** 2 / (lam**2).sum()),
            "baseline_pc1_share": float(lam.max() / lam.sum()),
            "baseline_norm_mean": float(norms.mean()),
            "baseline_norm_sd": float(norms.std()),
        }
        many = self.prompts(rng, 4000)
        p_norms = np.linalg.norm(many, axis=2)
        p_unit = many / p_norms[:, :, None]
        k = many.shape[1]
        sums = p_unit.sum(axis=1)
        within = (np.sum(sums**2, axis=1) - k) / (k * (k - 1))
        means = sums / k
        between = means @ means.T
        e, p = self.n_emotions, self.n_prompts
        n = e * p
        n_within = e * p * (p - 1) / 2
        n_between = n * (n - 1) / 2 - n_within
        iu = np.triu_indices(e, k=1)
        out["prompt_anisotropy"] = float((within.mean() * n_within + between[iu].mean() * n_between)
                                         / (n_within + n_between))
        out["prompt_norm_mean"] = float(p_norms.mean())
        out["prompt_norm_sd"] = float(p_norms.std())
        v = self.vectors
        cos = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ (v / np.linalg.norm(v, axis=1, keepdims=True)).T
        out["emotion_mean_cosine"] = float(cos[iu].mean())
        out["emotion_rdm_spread"] = float((1 - cos[iu]).std())
        sv2 = np.linalg.svd(v - v.mean(axis=0), compute_uv=False) ** 2
        out["emotion_participation_ratio"] = float(sv2.sum() ** 2 / (sv2**2).sum())
        out["emotion_pc1_share"] = float(sv2.max() / sv2.sum())
        return out

    def dataset(self, seed: int):
        rng = np.random.default_rng(seed)
        acts = self.prompts(rng, self.n_prompts)
        base = self.baseline(rng, self.n_baseline)
        return make_activations(acts[:, :, None, :], [f"e{i}" for i in range(self.n_emotions)],
                                baseline=base[:, None, :], attrs={"model": "planted"})


def coverage(model: PlantedModel, n_sim: int, n_boot: int, methods=CI_METHODS, first_seed: int = 1000) -> dict:
    """Hit counts ``{method: {descriptor: hits}}`` over ``n_sim`` data sets."""
    hits = {m: dict.fromkeys(CHECKED, 0) for m in methods}
    for s in range(n_sim):
        ds = model.dataset(first_seed + s)
        for m in methods:
            layer = geometry(ds, n_boot=n_boot, ci_method=m, seed=s).layers[0]
            for name in CHECKED:
                est = layer[name]
                hits[m][name] += int(est.ci_low <= model.truth[name] <= est.ci_high)
    return hits


def main(n_sim: int = 200, n_boot: int = 500) -> None:
    warnings.simplefilter("ignore", RsaStatsWarning)  # BCa at 500 resamples: extreme order statistics, expected
    for design, params in DESIGNS.items():
        model = PlantedModel(*params)
        hits = coverage(model, n_sim, n_boot)
        print(f"\n{design} (hidden {params[0]}, {params[1]} baseline texts, {params[4]} emotions x {params[5]} prompts; "
              f"{n_sim} data sets, {n_boot} resamples, nominal 0.95)\n")
        print("| descriptor | population value | " + " | ".join(CI_METHODS) + " |")
        print("|---|---|" + "---|" * len(CI_METHODS))
        for name in CHECKED:
            print(f"| {name} | {model.truth[name]:.4g} | "
                  + " | ".join(f"{hits[m][name] / n_sim:.2f}" for m in CI_METHODS) + " |")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:]])
