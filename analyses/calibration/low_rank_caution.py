"""Where rho's interval is given with a caution: the kernel's effective rank (docs/statistics.md, 'Low-rank emotion
spaces'; ``ci_caution``, :func:`rsastats.inference.degeneracy.low_rank_caution`).

The low-rank weight of 2026-12-07 took most of the low-rank study's designs into [92.5%, 97.5%], but not those whose
emotions vary along about one direction and whose models share part of it (87.8-91.2%).  Two more fixes were tried
on 2026-12-08 and not kept (docs/statistics.md): a floor of the standard error at the Mantel permutation SD (there the
permutation SD is 0.31-0.41 times the jackknife SE, so the floor never acts) and Student-t degrees of freedom from the
kurtosis of the leave-one-out values (2.5-2.8: no heavy tails to correct).  What the failing data sets share is the
effective rank of rho's kernel (the participation ratio of the U-centred kernel's eigenvalues, the rank share times
the emotions): below about 2.5 the interval covers too rarely where the models are related, missing below the truth.

This script measures it per data set, on data sets of :mod:`analyses.calibration.low_rank`'s generator:

- ``chosen``: the 128 designs of that study (``grid``, ``sweep``, ``grid1``, ``sweep52``), on which the rule (rank
  below 2.5 with 12 or more emotions) was chosen;
- ``held out``: 84 designs drawn afterwards: ``sweep53`` and ``sweep54`` (30 random designs each, seeds 53 and 54)
  and ``grid2`` (one or two directions x 12, 21 or 40 emotions x share 0.3 or 0.7 x 6 or 12 prompts, offset 1, own
  parts 0.3);
- rho_corrected's interval on the 39 designs x 150 data sets of :mod:`.low_rank_corrected` (its stored intervals;
  the rank regenerated from the same data sets, rho checked against the stored one);
- ``hypotheses``: a data file against a noise-free hypothesis RDM (27 designs x 300 data sets): the data read one,
  two or three latent directions as the generator's model A does (12, 21 or 40 emotions, 8 prompts, own parts 0.3,
  offset 1), the hypothesis the Euclidean RDM of z-scored features that share 0.3, 0.6 or 0.9 of the latent (a valence
  or arousal rating; docs/hypotheses.md) -- ``hypotheses`` gives a fit compare's interval, so the same caution;
- ``--stored``: every data set of the stored studies (atlas, its seed-2028 replication, the weak, independent,
  few-emotions and many-emotions designs), regenerated as :mod:`.low_rank` does: how often the caution would be given
  there, and what those intervals covered.

Truth: E[rho_hat] (rho's interval) and the noise-free rho (rho_corrected's).  'related': a truth above 0.03.

Run:  python -m analyses.calibration.low_rank_caution [--sets 200] [--n-mc 2000] [--stored] [--jobs 2]
(about 8 min on 2 cores, the stored studies 6 min more).  Writes reports/calibration/low_rank_caution.csv (a row per
design) and low_rank_caution.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.degeneracy import LOW_RANK_CAUTION_EMOTIONS, LOW_RANK_CAUTION_RANK, pair_rank_share
from rsastats.io import atomic_path

from . import low_rank
from .studies import binomial_ci

__all__ = ["held_out_designs", "hypothesis_designs", "HypothesisGenerator", "flagged", "design_rows", "corrected_sets",
           "hypothesis_rows", "stored_sets", "summary", "section", "main"]

FOLDER = Path("reports/calibration")
RELATED = 0.03  # a truth above this counts as related models (for the tables only)


def held_out_designs() -> list[tuple[str, str, int, dict]]:
    """``(family, name, seed, design)`` of the 84 designs drawn after the rule was chosen (module docstring)."""
    out = []
    for seed in (53, 54):
        rng = np.random.default_rng(seed)
        out += [(f"sweep{seed}", f"R{seed}-{k}", seed * 1000 + k, low_rank.draw_design(rng)) for k in range(30)]
    for k, (dims, n, share, p) in enumerate(itertools.product([1, 2], [12, 21, 40], [0.3, 0.7], [6, 12])):
        out.append(("grid2", f"H-k{dims}-E{n}-s{share}-P{p}", 95000 + k,
                    dict(low_rank._BASE, own=0.3, offset=1.0, k=dims, E=n, share=share, P=p)))
    return out


class HypothesisGenerator(low_rank.Generator):
    """The ``hypotheses`` part (module docstring): model A's prompts and a hypothesis RDM of features."""

    def draw_pair(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Upper triangles of the data's cosine RDM (the means of its prompts) and of the hypothesis RDM."""
        from ..atlas.model import cosine_cells

        d, n, k = self.d, self.d["E"], self.d["k"]
        z = rng.standard_normal((n, k)) * self.scale
        rating = d["share"] * z + np.sqrt(1 - d["share"] ** 2) * rng.standard_normal((n, k)) * self.scale
        mu = z @ self.w[0] + d["own"] * rng.standard_normal((n, 8)) @ self.v[0] + self.c[0]
        prompts = mu[:, None] + d["noise"] * rng.standard_normal((n, d["P"], d["dA"])) * self.unit
        features = (rating - rating.mean(0)) / rating.std(0)
        iu, ju = np.triu_indices(n, 1)
        return cosine_cells(prompts.mean(1)), np.linalg.norm(features[:, None] - features[None], axis=-1)[iu, ju]


def hypothesis_designs() -> list[tuple[str, str, int, dict]]:
    """``(family, name, seed, design)`` of the ``hypotheses`` part (module docstring)."""
    grid = itertools.product([1, 2, 3], [12, 21, 40], [0.3, 0.6, 0.9])
    return [("hypotheses", f"hyp-k{dims}-E{n}-s{share}", 97000 + k,
             dict(low_rank._BASE, own=0.3, offset=1.0, k=dims, E=n, share=share, P=8)) for k, (dims, n, share)
            in enumerate(grid)]


def _hypothesis_job(args: tuple) -> pd.DataFrame:
    family, name, seed, design, n_sets, n_mc = args
    gen = HypothesisGenerator(design, seed)
    mc = np.random.default_rng([seed, 1])
    truth = float(np.mean([low_rank._rho(*gen.draw_pair(mc)) for _ in range(n_mc)]))
    rows = [low_rank._intervals(*gen.draw_pair(np.random.default_rng([seed, 7, s])), design["E"])
            for s in range(n_sets)]
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"group": "hypotheses", "family": family, "design": name, "n": design["E"], "truth": truth,
                         "rho": frame["rho"], "effective_rank": frame["rank_share"] * design["E"],
                         "low": frame["ci_low_shipped"], "high": frame["ci_high_shipped"]})


def hypothesis_rows(n_sets: int = 300, n_mc: int = 1000, jobs: int = 2) -> pd.DataFrame:
    """A row per data set of the ``hypotheses`` part, as :func:`design_rows`."""
    with ProcessPoolExecutor(jobs) as pool:
        return pd.concat(list(pool.map(_hypothesis_job, [(*d, n_sets, n_mc) for d in hypothesis_designs()])),
                         ignore_index=True)


def flagged(effective_rank: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Where ``compare`` gives the caution (as :func:`rsastats.inference.degeneracy.low_rank_caution`)."""
    return (np.asarray(n) >= LOW_RANK_CAUTION_EMOTIONS) & (np.asarray(effective_rank) < LOW_RANK_CAUTION_RANK)


def _design_job(args: tuple) -> pd.DataFrame:
    group, family, name, seed, design, n_sets, n_mc = args
    truth, rows = low_rank.data_set_rows(design, seed, n_sets, n_mc)
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"group": group, "family": family, "design": name, "n": design["E"], "truth": truth,
                         "rho": frame["rho"], "effective_rank": frame["rank_share"] * design["E"],
                         "low": frame["ci_low_shipped"], "high": frame["ci_high_shipped"]})


def design_rows(n_sets: int = 200, n_mc: int = 2000, jobs: int = 2) -> pd.DataFrame:
    """A row per data set of the chosen and held-out designs: rho, the kernel's effective rank, rho's shipped
    interval and the design's truth."""
    tasks = [("chosen", *d, n_sets, n_mc) for d in low_rank.designs()]
    tasks += [("held out", *d, n_sets, n_mc) for d in held_out_designs()]
    with ProcessPoolExecutor(jobs) as pool:
        return pd.concat(list(pool.map(_design_job, tasks, chunksize=4)), ignore_index=True)


def corrected_sets(folder: Path = FOLDER) -> pd.DataFrame:
    """rho_corrected's stored intervals of :mod:`.low_rank_corrected` with rho's kernel rank regenerated."""
    from ..atlas.model import cosine_cells, spearman
    from .low_rank_corrected import generator_designs

    sets = pd.read_csv(folder / "low_rank_corrected_sets.csv")
    rows = []
    for _, name, seed, design in generator_designs():
        gen = low_rank.Generator(design, seed)
        for s in sets.loc[sets["design"] == name, "set"]:
            (xa, xb), valid = gen.prompts(np.random.default_rng([seed, 9, s]))  # the study's own draw
            w = valid[..., None]
            x, y = (cosine_cells((v * w).sum(1) / w.sum(1)) for v in (xa, xb))
            r = float(spearman(x, y))
            share = float(pair_rank_share(x[None], y[None], np.array([r]), "spearman")[0])
            rows.append({"design": name, "set": s, "rho_check": r, "n": design["E"],
                         "effective_rank": share * design["E"]})
    out = sets.merge(pd.DataFrame(rows), on=["design", "set"])
    if not np.allclose(out["rho"], out["rho_check"], rtol=0, atol=1e-9):
        raise RuntimeError("the regenerated rho differs from low_rank_corrected_sets.csv's (not the same data sets)")
    out = out[out["rho_corrected_shipped"].notna()]
    return pd.DataFrame({"group": "rho_corrected", "family": out["family"], "design": out["design"], "n": out["n"],
                         "truth": out["free"], "rho": out["rho"], "effective_rank": out["effective_rank"],
                         "low": out["low_shipped"], "high": out["high_shipped"]})


def _stored_job(args: tuple) -> pd.DataFrame:
    study, path = args
    from .uneven import _source

    meta = json.loads(Path(path).read_text())
    draw, _, design, seqs = _source(meta, study)
    n = design.n_emotions
    rows = []
    for seq in seqs:
        inputs = draw(seq)
        rows.append(low_rank._intervals(inputs[0].rdm.upper(), inputs[1].rdm.upper(), n))
    frame = pd.DataFrame(rows)
    stored = pd.read_csv(Path(path).with_suffix(".csv"))
    if not np.allclose(frame["rho"], stored["rho"], rtol=0, atol=1e-12):
        raise RuntimeError(f"{path}: the regenerated rho differs from the stored rho (not the same data sets)")
    return pd.DataFrame({"group": Path(path).parent.name, "family": Path(path).parent.name,
                         "design": meta["design"]["name"], "n": n, "truth": meta["truth"]["measured"],
                         "rho": frame["rho"], "effective_rank": frame["rank_share"] * n,
                         "low": frame["ci_low_shipped"], "high": frame["ci_high_shipped"]})


def stored_sets(jobs: int = 2) -> pd.DataFrame:
    """A row per data set of the stored studies (module docstring), as :func:`design_rows`."""
    tasks = []
    for study in low_rank.STORED:
        for path in sorted((FOLDER / study).glob("*.json")):
            meta = json.loads(path.read_text())
            if path.with_suffix(".csv").exists() and "truth" in meta and meta["design"].get("n_emotions", 0) >= 5:
                tasks.append(("atlas" if study in ("atlas_2028", "weak", "many_emotions") else study, str(path)))
    with ProcessPoolExecutor(jobs) as pool:
        return pd.concat(list(pool.map(_stored_job, tasks)), ignore_index=True)


def _scored(sets: pd.DataFrame) -> pd.DataFrame:
    out = sets.copy()
    out["hit"] = (out["low"] <= out["truth"]) & (out["truth"] <= out["high"])
    out["below"] = out["high"] < out["truth"]
    out["flagged"] = flagged(out["effective_rank"], out["n"])
    out["related"] = np.where(out["truth"] > RELATED, "related", "unrelated")
    return out[out["low"].notna()]


def summary(sets: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Coverage [Clopper-Pearson 95%] and the share of misses below the truth per group of ``by``."""
    rows = []
    for key, part in _scored(sets).groupby(by, sort=False):
        low, high = binomial_ci(int(part["hit"].sum()), len(part))
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "sets": len(part),
                     "coverage": float(part["hit"].mean()), "cp_low": low, "cp_high": high,
                     "below": float(part["below"].mean())})
    return pd.DataFrame(rows)


def _md(frame: pd.DataFrame, by: list[str]) -> list[str]:
    lines = ["| " + " | ".join(by) + " | data sets | coverage % [CP 95%] | misses below % |",
             "|" + "---|" * (len(by) + 3)]
    for r in frame.itertuples():
        keys = [str(getattr(r, b)) for b in by]
        lines.append("| " + " | ".join(keys) + f" | {r.sets} | {100 * r.coverage:.1f} [{100 * r.cp_low:.1f}, "
                     f"{100 * r.cp_high:.1f}] | {100 * r.below:.1f} |")
    return lines


def per_design(sets: pd.DataFrame) -> pd.DataFrame:
    scored = _scored(sets)
    return scored.groupby(["group", "family", "design"], sort=False).agg(
        n=("n", "first"), truth=("truth", "first"), sets=("hit", "size"), flagged=("flagged", "mean"),
        median_effective_rank=("effective_rank", "median"), coverage=("hit", "mean"),
        coverage_flagged=("hit", lambda h: h[scored.loc[h.index, "flagged"]].mean()),
        coverage_unflagged=("hit", lambda h: h[~scored.loc[h.index, "flagged"]].mean()),
        below=("below", "mean")).reset_index()


def report(sets: pd.DataFrame, seconds: float, argv: str) -> str:
    scored = _scored(sets)
    bins = pd.cut(scored["effective_rank"], [0, 1.5, 2, 2.5, 3, 4, 6, np.inf])
    binned = summary(scored.assign(rank_bin=bins.astype(str))[scored["n"] >= LOW_RANK_CAUTION_EMOTIONS]
                     .query("group in ['chosen', 'held out']").sort_values(["related", "effective_rank"]),
                     ["related", "rank_bin"])
    text = [f"# Where rho's interval is given with a caution\n\nGenerated by `python -m analyses.calibration."
            f"low_rank_caution {argv}` in {seconds / 60:.0f} min (module docstring: the designs). The caution "
            f"(`ci_caution`) is given where rho's kernel has an effective rank below {LOW_RANK_CAUTION_RANK:g} with "
            f"{LOW_RANK_CAUTION_EMOTIONS} or more emotions ('flagged'). 'related': a truth above {RELATED:g}.", "",
            "## rho's interval (truth E[rho_hat]) and rho_corrected's (truth: the noise-free rho)", "",
            *_md(summary(scored, ["group", "related", "flagged"]), ["group", "related", "flagged"]), "",
            "## rho's interval by the kernel's effective rank (chosen and held-out designs, 12 or more emotions)", "",
            *_md(binned, ["related", "rank_bin"]), ""]
    return "\n".join(text) + "\n"


def section(folder: str | Path = FOLDER) -> list[str]:
    """docs/calibration.md's section on the caution: the tables of low_rank_caution.md (run on its own; none: no
    lines)."""
    path = Path(folder) / "low_rank_caution.md"
    if not path.exists():
        return []
    body = path.read_text().split("\n## ", 1)[1]
    return ["## Where rho's interval is given with a caution", "",
            "rho's default interval is given with `ci_caution` where its kernel's effective rank is below "
            f"{LOW_RANK_CAUTION_RANK:g} with {LOW_RANK_CAUTION_EMOTIONS} or more emotions (docs/statistics.md, "
            "'Low-rank emotion spaces'; `python -m analyses.calibration.low_rank_caution`, "
            "[reports/calibration/low_rank_caution.md](../reports/calibration/low_rank_caution.md)). 'flagged': the "
            "data sets that carry it; 'chosen': the low-rank study's 128 designs, on which the rule was chosen; 'held "
            "out': 84 designs drawn afterwards; 'hypotheses': data against a hypothesis RDM of features; the stored "
            "studies by name.", "",
            "### " + body.rstrip("\n").replace("\n## ", "\n### "), ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.low_rank_caution",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--n-mc", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stored", action="store_true", help="also the stored studies (module docstring)")
    args = parser.parse_args(argv)
    started = time.time()
    sets = [design_rows(args.sets, args.n_mc, args.jobs), corrected_sets(),
            hypothesis_rows(jobs=args.jobs)]
    if args.stored:
        sets.append(stored_sets(args.jobs))
    sets = pd.concat(sets, ignore_index=True)
    with atomic_path(FOLDER / "low_rank_caution.csv") as tmp:
        per_design(sets).to_csv(tmp, index=False)
    flags = f"--sets {args.sets} --n-mc {args.n_mc}" + (" --stored" if args.stored else "")
    text = report(sets, time.time() - started, flags)
    with atomic_path(FOLDER / "low_rank_caution.md") as tmp:
        tmp.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
