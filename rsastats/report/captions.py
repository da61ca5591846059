"""The sentences that go with the report's tables and figures: each states n, the interval method,
the resamples and the seed of what it describes."""

from __future__ import annotations

from ..inference.corrected import MIN_CORRECTED_EMOTIONS, MIN_PROMPTS, MIN_SPLIT_HALF

__all__ = ["SHARED_NOISE_NOTE", "CORRECTED_TEXT", "SCHEME_TEXT", "layer_text", "prompts_text", "inference_caption", "main_caption",
           "layer_caption", "geometry_caption", "decomposition_caption", "maturity_caption", "hypotheses_caption",
           "differences_caption", "partial_caption"]

SHARED_NOISE_NOTE = ("The ceiling assumes the two models' prompt noise is independent: files that read the same "
                     "texts (e.g. one model at two precisions) share it, and their rho can exceed the ceiling; a ceiling "
                     "below |rho| is not shown (see docs/statistics.md).")
CORRECTED_TEXT = ("rho_corrected: the noise-free rho (unlimited prompts per emotion), cross-half disattenuation over random "
                  "half splits of the prompts (each emotion's squared norm with the same noise inflation) with a Fisher-z "
                  "jackknife-t interval over emotions (second-order corrected, plus the half splits' variance; BCa near the "
                  "bound 1, clipped to [-1, 1]; widened on the side a second estimate with noise-corrected norms "
                  "moves it and toward the ratio less its bias in sign-flip worlds of the prompts); given only with "
                  f">= {MIN_PROMPTS} prompts per emotion, >= {MIN_CORRECTED_EMOTIONS} "
                  f"emotions, split-half correlations >= {MIN_SPLIT_HALF} and where that estimate does not move it "
                  "significantly (docs/calibration.md).")
SCHEME_TEXT = {"emotions": "emotions", "prompts": "prompts within each emotion",
               "both": "emotions and prompts within each emotion"}


AS_STORED = "the one layer each file holds (as stored)"


def layer_text(an) -> str:
    """The layer selection of the main comparison in a few words ("layer 30", or grouped by layer)."""
    used = [m.layer_used for m in an.models]
    if len(set(used)) == 1:
        return AS_STORED if used[0] == "as stored" else used[0]
    groups: dict[str, list[str]] = {}
    for m in an.models:
        groups.setdefault(m.layer_used, []).append(m.name)
    lead = "the last layer of each file" if an.config.layer is None and an.config.last_k is None else "per file"
    return f"{lead} (" + "; ".join(f"{k}: {len(v)} file{'s' if len(v) > 1 else ''}" for k, v in groups.items()) + ")"


def prompts_text(models) -> str:
    counts = [(m.prompts_min, m.prompts_max) for m in models if m.prompts_min is not None]
    if not counts:
        return ""
    low = min(c[0] for c in counts)
    high = max(c[1] for c in counts)
    return f"{low} prompts per emotion" if low == high else f"{low}-{high} prompts per emotion"


def inference_caption(*, n_emotions: int, ci: str, confidence: float, scheme: str, n_boot: int, seed: int,
                      prompts: str = "", permutations: int | None = None, exact: bool = False, extra: str = "") -> str:
    """The sentence every table and figure of inference carries: n, interval, resamples, seed."""
    n = f"n = {n_emotions} emotions" + (f" ({prompts})" if prompts else "")
    from ..intervals.methods import FISHER_Z_METHODS, INTERVAL_METHODS

    if ci in FISHER_Z_METHODS:
        interval = (f"{100 * confidence:g}% CI of rho as measured: {INTERVAL_METHODS[ci].label} "
                    f"({n_emotions} leave-one-out resamples)")
    elif ci == "jackknife":
        interval = f"{100 * confidence:g}% CI: normal, jackknife over emotions ({n_emotions} leave-one-out resamples)"
    else:
        interval = f"{100 * confidence:g}% {ci} bootstrap CI over {SCHEME_TEXT.get(scheme, scheme)}, {n_boot} resamples"
    parts = [n, interval]
    if permutations is not None:
        parts.append(f"Mantel p from {'all ' if exact else ''}{permutations} label permutations")
    if extra:
        parts.append(extra)
    parts.append(f"seed {seed}")
    return "; ".join(parts) + "."


def main_caption(an) -> str:
    c, res = an.config, an.comparison
    return inference_caption(n_emotions=res.n_emotions, prompts=prompts_text(an.models), ci=res.ci_method,
                             confidence=res.confidence, scheme=res.bootstrap, n_boot=res.n_boot, seed=c.seed,
                             permutations=res.n_permutations, exact=res.permutation_exact,
                             extra=f"{res.rdm} RDMs compared by {res.rank}; {layer_text(an)}; {res.normalization} vectors")


def layer_caption(an) -> str:
    s = an.layer_settings
    return inference_caption(n_emotions=an.comparison.n_emotions, prompts=prompts_text(an.models), ci=an.config.ci,
                             confidence=an.config.confidence, scheme=s["bootstrap"], n_boot=s["n_boot"],
                             seed=an.config.seed,
                             extra=(f"rho at {s['points']} relative depths (0 = embedding output, 1 = last layer; "
                                    f"each file's nearest layer), {an.rdm_method} RDMs, {an.comparison.rank}"))


def geometry_caption(an) -> str:
    s = an.geometry_settings
    texts = an.geometry.groupby("descriptor")["n_texts"].max().to_dict() if an.geometry is not None else {}
    return (f"Baseline anisotropy: mean cosine between distinct emotion-free baseline texts "
            f"(n = {texts.get('baseline_anisotropy', 'n/a')} texts per model, resampled); emotion-vector mean cosine: "
            f"mean cosine between the {an.comparison.n_emotions} emotion vectors (1 - mean cell of the raw cosine RDM; "
            f"prompts resampled within emotions). {100 * s['confidence']:g}% {s['ci_method']} bootstrap CIs "
            f"widened for small samples (rsastats.intervals.small_sample_expansion), "
            f"{s['n_boot']} resamples; seed {s['seed']}.")


def decomposition_caption(an) -> str:
    d = an.decomposition.diagnostics
    return (f"n = {d.n_emotions} emotions ({d.n_cells} RDM cells) x {d.n_files} files; mixed model of the within-file "
            f"{'ranks' if d.response == 'rank' else 'z-scores'} of the {d.rdm or 'cosine'} RDM cells ({d.engine} {d.method}); {100 * d.confidence:g}% {d.ci_method} bootstrap "
            f"CIs over emotions, {d.n_boot} resamples ({d.n_boot_nonconverged} not converged, {d.n_boot_failed} failed); "
            f"likelihood-ratio p adjusted for cells that share an emotion; seed {d.seed}.")


def maturity_caption(an) -> str:
    """The rule's full text, then n, the interval methods, the resamples and the seed."""
    first = an.maturity[0]
    rule = first.rule
    classified = {str(r.source) for r in an.maturity}
    prompts = prompts_text([m for m in an.models if str(m.path) in classified])
    return (f"The rule, fixed before any base x instruct result (docs/maturity.md; fingerprint {rule.fingerprint()}): "
            f"{rule.statement()} n = {an.comparison.n_emotions} emotions, {prompts}. Intervals: anisotropy, "
            f"{100 * rule.confidence:g}% {rule.ci_method} bootstrap over the baseline texts widened for small samples, "
            f"{first.n_boot} resamples; "
            f"reliability, {rule.reliability_interval}, {rule.n_splits} random half splits; seed {first.seed}.")


def _hypothesis_list(items) -> str:
    return "; ".join(f"{h['name']}: {h['made_by']}" + (f" ({', '.join(h['features'])})" if h.get("features") else "")
                     for h in items)


def hypotheses_caption(an) -> str:
    """Estimand, interval, test and bound of the data x hypothesis table."""
    h = an.hypotheses
    lead = (f"rho as measured between each file's RDM and each hypothesis RDM (the value a replication with the same "
            f"number of prompts would find; a hypothesis has no prompt noise); hypotheses: {_hypothesis_list(h.hypotheses)}. "
            f"Noise ceiling: sqrt(r_D), the square root of the file's split-half reliability (Spearman-Brown), the most a "
            f"noise-free hypothesis could reach; withheld when the split-half correlation is below 0.3 or the bound is "
            f"below an observed |rho|. ")
    if h.left_out:
        lead += (f"On the {h.n_emotions} emotions every hypothesis has (common emotions); left out: "
                 f"{', '.join(h.left_out)}. ")
    return lead + inference_caption(n_emotions=h.n_emotions, prompts=prompts_text(an.models), ci=h.ci_method,
                                    confidence=h.confidence, scheme=h.bootstrap, n_boot=h.n_boot, seed=an.config.seed,
                                    permutations=h.n_permutations, exact=h.permutation_exact,
                                    extra=(f"{h.alternative}; p adjusted across all file-hypothesis pairs by "
                                           f"{'Holm' if h.adjust == 'holm' else 'Benjamini-Hochberg'}; {h.rdm} RDMs "
                                           f"compared by {h.rank}; {layer_text(an)}"))


def differences_caption(an) -> str:
    """Which hypothesis fits better: the paired difference and its interval."""
    h = an.hypotheses
    if h.difference_ci_method.startswith("jackknife"):
        interval = (f"{100 * h.confidence:g}% normal interval of the difference with the leave-one-emotion-out "
                    f"jackknife standard error ({h.n_emotions} resamples)")
    else:
        interval = (f"{100 * h.confidence:g}% {h.difference_ci_method} bootstrap interval of the difference over "
                    f"{SCHEME_TEXT.get(h.bootstrap, h.bootstrap)}, {h.n_boot} resamples")
    return (f"rho_a - rho_b: the difference of two hypotheses' rho with the same file, paired (both computed on every "
            f"resample); {interval}; p of no difference from the same interval (unadjusted); "
            f"n = {h.n_emotions} emotions; seed {an.config.seed}.")


def partial_caption(an, confounds, p_adjusted: bool) -> str:
    """The partial Mantel test: statistic, confounds, interval over emotions, permutations."""
    c = an.config
    res = an.comparison
    adjusted = (f"; p adjusted across pairs by {'Holm' if c.adjust == 'holm' else 'Benjamini-Hochberg'}"
                if p_adjusted else "")
    return (f"partial rho: the partial {c.rank} correlation of the two RDMs' cells given the confound RDMs "
            f"{', '.join(confounds)} (the statistic of vegan's mantel.partial; rho is the plain correlation), as measured. "
            + inference_caption(n_emotions=res.n_emotions, ci=c.ci, confidence=c.confidence, scheme="emotions",
                                n_boot=c.n_boot, seed=c.seed, permutations=res.n_permutations,
                                exact=res.permutation_exact,
                                extra=f"labels of the first RDM permuted, the second and the confounds fixed, two-sided"
                                      f"{adjusted}").replace("CI of rho as measured", "CI of partial rho"))
