"""``rsastats geometry FILES...``: geometry descriptors per model and layer, base x instruct changes."""

from __future__ import annotations

from typing import Any, Sequence

import click

from ...geometry import DEFAULT_CI_METHOD, classify_maturity, compare_geometry, geometry, resolve_layers
from ...intervals import BOOTSTRAP_CI_METHODS as CI_METHODS
from ..options import json_option, quiet_option, seed_option
from ..output import emit_json, stdout_console
from ..progress import progress_bar
from .geometry_tables import render_comparisons, render_files, render_maturity
from .layer_option import parse_layer_option


def _pairs(results: Sequence[Any]) -> tuple[list[tuple[int, int]], list[str]]:
    """Base/instruct pairs: same family and extraction recipe, exactly one file of each variant."""
    keys = ("family", "method", "precision", "pooling", "experiment", "stimulus_set")
    groups: dict[tuple, dict[str, list[int]]] = {}
    for i, (result, attrs) in enumerate(results):
        if not attrs.get("family") or attrs.get("variant") not in ("base", "instruct"):
            continue
        key = tuple(str(attrs.get(k, "")) for k in keys)
        groups.setdefault(key, {"base": [], "instruct": []})[attrs["variant"]].append(i)
    pairs, notes = [], []
    for key, members in groups.items():
        if len(members["base"]) == 1 and len(members["instruct"]) == 1:
            pairs.append((members["base"][0], members["instruct"][0]))
        elif len(members["base"]) + len(members["instruct"]) > 1:  # a lone file has nothing to pair with
            notes.append(f"family {key[0]!r} ({', '.join(f'{k}={v}' for k, v in zip(keys[1:], key[1:]) if v)}): "
                         f"{len(members['base'])} base and {len(members['instruct'])} instruct file(s); "
                         "compared only when there is exactly one of each")
    return pairs, notes


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--layer", "layer_text", default="last", show_default=True, metavar="L|last|all",
              help="Layer label (0 = embedding output), negative position (-1 = last), 'last', 'all', "
                   "or a comma-separated list.")
@click.option("--n-boot", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Bootstrap resamples (baseline texts for baseline descriptors; prompts within emotion "
                   "for emotion descriptors).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Two-sided confidence level.")
@click.option("--ci", "ci_method", type=click.Choice(CI_METHODS), default=None,
              show_default=f"{DEFAULT_CI_METHOD}; normal for the baseline PC1 share",
              help="Interval method for every descriptor. The default is 'basic', which covered nearest nominal in "
                   "the project's simulation (docs/geometry.md; the percentile interval inherits the resample bias of "
                   "these descriptors), except that the baseline PC1 share takes 'normal', which covered better "
                   "for it.")
@click.option("--pairs/--no-pairs", default=True, show_default=True,
              help="Compare each base file with the instruct file of the same family and recipe "
                   "(RDM rho and the change in every descriptor, paired over shared texts).")
@click.option("--maturity", "with_maturity", is_flag=True,
              help="Also apply the a-priori maturity rule (docs/maturity.md) to each base file; "
                   "it uses the base file alone.")
@seed_option
@quiet_option
@json_option
def geometry_command(files: tuple[str, ...], layer_text: str, n_boot: int, confidence: float, ci_method: str,
                     pairs: bool, with_maturity: bool, seed: int, quiet: bool, as_json: bool) -> None:
    """Anisotropy, participation ratio, PC1 share, RDM statistics and norm outliers of each FILE
    (activations or vector-set files) at each layer, with bootstrap CIs; plus base x instruct changes.

    A file without baseline texts gets every emotion descriptor and a note saying which
    descriptors are missing and why (the same for a vector-set file, which has no prompts to
    resample).  An all-zero activation is an error (cosine undefined).

    \b
    Examples:
      rsastats geometry gemma-base.nc gemma-instruct.nc
      rsastats geometry runs/*.nc --layer all --n-boot 2000 --json
      rsastats geometry base.nc instruct.nc --layer 12 --maturity
    """
    from ...io import open_dataset

    layers = parse_layer_option(layer_text)
    loaded = [open_dataset(path) for path in files]  # every file is validated before any work
    warnings: list[str] = []
    results = []
    with progress_bar("geometry", len(files)) as advance:
        for path, (_kind, ds) in zip(files, loaded):
            result = geometry(ds.assign_attrs(source_path=path), layers=layers, n_boot=n_boot, confidence=confidence,
                              ci_method=ci_method, seed=seed)
            results.append((result, dict(ds.attrs)))
            warnings.extend(f"{path}: {note}" for note in result.notes)
            advance(1)
    comparisons = []
    if pairs:
        found, notes = _pairs(results)
        warnings.extend(notes)
        for b, i in found:
            (_, ds_b), (_, ds_i) = loaded[b], loaded[i]
            for layer in _comparison_layers(layers, ds_b, ds_i, resolve_layers, files[b], files[i], warnings):
                comparisons.append(compare_geometry(ds_b.assign_attrs(source_path=files[b]),
                                                    ds_i.assign_attrs(source_path=files[i]), layer=layer,
                                                    n_boot=n_boot, confidence=confidence, ci_method=ci_method,
                                                    seed=seed))
    maturity = []
    if with_maturity:
        single = layers if layers == "last" else layers[0] if isinstance(layers, list) and len(layers) == 1 else None
        if single is None:
            warnings.append("maturity evaluated at the rule's analysis layer (the last layer), not at every layer")
        for path, (kind, ds) in zip(files, loaded):
            if kind == "activations" and ds.attrs.get("variant") == "base":
                maturity.append(classify_maturity(ds.assign_attrs(source_path=path), layer=single, seed=seed))
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    named = ci_method or DEFAULT_CI_METHOD  # the caption's method (a descriptor may take its own: see its row)
    if as_json:
        emit_json({"settings": {"layer": layer_text, "n_boot": n_boot, "confidence": confidence,
                                "ci_method": named, "seed": seed},
                   "files": [r.to_dict() for r, _ in results], "comparisons": [c.to_dict() for c in comparisons],
                   "maturity": [m.to_dict() for m in maturity], "warnings": warnings})
        return
    _render(results, comparisons, maturity, confidence, named)


def _comparison_layers(layers: Any, ds_b: Any, ds_i: Any, resolve: Any, src_b: str, src_i: str,
                       warnings: list[str]) -> list[Any]:
    if layers == "last":
        return ["last"]
    wanted = resolve(ds_b, layers, src_b)
    have = set(resolve(ds_i, "all", src_i))
    missing = [layer for layer in wanted if layer not in have]
    if missing:
        warnings.append(f"{src_i}: no layer(s) {missing}; compared with {src_b} at the layers both files have")
    return [layer for layer in wanted if layer in have]


def _render(results: Sequence[Any], comparisons: Sequence[Any], maturity: Sequence[Any], confidence: float,
            ci_method: str) -> None:
    console = stdout_console()
    # the interval's name and its widening for small samples (rsastats.intervals.small_sample_expansion)
    pct = f"{100 * confidence:g}% CI ({ci_method}, small-sample expanded)"
    render_files([result for result, _attrs in results], pct, console)
    render_comparisons(comparisons, pct, console)
    if maturity:
        render_maturity(maturity, console)
