"""Calibration of `rsastats decompose`: CI coverage of planted shares and the size of its LRTs.

    python analyses/decomposition_coverage.py [--n-sims 200] [--n-boot 200] [--seed 0] [--no-docs] [--out DIR]

Scenarios (all with 21 emotions, the study's count, and 24 files: 4 models x {two replicate
comprehension fp32 runs, an int8 run, a second experiment, generation at two temperatures}):

``cells``      planted cell-level components (``simulate_condition_rdms``), independent cells;
``dyadic``     the same with cells that share an emotion correlated (emotion_dependence 0.4);
``vectors``    a null check on real cosine RDMs: anisotropic emotion vectors (``simulate_condition_vectors``,
               shared = 3) with model and method effects and no precision or experiment effect.

For ``cells`` and ``dyadic`` the truth is known (the planted variance over the planted total; the
response is the z-score, which leaves shares unchanged); coverage is the fraction of simulations whose
interval contains it, with a Clopper-Pearson 95% interval for that fraction.  Percentile and basic
intervals come from the same replicates as BCa.  For components planted at zero the table reports how
often the interval reaches 0 and how often the LRTs reject at 5% (their size); for planted components,
how often they reject (power).  For every component and method it also counts how often the share
estimate lies inside its own interval.  Writes ``coverage.json`` and ``coverage.md`` under ``--out``
(default ``reports/decomposition_coverage``) and, unless ``--no-docs``, the tables between the coverage
markers of ``docs/decomposition.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rsastats.formatting import fmt_ci, fmt_number  # noqa: E402
from rsastats.inference.bootstrap import confidence_interval  # noqa: E402
from rsastats.simulate import simulate_condition_rdms, simulate_condition_vectors  # noqa: E402
from rsastats.variance import decompose, decompose_rdms  # noqa: E402

N_EMOTIONS = 21
COMPONENTS = ["model", "method", "precision", "experiment", "temperature", "model:method", "model:precision",
              "model:experiment"]
PLANTED = {"shared": 1.0, "model": 0.3, "method": 0.25, "precision": 0.15, "temperature": 0.1, "model:experiment": 0.15}
RESIDUAL = 0.3
VECTOR_EFFECTS = {"model": 0.6, "method": 0.4}
START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"


def study_conditions(models=("m1", "m2", "m3", "m4")):
    out = []
    for model in models:
        out += [dict(model=model, method="comprehension", precision="fp32", experiment="A") for _ in range(2)]
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp32", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=64, template="plain", seed=1))
    return out


def truth() -> dict[str, float]:
    total = sum(PLANTED.values()) + RESIDUAL
    return {**{name: PLANTED.get(name, 0.0) / total for name in ["shared", *COMPONENTS]}, "residual": RESIDUAL / total}


def one_simulation(scenario: str, sim: int, n_boot: int, seed: int) -> dict:
    conds = study_conditions()
    emotions = [f"e{i}" for i in range(N_EMOTIONS)]
    if scenario == "vectors":
        datasets = simulate_condition_vectors(conds, VECTOR_EFFECTS, N_EMOTIONS, 64, noise=0.3, shared=3.0,
                                              seed=np.random.SeedSequence([seed, sim]))
        result = decompose(datasets, components=COMPONENTS, n_boot=0)
        return {"lrt": {c.name: (c.lrt_p, c.lrt_p_adjusted, c.design_effect) for c in result.components
                        if c.estimable and c.name != "residual"}}
    dependence = 0.4 if scenario == "dyadic" else 0.0
    rdms = simulate_condition_rdms(conds, PLANTED, N_EMOTIONS, residual=RESIDUAL, emotion_dependence=dependence,
                                   seed=np.random.SeedSequence([seed, sim]))
    result = decompose_rdms(rdms, emotions, conds, components=COMPONENTS, response="zscore", n_boot=n_boot,
                            ci_method="bca", seed=np.random.SeedSequence([seed, sim, 1]))
    out = {"share": {}, "ci": {}, "lrt": {}}
    reps = result.bootstrap_shares
    for j, comp in enumerate(c for c in result.components if c.estimable):
        out["share"][comp.name] = comp.share
        out["ci"][comp.name] = {
            "bca": comp.share_ci,
            "percentile": confidence_interval(comp.share, reps[:, j], method="percentile", bounds=(0, 1)),
            "basic": confidence_interval(comp.share, reps[:, j], method="basic", bounds=(0, 1)),
        }
        if comp.name != "residual":
            out["lrt"][comp.name] = (comp.lrt_p, comp.lrt_p_adjusted, comp.design_effect)
    return out


def rate(successes: int, trials: int) -> dict:
    ci = stats.binomtest(successes, trials).proportion_ci(0.95, method="exact") if trials else None
    return {"rate": successes / trials if trials else float("nan"), "successes": successes, "trials": trials,
            "ci_low": ci.low if ci else float("nan"), "ci_high": ci.high if ci else float("nan")}


def summarise(scenario: str, sims: list[dict]) -> dict:
    true = truth()
    summary: dict = {"coverage": {}, "zero": {}, "lrt": {}, "mean_share": {}, "inside": {}, "truth": true}
    if scenario != "vectors":
        for name, value in true.items():
            shares = [s["share"][name] for s in sims if name in s["share"]]
            summary["mean_share"][name] = float(np.mean(shares))
            for method in ("percentile", "basic", "bca"):
                cis = [s["ci"][name][method] for s in sims if name in s["ci"]]
                shares = [s["share"][name] for s in sims if name in s["ci"]]
                inside = sum(lo <= share <= hi for share, (lo, hi) in zip(shares, cis))
                summary["inside"].setdefault(name, {})[method] = rate(inside, len(cis))
                if value > 0:
                    hits = sum(lo <= value <= hi for lo, hi in cis)
                    summary["coverage"].setdefault(name, {})[method] = rate(hits, len(cis))
                else:
                    reaches = sum(lo <= 1e-12 for lo, _ in cis)
                    summary["zero"].setdefault(name, {})[method] = rate(reaches, len(cis))
    for name in sims[0]["lrt"]:
        values = np.array([s["lrt"][name] for s in sims if name in s["lrt"]], dtype=float)
        summary["lrt"][name] = {"naive": rate(int(np.sum(values[:, 0] < 0.05)), len(values)),
                                "adjusted": rate(int(np.sum(values[:, 1] < 0.05)), len(values)),
                                "median_design_effect": float(np.nanmedian(values[:, 2]))}
    return summary


def fmt_rate(r: dict) -> str:
    """A hit rate with its Clopper-Pearson interval: ``0.948 [0.921, 0.968]``."""
    return f"{fmt_number(r['rate'])} {fmt_ci(r['ci_low'], r['ci_high'])}"


def markdown(results: dict, meta: dict) -> str:
    lines = [f"Simulated with `python analyses/decomposition_coverage.py --n-sims {meta['n_sims']} --n-boot "
             f"{meta['n_boot']} --seed {meta['seed']}` ({meta['seconds']:.0f} s); brackets: Clopper-Pearson 95% "
             "intervals of the rates.", ""]
    for scenario in ("cells", "dyadic"):
        s = results[scenario]
        lines += [f"**Coverage of 95% intervals for the planted shares, scenario `{scenario}`**", "",
                  "| component | true share | mean estimate | percentile | basic | BCa |", "|---|---|---|---|---|---|"]
        for name, cov in s["coverage"].items():
            lines.append(f"| {name} | {s['truth'][name]:.3f} | {s['mean_share'][name]:.3f} | "
                         f"{fmt_rate(cov['percentile'])} | {fmt_rate(cov['basic'])} | {fmt_rate(cov['bca'])} |")
        lines += ["", f"Components planted at 0 (`{scenario}`): how often the interval reaches 0", "",
                  "| component | mean estimate | percentile | basic | BCa |", "|---|---|---|---|---|"]
        for name, zero in s["zero"].items():
            lines.append(f"| {name} | {s['mean_share'][name]:.4f} | {fmt_rate(zero['percentile'])} | "
                         f"{fmt_rate(zero['basic'])} | {fmt_rate(zero['bca'])} |")
        lines += ["", f"Share estimates inside their own interval (`{scenario}`)", "",
                  "| component | percentile | basic | BCa |", "|---|---|---|---|"]
        for name, inside in s["inside"].items():
            lines.append(f"| {name} | {inside['percentile']['successes']}/{inside['percentile']['trials']} | "
                         f"{inside['basic']['successes']}/{inside['basic']['trials']} | "
                         f"{inside['bca']['successes']}/{inside['bca']['trials']} |")
        lines.append("")
    lines += ["**Likelihood-ratio tests at the 5% level** (rejection rate; size where the component is planted at 0, "
              "power otherwise)", "", "| scenario | component | planted | chi-bar-square (independent cells) | "
              "design-effect adjusted | median design effect |", "|---|---|---|---|---|---|"]
    for scenario in ("cells", "dyadic", "vectors"):
        for name, row in results[scenario]["lrt"].items():
            tag = "yes" if PLANTED.get(name, 0) > 0 else "0"
            if scenario == "vectors":
                # Vector-level model and method effects reach the RDM through the cosine, which is not
                # additive: shared and model:method are not null there, everything else is.
                tag = "yes" if set(name.split(":")) <= set(VECTOR_EFFECTS) or name == "shared" else "0"
            lines.append(f"| {scenario} | {name} | {tag} | {fmt_rate(row['naive'])} | {fmt_rate(row['adjusted'])} | "
                         f"{row['median_design_effect']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-sims", type=int, default=200)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/decomposition.md")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "decomposition_coverage")
    args = parser.parse_args(argv)
    start = time.time()
    results = {}
    for scenario in ("cells", "dyadic", "vectors"):
        sims = [one_simulation(scenario, sim, args.n_boot, args.seed) for sim in range(args.n_sims)]
        results[scenario] = summarise(scenario, sims)
        print(f"{scenario}: {args.n_sims} simulations done after {time.time() - start:.0f} s", file=sys.stderr)
    meta = {"n_sims": args.n_sims, "n_boot": args.n_boot, "seed": args.seed, "seconds": time.time() - start,
            "n_emotions": N_EMOTIONS, "planted": PLANTED, "residual": RESIDUAL, "vector_effects": VECTOR_EFFECTS}
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "coverage.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    table = markdown(results, meta)
    (out_dir / "coverage.md").write_text(table + "\n")
    if not args.no_docs:
        doc = ROOT / "docs" / "decomposition.md"
        text = doc.read_text()
        if START not in text or END not in text:
            raise SystemExit(f"{doc} has no {START} ... {END} markers")
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        doc.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    print(json.dumps({"n_sims": args.n_sims, "n_boot": args.n_boot, "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    main()
