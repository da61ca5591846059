"""rho's interval at the bound: the Fisher-z scale against the raw scale on the stored data sets (issue 14).

Where a leave-one-out rho (or rho itself) is +-1, its Fisher-z value is infinite; the Fisher-z interval with the
stand-in ``atanh(1 - 1e-12)`` spans about [-1, 1], so from :data:`rsastats.intervals.jackknife.RAW_AT_BOUND_FROM`
emotions on the interval takes the raw scale (docs/statistics.md, 'At the bound').  This script shows why not below:
for every data set of the stored designs it regenerates the data set from the study's seeds, recomputes rho's
default interval (the same leave-one-out values and second-order correction as ``compare_models``) on the Fisher-z
scale and on the raw scale wherever a value is at the bound, checks the Fisher-z one against the stored interval
(1e-9), and reports per design the share of data sets at the bound and the coverage of the truth (rho as measured)
by each.  It also gives the shipped interval (``shipped_*``: the raw scale from 8 emotions, and where no leave-one-out
value moves rho -- ``no_spread``, where the stored interval had width 0 -- the prompts' stratified jackknife or no
interval; docs/statistics.md, 'No spread').

Run:  python -m analyses.calibration.at_bound [--designs NAME ...] [--sets 400] [--jobs 2]   (about 20 s per design
on 2 cores).  Designs: the few-emotions study's (reports/calibration/few) and the atlas's with 8 emotions
(reports/calibration/atlas and atlas_2028, the replication with seed 2028).  Writes reports/calibration/at_bound.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.degeneracy import second_order_variance
from rsastats.inference.engine import ResamplingEngine, all_pairs
from rsastats.inference.prompt_jackknife import prompt_strata
from rsastats.intervals import jackknife as jk
from rsastats.io import atomic_path
from rsastats.rng import spawn_sequences

from .studies import binomial_ci

__all__ = ["FOLDERS", "scale", "interval", "design_rows", "run", "main"]

OUT = Path("reports/calibration/at_bound.csv")
FOLDERS = ("reports/calibration/few", "reports/calibration/atlas", "reports/calibration/atlas_2028")


@contextlib.contextmanager
def scale(kind: str):
    """``"fisher-z"``: never the raw scale; ``"raw"``: the raw scale wherever a value is at the bound, at any number of
    emotions (:data:`~rsastats.intervals.jackknife.RAW_AT_BOUND_FROM` set in this process)."""
    kept = jk.RAW_AT_BOUND_FROM
    jk.RAW_AT_BOUND_FROM = {"fisher-z": 1 << 30, "raw": 0}[kind]
    try:
        yield
    finally:
        jk.RAW_AT_BOUND_FROM = kept


def interval(a, b) -> dict:
    """rho of two model inputs, its default interval on each scale, and whether a value is at the bound."""
    engine = ResamplingEngine([a, b], rank="spearman", scheme="emotions", rdm_method="cosine", workers=1)
    pairs = all_pairs(2)
    rho = float(engine.point(pairs)[0])
    strata = engine.jackknife(pairs)
    loo = strata[0][:, 0]
    excess = second_order_variance(engine.fixed[0], engine.fixed[1], np.array([rho]), "spearman")[0]
    out = {"rho": rho, "at_bound": jk.at_bound(rho, loo), "no_spread": jk.no_spread(loo)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind in ("fisher-z", "raw"):
            with scale(kind):
                low, high, _ = jk.jackknife_interval(rho, loo, second_order=excess)
            out[f"{kind}_low"], out[f"{kind}_high"] = low, high
        # the shipped interval: the raw scale from RAW_AT_BOUND_FROM emotions, the prompts where there is no spread,
        # and (since 2026-12-06, after reports/calibration/at_bound.csv was written) the Fisher-z ends mapped to the
        # mean on the correlation scale; the fisher-z and raw columns above are without that map, as stored
        prompts = prompt_strata([a, b], pairs, strata, ci="jackknife-t", rank="spearman", rdm_method="cosine")[0]
        shipped = jk.jackknife_interval(rho, loo, second_order=excess, prompts=prompts, mean_scale=True)
        out["shipped_low"], out["shipped_high"] = shipped[0], shipped[1]
    return out


def _inputs(meta: dict, indices: list[int]) -> list:
    """The two model inputs of the study's data sets ``indices``, regenerated from its seeds."""
    if meta.get("model", "atlas") == "second":
        from .few import second_designs
        from .independent import Model, _inputs as second_inputs

        d = next(x for x in second_designs() if x.name == meta["design"]["name"])
        seed = np.random.SeedSequence([meta["seed"], d.seed, d.n_emotions, d.n_prompts])
        seqs = spawn_sequences(seed, meta["n_sets"])
        model = Model(d)
        return [second_inputs(*model.draw(np.random.default_rng(seqs[i]))[1:]) for i in indices]
    from ..atlas.designs import ATLAS
    from ..atlas.model import Population
    from ..atlas.shipped import model_inputs
    from .few import FEW

    name = meta["design"]["name"]
    d = replace(next(x for x in FEW + ATLAS if x.name == name), sigma=meta["truth"]["sigma"])
    pop = Population.of(d)
    seqs = spawn_sequences(np.random.SeedSequence([meta.get("seed", 2026), d.seed]), meta["n_sets"])
    return [model_inputs(pop.draw(np.random.default_rng(seqs[i])), d) for i in indices]


def _chunk(args: tuple) -> list[dict]:
    meta, indices = args
    return [{"i": i, **interval(a, b)} for i, (a, b) in zip(indices, _inputs(meta, indices))]


def design_rows(path: Path, n_sets: int, jobs: int = 2) -> pd.DataFrame:
    """Per data set of one stored design: rho, both intervals, at the bound; the Fisher-z one checked against the
    stored interval."""
    meta = json.loads(path.read_text())
    stored = pd.read_csv(path.with_suffix(".csv"))
    count = min(n_sets, len(stored))
    chunks = [(meta, list(range(k, count, jobs))) for k in range(jobs)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_chunk, chunks))
    else:
        parts = [_chunk(c) for c in chunks]
    got = pd.DataFrame([r for part in parts for r in part]).sort_values("i").reset_index(drop=True)
    kept = stored.iloc[:count]
    # where no leave-one-out value moved rho the stored interval had width 0 (before 2026-12-06's 'No spread'), or,
    # where those data sets were rerun (the few-emotions study, commit bdeabb6), the shipped 'No spread' interval
    flat = got["no_spread"].to_numpy(bool)
    width_0 = np.isclose(kept["ci_low"][flat], got["rho"][flat], rtol=0, atol=1e-9) & np.isclose(
        kept["ci_high"][flat], got["rho"][flat], rtol=0, atol=1e-9)
    rerun = np.isclose(kept["ci_low"][flat], got["shipped_low"][flat], rtol=0, atol=1e-9, equal_nan=True) & np.isclose(
        kept["ci_high"][flat], got["shipped_high"][flat], rtol=0, atol=1e-9, equal_nan=True)
    if not (np.allclose(kept["ci_low"][~flat], got["fisher-z_low"][~flat], rtol=0, atol=1e-9, equal_nan=True)
            and np.allclose(kept["ci_high"][~flat], got["fisher-z_high"][~flat], rtol=0, atol=1e-9, equal_nan=True)
            and np.all(width_0 | rerun)):
        raise RuntimeError(f"{path}: the recomputed Fisher-z interval differs from the stored one")
    return got


def _row(path: Path, got: pd.DataFrame, truth: float) -> dict:
    n_emotions = json.loads(path.read_text())["design"]["n_emotions"]
    row = {"study": path.parent.name, "design": path.stem, "n_emotions": n_emotions, "sets": len(got), "truth": truth,
           "at_bound": float(got["at_bound"].mean())}
    bound = got["at_bound"].to_numpy(bool)
    flat = got["no_spread"].to_numpy(bool)
    shown = np.isfinite(got["shipped_low"]).to_numpy()
    row |= {"no_spread": float(flat.mean()), "shipped_shown": float(shown.mean())}
    for kind in ("fisher-z", "raw", "shipped"):
        # an interval of width 0 (before) or none (shipped, where nothing moves rho) counts as a miss
        hit = ((got[f"{kind}_low"] <= truth) & (truth <= got[f"{kind}_high"])).to_numpy()
        low, high = binomial_ci(int(hit.sum()), len(hit))
        row |= {f"{kind}_coverage": float(hit.mean()), f"{kind}_cp_low": low, f"{kind}_cp_high": high,
                f"{kind}_coverage_at_bound": float(hit[bound].mean()) if bound.any() else np.nan,
                f"{kind}_coverage_no_spread": float(hit[flat].mean()) if flat.any() else np.nan}
    row["shipped_coverage_of_shown"] = float(hit[shown].mean()) if shown.any() else np.nan
    return row


def run(paths: list[Path], n_sets: int = 400, jobs: int = 2) -> pd.DataFrame:
    rows = []
    for path in paths:
        truth = json.loads(path.read_text())["truth"]["measured"]
        row = _row(path, design_rows(path, n_sets, jobs), truth)
        rows.append(row)
        print(f"{row['study']} {row['design']}: at the bound {100 * row['at_bound']:.1f}%; coverage Fisher-z "
              f"{100 * row['fisher-z_coverage']:.1f}%, with the raw scale at the bound "
              f"{100 * row['raw_coverage']:.1f}%; no spread {100 * row['no_spread']:.1f}%, shipped (prompts there) "
              f"{100 * row['shipped_coverage']:.1f}% ({100 * row['shipped_coverage_of_shown']:.1f}% of the "
              f"{100 * row['shipped_shown']:.1f}% shown)", flush=True)
    return pd.DataFrame(rows)


def _paths(designs: list[str] | None) -> list[Path]:
    found = [p for folder in FOLDERS for p in sorted(Path(folder).glob("*.json"))
             if json.loads(p.read_text())["design"]["n_emotions"] in range(5, 9)
             and not json.loads(p.read_text())["design"].get("vectors_only")]
    return [p for p in found if designs is None or p.stem in designs]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="*", default=None,
                        help="design names (default: every one with 5-8 emotions)")
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    table = run(_paths(args.designs), args.sets, args.jobs)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return table


if __name__ == "__main__":
    main()
