"""How geometry and maturity results read in a terminal: the tables of ``rsastats geometry`` and
``rsastats maturity`` (``--json`` prints the results' ``to_dict`` instead)."""

from __future__ import annotations

from typing import Any, Sequence

from ...formatting import fmt_ci as _interval
from ...formatting import fmt_significant as fmt

__all__ = ["fmt", "fmt_ci", "Footnotes", "render_files", "render_comparisons", "render_maturity"]


def fmt_ci(low: float, high: float) -> str:
    """An interval, each end with 4 significant digits; '-' when undefined."""
    return _interval(low, high, number=fmt, missing="-")


class Footnotes:
    """Numbered notes printed under a table, so that long explanations do not widen it."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def mark(self, note: str) -> str:
        if not note:
            return ""
        if note not in self.notes:
            self.notes.append(note)
        return f"[{self.notes.index(note) + 1}]"

    def print(self, console: Any) -> None:
        for i, note in enumerate(self.notes, 1):
            console.print(f"  [{i}] {note}", highlight=False)


def _labels() -> dict[str, str]:
    from rsastats.geometry import descriptors

    return {d.name: d.label for d in descriptors.DESCRIPTORS}


def render_files(results: Sequence[Any], pct: str, console: Any) -> None:
    """One table per file and layer: every descriptor with its interval; a group missing for one
    reason is one row."""
    from rich.table import Table

    labels = _labels()
    for result in results:
        for layer in result.layers:
            title = (f"{result.model or result.source} ({result.variant or 'variant unknown'}), layer "
                     f"{layer.layer if layer.layer is not None else '-'}: {layer.n_emotions} emotions, "
                     f"{layer.n_prompts} prompts, {layer.n_baseline} baseline texts")
            table = Table(title=title, title_justify="left")
            for column in ("descriptor", "estimate", pct, "note"):
                table.add_column(column)
            notes = Footnotes()
            shown_group = set()
            for est in layer.estimates:
                group_missing = [e for e in layer.estimates if e.group == est.group and e.status == "missing"]
                if est.status == "missing" and len(group_missing) > 1 and len({e.note for e in group_missing}) == 1:
                    if est.group not in shown_group:
                        shown_group.add(est.group)
                        table.add_row(f"{est.group} descriptors", "-", "-", notes.mark(f"not computed: {est.note}"))
                    continue
                note = est.note
                if est.status == "ok" and est.ci_method and est.ci_method != result.ci_method:
                    own = (f"{est.ci_method} interval: for this descriptor it covered better than {result.ci_method} "
                           "on planted designs (docs/geometry.md, 'Per-descriptor intervals')")
                    note = "; ".join(filter(None, (own, note)))
                table.add_row(labels[est.descriptor], fmt(est.estimate), fmt_ci(est.ci_low, est.ci_high),
                              notes.mark(note))
            console.print(table)
            console.print(f"  file: {result.source}", highlight=False)
            notes.print(console)


def render_comparisons(comparisons: Sequence[Any], pct: str, console: Any) -> None:
    """One table per base x instruct comparison: rho and every descriptor's change."""
    from rich.table import Table

    labels = _labels()
    for comp in comparisons:
        table = Table(title=f"base x instruct: {comp.base_model or comp.base_source} vs "
                            f"{comp.instruct_model or comp.instruct_source}, layer {comp.base_layer}",
                      title_justify="left")
        for column in ("descriptor", "base", "instruct", "change", pct, "note"):
            table.add_column(column)
        notes = Footnotes()
        table.add_row("RDM Spearman rho", "", "", fmt(comp.rho), fmt_ci(comp.rho_ci_low, comp.rho_ci_high),
                      notes.mark(f"raw cosine RDMs; prompt bootstrap, {comp.rho_n_boot} resamples"))
        for change in comp.changes:
            table.add_row(labels.get(change.descriptor, change.descriptor), fmt(change.base), fmt(change.instruct),
                          fmt(change.change), fmt_ci(change.ci_low, change.ci_high), notes.mark(change.note))
        console.print(table)
        console.print(f"  {comp.pairing_note}", highlight=False)
        notes.print(console)


def render_maturity(results: Sequence[Any], console: Any) -> None:
    """The rule, each model's inputs with CIs, its class, and the declared sensitivity analysis."""
    from rich.table import Table

    rule = results[0].rule
    console.print(f"[bold]Maturity rule[/bold] {rule.name} (fingerprint {rule.fingerprint()})")
    console.print(rule.statement())
    pct = f"{100 * rule.confidence:g}% CI"
    table = Table(title="maturity of base models (inputs measured on the base model only)", title_justify="left")
    for column in ("model", "layer", "anisotropy", pct, "reliability", pct + " ", "class", "by point estimates"):
        table.add_column(column, overflow="fold")
    for r in results:
        a, rel = r["baseline_anisotropy"], r["rdm_reliability"]
        table.add_row(r.model or r.source, str(r.layer), fmt(a.estimate), fmt_ci(a.ci_low, a.ci_high),
                      fmt(rel.estimate), fmt_ci(rel.ci_low, rel.ci_high), f"[bold]{r.maturity}[/bold]",
                      r.point_maturity)
    console.print(table)
    for r in results:
        console.print(f"  {r.model or r.source}: {r.reason}" + (" (variant assumed base)" if r.assumed_base else ""))
    sens = Table(title="declared sensitivity analysis: class under other thresholds", title_justify="left")
    sens.add_column("max anisotropy / min reliability")
    for r in results:
        sens.add_column(r.model or r.source, overflow="fold")
    for k, (a, rel, _) in enumerate(results[0].sensitivity):
        sens.add_row(f"{a:g} / {rel:g}", *[r.sensitivity[k][2] for r in results])
    console.print(sens)
