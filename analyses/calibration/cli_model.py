"""A third generative model, run through the command line: `rsastats compare A.nc B.nc --json` on files written in
the documented format, as a user (or an acceptance check) would run it.

Written apart from the atlas (:mod:`analyses.atlas.model`) and the second model (:mod:`.independent`), with what
neither has: nonlinear read-outs of different widths (model A ``tanh(z W_A) + c_A``, 96 units; model B
``softplus(z_B W_B) - 0.7 + c_B``, 128 units), emotions on a valence-arousal circle plus 8 latent factors, model B
reading a partly different latent (``z_B = m z + sqrt(1 - m^2) z'``, ``m`` = ``share``), and crossed templates: prompt
``p`` of every emotion carries template ``p``, which each model represents in its own way (``tau_p V_A`` and
``tau_p V_B``).  Prompt noise is isotropic with an emotion-specific level shared by both models (``hetero``: SD of
its log); ``invalid``: the share of each emotion's prompts beyond its first 3 marked invalid (NaN in the file).

Truths (Monte Carlo over ``--n-mc`` fresh data sets): ``rho`` targets E[rho_hat] (cosine RDMs of the valid prompts'
means); ``rho_corrected`` the noise-free rho (cosine RDMs of the read-outs without templates or noise: unlimited
prompts average both away) averaged over emotion samples.  Every data set is written as two activation files
(float32, one layer) and compared by the CLI with its defaults and ``--seed`` = the data set's index.

This model found that half splits drawn for each emotion on its own biased rho_corrected upward where prompts
share templates (docs/statistics.md, 'Prompts built from shared templates'): in ``m3-n30-P8-templ`` the interval
covered 32% of the data sets before the common split.

Run:  python -m analyses.calibration.cli_model [--sets 200] [--designs NAME ...] [--keep-rho]   (about 2.5 min per
design on 2 cores; ``--keep-rho``: a rerun of the stored data sets through the shipped code that keeps their rho
columns, :func:`kept_rho`).  Writes reports/calibration/cli_model/<design>.csv and .json, and coverage.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.io import atomic_path

from ..atlas.model import cosine_cells, spearman
from .studies import HALF_SPLIT, binomial_ci, write_run

__all__ = ["Design", "DESIGNS", "FOLDER", "Model", "model_inputs", "truths", "run_design", "kept_rho", "coverage_table",
           "main"]

FOLDER = "reports/calibration/cli_model"
FIELDS = ("rho", "ci_low", "ci_high", "p_value", "rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note",
          "split_half_a", "split_half_b", "noise_ceiling")


@dataclass(frozen=True)
class Design:
    name: str
    n_emotions: int
    n_prompts: int
    noise: float  # prompt noise SD (a unit emotion vector's read-out has norm about 1-3)
    hetero: float = 0.3
    templates: float = 0.3
    invalid: float = 0.0
    share: float = 0.8


DESIGNS = [Design("m3-n21-P3", 21, 3, 2.0), Design("m3-n21-P4", 21, 4, 2.0), Design("m3-n21-P8", 21, 8, 2.0),
           Design("m3-n21-P20", 21, 20, 2.0), Design("m3-n30-P8-templ", 30, 8, 1.4, hetero=0.5, templates=0.8),
           Design("m3-n12-P8-invalid", 12, 8, 1.6, invalid=0.15), Design("m3-n21-P20-low", 21, 20, 4.0, share=0.5)]


class Model:
    """Read-outs and template representations (fixed for all designs) and the data sets of one design."""

    def __init__(self, design: Design):
        rng = np.random.default_rng(11)
        self.design = design
        self.w_a, self.w_b = rng.standard_normal((10, 96)) / np.sqrt(10), rng.standard_normal((10, 128)) / np.sqrt(10)
        self.v_a, self.v_b = rng.standard_normal((6, 96)) / np.sqrt(6), rng.standard_normal((6, 128)) / np.sqrt(6)
        self.c_a, self.c_b = 0.4 * rng.standard_normal(96), 0.4 * rng.standard_normal(128)

    def draw(self, rng: np.random.Generator):
        """(noise-free A (n, 96), noise-free B (n, 128), prompts A (n, P, 96), prompts B (n, P, 128), valid (n, P))."""
        d = self.design
        angle, radius = rng.uniform(0, 2 * np.pi, d.n_emotions), rng.uniform(0.5, 1.5, d.n_emotions)
        z = np.column_stack([radius * np.cos(angle), radius * np.sin(angle), 0.6 * rng.standard_normal((d.n_emotions, 8))])
        z_b = d.share * z + np.sqrt(1 - d.share ** 2) * rng.standard_normal(z.shape) * z.std(axis=0)
        mu_a = np.tanh(z @ self.w_a) + self.c_a
        mu_b = np.log1p(np.exp(z_b @ self.w_b)) - 0.7 + self.c_b
        tau = d.templates * rng.standard_normal((d.n_prompts, 6))
        level = np.exp(d.hetero * rng.standard_normal(d.n_emotions))[:, None, None]
        x_a = mu_a[:, None] + (tau @ self.v_a)[None] + 3 * d.noise * level * rng.standard_normal((d.n_emotions, d.n_prompts, 96)) / np.sqrt(96)
        x_b = mu_b[:, None] + (tau @ self.v_b)[None] + 3 * d.noise * level * rng.standard_normal((d.n_emotions, d.n_prompts, 128)) / np.sqrt(128)
        valid = np.ones((d.n_emotions, d.n_prompts), dtype=bool)
        if d.invalid:
            valid[:, 3:] = rng.random((d.n_emotions, d.n_prompts - 3)) >= d.invalid
        return mu_a, mu_b, x_a, x_b, valid


def model_inputs(x_a: np.ndarray, x_b: np.ndarray, valid: np.ndarray, *, as_file: bool = False) -> list:
    """The two models' prompts as :class:`~rsastats.inputs.ModelInput` objects for ``compare_models`` (model A's
    narrower read-out padded with zeros, which no cosine sees); ``as_file``: rounded to float32 first, as the
    activation files that the command line reads hold them."""
    from .independent import _inputs

    width = max(x_a.shape[-1], x_b.shape[-1])
    rounded = (lambda x: x.astype(np.float32).astype(np.float64)) if as_file else (lambda x: x)
    pad = lambda x: np.concatenate([rounded(x), np.zeros(x.shape[:-1] + (width - x.shape[-1],))], axis=-1)  # noqa: E731
    return _inputs(np.stack([pad(x_a), pad(x_b)]), valid)


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearman(cosine_cells(a), cosine_cells(b)))


def _means(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return (x * valid[..., None]).sum(axis=1) / valid.sum(axis=1)[:, None]


def truths(design: Design, n_mc: int) -> dict[str, float]:
    model, rng = Model(design), np.random.default_rng([5, design.n_emotions, design.n_prompts])
    measured, free = np.empty(n_mc), np.empty(n_mc)
    for k in range(n_mc):
        mu_a, mu_b, x_a, x_b, valid = model.draw(rng)
        free[k], measured[k] = _rho(mu_a, mu_b), _rho(_means(x_a, valid), _means(x_b, valid))
    return {"measured": float(measured.mean()), "free": float(free.mean()), "n_mc": n_mc}


def _one(args: tuple) -> dict:
    from click.testing import CliRunner

    from rsastats.cli import cli
    from rsastats.io.construct import make_activations
    from rsastats.io.files import write_dataset

    design, k, seed = args
    mu_a, mu_b, x_a, x_b, valid = Model(design).draw(np.random.default_rng([seed, design.n_emotions, design.n_prompts, k]))
    emotions = [f"emotion{i:02d}" for i in range(design.n_emotions)]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, x in (("A", x_a), ("B", x_b)):
            ds = make_activations(np.where(valid[..., None], x, np.nan)[:, :, None, :], emotions, valid=valid.astype(int),
                                  attrs={"model": name, "method": "comprehension", "precision": "fp32"})
            paths.append(str(write_dataset(ds, Path(tmp) / f"{name}.nc")))
        result = CliRunner().invoke(cli, ["compare", *paths, "--json", "--seed", str(k)])
    if result.exit_code != 0:
        raise RuntimeError(f"{design.name} data set {k}: rsastats compare exited {result.exit_code}: {result.output[-300:]}")
    out = json.loads(result.stdout)
    return {**{f: out.get(f) for f in FIELDS}, "rho_free": _rho(mu_a, mu_b)}


def run_design(design: Design, n_sets: int, *, n_mc: int = 3000, seed: int = 9, jobs: int = 2) -> tuple[pd.DataFrame, dict]:
    started = time.time()
    truth = truths(design, n_mc)
    with ProcessPoolExecutor(jobs) as pool:
        rows = list(pool.map(_one, [(design, k, seed) for k in range(n_sets)], chunksize=4))
    meta = {"design": asdict(design), "truth": truth, "n_sets": n_sets, "seed": seed, "half_split": HALF_SPLIT,
            "seconds": time.time() - started}
    return pd.DataFrame(rows), meta


def coverage_table(folder: str | os.PathLike = FOLDER) -> pd.DataFrame:
    rows = []
    for design in DESIGNS:
        path = Path(folder) / f"{design.name}.json"
        if not path.exists():
            continue
        meta, f = json.loads(path.read_text()), pd.read_csv(path.with_suffix(".csv"))
        t = meta["truth"]
        hit = (f["ci_low"] <= t["measured"]) & (t["measured"] <= f["ci_high"])
        g = f[f["rho_corrected"].notna()]
        hit_c = (g["corrected_ci_low"] <= t["free"]) & (t["free"] <= g["corrected_ci_high"])
        inside = bool(((f["ci_low"] <= f["rho"]) & (f["rho"] <= f["ci_high"])).all()
                      and ((g["corrected_ci_low"] <= g["rho_corrected"]) & (g["rho_corrected"] <= g["corrected_ci_high"])).all())
        bounded = bool(f[["rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                          "noise_ceiling"]].abs().max().max() <= 1.0)
        rows.append({"design": design.name, "n_sets": len(f), "rho_true": t["measured"], "rho": float(hit.mean()),
                     "rho_cp": binomial_ci(int(hit.sum()), len(f)), "free_true": t["free"], "given": len(g) / len(f),
                     "corrected": float(hit_c.mean()) if len(g) else np.nan,
                     "corrected_cp": binomial_ci(int(hit_c.sum()), len(g)) if len(g) else (np.nan, np.nan),
                     "bias": float((g["rho_corrected"] - g["rho_free"]).mean()) if len(g) else np.nan,
                     "split_half": float(np.minimum(f["split_half_a"], f["split_half_b"]).median()),
                     "inside": inside, "bounded": bounded})
    return pd.DataFrame(rows)


def coverage_markdown(table: pd.DataFrame, heading: str = "#") -> str:
    """The coverage table in markdown (``heading``: ``#`` for coverage.md, ``##`` inside docs/calibration.md)."""
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = [f"{heading} A third generative model, through the command line", "",
             "Generated by `python -m analyses.calibration.cli_model` (analyses/calibration/cli_model.py, whose docstring "
             "describes the model); every data set written as two activation files and compared by `rsastats compare "
             "--json` with its defaults. Coverage with Clopper-Pearson 95% intervals.", "",
             "| design | true rho | rho coverage % [CP 95%] | noise-free rho | corrected given | corrected coverage % [CP 95%] "
             "| bias | median smaller split-half |", "|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict(orient="records"):
        lines.append(f"| {r['design']} | {r['rho_true']:.3f} | {pct(r['rho'])} [{pct(r['rho_cp'][0])}, {pct(r['rho_cp'][1])}] "
                     f"| {r['free_true']:.3f} | {pct(r['given'])}% | {pct(r['corrected'])} [{pct(r['corrected_cp'][0])}, "
                     f"{pct(r['corrected_cp'][1])}] | {r['bias']:+.3f} | {r['split_half']:.2f} |")
    band = lambda c: int(((c >= 0.925) & (c <= 0.975)).sum())  # noqa: E731
    lines += ["", f"- rho: {band(table['rho'])} of {len(table)} designs within [92.5%, 97.5%]; rho_corrected: "
              f"{band(table['corrected'])} of {len(table)} ({int((table['corrected'] > 0.975).sum())} above, "
              f"{int((table['corrected'] < 0.925).sum())} below).",
              f"- Every estimate inside its own interval: {bool(table['inside'].all())}; every rho, rho_corrected, "
              f"interval end and noise ceiling in [-1, 1]: {bool(table['bounded'].all())}.", ""]
    return "\n".join(lines)


def kept_rho(stored: pd.DataFrame, rerun: pd.DataFrame, n: int) -> pd.DataFrame:
    """A rerun of stored data sets with the stored rho columns kept (``ci_low``, ``ci_high`` as formed before the mean
    map, which :mod:`.mean_scale` re-scores), rho's ends as the rerun forms them in :data:`.mean_scale.RERUN_ENDS`
    where they differ from the stored ones mapped (the low-rank weight), and every other column the rerun's.  Checked:
    the same data sets (rho) and the same Mantel p-values."""
    from .mean_scale import RERUN_ENDS, shipped_ends

    if len(stored) != len(rerun) or not np.allclose(stored["rho"], rerun["rho"], rtol=0, atol=1e-12):
        raise RuntimeError("the rerun's rho differs from the stored one: not the same data sets")
    if not (stored["p_value"].to_numpy() == rerun["p_value"].to_numpy()).all():
        raise RuntimeError("the rerun's Mantel p-values differ from the stored ones")
    out = rerun.copy()
    out[["ci_low", "ci_high"]] = stored[["ci_low", "ci_high"]].to_numpy()
    now = np.column_stack(shipped_ends(stored, n))
    ends = rerun[["ci_low", "ci_high"]].to_numpy(float)
    moved = ~np.all((np.isnan(now) & np.isnan(ends)) | (np.abs(now - ends) <= 1e-12), axis=1)
    if moved.any() or RERUN_ENDS[0] in stored:
        kept = stored[list(RERUN_ENDS)].to_numpy(float) if RERUN_ENDS[0] in stored else np.full_like(ends, np.nan)
        out[list(RERUN_ENDS)] = np.where(moved[:, None], ends, kept)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--n-mc", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--designs", nargs="*", default=None)
    parser.add_argument("--out", default=FOLDER)
    parser.add_argument("--keep-rho", action="store_true",
                        help="rerun stored designs on the same data sets, keeping their rho columns (kept_rho)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for design in DESIGNS:
        if args.designs and design.name not in args.designs:
            continue
        frame, meta = run_design(design, args.sets, n_mc=args.n_mc, jobs=args.jobs)
        if args.keep_rho:
            frame = kept_rho(pd.read_csv(out / f"{design.name}.csv"), frame, design.n_emotions)
        write_run(out, design.name, frame, meta)
        print(f"{design.name}: {meta['seconds']:.0f} s", flush=True)
    with atomic_path(out / "coverage.md") as tmp:
        tmp.write_text(coverage_markdown(coverage_table(out)), encoding="utf-8")


if __name__ == "__main__":
    main()
