"""``rsastats compare A B``: rho between two geometries with CI, permutation p, n and noise ceilings."""

from __future__ import annotations

import click

from ...formatting import fmt_ci, fmt_estimate, fmt_number, fmt_with_ci, fmt_p, is_missing
from ...intervals.methods import interval_text
from ..options import json_option, quiet_option, scheduler_option, seed_option
from ..output import emit_json, stdout_console
from ..progress import progress_bar
from ._inference_options import geometry_options, inference_options


def _corrected_method_text(res) -> str:
    """How rho_corrected's interval was formed, for the table."""
    if res.corrected_ci_method == "bca":
        return f"BCa over emotions ({res.n_boot} resamples; near the bound 1, or fewer than 20 emotions)"
    return "Fisher-z jackknife-t over emotions (second-order corrected, plus the half splits' variance)"


@click.command()
@click.argument("a", type=click.Path(dir_okay=False, path_type=str))
@click.argument("b", type=click.Path(dir_okay=False, path_type=str))
@geometry_options
@inference_options
@click.option("--partial", "confounds", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A confound RDM file or feature CSV to partial out: adds the partial Mantel test of A and B given "
                   "the confounds (vegan's mantel.partial; --rank spearman or pearson). Repeat for several.")
@seed_option
@scheduler_option
@quiet_option
@json_option
def compare(a: str, b: str, layer, last_k, normalization, n_pcs, rdm_method, rank, scheme, ci, n_boot, permutations,
            alternative, confidence, n_splits, no_ceiling, confounds, seed, scheduler, quiet, as_json) -> None:
    """Compare the emotion geometry of two files (activations, vectors or RDM).

    Reports two estimands, each with its interval: rho as measured (the rank correlation of the two
    RDMs, emotions aligned by label; its CI targets what a replication with the same number of
    prompts would find) and, when both files hold activations with enough prompts, rho_corrected
    (noise-free: with unlimited prompts per emotion); the Mantel permutation p-value (emotion labels
    permuted; the p of a correlation over RDM cells is not valid and is never reported), the number of
    emotions, and the split-half noise ceiling. A number that cannot be estimated is replaced by a
    sentence saying why.

    \b
    Example:
      rsastats compare qwen.nc llama.nc
      rsastats compare qwen.nc llama.nc --last-k 4 --normalization emotion-mean --json
      rsastats compare paper_vectors.nc llama.nc --ci bca
      rsastats compare qwen.nc llama.nc --partial token_count_rdm.nc --partial bag_of_words_rdm.nc
    """
    from ...inference.pairs import compare_models

    partial = None
    if confounds:
        from ...inference.partial import partial_mantel, partial_rank_name
        from ...measures import rank_method_name

        partial_rank_name(rank_method_name(rank))  # refuse a measure without a partial correlation before any work

    with progress_bar("bootstrap", n_boot) as advance:
        res = compare_models(a, b, bootstrap=scheme, n_boot=n_boot, ci=ci, confidence=confidence, permutations=permutations,
                             alternative=alternative, rank=rank, rdm=rdm_method, layer=layer, last_k=last_k,
                             normalization=normalization, n_pcs=n_pcs, n_splits=n_splits, ceiling=not no_ceiling,
                             seed=seed, progress=advance, scheduler=scheduler)
    if confounds:
        partial = partial_mantel(a, b, list(confounds), rank=rank, permutations=permutations, alternative=alternative,
                                 n_boot=n_boot, ci=ci, confidence=confidence, rdm=rdm_method, layer=layer,
                                 last_k=last_k, normalization=normalization, n_pcs=n_pcs, seed=seed)
    if as_json:
        emit_json({**res.to_dict(), **({"partial": partial.to_dict()} if partial is not None else {})})
        return
    from rich.table import Table

    title = (f"{res.a}  vs  {res.b}: {res.n_emotions} emotions, {res.rdm} RDM, {res.rank}, {res.layer}, "
             f"{res.normalization} vectors")
    table = Table(show_header=False)  # the title is its own line: a table title would wrap at the table's width
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("rho (as measured)", _rho_text(res))
    if res.rho_corrected is not None:
        corrected = fmt_with_ci(res.rho_corrected, res.corrected_ci_low, res.corrected_ci_high)
        table.add_row("rho_corrected (noise-free)", f"{corrected} "
                      f"{res.confidence:.0%} CI, "
                      "cross-half disattenuation over "
                      f"{res.n_splits} noise-equalized half splits, {_corrected_method_text(res)}"
                      + (f"; {res.corrected_note}" if res.corrected_note else ""))
    else:
        table.add_row("rho_corrected (noise-free)", res.corrected_note)
    permutations = f"all {res.n_permutations} (exact)" if res.permutation_exact else str(res.n_permutations)
    table.add_row("Mantel p", f"{fmt_p(res.p_value)}  {res.alternative}, {permutations} label permutations")
    table.add_row("n", f"{res.n_emotions} emotions, {res.n_emotions * (res.n_emotions - 1) // 2} RDM cells")
    if res.noise_ceiling is not None:
        table.add_row("noise ceiling", f"{fmt_number(res.noise_ceiling)}  sqrt(reliability A "
                      f"{fmt_number(res.reliability_a)} x B {fmt_number(res.reliability_b)}), split-half + "
                      f"Spearman-Brown, {res.n_splits} splits")
    elif res.ceiling_note and res.ceiling_note != res.corrected_note:
        table.add_row("noise ceiling", res.ceiling_note)
    if partial is not None:
        interval = ("no interval (see the warning)" if is_missing(partial.ci_low) else
                    f"{fmt_ci(partial.ci_low, partial.ci_high)} {partial.confidence:.0%} CI, "
                    f"{interval_text(partial.ci_method, partial.bootstrap, partial.n_boot, partial.n_undefined)}")
        estimate = fmt_estimate(partial.partial_rho, partial.ci_low, partial.ci_high)
        table.add_row("partial rho", f"{estimate}  {interval}; given "
                      f"{', '.join(partial.confounds)} (partial {partial.rank} correlation of the RDM cells)")
        table.add_row("partial Mantel p", f"{fmt_p(partial.p_value)}  {partial.alternative}, labels of {partial.a} "
                      f"permuted ({partial.n_permutations} permutations{', exact' if partial.permutation_exact else ''})")
    table.add_row("seed", str(res.seed))
    console = stdout_console()
    console.print(title, markup=False)
    console.print(table)


def _rho_text(res) -> str:
    """rho with its interval, or why it has none (a jackknife interval needs MIN_UNITS emotions; a bootstrap
    interval that excludes rho is not shown)."""
    if is_missing(res.ci_low):
        return f"{fmt_number(res.rho)}  no interval: {res.ci_note}"
    return (f"{fmt_with_ci(res.rho, res.ci_low, res.ci_high)} {res.confidence:.0%} CI, "
            f"{interval_text(res.ci_method, res.bootstrap, res.n_boot, res.n_undefined)}"
            + (f"; caution: {res.ci_caution}" if res.ci_caution else ""))
