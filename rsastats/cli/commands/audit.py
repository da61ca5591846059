"""``rsastats audit A B``: which method layers separate two vector sets, and is their rho lower than
method effects alone (measured on a reference model) would make it?"""

from __future__ import annotations

import click

from ...formatting import fmt_number as fmt, fmt_p
from ...inference.bootstrap import DEFAULT_CI, DEFAULT_N_BOOT
from ...intervals.methods import interval_text
from ..options import LAYER, json_option, quiet_option, seed_option
from ..output import emit_json, stdout_console
from ..progress import Progress, step_progress

_STATUS_STYLE = {"same": "green", "differs": "yellow", "unknown": "red", "n/a": "dim"}
_VERDICT_STYLE = {"compatible with identical geometry after method effects": "bold green",
                  "different beyond method effects": "bold red", "inconclusive": "bold yellow"}


def _reference_extractor(model: str, reference_dir, limit, baseline_limit, threads, progress: Progress):
    """The extraction side's reference maker for --reference-model (the core never imports extraction)."""
    from extraction.reference import ReferenceExtractor

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return ReferenceExtractor(model, reference_dir=reference_dir, limit=limit, baseline_limit=baseline_limit,
                              progress=progress.extraction)


@click.command("audit")
@click.argument("a", type=click.Path(dir_okay=False, path_type=str))
@click.argument("b", type=click.Path(dir_okay=False, path_type=str))
@click.option("--reference-model", default=None,
              help="Model that re-extracts A's and B's recipes: registry name (default, minilm, ...), local folder, "
                   ".gguf file or cached hub id [default: default].")
@click.option("--reference-files", nargs=2, type=click.Path(dir_okay=False, path_type=str), default=None,
              metavar="REF_A REF_B", help="Precomputed reference extractions of A's and of B's recipe (one model).")
@click.option("--reference-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where reference extractions are kept and reused; an interrupted one resumes there "
                   "[default: <rsastats cache>/audit-references].")
@click.option("--reference-runs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs of a sampled generation recipe with seeds seed, seed+1, ... (the range then includes "
                   "run-to-run variation).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most N prompts per emotion in the reference extractions (CPU budget) [default: as many as "
                   "the audited file].")
@click.option("--baseline-limit", type=click.IntRange(min=1), default=None,
              help="At most N baseline (emotion-free) texts in the reference extractions, for recipes and "
                   "normalizations that read them (CPU budget) [default: as many as the audited file holds].")
@click.option("--common-emotions", is_flag=True,
              help="When A and B hold different emotion sets, audit the emotions both hold (otherwise an error).")
@click.option("--bootstrap", default=None,
              help="Resample emotions, prompts or both [default: emotions; prompts and both are not calibrated, "
                   "docs/calibration.md]; the reference pair is resampled the same way.")
@click.option("--n-boot", type=int, default=DEFAULT_N_BOOT, show_default=True, help="Bootstrap resamples.")
@click.option("--ci", default=DEFAULT_CI, show_default=True, help="Interval: jackknife-t, jackknife-z, basic, percentile or bca.")
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level, in (0, 1).")
@click.option("--rdm", "rdm_method", default="cosine", show_default=True, help="Dissimilarity: cosine, correlation, euclidean.")
@click.option("--normalization", default="raw", show_default=True,
              help="Vector normalization before the RDM: raw, emotion-mean, baseline-mean, neutral-pc, unit, zscore.")
@click.option("--max-width", "max_width", type=float, default=None,
              help="Intervals wider than this make the verdict inconclusive [default: 0.5].")
@click.option("--layer", type=LAYER, default=None,
              help="Layer of A and B: a label, a negative position (-1 = last) or 'last' [default: each file's last]. "
                   "A or B may carry its own as FILE@LAYER; a file that holds one layer takes only that layer. "
                   "Reference files are used at their last layer (or their own FILE@LAYER).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch during reference extractions (on a busy shared machine 1 can be much faster).")
@seed_option
@quiet_option
@json_option
def audit_command(a, b, reference_model, reference_files, reference_dir, reference_runs, limit, baseline_limit,
                  common_emotions, bootstrap, n_boot,
                  ci, confidence, rdm_method, normalization, max_width, layer, threads, seed, quiet, as_json) -> None:
    """Audit two vector sets: which of the four method layers separate them, the rho expected if their
    geometry were identical (from a reference model re-extracting both recipes), the observed rho with
    its CI, and a verdict: compatible with identical geometry after method effects, different beyond
    method effects, or inconclusive.

    A and B are activations or vector-set files (e.g. imported with `rsastats import --meta`); their
    attributes say how they were made. The reference extractions are cached in --reference-dir, so a
    second audit of the same recipes is fast.

    \b
    Examples:
      rsastats audit study.nc jeong.nc --reference-model default --limit 4
      rsastats audit paper.nc ours.nc --reference-files ref_paper.nc ref_ours.nc --json
      rsastats audit paper.nc ours.nc --common-emotions --reference-runs 3
    """
    from ...audit import MAX_INTERVAL_WIDTH, audit

    if reference_files and reference_model:
        raise click.UsageError("give either --reference-model or --reference-files, not both")
    if reference_files and (limit or baseline_limit):
        raise click.UsageError("--limit and --baseline-limit shape the extractions of --reference-model; "
                               "--reference-files are used as they are")
    with step_progress() as bar:  # the observed bootstrap, then each reference extraction
        make_references = None
        if not reference_files:
            make_references = _reference_extractor(reference_model or "default", reference_dir, limit, baseline_limit,
                                                   threads, bar)
        bar.step("bootstrap (observed)", n_boot)
        result = audit(a, b, reference_files=list(reference_files) if reference_files else None,
                       make_references=make_references, reference_runs=reference_runs, common_emotions=common_emotions,
                       bootstrap=bootstrap, n_boot=n_boot, ci=ci, confidence=confidence, rdm=rdm_method,
                       normalization=normalization,
                       max_interval_width=MAX_INTERVAL_WIDTH if max_width is None else max_width, seed=seed,
                       progress=bar.advance, layer=layer)
    if as_json:
        emit_json(result.to_dict())
        return
    _render(result)


def _render(result) -> None:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    obs, ref, verdict = result.observed, result.reference, result.verdict
    layers = Table(title="Method layers (A vs B)", title_justify="left", expand=False)
    layers.add_column("layer", no_wrap=True)
    layers.add_column("status", no_wrap=True)
    layers.add_column("values (A vs B)", overflow="fold")
    for row in result.layers:
        style = _STATUS_STYLE.get(row.status, "")
        text = row.description or ("" if row.status == "n/a" else "all recorded values agree")
        if not row.complete:
            text += " [not recorded fully: the reference may not reproduce it]"
        layers.add_row(row.layer, f"[{style}]{row.status}[/{style}]", text)
    model_line = (f"{result.model_a or '(unknown)'} vs {result.model_b or '(unknown)'}"
                  if result.model_a != result.model_b else f"{result.model_a or '(unknown)'} (both)")

    numbers = Table(show_header=False, expand=False, box=None)
    numbers.add_column("", style="bold", no_wrap=True)
    numbers.add_column("", overflow="fold")
    numbers.add_row("models", model_line)
    numbers.add_row("emotions", f"{len(result.emotions)}" + (" (common subset, --common-emotions)" if result.common_emotions else ""))
    numbers.add_row("observed rho", f"{fmt(obs.rho)}  {obs.confidence:.0%} CI [{fmt(obs.ci_low)}, {fmt(obs.ci_high)}]  "
                    + interval_text(obs.ci_method, obs.bootstrap, obs.n_boot))
    numbers.add_row("Mantel p", f"{fmt_p(obs.p_value)}  ({obs.n_permutations} label permutations)")
    runs = f", {len(ref.runs)} runs pooled" if len(ref.runs) > 1 else ""
    if ref.informative:
        numbers.add_row("reference range", f"[{fmt(ref.ci_low)}, {fmt(ref.ci_high)}]  rho {fmt(ref.rho)} on {ref.model} "
                        f"(A's recipe vs B's recipe; {interval_text(ref.ci_method, ref.bootstrap)}{runs})")
        numbers.add_row("gap", f"{obs.rho - ref.rho:+.3f}  (observed rho - reference rho)")
    else:
        numbers.add_row("reference range", f"none, uninformative: {ref.note}")
    numbers.add_row("settings", f"{obs.rdm} RDM, {obs.rank}, {obs.layer}, {obs.normalization} vectors; "
                    f"intervals wider than {result.max_interval_width:g} are inconclusive; seed {result.seed}")
    for i, (fa, fb) in enumerate(zip(ref.files_a, ref.files_b)):
        numbers.add_row("reference files" if i == 0 else "", f"{fa}  |  {fb}")

    style = _VERDICT_STYLE.get(verdict.verdict, "bold")
    parts: list = [layers, Text(""), numbers, Text(""), Text.from_markup(f"verdict: [{style}]{verdict.verdict}[/{style}]")]
    if verdict.numbers_say != verdict.verdict:
        parts.append(Text(f"the intervals alone say: {verdict.numbers_say}"))
    for reason in verdict.reasons:
        parts.append(Text(f"  - {reason}"))
    if ref.assumptions:
        parts.append(Text("\nassumed for the reference extractions:"))
        for x in ref.assumptions:
            parts.append(Text(f"  - {x.side} {x.attribute} = {x.value}: {x.reason}"))
    if result.notes:
        parts.append(Text("\nnotes:"))
        for note in result.notes:
            parts.append(Text(f"  - {note}"))
    title = f"audit: {result.a}  vs  {result.b}"
    stdout_console().print(Panel(Group(*parts), title=title, title_align="left", expand=False))
