"""Calibration simulations: is the Mantel test's Type-I error nominal, and which bootstrap interval
covers the true (noise-free) rho?

``python -m rsastats.calibration --out docs/calibration.md`` runs both studies and writes the report
(about ten minutes on two cores; ``--quick`` for a smoke run).  The slow tests in
``tests/simulation`` call the same functions with fewer data sets.

Type-I error
    Two models whose RDMs share the *kind* of structure that makes RDM cells dependent -- a common
    direction (anisotropy) and hub emotions whose vectors lie close to it, so that their whole row
    of the cosine RDM is small -- but whose emotion-specific geometry is independent, so that the
    emotion labels are exchangeable (the Mantel null).  Hubs are drawn independently in the two
    models.  For each data set: the Mantel p (two-sided, 999 label permutations) and the naive
    ``scipy.stats.spearmanr`` p over the 210 cells.

Coverage
    A fixed pair of models (a population): emotion ``e`` has latent coordinates ``L_e`` (three
    factors, like valence and arousal); model ``A``'s true vector is ``W_A L_e + s u_e^A + c_A``
    (a model-specific linear read-out, an idiosyncratic part and a common direction), model ``B``'s
    likewise with its own ``W_B, u^B, c_B``.  Each data set draws 21 new emotions and 20 prompts per
    emotion with Gaussian prompt noise (low / moderate / heavy).  Two targets:

    - the *conditional* noise-free rho: Spearman rho between the two true RDMs of the 21 emotions
      drawn (what the prompt bootstrap is about: the emotions are fixed, the prompts are a sample);
    - the *population* noise-free rho: the same correlation over a large set of emotions from the
      population (what the emotion bootstrap, and the two-factor one, are about).

    For each data set, bootstrap scheme (emotions / prompts / both) and interval method
    (percentile, basic on the Fisher-z scale, basic clipped to [-1, 1], BCa) the interval either
    covers the scheme's target or not; the hit rate is reported with a Clopper-Pearson 95% CI.
    Point estimates are compared too: rho, the bootstrap bias-corrected ``2 rho - mean(rho*)`` and
    the disattenuated ``rho / sqrt(r_A r_B)`` (split-half reliabilities with Spearman-Brown).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.stats as st

from ._rng import SeedLike, as_generator, spawn_sequences
from .measures import correlate_rows
from .inference._engine import ResamplingEngine
from .inference._inputs import ModelInput
from .inference.bootstrap import basic_interval, confidence_interval
from .inference.ceiling import split_half_reliability
from .inference.permutation import draw_permutations, mantel_pvalue, mantel_statistics
from .rdm import RDM, rdm_matrix, upper
from .vectors import PromptRows

__all__ = ["NOISE_LEVELS", "HUB_LEVELS", "INTERVALS", "Population", "type1_error", "coverage_study", "summarize_coverage",
           "choose_default", "library_setting", "bias_table", "binomial_ci", "write_report", "main"]

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

    from .exceptions import RsaStatsWarning

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


# --------------------------------------------------------------------------- report
def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def write_report(path: str, *, n_null: int = 4000, n_coverage: int = 400, n_boot: int = 1000, seed: int = 2024,
                 jobs: int = 1) -> dict[str, Any]:
    """Run both studies and write the Markdown report; return the numbers."""
    from .data import atomic_path

    started = time.time()
    t1 = type1_error(n_null, seed=seed, jobs=jobs)
    t_null = time.time() - started
    records, rho_pop = coverage_study(n_coverage, n_boot=n_boot, seed=seed, jobs=jobs)
    summary = summarize_coverage(records)
    best, errors = choose_default(summary)
    bias = bias_table(records)
    elapsed = time.time() - started
    lines = [
        "# Calibration of rsastats' tests and intervals",
        "",
        f"Generated by `python -m rsastats.calibration --out {path} --null {n_null} --coverage {n_coverage} "
        f"--n-boot {n_boot} --seed {seed} --jobs {jobs}` (rsastats/calibration.py) in {elapsed / 60:.1f} min on "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}). "
        "Every number below is computed by that script; rerun it to reproduce them exactly (same seed).",
        "",
        "## Type-I error of the Mantel test",
        "",
        f"{n_null} simulated null data sets per row: two models with {N_EMOTIONS} emotions whose cosine RDMs "
        "both have a common direction (anisotropy) and, for hub SD > 0, hub emotions (vectors near the common "
        "direction, so their whole RDM row is small) -- drawn independently in the two models, so the emotion "
        "labels are exchangeable. The Mantel p uses 999 label permutations (rows and columns together); the naive p "
        "is `scipy.stats.spearmanr`'s over the 210 cells, as if they were independent. Rejection at alpha = 5% "
        "(95% Clopper-Pearson interval) and at 1%.",
        "",
        "| null | test | rejection at 5% | 95% CI | rejection at 1% |",
        "|---|---|---|---|---|",
    ]
    for r in t1.itertuples():
        lines.append(f"| {r.null} (hub SD {r.hub_sd}) | {r.test} | {_pct(r.rejection_5pct)} | "
                     f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}] | {_pct(r.rejection_1pct)} |")
    mantel_rates = t1[t1["test"].str.startswith("Mantel")]["rejection_5pct"]
    naive_rates = t1[t1["test"].str.startswith("naive")]["rejection_5pct"]
    lines += [
        "",
        f"The Mantel test rejects {_pct(mantel_rates.min())}-{_pct(mantel_rates.max())} of true nulls at the 5% level; "
        f"the naive p rejects {_pct(naive_rates.min())}-{_pct(naive_rates.max())}: cells of an RDM that share an "
        "emotion are dependent, and the more the rows differ (hubs) the worse the naive p gets. rsastats never "
        "reports it.",
        "",
        "## Coverage of bootstrap intervals",
        "",
        f"{n_coverage} data sets per noise level; each has {N_EMOTIONS} emotions drawn from a fixed population of two "
        f"related models (three shared latent factors read out by model-specific linear maps, an idiosyncratic part "
        f"and a common direction; hidden size {HIDDEN}) and {N_PROMPTS} prompts per emotion with Gaussian prompt noise "
        f"of SD {', '.join(f'{v} ({k})' for k, v in NOISE_LEVELS.items())} times the typical per-dimension signal. "
        f"{n_boot} resamples per interval; 95% intervals; cosine RDMs; Spearman rho. Population noise-free rho "
        f"= {rho_pop:.3f} (over 4 x 600 emotions).",
        "",
        "Targets: the **prompt** bootstrap treats the 21 emotions as fixed, so its target is the *conditional* "
        "noise-free rho of the emotions drawn; the **emotion** and **two-factor** (both) bootstraps treat the emotions "
        "as a sample, so their target is the *population* noise-free rho. Coverage of each scheme's own target "
        "(hit rate with its 95% Clopper-Pearson interval; mean width in parentheses):",
        "",
    ]
    rel = summary[summary["relevant"]]
    header = "| noise (mean reliability) | scheme | " + " | ".join(INTERVALS) + " |"
    lines += [header, "|---|---|" + "---|" * len(INTERVALS)]
    reliab = records.groupby("noise", sort=False).apply(
        lambda g: float(np.mean(np.sqrt(g["reliability_a"] * g["reliability_b"]))), include_groups=False)
    for (noise, scheme), g in rel.groupby(["noise", "scheme"], sort=False):
        cells = []
        for method in INTERVALS:
            r = g[g["method"] == method].iloc[0]
            cells.append(f"{_pct(r.coverage)} [{_pct(r.ci_low)}, {_pct(r.ci_high)}] ({r.mean_width:.3f})")
        lines.append(f"| {noise} ({reliab[noise]:.2f}) | {scheme} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The same intervals against the *other* target (for the record: a prompt bootstrap says nothing about "
        "other emotions, an emotion bootstrap nothing about prompt noise):",
        "",
        header, "|---|---|" + "---|" * len(INTERVALS),
    ]
    for (noise, scheme), g in summary[~summary["relevant"]].groupby(["noise", "scheme"], sort=False):
        cells = [f"{_pct(g[g['method'] == m].iloc[0].coverage)}" for m in INTERVALS]
        lines.append(f"| {noise} ({reliab[noise]:.2f}) | {scheme} (vs {g['target'].iloc[0]}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Where the misses fall (share of data sets whose interval lies entirely below / above the target, "
        "each scheme's own target):",
        "",
        "| noise | scheme | " + " | ".join(INTERVALS) + " |", "|---|---|" + "---|" * len(INTERVALS),
    ]
    for (noise, scheme), g in rel.groupby(["noise", "scheme"], sort=False):
        cells = [f"{_pct(g[g['method'] == m].iloc[0].miss_below)} / {_pct(g[g['method'] == m].iloc[0].miss_above)}"
                 for m in INTERVALS]
        lines.append(f"| {noise} | {scheme} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Bias of point estimates (prompt noise attenuates rho)",
        "",
        "Mean error against the noise-free rho over the same data sets: the plain estimate, the bootstrap "
        "bias-corrected estimate from the prompt bootstrap, and the disattenuated estimate (split-half "
        "reliabilities with Spearman-Brown, 20 splits).",
        "",
        "| noise | mean sqrt(r_A r_B) | estimate | bias vs conditional | RMSE vs conditional | bias vs population |",
        "|---|---|---|---|---|---|",
    ]
    for r in bias.itertuples():
        lines.append(f"| {r.noise} | {r.mean_reliability:.3f} | {r.estimate} | {r.bias_vs_conditional:+.4f} | "
                     f"{r.rmse_vs_conditional:.4f} | {r.bias_vs_population:+.4f} |")
    lines += [
        "",
        "## Default interval",
        "",
        "Rule (fixed after a 20-data-set smoke run, before this run): the default is the method -- percentile, "
        "basic with Fisher-z bounds, basic clipped to [-1, 1], or BCa -- whose coverage of each scheme's own target "
        "is nearest nominal on average over the 3 noise levels x 3 schemes (mean absolute coverage error); ties go "
        "to the simpler method.",
        "",
        "| method | mean absolute coverage error |",
        "|---|---|",
    ]
    for method, err in errors.items():
        lines.append(f"| {method} | {100 * err:.1f} points |")
    lines += [
        "",
        f"Chosen: **{best}**. rsastats implements it as `DEFAULT_CI = \"{library_setting(best)[0]}\"`"
        + (f" with `BASIC_BOUNDED = \"{library_setting(best)[1]}\"`" if library_setting(best)[1] else "")
        + " in `rsastats/inference/bootstrap.py` (the `--ci` default of `rsastats compare` and `rsastats matrix`); "
        "a unit test checks that the library and this report agree.",
        "",
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"type1": t1, "coverage": summary, "records": records, "bias": bias, "chosen": best, "errors": errors,
            "population_rho": rho_pop, "seconds": elapsed, "seconds_type1": t_null}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rsastats.calibration", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/calibration.md")
    parser.add_argument("--null", type=int, default=4000, help="null data sets per hub level")
    parser.add_argument("--coverage", type=int, default=400, help="data sets per noise level")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 null and 20 coverage data sets")
    args = parser.parse_args(argv)
    if args.quick:
        args.null, args.coverage, args.n_boot = 200, 20, 200
    res = write_report(args.out, n_null=args.null, n_coverage=args.coverage, n_boot=args.n_boot, seed=args.seed,
                       jobs=args.jobs)
    print(f"wrote {args.out} in {res['seconds'] / 60:.1f} min; default interval by the rule: {res['chosen']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
