"""The two calibration studies: the Type-I error of the Mantel test, and the coverage of bootstrap
intervals (and the bias of point estimates) against the noise-free rho.  See the package docstring
for the designs; :mod:`analyses.calibration.report` writes them up."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.stats as st

from rsastats.rng import SeedLike, as_generator, spawn_sequences
from rsastats.measures import correlate_rows
from rsastats.inference.engine import ResamplingEngine
from rsastats.inputs import ModelInput
from rsastats.inference.bootstrap import basic_interval, confidence_interval
from rsastats.inference.ceiling import split_half_reliability
from rsastats.inference.permutation import draw_permutations, mantel_pvalue, mantel_statistics
from rsastats.rdm import RDM, rdm_matrix, upper
from rsastats.vectors import PromptRows

__all__ = ["N_EMOTIONS", "N_PROMPTS", "HIDDEN", "NOISE_LEVELS", "HUB_LEVELS", "INTERVALS", "Population", "type1_error",
           "coverage_study", "summarize_coverage", "choose_default", "library_setting", "bias_table", "binomial_ci"]

N_EMOTIONS = 21
N_PROMPTS = 20
HIDDEN = 64
NOISE_LEVELS = {"low": 1.0, "moderate": 3.0, "heavy": 5.0}
HUB_LEVELS = {"no hubs": 0.0, "moderate hubs": 0.5, "strong hubs": 1.0}
INTERVALS = ("percentile", "basic-z", "basic-clip", "bca")
SCHEMES = ("emotions", "prompts", "both")
TARGET_OF_SCHEME = {"emotions": "population", "prompts": "conditional", "both": "population"}
_LABELS = tuple(f"e{i:02d}" for i in range(N_EMOTIONS))


def binomial_ci(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for a proportion."""
    res = st.binomtest(int(hits), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(res.low), float(res.high)


# --------------------------------------------------------------------------- Type-I error
def _null_rdm(rng: np.random.Generator, n: int, hub: float, hidden: int = HIDDEN) -> np.ndarray:
    """A cosine RDM with anisotropy and (for hub > 0) hub emotions, unrelated to any other draw."""
    common = rng.standard_normal(hidden)
    common /= np.linalg.norm(common)
    size = np.exp(hub * rng.standard_normal(n))  # small size: the vector stays near the common direction
    specific = rng.standard_normal((n, hidden)) / np.sqrt(hidden)
    return rdm_matrix(common + size[:, None] * specific, "cosine")


def _type1_chunk(args: tuple) -> np.ndarray:
    seq, n_sets, hub, perms = args
    rng = np.random.default_rng(seq)
    out = np.empty((n_sets, 2))
    iu, ju = np.triu_indices(N_EMOTIONS, 1)
    for k in range(n_sets):
        a, b = _null_rdm(rng, N_EMOTIONS, hub), _null_rdm(rng, N_EMOTIONS, hub)
        observed, permuted = mantel_statistics(a, b, "spearman", perms, len(perms), None)
        out[k, 0] = mantel_pvalue(observed, permuted, "two-sided", False)
        out[k, 1] = st.spearmanr(a[iu, ju], b[iu, ju]).pvalue
    return out


def type1_error(n_datasets: int = 4000, hubs: dict[str, float] | None = None, permutations: int = 999,
                seed: SeedLike = 2024, jobs: int = 1) -> pd.DataFrame:
    """Rejection rates of the Mantel test and of the naive spearmanr p under the null.

    Returns one row per hub level and test, with the rate at alpha = 5% and 1% and the 95%
    Clopper-Pearson interval of the 5% rate.
    """
    hubs = HUB_LEVELS if hubs is None else hubs
    rows = []
    level_seqs = spawn_sequences(seed, len(hubs) + 1)
    perms = draw_permutations(N_EMOTIONS, permutations, level_seqs[-1])
    for (name, hub), seq in zip(hubs.items(), level_seqs):
        chunks = _chunks(n_datasets, 100)
        tasks = [(s, c, hub, perms) for s, c in zip(spawn_sequences(seq, len(chunks)), chunks)]
        p = np.concatenate(list(_map(_type1_chunk, tasks, jobs)))
        for col, test in ((0, f"Mantel ({permutations} permutations)"), (1, "naive spearmanr p")):
            hits = int(np.count_nonzero(p[:, col] <= 0.05))
            lo, hi = binomial_ci(hits, n_datasets)
            rows.append({"null": name, "hub_sd": hub, "test": test, "n_datasets": n_datasets,
                         "rejection_5pct": hits / n_datasets, "ci_low": lo, "ci_high": hi,
                         "rejection_1pct": float(np.mean(p[:, col] <= 0.01))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- coverage
@dataclass(frozen=True)
class Population:
    """Model-level parameters of a pair of models (fixed across the data sets of a study)."""

    w_a: np.ndarray
    w_b: np.ndarray
    common_a: np.ndarray
    common_b: np.ndarray
    specific: float

    @classmethod
    def draw(cls, seed: SeedLike, hidden: int = HIDDEN, factors: int = 3, specific: float = 1.0,
             common: float = 1.0) -> "Population":
        rng = as_generator(seed)
        w = [rng.standard_normal((hidden, factors)) / np.sqrt(hidden) for _ in range(2)]
        c = [common * rng.standard_normal(hidden) / np.sqrt(hidden) for _ in range(2)]
        return cls(w[0], w[1], c[0], c[1], specific)

    def emotions(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        hidden, factors = self.w_a.shape
        latent = rng.standard_normal((n, factors))
        u_a = rng.standard_normal((n, hidden)) / np.sqrt(hidden)
        u_b = rng.standard_normal((n, hidden)) / np.sqrt(hidden)
        return (latent @ self.w_a.T + self.specific * u_a + self.common_a,
                latent @ self.w_b.T + self.specific * u_b + self.common_b)

    def population_rho(self, seed: SeedLike, n: int = 600, repeats: int = 4) -> float:
        """Noise-free Spearman rho of the two models' cosine RDMs over ``n`` emotions from the
        population (averaged over ``repeats`` draws; its Monte Carlo error is reported)."""
        rng = as_generator(seed)
        values = []
        for _ in range(repeats):
            a, b = self.emotions(n, rng)
            values.append(float(correlate_rows(upper(rdm_matrix(a)), upper(rdm_matrix(b)), "spearman")))
        return float(np.mean(values))


def _model(name: str, mu: np.ndarray, noise: float, rng: np.random.Generator) -> ModelInput:
    n, hidden = mu.shape
    typical = float(np.sqrt(np.mean(np.sum(mu**2, axis=1)) / hidden))
    values = mu[:, None, :] + noise * typical * rng.standard_normal((n, N_PROMPTS, hidden))
    rows = PromptRows(values=values, valid=np.ones((n, N_PROMPTS), dtype=bool), emotions=_LABELS[:n],
                      prompts=tuple(range(N_PROMPTS)), post="none", layers=(0,), normalization="raw", n_pcs=None)
    rdm = RDM(rdm_matrix(values.mean(axis=1)), _LABELS[:n], "cosine", name)
    return ModelInput(name, "activations", rdm, rows, "simulated")


def _intervals(estimate: float, reps: np.ndarray, jack: list[np.ndarray], confidence: float) -> dict[str, tuple[float, float]]:
    reps = np.sort(reps[np.isfinite(reps)])
    alpha = np.array([(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    out = {"percentile": confidence_interval(estimate, reps, method="percentile", confidence=confidence, bounds=(-1, 1))}
    for name, scale in (("basic-z", "fisher-z"), ("basic-clip", "clip")):
        q, _ = basic_interval(estimate, reps, alpha, (-1.0, 1.0), scale)
        out[name] = (float(q[0]), float(q[1]))
    try:
        out["bca"] = confidence_interval(estimate, reps, method="bca", confidence=confidence, bounds=(-1, 1),
                                         jackknife=[j[np.isfinite(j)] for j in jack])
    except Exception:  # every replicate on one side of the estimate: BCa undefined, counted as a miss
        out["bca"] = (np.nan, np.nan)
    return out


def _coverage_chunk(args: tuple) -> list[dict[str, Any]]:
    import warnings

    from rsastats.exceptions import RsaStatsWarning

    warnings.simplefilter("ignore", RsaStatsWarning)
    seqs, population, noise_name, noise, n_boot, confidence, schemes = args
    pairs = np.array([[0, 1]])
    rows = []
    for seq in seqs:
        data_seq, boot_seq, split_seq = seq.spawn(3)
        rng = np.random.default_rng(data_seq)
        mu_a, mu_b = population.emotions(N_EMOTIONS, rng)
        conditional = float(correlate_rows(upper(rdm_matrix(mu_a)), upper(rdm_matrix(mu_b)), "spearman"))
        models = [_model("A", mu_a, noise, rng), _model("B", mu_b, noise, rng)]
        estimate = float(correlate_rows(models[0].rdm.upper(), models[1].rdm.upper(), "spearman"))
        _, rel = split_half_reliability(models, rank="spearman", rdm_method="cosine", n_splits=20, seed=split_seq)
        record = {"noise": noise_name, "noise_sd": noise, "rho": estimate, "conditional": conditional,
                  "reliability_a": float(rel[0]), "reliability_b": float(rel[1]),
                  "disattenuated": estimate / np.sqrt(rel[0] * rel[1]) if rel[0] > 0 and rel[1] > 0 else np.nan}
        for k, scheme in enumerate(schemes):
            engine = ResamplingEngine(models, rank="spearman", scheme=scheme, rdm_method="cosine", workers=1)
            reps = engine.replicates(pairs, n_boot, spawn_sequences(boot_seq, len(schemes))[k])[:, 0]
            jack = [s[:, 0] for s in engine.jackknife(pairs)]
            finite = reps[np.isfinite(reps)]
            row = dict(record, scheme=scheme, boot_mean=float(finite.mean()), n_undefined=int(reps.size - finite.size))
            for method, (lo, hi) in _intervals(estimate, reps, jack, confidence).items():
                row[f"{method}_low"], row[f"{method}_high"] = lo, hi
            rows.append(row)
    return rows


def coverage_study(n_datasets: int = 400, noise_levels: dict[str, float] | None = None, n_boot: int = 1000,
                   confidence: float = 0.95, schemes: Sequence[str] = SCHEMES, seed: SeedLike = 2024,
                   jobs: int = 1) -> tuple[pd.DataFrame, float]:
    """Per-data-set intervals of every scheme and method; returns (records, population rho)."""
    noise_levels = NOISE_LEVELS if noise_levels is None else noise_levels
    pop_seq, rho_seq, *level_seqs = spawn_sequences(seed, 2 + len(noise_levels))
    population = Population.draw(pop_seq)
    rho_pop = population.population_rho(rho_seq)
    records: list[dict[str, Any]] = []
    for (name, noise), seq in zip(noise_levels.items(), level_seqs):
        data_seqs = spawn_sequences(seq, n_datasets)
        chunks = [data_seqs[i:i + 10] for i in range(0, n_datasets, 10)]
        tasks = [(c, population, name, noise, n_boot, confidence, tuple(schemes)) for c in chunks]
        for part in _map(_coverage_chunk, tasks, jobs):
            records.extend(part)
    frame = pd.DataFrame(records)
    frame["population"] = rho_pop
    return frame, rho_pop


def summarize_coverage(records: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Hit rates (with Clopper-Pearson CIs) and mean widths per noise level, scheme, method and target."""
    rows = []
    for (noise, scheme), g in records.groupby(["noise", "scheme"], sort=False):
        for method in INTERVALS:
            lo, hi = g[f"{method}_low"].to_numpy(), g[f"{method}_high"].to_numpy()
            for target in ("conditional", "population"):
                truth = g[target].to_numpy()
                hits = int(np.count_nonzero((lo <= truth) & (truth <= hi)))
                c_lo, c_hi = binomial_ci(hits, len(g))
                rows.append({"noise": noise, "scheme": scheme, "method": method, "target": target,
                             "relevant": TARGET_OF_SCHEME[scheme] == target, "n": len(g), "coverage": hits / len(g),
                             "ci_low": c_lo, "ci_high": c_hi, "mean_width": float(np.nanmean(hi - lo)),
                             "miss_below": float(np.mean(hi < truth)), "miss_above": float(np.mean(lo > truth))})
    return pd.DataFrame(rows)


def choose_default(summary: pd.DataFrame, confidence: float = 0.95) -> tuple[str, pd.Series]:
    """The interval whose coverage of each scheme's own target is nearest nominal on average over
    all noise levels and schemes (mean absolute coverage error); ties go to the simpler method."""
    relevant = summary[summary["relevant"]]
    error = relevant.assign(err=(relevant["coverage"] - confidence).abs()).groupby("method")["err"].mean()
    order = {name: i for i, name in enumerate(("percentile", "basic-clip", "basic-z", "bca"))}
    best = min(error.index, key=lambda m: (round(float(error[m]), 4), order[m]))
    return best, error.sort_values()


def library_setting(chosen: str) -> tuple[str, str | None]:
    """(DEFAULT_CI, BASIC_BOUNDED) that implement a calibration method name."""
    return {"percentile": ("percentile", None), "basic-clip": ("basic", "clip"), "basic-z": ("basic", "fisher-z"),
            "bca": ("bca", None)}[chosen]


def bias_table(records: pd.DataFrame) -> pd.DataFrame:
    """Mean error of three point estimates against the conditional and population noise-free rho."""
    base = records[records["scheme"] == "prompts"]
    rows = []
    for noise, g in base.groupby("noise", sort=False):
        corrected = 2 * g["rho"] - g["boot_mean"]
        for name, est in (("rho (plain)", g["rho"]), ("2 rho - mean(rho*) (prompt bootstrap)", corrected),
                          ("rho / sqrt(r_A r_B) (disattenuated)", g["disattenuated"])):
            rows.append({"noise": noise, "estimate": name,
                         "mean_reliability": float(np.mean(np.sqrt(g["reliability_a"] * g["reliability_b"]))),
                         "bias_vs_conditional": float(np.nanmean(est - g["conditional"])),
                         "rmse_vs_conditional": float(np.sqrt(np.nanmean((est - g["conditional"]) ** 2))),
                         "bias_vs_population": float(np.nanmean(est - g["population"]))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- helpers
def _chunks(n: int, size: int) -> list[int]:
    return [min(size, n - i) for i in range(0, n, size)]


def _map(fn, tasks: list, jobs: int):
    if jobs <= 1:
        return [fn(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(fn, tasks))
