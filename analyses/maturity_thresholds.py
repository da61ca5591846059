"""Why baseline anisotropy matters for raw cosine RDMs: a planted-geometry simulation.

Each text's representation is ``M (m + eta) + r``: a dominant direction ``m`` shared by all
texts with magnitude ``M`` (which sets the baseline anisotropy A), a small emotion-unrelated
*systematic* wobble ``eta`` of that dominant direction (relative size ``epsilon``, the same for
all prompts of an emotion: e.g. a stimulus property such as length that moves the "rogue"
dimensions), and the emotion-specific part ``r`` (true emotion vector + prompt noise).

For each A and epsilon the script reports the Spearman rho between the raw cosine RDM of the
simulated emotion vectors and the cosine RDM of the true emotion vectors (fidelity), and the
split-half reliability of the simulated RDM.  Reliability stays high throughout: a systematic
nuisance is reliable.  Fidelity falls once A/(1-A) * epsilon^2 approaches the emotion signal,
which is what the anisotropy criterion of the maturity rule guards against (docs/maturity.md).

Run:  python analyses/maturity_thresholds.py  (about a minute; prints a Markdown table)
"""

from __future__ import annotations

import json

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from rsastats.simulate import true_vectors

ANISOTROPY = (0.5, 0.8, 0.9, 0.95, 0.99, 0.997)
EPSILON = (0.01, 0.03, 0.1)
N_EMOTIONS, N_PROMPTS, HIDDEN, N_BASELINE, N_REPS = 21, 20, 256, 100, 20


def _orthogonal(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    z = rng.standard_normal((n, m.size))
    z -= np.outer(z @ m, m)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def simulate(anisotropy: float, epsilon: float, seed: int) -> tuple[float, float, float, float]:
    """(measured baseline anisotropy, nuisance fidelity, distance-type agreement, split-half reliability)."""
    rng = np.random.default_rng(seed)
    truth = true_vectors(N_EMOTIONS, HIDDEN, shared=0.0, seed=rng)
    signal = float(np.mean(np.sum(truth**2, axis=1)))
    noise_sd = np.sqrt(signal / HIDDEN)  # per-prompt noise as large as the signal
    text_specific = signal + noise_sd**2 * HIDDEN  # E|r|^2 of one text
    m = rng.standard_normal(HIDDEN)
    m /= np.linalg.norm(m)
    magnitude = np.sqrt(anisotropy / (1 - anisotropy) * text_specific)  # cos(x, y) ~ M^2 / (M^2 + E|r|^2)
    eta = epsilon * _orthogonal(rng, m, N_EMOTIONS)  # systematic, one per emotion
    specific = truth[:, None, :] + noise_sd * rng.standard_normal((N_EMOTIONS, N_PROMPTS, HIDDEN))
    clean = magnitude * m + specific  # the dominant direction exactly shared
    wobbly = clean + (magnitude * eta)[:, None, :]
    baseline = magnitude * (m + epsilon * _orthogonal(rng, m, N_BASELINE)) \
        + np.sqrt(text_specific / HIDDEN) * rng.standard_normal((N_BASELINE, HIDDEN))
    measured = float(np.mean(1 - pdist(baseline, "cosine")))
    rdm_clean = pdist(clean.mean(axis=1), "cosine")
    fidelity = spearmanr(pdist(wobbly.mean(axis=1), "cosine"), rdm_clean).statistic
    distance_type = spearmanr(rdm_clean, pdist(specific.mean(axis=1), "cosine")).statistic
    half = N_PROMPTS // 2
    r = spearmanr(pdist(wobbly[:, :half].mean(axis=1), "cosine"), pdist(wobbly[:, half:].mean(axis=1), "cosine")).statistic
    return measured, float(fidelity), float(distance_type), float(2 * r / (1 + r))


def main() -> None:
    rows = []
    print("| target A | measured A | epsilon | A/(1-A) eps^2 | rho(RDM with wobble, without) "
          "| rho(raw cosine RDM, cosine RDM of the emotion-specific part) | split-half reliability |")
    print("|---|---|---|---|---|---|---|")
    for eps in EPSILON:
        for a in ANISOTROPY:
            runs = np.array([simulate(a, eps, seed) for seed in range(N_REPS)])
            measured, fidelity, distance_type, reliability = runs.mean(axis=0)
            rows.append({"anisotropy": a, "measured": measured, "epsilon": eps, "fidelity": fidelity,
                         "distance_type": distance_type, "reliability": reliability})
            print(f"| {a} | {measured:.3f} | {eps} | {a / (1 - a) * eps**2:.3g} | {fidelity:.3f} | "
                  f"{distance_type:.2f} | {reliability:.3f} |")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
