"""``reports/README.md``: every analysis in plain words with its key numbers and CIs, built from the
``results.json`` each analysis wrote (nothing typed in): ``python -m analyses.summary``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from rsastats.formatting import fmt_number
from rsastats.io import atomic_path

from ._common import ANALYSES
from ._document import RESULTS_SCHEMA

__all__ = ["build_summary", "main"]

_EXTRA = {"decomposition_coverage": "Calibration of the variance decomposition (coverage of its CIs in simulation).",
          "audit_verdicts": "How often the audit's verdict rule gives each verdict on planted truths (docs/audit.md).",
          "audit_real_run": "`rsastats audit` of the study's recipe against a Jeong-like generation run (docs/audit.md).",
          "demo": "What `make demo` writes (docs/report.md).",
          "geometry_coverage": "Coverage of the geometry descriptors' intervals on planted designs (docs/geometry.md).",
          "null_interval_coverage": "The default interval and the Mantel test when two models share no geometry "
                                    "(true rho 0; docs/statistics.md, section 4).",
          "partial_coverage": "Coverage of the partial Mantel interval and the level of its permutation test on "
                              "planted designs with a confound (docs/statistics.md, section 8).",
          "calibration": "The design atlas of the intervals of rho and rho_corrected (docs/calibration.md)."}


def _source(model: str) -> str:
    from extraction.registry import REGISTRY

    spec = REGISTRY.get(model)
    if spec is None:
        return model
    return f"`{model}`: {spec.source}" + (f" (pip package {spec.package})" if spec.package else "")


def _load(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == RESULTS_SCHEMA else None


def _fmt(v: Any) -> str:
    """A key number with two decimals (results.json may hold an integral value as an int)."""
    return fmt_number(None if v is None else float(v), 2)


def _findings(done: dict[str, dict]) -> list[str]:
    """Cross-analysis findings, each from key numbers in ``results.json`` (skipped when absent)."""
    out = []
    key = {name: data.get("key_numbers", {}) for name, data in done.items()}
    cm = key.get("cross_model", {})
    for pair in cm.get("trained_pairs", []):
        rnd = cm.get("random_pairs", {})
        out.append(f"Trained models: {pair['a']} vs {pair['b']} rho {_fmt(pair['rho'])} [{_fmt(pair['ci_low'])}, "
                   f"{_fmt(pair['ci_high'])}]; random-weight pairs reach up to {_fmt(rnd.get('rho_max'))} on the same "
                   "stimuli (cross_model).")
    ce = key.get("cross_experiment", {}).get("random_pairs_by_experiment", {})
    if "implicit" in ce and "named" in ce:
        i, n = ce["implicit"], ce["named"]
        excess = i["n_unadjusted_p_below_05"] > 2 * 0.05 * i["n_pairs"] + 1
        lead = "Random weights share geometry through the stimuli" if excess else "Random weights"
        out.append(f"{lead}: on the implicit stories {i['n_unadjusted_p_below_05']} "
                   f"of {i['n_pairs']} random-random pairs have an unadjusted Mantel p < 0.05 (median rho "
                   f"{_fmt(i['rho_median'])}), against {n['n_unadjusted_p_below_05']} on the named stimuli (about "
                   f"{0.05 * i['n_pairs']:.1f} expected by chance) (cross_experiment).")
    sep = key.get("normalization", {}).get("normalizations_separating_trained_from_random")
    if sep is not None:
        out.append("Normalizations that put every trained pair's CI above every random-random rho: "
                   + ("; ".join(sep) if sep else "none") + " (normalization).")
    control = key.get("base_instruct", {}).get("same_model_fresh_stimuli", [])
    if control:
        out.append("Identical geometry read twice with fresh stimuli gives rho "
                   + ", ".join(f"{_fmt(r['rho'])} ({r['base'].split(' ')[0]})" for r in control)
                   + " at these sizes: the ceiling a base x instruct rho can reach here (base_instruct).")
    prec = key.get("precision", {}).get("rho_vs_fp32", [])
    if prec:
        worst = min(prec, key=lambda r: r["rho"])
        out.append(f"Precision: the lowest rho with fp32 is {_fmt(worst['rho'])} ({worst['model']}, {worst['precision']}); "
                   f"every other scheme stays at or above {_fmt(min((r['rho'] for r in prec if r is not worst), default=None))} "
                   "(precision).")
    cg = key.get("comprehension_generation", {}).get("rho", [])
    for r in cg:
        if r["comparison"].startswith("generation"):
            tail = (": at these sizes sampling noise alone moves the geometry" if r["ci_low"] < 0.9 else "")
            out.append(f"Generation agrees with itself (another sampling seed) at rho {_fmt(r['rho'])} "
                       f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] for {r['model']}{tail} (comprehension_generation).")
    hyp = key.get("hypotheses", {}).get("valence", [])
    for exp in ("named", "implicit"):
        rows = [r for r in hyp if r["experiment"] == exp]
        trained = [r for r in rows if r["kind"] == "trained"]
        rnd = [r["rho"] for r in rows if r["kind"] == "random"]
        if trained and rnd:
            out.append(f"Valence (VADER, {len(key['hypotheses'].get('emotions', []))} emotions, {exp}): rho with the "
                       "valence RDM " + ", ".join(f"{_fmt(r['rho'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] "
                                                  f"({r['model']})" for r in trained)
                       + f" against {_fmt(min(rnd))} to {_fmt(max(rnd))} for the random-weight models (hypotheses).")
    rc = key.get("recipes", {})
    contrasts = {c["levels"]: c for c in rc.get("method_contrasts", [])}
    parts = [f"{name} {_fmt(c['mean_rho'])} [{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}]"
             for levels, name in (("comprehension vs mean-diff", "steering-vectors (mean-diff)"),
                                  ("comprehension vs pca-diff", "repeng (pca-diff)"))
             if (c := contrasts.get(levels)) is not None]
    if parts:
        verdicts = "; ".join(f"{a['b'].split('/')[-1]}: {a['verdict']}" for a in rc.get("audits", []))
        diffs = rc.get("recipe_difference", [])
        above = sum(d["ci_low"] > 0 for d in diffs)
        paired = (f"; the paired difference (steering-vectors minus repeng) lies above 0 on {above} of {len(diffs)} "
                  "models" if diffs else "")
        out.append("The peers' contrastive recipes against the study's recipe on the same weights (mean rho over the "
                   "models): " + ", ".join(parts) + paired + (f"; audit verdicts {verdicts}" if verdicts else "")
                   + " (recipes).")
    return out


def build_summary(reports: str | Path = "reports", analyses: Sequence[str] = ANALYSES) -> Path:
    """Write ``<reports>/README.md`` from ``<reports>/<name>/results.json`` and return its path."""
    reports = Path(reports)
    results = {name: _load(reports / name) for name in analyses}
    done = {k: v for k, v in results.items() if v is not None}
    lines = ["# Reports", "",
             "Generated by `python -m analyses.summary` from the `results.json` of each analysis (every number below is "
             "read from there; rerun an analysis and this page with `python -m analyses.run_all`).", ""]
    sets = {json.dumps(v["settings"].get("model_set", {}).get("name")) for v in done.values()}
    first = next(iter(done.values()), None)
    if first is not None:
        ms = first["settings"].get("model_set", {})
        sizes = ms.get("sizes", {})
        lines += ["## Models and sizes", "",
                  ms.get("description", ""), "",
                  "| model | source |", "|---|---|"]
        for m in ms.get("models", []):
            r = m.get("random")
            source = (f"random {r['architecture']}, {r['layers']} blocks, hidden {r['hidden']}, weight seed {r['seed']}, "
                      f"{r['tokenizer']} tokenizer") if r else _source(m.get("model", ""))
            lines.append(f"| {m['name']} | {source} |")
        lines += ["", "Sizes (model set `" + str(ms.get("name")) + "`): " + ", ".join(f"{k} {v}" for k, v in sizes.items())
                  + ". Numbers are written `estimate [95% CI]`, and each table's caption names its interval. By "
                  "default the interval of rho is the Fisher-z jackknife interval over emotions (it targets the rho a "
                  "replication with the same numbers of emotions and prompts would find), and rho_corrected, the "
                  "noise-free rho, has a BCa interval over emotions; every estimate lies inside its interval "
                  "(docs/statistics.md, 'Two estimands'). p-values are Mantel permutation tests unless a table says "
                  "otherwise.", ""]
        if len(sets) > 1:
            lines += ["**Note:** these reports come from different model sets: " + ", ".join(sorted(sets)) + ".", ""]
    findings = _findings(done)
    if findings:
        lines += ["## Findings across analyses", "",
                  "Each line is assembled from the key numbers of the analyses it names (see their reports).", ""]
        lines += [f"- {x}" for x in findings] + [""]
    lines += ["## Analyses", ""]
    for i, name in enumerate(analyses, 1):
        data = results[name]
        if data is None:
            lines += [f"### {i}. {name}", "", "Not run (no `results.json`).", ""]
            continue
        lines += [f"### {i}. [{data['title']}]({name}/report.md)", "", f"*{data['question']}*", ""]
        lines += [f"- {s}" for s in data.get("summary", [])] + [""]
        specific = [x for x in data.get("limits", []) if not x.startswith(("The trained models here", "The randomly "
                                                                              "initialised models read", "Sizes are reduced"))]
        if specific:
            lines += ["Caveats: " + " ".join(specific), ""]
    generic = []
    for data in done.values():
        for x in data.get("limits", []):
            if x.startswith(("The trained models here", "The randomly initialised models read", "Sizes are reduced")) \
                    and x not in generic:
                generic.append(x)
    if generic:
        lines += ["## What the offline models can and cannot say", ""] + [f"- {x}" for x in generic] + [""]
    others = [p.name for p in sorted(reports.iterdir()) if p.is_dir() and p.name not in analyses] if reports.is_dir() else []
    if others:
        lines += ["## Other reports", ""] + [f"- [{n}]({n}/): {_EXTRA.get(n, '')}".rstrip(": ") for n in others] + [""]
    out = reports / "README.md"
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.summary", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", default="reports")
    args = parser.parse_args(argv)
    print(build_summary(args.reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
