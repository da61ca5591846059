"""Question 2: stability of the emotion geometry between a base model and its instruct version.

The study reports base x instruct rho >= 0.92 for every family (Mistral 0.985), as point estimates.
Each pair of the model set's ``base_instruct`` list gets rho with a bootstrap CI, a Mantel p, its
noise ceiling, and the change of the geometry descriptors (anisotropy, spread) with paired CIs.

Run:  python -m analyses.base_instruct --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsastats.geometry import compare_geometry, geometry
from rsastats.inference.pairs import compare_models
from rsastats.report.captions import SCHEME_TEXT

from ._cache import COMPREHENSION
from ._common import Context, collect_warnings, command, offline_limits, role_of, sizes_text
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "base_instruct"
TITLE = "Base x instruct stability"
QUESTION = ("Is the emotion geometry of a base model preserved in its instruct version (the study: rho >= 0.92 for "
            "every family, Mistral 0.985, no CIs)? How wide are the CIs, and how does rho compare with the pair's "
            "noise ceiling?")
STUDY_FLOOR = 0.92
DESCRIPTOR_ROWS = ("baseline_anisotropy", "emotion_mean_cosine", "emotion_rdm_spread", "emotion_participation_ratio")


def needs(ms):
    out = [(m, COMPREHENSION) for pair in ms.base_instruct for m in pair]
    for m in ms.trained:  # positive control: the same model with a fresh draw of stimuli
        out += [(m.name, COMPREHENSION), (m.name, "named-rep")]
    return list(dict.fromkeys(out))


def _changes(ms, base, instruct, fb, fi, n_boot, seed, notes):
    """Descriptor changes instruct - base with paired CIs (compare_geometry), or, for a pair that is not
    a base and an instruct model (a control), each model's descriptors with their own CIs."""
    if ms.entry(base).variant in ("", "base") and ms.entry(instruct).variant == "instruct":
        geo = compare_geometry(fb, fi, n_boot=n_boot, seed=seed)
        return [{"base_model": base, "instruct_model": instruct, **ch.to_dict(), "ci_method": geo.ci_method}
                for ch in geo.changes if ch.descriptor in DESCRIPTOR_ROWS]
    notes.append(f"{base} x {instruct} is not a base and an instruct model (variants "
                 f"{ms.entry(base).variant or '?'} / {ms.entry(instruct).variant or '?'}): descriptor changes are the "
                 "difference of two separate estimates; the CI column is empty (no paired bootstrap).")
    ga = geometry(fb, layers="last", n_boot=n_boot, seed=seed).layers[0]
    gb = geometry(fi, layers="last", n_boot=n_boot, seed=seed).layers[0]
    out = []
    for name in DESCRIPTOR_ROWS:
        a, b = ga[name], gb[name]
        out.append({"base_model": base, "instruct_model": instruct, "descriptor": name, "base": a.estimate,
                    "instruct": b.estimate, "change": b.estimate - a.estimate, "ci_low": float("nan"),
                    "ci_high": float("nan"), "n_boot": n_boot, "status": "unpaired", "ci_method": "",
                    "note": f"separate CIs: base {_own_ci(a)}; instruct {_own_ci(b)}"})
    return out


def _own_ci(d) -> str:
    """One model's CI of a descriptor in words, or why it has none (geometry withholds some, with a note)."""
    if np.isfinite(d.ci_low) and np.isfinite(d.ci_high):
        return f"[{d.ci_low:.3f}, {d.ci_high:.3f}]"
    why = d.note.removeprefix("no CI: ").split(" (docs/")[0].split(", too much")[0]
    return f"none ({why or d.status})"


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    doc.text(f"Each base and instruct model reads the named stimuli (recipe `named`). {sizes_text(ms)} rho compares the "
             "two cosine RDMs at each model's last layer; its CI leaves out one emotion at a time, with its "
             "prompts; when the two files hold the same prompts (they do here) the descriptor changes are paired.")
    if not ms.base_instruct:
        doc.text("This model set lists no base x instruct pairs.")
        doc.summary.append("No base x instruct pairs in this model set.")
        return
    rows, changes, notes = [], [], []
    for base, instruct in ms.base_instruct:
        fb, fi = ctx.file(base, COMPREHENSION), ctx.file(instruct, COMPREHENSION)
        with collect_warnings(notes):
            res = compare_models(fb, fi, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits, seed=ctx.seed)
            geo = _changes(ms, base, instruct, fb, fi, s.geometry_n_boot, ctx.seed, notes)
        rows.append({"base": base, "instruct": instruct, "pair_kind": role_of(ms, base, instruct), "rho": res.rho,
                     "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": res.p_value,
                     "rho_corrected": res.rho_corrected, "corrected_ci_low": res.corrected_ci_low,
                     "corrected_ci_high": res.corrected_ci_high, "corrected_ci_method": res.corrected_ci_method or "",
                     "noise_ceiling": res.noise_ceiling, "ci_excludes_study_floor": bool(res.ci_high < STUDY_FLOOR)})
        changes += geo
        ci_method, conf, scheme = res.ci_method, res.confidence, res.bootstrap
    for entry in ms.trained:
        fa, fb = ctx.file(entry.name, COMPREHENSION), ctx.file(entry.name, "named-rep")
        with collect_warnings(notes):
            res = compare_models(fa, fb, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits, seed=ctx.seed)
        rows.append({"base": f"{entry.name} (named)", "instruct": f"{entry.name} (named-rep)",
                     "pair_kind": "same model, fresh stimuli", "rho": res.rho, "ci_low": res.ci_low,
                     "ci_high": res.ci_high, "p_value": res.p_value, "rho_corrected": res.rho_corrected,
                     "corrected_ci_low": res.corrected_ci_low, "corrected_ci_high": res.corrected_ci_high,
                     "corrected_ci_method": res.corrected_ci_method or "", "noise_ceiling": res.noise_ceiling,
                     "ci_excludes_study_floor": bool(res.ci_high < STUDY_FLOOR)})
    frame = pd.DataFrame(rows)
    frame["ci_excludes_study_floor"] = frame["ci_excludes_study_floor"].map({True: "yes", False: "no"})
    caption = (f"n = 21 emotions ({s.prompts} prompts per emotion); {100 * conf:g}% CI of rho as measured: {ci_method} over "
               f"{SCHEME_TEXT.get(scheme, scheme)}; rho_corrected: noise-free (cross-half disattenuation over {s.n_splits} "
               f"half splits; its interval the Fisher-z jackknife-t over emotions, or BCa over {s.n_boot} emotion "
               "resamples near the bound 1 or with fewer than 20 emotions, as the column 'corrected CI' says; empty "
               "where not given); Mantel p from "
               f"{s.permutations} permutations; seed {ctx.seed}. 'below 0.92': the whole CI of rho lies below the study's floor. Rows "
               "'same model, fresh stimuli' are a positive control: one model read twice with different stimuli of the "
               "same set (identical geometry, new prompt noise): the rho that identical geometry reaches at these sizes.")
    doc.heading("rho between base and instruct")
    doc.table("pairs", "Base x instruct rho", caption, frame,
              columns={"base": "base", "instruct": "instruct", "pair_kind": "pair", "rho": "rho", "ci_low": "",
                       "ci_high": "", "p_value": "Mantel p", "rho_corrected": "rho_corrected", "corrected_ci_low": "",
                       "corrected_ci_high": "", "corrected_ci_method": "corrected CI", "noise_ceiling": "noise ceiling",
                       "ci_excludes_study_floor": "below 0.92"},
              cis=[("ci_low", "ci_high", f"{100 * conf:g}% CI"),
                   ("corrected_ci_low", "corrected_ci_high", f"{100 * conf:g}% CI (noise-free)")],
              kinds={"ci_excludes_study_floor": "text", "corrected_ci_method": "text"})
    ch = pd.DataFrame(changes)
    doc.heading("How the geometry descriptors change")
    paired = sorted({m for m in ch.get("ci_method", pd.Series(dtype=str)) if m})
    doc.table("descriptor_changes", "Instruct minus base, per descriptor",
              f"Last layer; {100 * conf:g}% "
              + (f"{'/'.join(paired)} bootstrap CI of the paired difference" if paired else
                 "CI of the paired difference where the pair is a base and an instruct model (none here: see the note)")
              + f", {s.geometry_n_boot} resamples (baseline texts for baseline descriptors, prompts within emotions "
              f"otherwise); seed {ctx.seed}.",
              ch, columns={"base_model": "base model", "instruct_model": "instruct model", "descriptor": "descriptor",
                           "base": "base", "instruct": "instruct", "change": "change", "ci_low": "", "ci_high": "",
                           "note": "note"},
              cis=[("ci_low", "ci_high", "CI")])
    doc.bullets(notes)
    doc.key("pairs", frame[["base", "instruct", "pair_kind", "rho", "ci_low", "ci_high", "p_value",
                            "noise_ceiling"]].to_dict(orient="records"))
    for r in frame.itertuples():
        kind = {"trained-trained": "", "same model, fresh stimuli": " (positive control: same model, fresh stimuli)"}.get(
            r.pair_kind, f" ({r.pair_kind.replace('-', ' x ')} control)")
        doc.summary.append(f"{r.base} x {r.instruct}{kind}: rho = {ci_text(r.rho, r.ci_low, r.ci_high)}, Mantel p = "
                           f"{fmt_p(r.p_value)}"
                           + (f", noise ceiling {r.noise_ceiling:.2f}" if pd.notna(r.noise_ceiling) else "") + ".")
    control = frame[frame["pair_kind"] == "same model, fresh stimuli"]
    if len(control):
        doc.key("same_model_fresh_stimuli", control[["base", "rho", "ci_low", "ci_high"]].to_dict(orient="records"))
    trained = frame[frame["pair_kind"] == "trained-trained"]
    if len(trained):
        below = int((trained["ci_low"] < STUDY_FLOOR).sum())
        doc.key("trained_pairs_ci_reaching_below_floor", below)
        doc.summary.append(f"{below} of {len(trained)} base x instruct pairs have a CI that reaches below the "
                           f"study's floor of {STUDY_FLOOR}.")
    else:
        doc.limits.append("No trained base x instruct pair is in this model set (none ships offline): the pair here is two "
                          "random initialisations of one architecture with the same tokenizer. It shows the rho of a "
                          "'stability' comparison when nothing is shared but the stimuli, tokenizer and architecture: "
                          "the floor that the study's >= 0.92 should be compared with.")
    doc.limits.extend(offline_limits(ms))


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
