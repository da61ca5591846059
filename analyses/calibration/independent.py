"""A second generative model, written apart from the design atlas's, to check that the defaults' coverage
is not a property of one simulator (issue 14: "calibrated across many designs, not one").

The atlas (:mod:`analyses.atlas.model`) has one noise level for all emotions, Gaussian isotropic prompt
noise and complete prompt sets.  Real prompt sets have none of these: some emotions' prompts vary more
than others' (and both models read the same texts, so the same emotions are noisy in both), activations
have heavy tails and a few dominant directions, and generation can leave prompts unusable.  This model
has all of them, each switchable per design:

Population (fixed per design): a factor basis ``F`` (``K`` x ``H``), a common direction ``c`` (anisotropy),
an orthogonal read-out ``Q`` of model B.  A data set draws, per emotion ``e``, loadings ``l_e ~ N(0, I_K)``
and a specific part ``s_e``, and for model B an independent emotion ``(l'_e, s'_e)``:

    mu_e^A = a_e (l_e F + s_e) + c,        mu_e^B = (a_e (m (l_e F + s_e) + sqrt(1 - m^2) (l'_e F + s'_e)) + c) Q

(``m`` sets how much geometry the models share; ``a_e = exp(sizes * N(0, 1))`` is the length of the emotion's own
part, the same in both models -- 1 unless ``sizes`` > 0 -- so an emotion with a small ``a_e`` sits near the
common direction in both: row effects).  Prompt ``p`` of emotion ``e``:

    x_ep^M = mu_e^M + noise * lambda_e * eps_ep^M

with ``lambda_e = exp(hetero * N(0, 1))`` the emotion's noise level (the same in both models),
``eps`` Gaussian or Student-t with 3 df (``tails``), isotropic or with variances decaying as
``exp(-k / 8)`` over the hidden coordinates (``aniso_noise``), independent between models; a share
``missing`` of each emotion's prompts beyond the first 3 is marked invalid.  With ``templates`` > 0 prompt ``p``
of every emotion is built from one template: ``x_ep^A`` gains ``t_p`` and ``x_ep^B`` gains ``t_p Q``
(``t_p ~ N(0, templates^2 I / H)``, drawn per data set; both models read the same texts), which unlimited
prompts (templates) average away, so the noise-free vectors are still ``mu``.

Truths (Monte Carlo over ``n_mc`` fresh data sets): ``rho`` targets E[rho_hat]; ``rho_corrected`` the
noise-free rho (cosine RDMs of ``mu``) averaged over emotion samples.  Every data set goes through
:func:`rsastats.inference.compare_models` with its defaults, as a user's two files would.

Run:  python -m analyses.calibration.independent [--sets 400] [--designs NAME ...]
Writes reports/calibration/independent/<design>.csv and .json; ``python -m analyses.calibration
--reuse-independent`` writes them up in docs/calibration.md.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.exceptions import RsaStatsWarning
from rsastats.inference import compare_models
from rsastats.inputs import ModelInput
from rsastats.rdm import RDM, rdm_from_rows
from rsastats.rng import spawn_sequences
from rsastats.vectors import PromptRows

from ..atlas.model import cosine_cells, spearman
from ..atlas.shipped import run_chunks  # worker processes only; the generative model is this module's own
from .studies import HALF_SPLIT, binomial_ci, load_runs, write_run

__all__ = ["Design", "DESIGNS", "FOLDER", "run_design", "load_independent", "independent_table", "independent_section", "cosine_rho",
           "run_independent", "main"]

FOLDER = "reports/calibration/independent"
FIELDS = ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note",
          "split_half_a", "split_half_b", "noise_ceiling", "rho_free")


@dataclass(frozen=True)
class Design:
    name: str
    n_emotions: int
    n_prompts: int
    noise: float  # prompt noise SD relative to an emotion vector of norm about 2
    shared: float = 0.7  # m: the share of geometry model B reads from model A's emotions
    hetero: float = 0.0  # SD of the log noise level across emotions (0: every emotion equally noisy)
    tails: bool = False  # Student-t (3 df) prompt noise
    aniso_noise: bool = False  # noise concentrated on a few hidden directions
    missing: float = 0.0  # share of invalid prompts (beyond each emotion's first 3)
    sizes: float = 0.0  # SD of the log size of an emotion's own part, the same in both models (row effects)
    common: float = 1.0  # size of the common direction (anisotropy of the cosines)
    templates: float = 0.0  # size of template effects: prompt p of every emotion built from template p, read by both
    hidden: int = 64
    factors: int = 3
    seed: int = 0


DESIGNS = [
    Design("n21-P8-equal", 21, 8, 6.0),
    Design("n21-P8-hetero", 21, 8, 6.0, hetero=0.6),
    Design("n21-P4-hetero", 21, 4, 4.0, hetero=0.6),
    Design("n21-P20-hetero-t3", 21, 20, 10.0, hetero=0.6, tails=True),
    Design("n21-P8-aniso-noise", 21, 8, 3.0, aniso_noise=True),
    Design("n12-P8-missing", 12, 8, 5.0, missing=0.2),
    Design("n30-P20-hetero-common3", 30, 20, 10.0, hetero=0.5, common=3.0),
    Design("n21-P50-hetero", 21, 50, 15.0, hetero=0.8),
    Design("n21-P8-shared0.95-hetero", 21, 8, 5.0, shared=0.95, hetero=0.6),
    Design("n40-P8-shared0.3-hetero", 40, 8, 5.0, shared=0.3, hetero=0.6),
    Design("n21-P3-equal", 21, 3, 3.0),
    Design("n21-P3-hetero", 21, 3, 2.5, hetero=0.6),
    Design("n21-P8-sizes", 21, 8, 4.0, sizes=0.8),
    Design("n40-P20-shared0.3-sizes", 40, 20, 8.0, shared=0.3, sizes=0.8),
    Design("n21-P20-shared0.99", 21, 20, 8.0, shared=0.99),
    Design("n21-P20-sizes", 21, 20, 4.0, sizes=0.8),
    Design("n21-P8-templ", 21, 8, 4.0, templates=3.0),
    Design("n21-P3-templ-hetero", 21, 3, 3.0, hetero=0.4, templates=2.0),
]


class Model:
    """The population of a design and its data sets (see the module docstring)."""

    def __init__(self, design: Design):
        self.design = d = design
        rng = np.random.default_rng([d.seed, 99])
        self.basis = rng.standard_normal((d.factors, d.hidden)) / np.sqrt(d.hidden)
        self.common = d.common * rng.standard_normal(d.hidden) / np.sqrt(d.hidden)
        self.readout = np.linalg.qr(rng.standard_normal((d.hidden, d.hidden)))[0]
        scale = np.exp(-np.arange(d.hidden) / 8.0) if d.aniso_noise else np.ones(d.hidden)
        self.noise_scale = scale / np.sqrt(np.mean(scale ** 2))

    def _emotions(self, rng: np.random.Generator) -> np.ndarray:
        d = self.design
        return (rng.standard_normal((d.n_emotions, d.factors)) @ self.basis
                + 0.5 * rng.standard_normal((d.n_emotions, d.hidden)) / np.sqrt(d.hidden))

    def vectors(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The noise-free vectors of one emotion sample in models A and B, (n, H) each."""
        d = self.design
        own, other = self._emotions(rng), self._emotions(rng)
        if d.sizes:  # drawn only where used: the designs without sizes keep their random streams
            size = np.exp(d.sizes * rng.standard_normal(d.n_emotions))[:, None]
            own, other = size * own, size * other
        b = (d.shared * own + np.sqrt(1.0 - d.shared ** 2) * other + self.common) @ self.readout
        return own + self.common, b

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(noise-free vectors (2, n, H), prompts (2, n, P, H), valid (n, P))."""
        d = self.design
        mu = np.stack(self.vectors(rng))
        level = np.exp(d.hetero * rng.standard_normal(d.n_emotions))[:, None, None]
        shape = (d.n_emotions, d.n_prompts, d.hidden)
        prompts = []
        for m in range(2):
            eps = rng.standard_t(3, size=shape) / np.sqrt(3.0) if d.tails else rng.standard_normal(shape)
            prompts.append(mu[m][:, None, :] + d.noise * level * eps * self.noise_scale / np.sqrt(d.hidden))
        valid = np.ones((d.n_emotions, d.n_prompts), dtype=bool)
        if d.missing:
            valid[:, 3:] = rng.random((d.n_emotions, d.n_prompts - 3)) >= d.missing
        if d.templates:  # drawn only where used, after the rest: the other designs keep their random streams
            t = d.templates * rng.standard_normal((d.n_prompts, d.hidden)) / np.sqrt(d.hidden)
            prompts[0] = prompts[0] + t[None]
            prompts[1] = prompts[1] + (t @ self.readout)[None]
        return mu, np.stack(prompts), valid


def cosine_rho(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rho of the cosine RDMs of two sets of emotion vectors (n, H)."""
    return float(spearman(cosine_cells(a), cosine_cells(b)))


def _means(prompts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return (prompts * valid[..., None]).sum(axis=-2) / valid.sum(axis=-1)[..., None]


def truths(design: Design, n_mc: int, seed: int = 7) -> dict[str, float]:
    """E[rho_hat] and the mean noise-free rho over ``n_mc`` fresh data sets, with Monte Carlo SEs."""
    model, rng = Model(design), np.random.default_rng([design.seed, seed])
    measured, free = np.empty(n_mc), np.empty(n_mc)
    for k in range(n_mc):
        mu, prompts, valid = model.draw(rng)
        free[k] = cosine_rho(mu[0], mu[1])
        means = _means(prompts, valid)
        measured[k] = cosine_rho(means[0], means[1])
    root = np.sqrt(n_mc)
    return {"measured": float(measured.mean()), "measured_mcse": float(measured.std() / root),
            "free": float(free.mean()), "free_mcse": float(free.std() / root)}


def _inputs(prompts: np.ndarray, valid: np.ndarray) -> list[ModelInput]:
    n, p = valid.shape
    labels = tuple(f"e{i:02d}" for i in range(n))
    out = []
    for m in range(2):
        rows = PromptRows(values=np.where(valid[..., None], prompts[m], 0.0), valid=valid, emotions=labels,
                          prompts=tuple(range(p)), post="none", layers=(0,), normalization="raw", n_pcs=None)
        rdm = RDM(rdm_from_rows(rows, "cosine"), labels, "cosine", f"model{m}")
        out.append(ModelInput(f"model{m}", "activations", rdm, rows, "layer 0"))
    return out


def _chunk(args: tuple) -> list[dict]:
    design, seqs, n_boot = args
    model = Model(design)
    rows = []
    for seq in seqs:
        mu, prompts, valid = model.draw(np.random.default_rng(seq))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RsaStatsWarning)
            res = compare_models(*_inputs(prompts, valid), n_boot=n_boot, permutations=19, seed=seq)
        row = {k: v for k, v in asdict(res).items() if k in FIELDS}
        rows.append({**row, "rho_free": cosine_rho(mu[0], mu[1])})
    return rows


def run_design(design: Design, n_sets: int, *, n_boot: int = 2000, n_mc: int = 6000, seed: int = 2026,
               jobs: int = 2) -> tuple[pd.DataFrame, dict]:
    """Per data set the shipped outputs and the data set's own noise-free rho; the design's meta data."""
    started = time.time()
    truth = truths(design, n_mc)
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed, design.n_emotions, design.n_prompts]), n_sets)
    rows = run_chunks(_chunk, design, seqs, jobs, n_boot)  # data-set order whatever the number of workers
    meta = {"design": asdict(design), "truth": truth, "n_sets": n_sets, "n_boot": n_boot, "n_mc": n_mc, "seed": seed,
            "half_split": HALF_SPLIT,
            "seconds": time.time() - started}
    return pd.DataFrame(rows), meta


def load_independent(folder: str | os.PathLike = FOLDER) -> list[tuple[dict, pd.DataFrame]]:
    """``(meta, per-data-set frame)`` of every design run, in :data:`DESIGNS` order."""
    return load_runs(folder, DESIGNS)


def _rate(hit: pd.Series) -> tuple[float, float, float]:
    low, high = binomial_ci(int(hit.sum()), len(hit))
    return float(hit.mean()), low, high


def independent_table(runs: list[tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """Per design: coverage of both estimands (Clopper-Pearson), how often rho_corrected is given, its
    mean error against each data set's own noise-free rho, and the side of its misses."""
    rows = []
    for meta, f in runs:
        t = meta["truth"]
        row = {"design": meta["design"]["name"], "n_sets": len(f), "rho_true": t["measured"], "free_true": t["free"]}
        row["rho"], row["rho_cp_low"], row["rho_cp_high"] = _rate((f["ci_low"] <= t["measured"]) & (t["measured"] <= f["ci_high"]))
        g = f[f["rho_corrected"].notna()]
        row["given"] = len(g) / len(f)
        row["inside"] = bool(((f["ci_low"] <= f["rho"]) & (f["rho"] <= f["ci_high"])).all()
                             and ((g["corrected_ci_low"] <= g["rho_corrected"]) & (g["rho_corrected"] <= g["corrected_ci_high"])).all())
        if len(g):
            row["corrected"], row["corrected_cp_low"], row["corrected_cp_high"] = _rate(
                (g["corrected_ci_low"] <= t["free"]) & (t["free"] <= g["corrected_ci_high"]))
            row["corrected_width"] = float((g["corrected_ci_high"] - g["corrected_ci_low"]).mean())
            row["bias"] = float((g["rho_corrected"] - g["rho_free"]).mean())
            row["miss_high"] = float((g["corrected_ci_low"] > t["free"]).mean())
            row["miss_low"] = float((g["corrected_ci_high"] < t["free"]).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _sets(table: pd.DataFrame) -> str:
    low, high = int(table["n_sets"].min()), int(table["n_sets"].max())
    return str(low) if low == high else f"{low}-{high}"


def independent_section(table: pd.DataFrame, meta: dict, tolerance: tuple[float, float], min_given: int = 20) -> list[str]:
    """Markdown for docs/calibration.md."""
    lines = [
        "## A second generative model",
        "",
        f"{len(table)} designs x {_sets(table)} data sets from a model written apart from the atlas's "
        "(`analyses/calibration/independent.py`; per data set in `reports/calibration/independent/`): emotions from "
        "a 3-factor population read by two models through an orthogonal read-out, with what the atlas lacks -- "
        "emotion-specific noise levels shared by both models (`hetero`: SD of the log noise level), Student-t "
        "prompt noise (`t3`), noise concentrated on a few hidden directions (`aniso-noise`), 20% of prompts "
        "invalid (`missing`), strong anisotropy (`common3`), emotion vectors of different lengths around the common "
        "direction, the same in both models (`sizes`: SD of the log length), 3 prompts per emotion (`P3`), prompt `p` of "
        "every emotion built from one template that both models read (`templ`), and how much "
        "geometry model B shares (`shared`). "
        f"Every data set through `compare_models` with its defaults ({meta['n_boot']} resamples). Truths over "
        f"{meta['n_mc']} fresh data sets; `bias` is rho_corrected minus the data set's own noise-free rho; "
        "`misses high/low`: the interval lies above / below the truth.",
        "",
        "| design | true rho | rho coverage % [CP 95%] | noise-free rho | corrected given | corrected coverage % [CP 95%] "
        "| width | bias | misses high / low % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict(orient="records"):
        corrected = "withheld" if r["given"] * r["n_sets"] < min_given else (
            f"{_pct(r['corrected'])} [{_pct(r['corrected_cp_low'])}, {_pct(r['corrected_cp_high'])}] | "
            f"{r['corrected_width']:.3f} | {r['bias']:+.3f} | {_pct(r['miss_high'])} / {_pct(r['miss_low'])}")
        if corrected == "withheld":
            corrected += " | | |"
        lines.append(f"| {r['design']} | {r['rho_true']:.3f} | {_pct(r['rho'])} [{_pct(r['rho_cp_low'])}, "
                     f"{_pct(r['rho_cp_high'])}] | {r['free_true']:.3f} | {_pct(r['given'])}% | {corrected} |")
    in_band = lambda c: (c >= tolerance[0]) & (c <= tolerance[1])  # noqa: E731
    given = table[table["given"] * table["n_sets"] >= min_given]
    outside = given[~in_band(given["corrected"])]
    lines += [
        "",
        f"- rho: **{int(in_band(table['rho']).sum())} of {len(table)} designs** within [{100 * tolerance[0]:g}%, "
        f"{100 * tolerance[1]:g}%] (range {_pct(table['rho'].min())}-{_pct(table['rho'].max())}%).",
        f"- rho_corrected, where given in at least {min_given} data sets: **{int(in_band(given['corrected']).sum())} of "
        f"{len(given)} designs** within the band; outside: "
        + (", ".join(f"{r['design']} ({_pct(r['corrected'])}%)" for r in outside.to_dict(orient="records")) or "none")
        + f". Its bias against the data set's own noise-free rho runs from {given['bias'].min():+.3f} to "
        f"{given['bias'].max():+.3f}, and its misses are on the high side in "
        f"{int((given['miss_high'] > given['miss_low']).sum())} of {len(given)} designs "
        "(docs/statistics.md, 'Noise levels that differ across emotions').",
        f"- Every estimate inside its own interval: {bool(table['inside'].all())}.",
        "",
    ]
    return lines


def run_independent(folder: str | os.PathLike = FOLDER, *, n_sets: int = 400, n_boot: int = 2000, n_mc: int = 6000,
                    seed: int = 2026, jobs: int = 2, only: list[str] | None = None) -> None:
    """Run the designs (all, or those named in ``only``) and write ``<design>.csv`` and ``<design>.json``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for design in DESIGNS:
        if only and design.name not in only:
            continue
        frame, meta = run_design(design, n_sets, n_boot=n_boot, n_mc=n_mc, seed=seed, jobs=jobs)
        write_run(out, design.name, frame, meta)
        print(f"{design.name}: {meta['seconds']:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--n-mc", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--designs", nargs="*", default=None)
    parser.add_argument("--out", default=FOLDER)
    args = parser.parse_args(argv)
    run_independent(args.out, n_sets=args.sets, n_boot=args.n_boot, n_mc=args.n_mc, seed=args.seed, jobs=args.jobs,
                    only=args.designs)


if __name__ == "__main__":
    main()
