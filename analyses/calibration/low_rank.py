"""rho's interval where emotions vary along one to three directions: the jackknife-t correction phased out by the
kernel's effective rank (docs/statistics.md, 'Low-rank emotion spaces').

Found on 2026-12-07 by a random sweep of designs through `compare_models` with a generator written for it (below):
in designs whose emotions vary mainly along one, two or three latent directions (valence, arousal) and whose two
models share little of them, rho's `jackknife-t` interval covered E[rho_hat] in only 83-90% of data sets, missing
mostly on one side: rho_hat is skewed there and its jackknife SE moves with it (correlation 0.45-0.9 across data
sets), so
the data sets with a low rho also have a narrow interval, and removing the jackknife's doubly counted second-order
variance narrowed them further.  :func:`rsastats.inference.degeneracy.low_rank_weight` now scales that correction by
the U-centred kernel's effective rank as a share of the emotions.

Generator (fresh emotions in every data set; two fixed read-outs per design):
  latent ``z_e ~ N(0, diag(s^2))`` in ``k`` dims, ``s_j = exp(-decay j / (k - 1))``; model B reads
  ``share z_e + sqrt(1 - share^2) z'_e`` (``z'`` independent), so ``share`` = 0 gives unrelated models;
  model A ``mu_A = l_A (z W_A + own u_A V_A) + c_A`` (48 or 160 units), model B likewise (64 or 256 units; optionally
  ``tanh``), ``u`` one-model emotion parts (8 dims) of size ``own``, ``l`` emotion lengths (log SD ``lensd``, shared
  0.8), ``c`` a common offset (``offset`` x the latent scale, anisotropy);
  prompts ``mu_e + sigma_e eps + t_p T`` with isotropic noise (``noise`` x the latent's per-unit SD; ``hetero``: log SD
  of an emotion's own level; ``tdf``: Student-t with one scale per text), crossed templates ``t_p`` (``templ``), and
  with ``missing`` a share of each emotion's prompts beyond its first 3 invalid.
Truth: E[rho_hat] over 2,000 fresh data sets (cosine RDMs of the valid prompts' means, Spearman).  Per data set the
ingredients of rho's interval (rho, its leave-one-emotion-out values, the excess without and with the weight) are
those `compare_models` uses, so both intervals -- before the weight and shipped -- come from the same data sets
(checked: the shipped one equals `compare_models`' `ci_low`/`ci_high`, tests/unit/test_low_rank_weight.py).

Designs: ``grid`` (36: 12, 21 or 40 emotions x 2 or 3 directions x share 0 or 0.3 x own 0.1, 0.3, 0.6; 8 prompts),
``sweep`` (30 drawn at random, seed 51), the two on which the weight was chosen, and the held-out ``grid1`` (32: one
or two directions x 16 or 30 emotions x share 0 or 0.5 x 4 or 20 prompts x offset 0 or 3) and ``sweep52`` (30 drawn
with seed 52), on which it was checked.  The atlas and its weak designs (docs/calibration.md) were part of the
choice too; their rerun is `python -m analyses.calibration --reuse-atlas --rerun-rho`.

The stored studies (``--stored``): every data set of the atlas, its seed-2028 replication, the weak designs, the
second generative model, the few-emotions study (5 to 7 emotions: below 5 no interval is shipped) and the many-emotions
designs (64 and 100) is regenerated
(:func:`analyses.calibration.uneven._source`), and rho's interval formed before the weight and shipped; the one
before must equal the stored interval as the package formed it (:func:`.mean_scale.shipped_ends`), which checks the
regeneration.  Their coverage, before and shipped, per design: reports/calibration/low_rank_stored.csv.

Run:  python -m analyses.calibration.low_rank [--sets 400] [--jobs 2] [--stored]   (about 15 min on 2 cores, the
stored studies as long again).  Writes reports/calibration/low_rank.csv (a row per design), low_rank_stored.csv and
low_rank.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import skew

from rsastats.inference import degeneracy
from rsastats.intervals.jackknife import jackknife_interval, jackknife_se
from rsastats.io import atomic_path

from ..atlas.model import cosine_cells, spearman
from .studies import binomial_ci

__all__ = ["Generator", "draw_design", "designs", "data_set_rows", "run", "table", "STORED", "run_stored",
           "stored_table", "main"]

FOLDER = Path("reports/calibration")
_BASE = dict(decay=0.3, offset=0.0, lensd=0.0, noise=1.5, hetero=0.0, templ=0.0, tdf=0.0, nonlin=False, missing=0.0,
             dA=48, dB=64)


def draw_design(rng: np.random.Generator) -> dict:
    """One design drawn at random (the sweeps)."""
    return dict(E=int(rng.choice([8, 12, 16, 21, 30, 40])), P=int(rng.choice([3, 4, 5, 6, 8, 12, 20, 40])),
                k=int(rng.choice([2, 3, 5, 10])), decay=float(rng.uniform(0, 1.5)),
                share=float(rng.choice([0.3, 0.6, 0.85, 0.95, 1.0])), own=float(rng.uniform(0, 0.8)),
                offset=float(rng.choice([0, 0, 1, 3])), lensd=float(rng.choice([0, 0, 0.3, 0.6])),
                noise=float(np.exp(rng.uniform(np.log(0.5), np.log(6)))), hetero=float(rng.choice([0, 0, 0.3, 0.6])),
                templ=float(rng.choice([0, 0, 0.3, 0.8])), tdf=float(rng.choice([0, 0, 4])),
                nonlin=bool(rng.random() < 0.4), missing=float(rng.choice([0, 0, 0.15])),
                dA=int(rng.choice([48, 160])), dB=int(rng.choice([64, 256])))


def designs() -> list[tuple[str, str, int, dict]]:
    """``(family, name, seed, design)`` of every design (module docstring)."""
    out = []
    for k, (n, share, own) in enumerate(itertools.product([12, 21, 40], [0.0, 0.3], [0.1, 0.3, 0.6])):
        for dims in (2, 3):
            out.append(("grid", f"E{n}-k{dims}-s{share}-o{own}", 90000 + 10 * k + dims,
                        dict(_BASE, P=8, E=n, k=dims, share=share, own=own)))
    for family, seed in (("sweep", 51), ("sweep52", 52)):
        rng = np.random.default_rng(seed)
        out += [(family, f"R{seed}-{k}", seed * 1000 + k, draw_design(rng)) for k in range(30)]
    grid1 = itertools.product([1, 2], [16, 30], [0.0, 0.5], [4, 20], [0.0, 3.0])
    for k, (dims, n, share, p, offset) in enumerate(grid1):
        out.append(("grid1", f"G-k{dims}-E{n}-s{share}-P{p}-off{offset}", 93000 + k,
                    dict(_BASE, own=0.2, k=dims, E=n, share=share, P=p, offset=offset)))
    return out


class Generator:
    """The generative model of one design (module docstring); the read-outs are drawn from ``seed``."""

    def __init__(self, design: dict, seed: int):
        self.d = d = design
        rng = np.random.default_rng(seed)
        k = d["k"]
        self.w = [rng.standard_normal((k, d[h])) / np.sqrt(k) for h in ("dA", "dB")]
        self.v = [rng.standard_normal((8, d[h])) / np.sqrt(8) for h in ("dA", "dB")]
        self.c = []
        for h in ("dA", "dB"):
            c = rng.standard_normal(d[h])
            self.c.append(c * d["offset"] / np.linalg.norm(c) * np.sqrt(k) if d["offset"] else 0.0 * c)
        self.t = [rng.standard_normal((4, d[h])) / 2 for h in ("dA", "dB")]
        self.scale = np.exp(-d["decay"] * np.arange(k) / max(k - 1, 1))
        self.unit = float(np.sqrt(np.mean(self.scale**2)))  # the latent read-out's SD per unit

    def means(self, rng: np.random.Generator) -> list[np.ndarray]:
        d, n, k = self.d, self.d["E"], self.d["k"]
        z = rng.standard_normal((n, k)) * self.scale
        zb = d["share"] * z + np.sqrt(1 - d["share"] ** 2) * rng.standard_normal((n, k)) * self.scale
        g = rng.standard_normal(n)
        out = []
        for m, latent in enumerate((z, zb)):
            length = np.exp(d["lensd"] * (0.8 * g + 0.6 * rng.standard_normal(n)))[:, None]
            x = latent @ self.w[m] + d["own"] * rng.standard_normal((n, 8)) @ self.v[m]
            out.append(length * (np.tanh(x) if (m == 1 and d["nonlin"]) else x) + self.c[m])
        return out

    def draw(self, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
        """The two models' prompt means (valid prompts only) and the valid mask."""
        prompts, valid = self.prompts(rng)
        w = valid[..., None]
        return [(x * w).sum(1) / w.sum(1) for x in prompts], valid

    def prompts(self, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
        """The two models' prompt vectors (emotions x prompts x units; invalid ones too) and the valid mask."""
        d, n, p = self.d, self.d["E"], self.d["P"]
        mu = self.means(rng)
        level = d["noise"] * np.exp(d["hetero"] * rng.standard_normal(n))[:, None, None]
        templates = rng.standard_normal((p, 4)) * d["templ"]
        valid = np.ones((n, p), dtype=bool)
        prompts = []
        for m, h in enumerate(("dA", "dB")):
            eps = rng.standard_normal((n, p, d[h]))
            if d["tdf"]:
                eps *= np.sqrt((d["tdf"] - 2) / rng.chisquare(d["tdf"], size=(n, p, 1)))
            prompts.append(mu[m][:, None] + level * eps * self.unit + (templates @ self.t[m])[None])
        if d["missing"] and p > 3:
            miss = rng.random((n, p)) < d["missing"]
            miss[:, :3] = False
            valid &= ~miss
        return prompts, valid


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearman(x, y))


def data_set_rows(design: dict, seed: int, n_sets: int, n_mc: int) -> tuple[float, list[dict]]:
    """The truth E[rho_hat] and a row per data set: rho, both intervals (before the weight and shipped), the kernel's
    rank share and the weight."""
    gen = Generator(design, seed)
    mc = np.random.default_rng([seed, 1])
    truth = float(np.mean([_rho(*map(cosine_cells, gen.draw(mc)[0])) for _ in range(n_mc)]))
    rows = []
    for s in range(n_sets):
        means, _ = gen.draw(np.random.default_rng([seed, 7, s]))
        rows.append(_intervals(*map(cosine_cells, means), design["E"]))
    return truth, rows


def _intervals(x: np.ndarray, y: np.ndarray, n: int) -> dict:
    """rho of two RDM upper triangles, the kernel's rank share and rho's interval before the weight and shipped."""
    iu, ju = np.triu_indices(n, 1)
    r = _rho(x, y)
    loo = np.array([_rho(x[(iu != i) & (ju != i)], y[(iu != i) & (ju != i)]) for i in range(n)])
    args = (x[None], y[None], np.array([r]), "spearman")
    share = float(degeneracy.pair_rank_share(*args)[0])
    row = {"rho": r, "rank_share": share, "weight": float(degeneracy.low_rank_weight(share))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row["jackknife_se"] = jackknife_se(loo)  # Fisher-z scale, before any correction
        for tag, low_rank in (("before", False), ("shipped", True)):
            excess = float(degeneracy.second_order_variance(*args, low_rank=low_rank)[0])
            low, high, _ = jackknife_interval(r, loo, method="jackknife-t", second_order=excess, mean_scale=True)
            row.update({f"ci_low_{tag}": low, f"ci_high_{tag}": high})
    return row


def _stored_job(args: tuple) -> dict:
    study, path = args
    from .mean_scale import shipped_ends
    from .uneven import _source

    meta = json.loads(Path(path).read_text())
    frame = pd.read_csv(Path(path).with_suffix(".csv"))
    draw, _, design, seqs = _source(meta, study)
    n = design.n_emotions
    rows = []
    for seq in seqs:
        inputs = draw(seq)
        rows.append(_intervals(inputs[0].rdm.upper(), inputs[1].rdm.upper(), n))
    new = pd.DataFrame(rows)
    if not np.allclose(new["rho"], frame["rho"], rtol=0, atol=1e-12):
        raise RuntimeError(f"{path}: the regenerated rho differs from the stored rho (not the same data sets)")
    low, high = shipped_ends(frame, n)
    shown = np.isfinite(low) & np.isfinite(new["ci_low_before"].to_numpy())
    agree = shown & np.isclose(low, new["ci_low_before"], rtol=0, atol=1e-9) & np.isclose(high, new["ci_high_before"],
                                                                                           rtol=0, atol=1e-9)
    truth = meta["truth"]["measured"]
    out = {"study": study, "design": meta["design"]["name"], "n_emotions": n, "sets": len(new),
           "checked": int(agree.sum()), "shown": int(shown.sum()),
           "median_rank_share": float(new["rank_share"].median()),
           "weighted": float((new["weight"] < 1).mean()), "truth": truth}
    for tag in ("before", "shipped"):
        lo, hi = new[f"ci_low_{tag}"].to_numpy(), new[f"ci_high_{tag}"].to_numpy()
        inside = (lo[shown] <= truth) & (truth <= hi[shown])
        out[f"coverage_{tag}"] = float(inside.mean())
        out[f"cp_low_{tag}"], out[f"cp_high_{tag}"] = binomial_ci(int(inside.sum()), int(shown.sum()))
    return out


STORED = ("atlas", "atlas_2028", "weak", "independent", "few", "many_emotions")


def run_stored(jobs: int = 2) -> pd.DataFrame:
    """Coverage of rho's interval before the weight and shipped on every stored study's data sets (module docstring)."""
    folders = {"atlas": "reports/calibration/atlas", "atlas_2028": "reports/calibration/atlas_2028",
               "weak": "reports/calibration/weak", "independent": "reports/calibration/independent",
               "few": "reports/calibration/few", "many_emotions": "reports/calibration/many_emotions"}
    tasks = []
    for study in STORED:
        for path in sorted(Path(folders[study]).glob("*.json")):
            meta = json.loads(path.read_text())
            if path.with_suffix(".csv").exists() and "truth" in meta and meta["design"].get("n_emotions", 0) >= 5:
                tasks.append(("atlas" if study in ("atlas_2028", "weak", "many_emotions") else study, str(path)))
    with ProcessPoolExecutor(jobs) as pool:
        frame = pd.DataFrame(list(pool.map(_stored_job, tasks)))
    frame["study"] = [Path(path).parent.name for _, path in tasks]
    return frame


def stored_table(frame: pd.DataFrame) -> str:
    lines = ["| study | designs | data sets checked | before: within [92.5%, 97.5%] | below (CP upper < 92.5%) | "
             "range % | shipped: within | below | range % |", "|---|---|---|---|---|---|---|---|---|"]
    for study, part in frame.groupby("study", sort=False):
        cells = [study, str(len(part)), f"{part['checked'].sum()} of {part['shown'].sum()}"]
        for tag in ("before", "shipped"):
            c = part[f"coverage_{tag}"]
            cells += [f"{int(((c >= 0.925) & (c <= 0.975)).sum())}", f"{int((part[f'cp_high_{tag}'] < 0.925).sum())}",
                      f"{100 * c.min():.1f}-{100 * c.max():.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    moved = frame[(frame["coverage_before"] - frame["coverage_shipped"]).abs() > 0]
    lines += ["", "Designs whose coverage moved (before -> shipped, %): " + (", ".join(
        f"{r.study} {r.design} {100 * r.coverage_before:.1f} -> {100 * r.coverage_shipped:.1f}"
        for r in moved.itertuples()) or "none") + "."]
    return "\n".join(lines) + "\n"


def _design_job(args: tuple) -> dict:
    family, name, seed, design, n_sets, n_mc = args
    started = time.time()
    truth, rows = data_set_rows(design, seed, n_sets, n_mc)
    frame = pd.DataFrame(rows)
    out = {"family": family, "design": name, "n_emotions": design["E"], "n_prompts": design["P"],
           "directions": design["k"], "share": design["share"], "truth": truth, "sets": n_sets,
           "median_rank_share": float(frame["rank_share"].median()), "mean_weight": float(frame["weight"].mean())}
    for tag in ("before", "shipped"):
        inside = (frame[f"ci_low_{tag}"] <= truth) & (truth <= frame[f"ci_high_{tag}"])
        low, high = binomial_ci(int(inside.sum()), n_sets)
        out.update({f"coverage_{tag}": float(inside.mean()), f"cp_low_{tag}": low, f"cp_high_{tag}": high,
                    f"width_{tag}": float((frame[f"ci_high_{tag}"] - frame[f"ci_low_{tag}"]).median()),
                    f"below_{tag}": float((frame[f"ci_high_{tag}"] < truth).mean())})
    z = np.arctanh(np.clip(frame["rho"], -0.999999, 0.999999))
    out["skewness"] = float(skew(z))  # of rho on the Fisher-z scale across data sets
    out["corr_rho_se"] = float(np.corrcoef(z, frame["jackknife_se"])[0, 1])
    out["seconds"] = time.time() - started
    return out


def run(n_sets: int = 400, n_mc: int = 2000, jobs: int = 2, only: list[str] | None = None) -> pd.DataFrame:
    tasks = [(f, name, seed, d, n_sets, n_mc) for f, name, seed, d in designs() if not only or f in only]
    with ProcessPoolExecutor(jobs) as pool:
        return pd.DataFrame(list(pool.map(_design_job, tasks)))


def table(frame: pd.DataFrame) -> str:
    """docs-ready Markdown: a summary per family and a row per design."""
    lines = ["| designs | chosen on | before: within [92.5%, 97.5%] | below (CP upper < 92.5%) | mean abs. error | "
             "shipped: within | below | mean abs. error |", "|---|---|---|---|---|---|---|---|"]
    for family, part in frame.groupby("family", sort=False):
        cells = [family, "yes" if family in ("grid", "sweep") else "no (held out)"]
        for tag in ("before", "shipped"):
            c = part[f"coverage_{tag}"]
            cells += [f"{int(((c >= 0.925) & (c <= 0.975)).sum())} of {len(part)}",
                      f"{int((part[f'cp_high_{tag}'] < 0.925).sum())}", f"{100 * (c - 0.95).abs().mean():.2f}"]
        lines.append("| " + " | ".join(cells[:5]) + " | " + " | ".join(cells[5:]) + " |")
    lines += ["", "| design | emotions | prompts | directions | share | true rho | median rank share | "
              "before % [CP 95%] | "
              "shipped % [CP 95%] | misses below: before / shipped % |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in frame.itertuples():
        lines.append(
            f"| {row.design} | {row.n_emotions} | {row.n_prompts} | {row.directions} | {row.share:g} | "
            f"{row.truth:+.3f} | "
            f"{row.median_rank_share:.2f} | {100 * row.coverage_before:.1f} [{100 * row.cp_low_before:.1f}, "
            f"{100 * row.cp_high_before:.1f}] | {100 * row.coverage_shipped:.1f} [{100 * row.cp_low_shipped:.1f}, "
            f"{100 * row.cp_high_shipped:.1f}] | {100 * row.below_before:.1f} / {100 * row.below_shipped:.1f} |")
    return "\n".join(lines) + "\n"


def _band(c: pd.Series) -> int:
    return int(((c >= 0.925) & (c <= 0.975)).sum())


def section(folder: str | Path = FOLDER) -> list[str]:
    """docs/calibration.md's section on the study (run on its own; no stored results: no lines)."""
    path = Path(folder) / "low_rank.csv"
    if not path.exists():
        return []
    frame = pd.read_csv(path)
    lines = ["## rho's interval in low-rank designs", "",
             f"{len(frame)} designs x {int(frame['sets'].min())} data sets of a generator written for this study "
             "(`python -m analyses.calibration.low_rank`, whose docstring describes it; per design in "
             "[reports/calibration/low_rank.md](../reports/calibration/low_rank.md)): emotions that vary along one to "
             "ten "
             "latent directions, two models that share all, some or none of them, read-outs, offsets, emotion lengths, "
             "noise levels, t noise, templates and missing prompts as drawn. Truth: E[rho_hat]. rho's interval with the "
             "whole second-order correction (the default before 2026-12-07) and with the correction scaled by the "
             "kernel's effective rank (shipped; docs/statistics.md, 'Low-rank emotion spaces'), on the same data sets. "
             "The weight was chosen on `grid` and `sweep` (and the atlas) and checked on `grid1` and `sweep52`.", "",
             *table(frame).split("\n\n")[0].split("\n"), ""]
    for tag, label in (("before", "before"), ("shipped", "shipped")):
        c = frame[f"coverage_{tag}"]
        low = frame[frame[f"cp_high_{tag}"] < 0.925]
        lines.append(f"- {label}: {_band(c)} of {len(frame)} designs within [92.5%, 97.5%], {len(low)} clearly below "
                     f"(Clopper-Pearson upper end < 92.5%), range {100 * c.min():.1f}-{100 * c.max():.1f}%, mean "
                     f"|coverage - 95%| {100 * (c - 0.95).abs().mean():.2f} points"
                     + (": " + ", ".join(f"{r.design} ({100 * r[f'coverage_{tag}']:.1f}%)"
                                         for _, r in low.iterrows()) if len(low) else "") + ".")
    stored = Path(folder) / "low_rank_stored.csv"
    if stored.exists():
        rescored = pd.read_csv(stored)
        lines += ["", "The stored studies' data sets, regenerated (rho's interval before the weight equal to the stored "
                  "one as the package formed it in every data set counted as checked):", "",
                  *stored_table(rescored).rstrip("\n").split("\n")]
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.low_rank", description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--n-mc", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="families: grid sweep grid1 sweep52")
    parser.add_argument("--stored", action="store_true", help="also rescore the stored studies (module docstring)")
    parser.add_argument("--reuse", action="store_true", help="read low_rank.csv instead of running the designs")
    args = parser.parse_args(argv)
    started = time.time()
    if args.reuse:
        frame = pd.read_csv(FOLDER / "low_rank.csv")
    else:
        frame = run(args.sets, args.n_mc, args.jobs, args.only)
        with atomic_path(FOLDER / "low_rank.csv") as tmp:
            frame.to_csv(tmp, index=False)
    stored = ""
    if args.stored:
        rescored = run_stored(args.jobs)
        with atomic_path(FOLDER / "low_rank_stored.csv") as tmp:
            rescored.to_csv(tmp, index=False)
        stored = ("\n## The stored studies\n\nEvery data set of the stored calibration studies regenerated, rho's "
                  "interval formed before the weight (checked against the stored interval as the package formed it) "
                  "and shipped; truths as stored. Per design: reports/calibration/low_rank_stored.csv.\n\n"
                  + stored_table(rescored))
    if args.reuse:
        when = "; the designs' results were reused from reports/calibration/low_rank.csv"
    else:
        when = f" in {(time.time() - started) / 60:.0f} min"
    text = (f"# rho's interval in low-rank designs\n\nGenerated by `python -m analyses.calibration.low_rank --sets "
            f"{args.sets} --n-mc {args.n_mc}" + (" --stored" if args.stored else "") + (" --reuse" if args.reuse else "")
            + f"`{when} (module docstring: the model and the designs). 'before': rho's `jackknife-t` interval with "
            f"the whole second-order correction (the default before 2026-12-07); 'shipped': the correction scaled by "
            f"the kernel's rank share (docs/statistics.md, 'Low-rank emotion spaces'). Truth: E[rho_hat] over "
            f"{args.n_mc} fresh data sets.\n\n"
            + table(frame) + stored)
    with atomic_path(FOLDER / "low_rank.md") as tmp:
        tmp.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
