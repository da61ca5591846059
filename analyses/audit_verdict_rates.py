"""How often `rsastats audit` returns each verdict when the truth is planted.

    python analyses/audit_verdict_rates.py [--n-sims 100] [--n-boot 500] [--seed 0] [--no-docs]

Each simulated audit (``rsastats.simulate.simulate_audit_case``) has two audited models that share
one geometry (or differ by a planted ``difference``), read by recipe A as they are and by recipe B
with a method perturbation of size ``method_effect`` (0.8: noise-free rho about 0.8, the size of the
study's method effects), and a reference model with its own geometry, read by both recipes, whose
sensitivity to the method is ``reference_sensitivity`` times the audited models' (1: the transfer
assumption holds).  Activations with prompts, 21 emotions
unless the scenario says otherwise, through the audit's default interval.  Writes ``reports/audit_verdicts/rates.json`` and, unless
``--no-docs``, the table between the markers of ``docs/audit.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rsastats.audit import COMPATIBLE, DIFFERENT, INCONCLUSIVE, audit  # noqa: E402
from rsastats.simulate import simulate_audit_case  # noqa: E402

START, END = "<!-- verdict-rates:start -->", "<!-- verdict-rates:end -->"
# name: (what it plants, keyword arguments of simulate_audit_case)
SCENARIOS = {
    "identical": ("same geometry, method effect transfers", dict()),
    "identical, noisy": ("same geometry, prompt noise 1.5", dict(noise=1.5)),
    "identical, reference less sensitive": ("same geometry, reference half as sensitive to the method",
                                            dict(reference_sensitivity=0.5)),
    "identical, reference more sensitive": ("same geometry, reference twice as sensitive", dict(reference_sensitivity=2.0)),
    "identical, 10 emotions": ("same geometry, 10 emotions", dict(n_emotions=10)),
    # the audit refuses fewer than 8 emotions (a one-line error): the thinnest design it accepts
    "identical, 8 emotions": ("same geometry, 8 emotions, 3 prompts, noise 1", dict(n_emotions=8, n_prompts=3, noise=1.0)),
    "different 1": ("planted geometric difference 1.0", dict(difference=1.0)),
    "different 2": ("planted geometric difference 2.0", dict(difference=2.0)),
    "different 3": ("planted geometric difference 3.0", dict(difference=3.0)),
    "different 2, 10 emotions": ("planted difference 2.0, 10 emotions", dict(difference=2.0, n_emotions=10)),
}
BASE = dict(method_effect=0.8, n_prompts=10, noise=0.5, hidden=32)


def verdict_rates(kwargs: dict, *, n_sims: int, n_boot: int, seed: int) -> dict:
    """Run ``n_sims`` audits of ``simulate_audit_case(**BASE, **kwargs)``; simulation i uses seed
    entropy ``(seed, i, 0)`` for the data and ``(seed, i, 1)`` for the resampling, so each row is
    reproducible on its own."""
    counts = {COMPATIBLE: 0, DIFFERENT: 0, INCONCLUSIVE: 0}
    intervals_say_different = 0  # what the intervals alone say, before the minimum-emotions and completeness checks
    truth_obs, truth_ref = [], []
    for i in range(n_sims):
        files, truth = simulate_audit_case(**{**BASE, **kwargs}, seed=np.random.SeedSequence([seed, i, 0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = audit(files[0], files[1], reference_files=files[2:], n_boot=n_boot,
                           seed=np.random.SeedSequence([seed, i, 1]))
        counts[result.verdict.verdict] += 1
        o_high, r_low = result.observed.ci_high, result.reference.ci_low
        intervals_say_different += bool(o_high < r_low)
        truth_obs.append(truth["rho_observed"])
        truth_ref.append(truth["rho_reference"])
    rates = {k: v / n_sims for k, v in counts.items()}
    ci = {k: tuple(stats.binomtest(v, n_sims).proportion_ci(method="exact")) for k, v in counts.items()}
    return {"n_sims": n_sims, "counts": counts, "rates": rates, "ci": ci,
            "intervals_below_range": intervals_say_different / n_sims,
            "mean_noise_free_rho_observed": float(np.mean(truth_obs)),
            "mean_noise_free_rho_reference": float(np.mean(truth_ref))}


def _table(results: dict) -> str:
    lines = ["| scenario | noise-free rho A-B / reference | compatible | different | inconclusive | O below R |",
             "|---|---|---|---|---|---|"]
    for name, row in results.items():
        cells = []
        for verdict in (COMPATIBLE, DIFFERENT, INCONCLUSIVE):
            low, high = row["ci"][verdict]
            cells.append(f"{row['rates'][verdict]:.0%} [{low:.0%}, {high:.0%}]")
        lines.append(f"| {SCENARIOS[name][0]} | {row['mean_noise_free_rho_observed']:.2f} / "
                     f"{row['mean_noise_free_rho_reference']:.2f} | " + " | ".join(cells) +
                     f" | {row['intervals_below_range']:.0%} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=100)
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    started = time.time()
    results = {}
    for name, (_, kwargs) in SCENARIOS.items():
        results[name] = verdict_rates(kwargs, n_sims=args.n_sims, n_boot=args.n_boot, seed=args.seed)
        print(f"{name}: {results[name]['counts']}", file=sys.stderr, flush=True)
    out = ROOT / "reports" / "audit_verdicts"
    out.mkdir(parents=True, exist_ok=True)
    header = (f"{args.n_sims} simulated audits per row, {args.n_boot} resamples, seed {args.seed}; "
              f"{BASE['n_prompts']} prompts per emotion, prompt noise {BASE['noise']} unless stated, "
              f"method effect {BASE['method_effect']}, 21 emotions unless stated. Rates with exact 95% binomial intervals; "
              "the last column is how often the observed CI lay wholly below the reference range, before the "
              "minimum-emotions rule.")
    table = header + "\n\n" + _table(results)
    (out / "rates.json").write_text(json.dumps({"settings": {**vars(args), **BASE}, "scenarios": results,
                                                 "seconds": time.time() - started}, indent=2) + "\n")
    (out / "rates.md").write_text(table + "\n")
    if not args.no_docs:
        doc = ROOT / "docs" / "audit.md"
        text = doc.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    print(json.dumps({name: row["counts"] for name, row in results.items()}))


if __name__ == "__main__":
    main()
