"""``rsastats hypotheses DATA... --models H.csv``: data RDMs against hypothesis RDMs."""

from __future__ import annotations

import click

from ...formatting import fmt_number, fmt_p, is_missing
from ..options import json_option, quiet_option, seed_option
from ..output import emit_json, note_mark, stdout_console, with_ci_note
from ..progress import progress_bar
from ._inference_options import geometry_options, inference_options

_PATH = click.Path(dir_okay=False, path_type=str)

@click.command()
@click.argument("data", nargs=-1, required=True, type=_PATH)
@click.option("--models", "-m", "hypotheses", multiple=True, required=True, type=_PATH,
              help="A hypothesis: a feature CSV (column 'emotion' and numeric features; its RDM is the Euclidean "
                   "distance of z-scored features) or an RDM file. Repeat for several.")
@click.option("--partial", "confounds", multiple=True, type=_PATH,
              help="A confound (feature CSV or RDM file) to partial out: adds the partial Mantel test of every "
                   "data-hypothesis pair. Repeat for several confounds.")
@click.option("--common-emotions", is_flag=True,
              help="Cut the data to the emotions every hypothesis and confound has (named in the output); otherwise "
                   "an emotion a hypothesis lacks is an error.")
@geometry_options
@inference_options
@click.option("--adjust", default="holm", show_default=True,
              help="Adjust the Mantel p-values across all data-hypothesis pairs: holm or bh.")
@seed_option
@quiet_option
@json_option
def hypotheses_command(data, hypotheses, confounds, common_emotions, layer, last_k, normalization, n_pcs, rdm_method, rank, scheme, ci,
                       n_boot, permutations, alternative, confidence, n_splits, no_ceiling, adjust, seed, quiet,
                       as_json) -> None:
    """Test the geometry of DATA files (activations, vectors or RDMs) against hypothesis RDMs.

    For each data file and each hypothesis: rho as measured with its interval and the Mantel p
    (as `compare`; p adjusted across all pairs), and the data file's noise ceiling sqrt(split-half
    reliability), the most a noise-free hypothesis could reach. For each two hypotheses: the
    paired difference of their rho with the same data, with its interval and p (which fits
    better). With --partial, the partial Mantel test of each pair given the confounds.

    \b
    Example:
      rsastats hypotheses qwen.nc llama.nc --models valence_arousal.csv --models word_overlap_rdm.nc
      rsastats hypotheses qwen.nc --models va.csv --partial token_count_rdm.nc --json
      rsastats hypotheses qwen.nc --models builtin:vader-valence --common-emotions

    A hypothesis is a file or a built-in: builtin:vader-valence (the VADER lexicon's mean human valence
    of 18 of the study's 21 emotion words; MIT licence; docs/hypotheses.md).
    """
    from ...inference.hypotheses import compare_hypotheses

    with progress_bar("bootstrap", n_boot * len(data)) as advance:
        res = compare_hypotheses(list(data), list(hypotheses), confounds=list(confounds), bootstrap=scheme,
                                 n_boot=n_boot, ci=ci, confidence=confidence, permutations=permutations,
                                 alternative=alternative, adjust=adjust, rank=rank, rdm=rdm_method, layer=layer,
                                 last_k=last_k, normalization=normalization, n_pcs=n_pcs, n_splits=n_splits,
                                 ceiling=not no_ceiling, seed=seed, progress=advance, common_emotions=common_emotions)
    if as_json:
        emit_json(res.to_dict())
        return
    _print(res)


def _print(res) -> None:
    from rich.table import Table

    console = stdout_console()
    from ...intervals.methods import interval_text

    method = interval_text(res.ci_method, res.bootstrap, res.n_boot)
    fits = Table(title=(f"{len(res.data)} data x {len(res.hypotheses)} hypotheses, {res.n_emotions} emotions: "
                        f"{res.rdm} RDM, {res.rank}, {res.layer}; rho with its {res.confidence:.0%} CI ({method}); "
                        f"Mantel p ({res.n_permutations} permutations, {res.alternative}) adjusted by {res.adjust}"),
                 title_justify="left")
    partial = "partial_rho" in res.fits.columns
    for col in ["data", "hypothesis", "rho [CI]", "p", f"p ({res.adjust})", "ceiling"] + (
            ["partial rho [CI]", "partial p"] if partial else []):
        fits.add_column(col, justify="left" if col in ("data", "hypothesis") else "right")
    notes: list[str] = []
    for row in res.fits.itertuples():
        ceiling = (fmt_number(row.noise_ceiling) if not is_missing(row.noise_ceiling)
                   else note_mark(notes, row.ceiling_note))
        cells = [row.data, row.hypothesis, with_ci_note(notes, row.rho, row.ci_low, row.ci_high, row.ci_note,
                                                        row.ci_caution),
                 fmt_p(row.p_value), fmt_p(row.p_adjusted), ceiling]
        if partial:
            cells += [with_ci_note(notes, row.partial_rho, row.partial_ci_low, row.partial_ci_high, row.partial_ci_note),
                      fmt_p(row.partial_p_value)]
        fits.add_row(*cells)
    console.print(fits)
    if len(res.differences):
        diff = Table(title=f"Which hypothesis fits better: rho_a - rho_b with the same data, paired over emotions "
                           f"({res.difference_ci_method} {res.confidence:.0%} CI; p of no difference)", title_justify="left")
        for col in ("data", "a", "b", "rho_a - rho_b [CI]", "p"):
            diff.add_column(col, justify="left" if col in ("data", "a", "b") else "right")
        for row in res.differences.itertuples():
            diff.add_row(row.data, row.hypothesis_a, row.hypothesis_b,
                         with_ci_note(notes, row.difference, row.ci_low, row.ci_high, row.ci_note),
                         fmt_p(row.p_value))
        console.print(diff)
    for h in res.hypotheses:
        console.print(f"hypothesis {h['name']}: {h['source']}, {h['made_by']}"
                      + (f" ({', '.join(h['features'])})" if h["features"] else "") + (f"; {h['note']}" if h["note"] else ""))
    for c in res.confounds:
        console.print(f"confound {c['name']}: {c['source']}, {c['made_by']}" + (f"; {c['note']}" if c["note"] else ""))
    if res.left_out:
        console.print(f"left out of the data ({len(res.left_out)} emotion(s) a hypothesis or confound lacks, "
                      f"--common-emotions): {', '.join(res.left_out)}")
    if res.noise_ceiling and res.noise_ceiling.get("lower") is not None:
        console.print(f"group noise ceiling of the data (leave-one-out): lower {fmt_number(res.noise_ceiling['lower'])}, "
                      f"upper {fmt_number(res.noise_ceiling['upper'])}")
    for k, note in enumerate(notes, 1):
        console.print(f"[{k}] {note}")

