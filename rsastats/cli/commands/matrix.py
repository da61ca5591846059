"""``rsastats matrix FILES...``: every pair of models with rho, CIs and adjusted Mantel p-values."""

from __future__ import annotations

import click

from ...exceptions import ValidationError
from ...formatting import fmt_with_ci, fmt_number, fmt_p, is_missing
from ..options import json_option, quiet_option, scheduler_option, seed_option
from ..output import emit_json, note_mark, stdout_console, with_ci_note
from ..progress import progress_bar
from ._inference_options import geometry_options, inference_options


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@geometry_options
@inference_options
@click.option("--adjust", default="holm", show_default=True,
              help="Adjust the Mantel p-values across pairs: holm (family-wise error) or bh (false discovery rate).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Write a heatmap of rho (PNG) to this file.")
@click.option("--partial", "confounds", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A confound RDM file or feature CSV to partial out: adds every pair's partial Mantel test given the "
                   "confounds (as compare --partial; p adjusted across pairs). Repeat for several.")
@seed_option
@scheduler_option
@quiet_option
@json_option
def matrix(files, layer, last_k, normalization, n_pcs, rdm_method, rank, scheme, ci, n_boot, permutations, alternative,
           confidence, n_splits, no_ceiling, adjust, plot, confounds, seed, scheduler, quiet, as_json) -> None:
    """Compare every pair of FILES (activations, vectors or RDMs; at least two).

    One joint bootstrap serves every pair (each resample is applied to all models), Mantel
    p-values use the same label permutations for every pair and are adjusted across pairs
    (Holm by default). With three or more models the leave-one-out noise ceiling of the group is
    reported as well. With --partial, every pair's partial Mantel test given the confounds (the
    numbers of `compare A B --partial ...` with the same seed; its p adjusted across pairs too).

    \b
    Example:
      rsastats matrix runs/*.nc --plot rho.png
      rsastats matrix a.nc b.nc c.nc --adjust bh --bootstrap emotions --json
      rsastats matrix a.nc b.nc c.nc --partial token_count_rdm.nc
    """
    from ...inference.pairs import compare_all

    if len(files) < 2:
        raise ValidationError(f"matrix needs at least 2 files; got {len(files)}")
    if confounds:
        from ...inference.partial import partial_rank_name
        from ...measures import rank_method_name

        partial_rank_name(rank_method_name(rank))  # refuse a measure without a partial correlation before any work
    with progress_bar("bootstrap", n_boot) as advance:
        res = compare_all(list(files), bootstrap=scheme, n_boot=n_boot, ci=ci, confidence=confidence,
                          permutations=permutations, alternative=alternative, adjust=adjust, rank=rank, rdm=rdm_method,
                          layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs, n_splits=n_splits,
                          ceiling=not no_ceiling, seed=seed, progress=advance, scheduler=scheduler,
                          confounds=list(confounds))
    if plot:
        from ...report.figures import rho_heatmap

        rho_heatmap(res, plot)
    if as_json:
        out = res.to_dict()
        if plot:
            out["plot"] = plot
        emit_json(out)
        return
    from rich.table import Table

    frame = res.to_frame()
    titled = bool(frame["ci_low"].notna().any())  # the title names the interval; a pair without one says so
    table = Table(title=_title(res, titled), title_justify="left")
    has_corrected = "rho_corrected" in frame.columns
    partial = ["partial rho [CI]", "partial p", f"partial p ({res.adjust})"] if res.confounds else []
    for col in ["A", "B", "rho [CI]", "p", f"p ({res.adjust})"] + (["rho_corrected [CI]", "ceiling"] if has_corrected
                                                                   else []) + partial:
        table.add_column(col, justify="left" if col in ("A", "B") else "right")
    notes: list[str] = []
    for row in frame.itertuples():
        rho = (f"{fmt_number(row.rho)}{' (no CI: see the warning)' if titled else ''}" if is_missing(row.ci_low)
               else fmt_with_ci(row.rho, row.ci_low, row.ci_high))
        if row.ci_caution:
            rho += f" {note_mark(notes, 'caution: ' + row.ci_caution)}"
        cells = [row.a, row.b, rho,
                 fmt_p(row.p_value), fmt_p(row.p_adjusted)]
        if has_corrected:
            cells += _corrected_cells(row, notes)
        if partial:
            cells += [with_ci_note(notes, row.partial_rho, row.partial_ci_low, row.partial_ci_high,
                                   row.partial_ci_note), fmt_p(row.partial_p_value), fmt_p(row.partial_p_adjusted)]
        table.add_row(*cells)
    console = stdout_console()
    console.print(table)
    if res.noise_ceiling and res.noise_ceiling.get("lower") is not None:
        console.print(f"group noise ceiling (leave-one-out): lower {fmt_number(res.noise_ceiling['lower'])}, "
                      f"upper {fmt_number(res.noise_ceiling['upper'])}")
    if partial:
        console.print(f"partial rho: partial {res.rank} correlation of each pair's RDM cells given "
                      f"{', '.join(res.confounds)} (vegan's mantel.partial); its CI over emotions ({res.ci_method}, "
                      f"{res.confidence:.0%}), its Mantel p with the labels of A permuted")
    for k, note in enumerate(notes, 1):
        console.print(f"[{k}] {note}")
    if plot:
        console.print(f"heatmap written to {plot}")


def _title(res, has_interval: bool) -> str:
    """The table's title: what the numbers are, and why rho has no interval when no pair has one."""
    if has_interval:
        from ...intervals.methods import interval_text

        interval = f"with its {res.confidence:.0%} CI ({interval_text(res.ci_method, res.bootstrap, res.n_boot)})"
    else:
        from ...intervals import missing_interval_text

        interval = f"without a CI ({missing_interval_text(res.ci_method, res.n_emotions)})"
    return (f"{len(res.names)} models, {res.n_emotions} emotions: {res.rdm} RDM, {res.rank}, {res.layer}; rho as "
            f"measured {interval}; rho_corrected noise-free; Mantel p ({res.n_permutations} permutations) adjusted by "
            f"{res.adjust}")


def _corrected_cells(row, notes: list[str]) -> list[str]:
    """rho_corrected, its CI and the pair's ceiling; a withheld number points to its note below the table."""
    if row.rho_corrected is None or row.rho_corrected != row.rho_corrected:
        corrected = [note_mark(notes, row.corrected_note)]
    else:
        corrected = [fmt_with_ci(row.rho_corrected, row.corrected_ci_low, row.corrected_ci_high)]
    ceiling_missing = row.noise_ceiling is None or row.noise_ceiling != row.noise_ceiling
    return corrected + [note_mark(notes, row.ceiling_note) if ceiling_missing else fmt_number(row.noise_ceiling)]
