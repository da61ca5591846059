"""The simple view beside the decomposition: Spearman rho between files that differ in one layer
only (pair contrasts), their means per factor and levels (condition contrasts), each with a
bootstrap CI from the decomposition's replicates and the rho the fitted model implies."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..intervals import CORRELATION_BOUNDS
from .bootstrap import NAN2, Replicates, interval
from .design import FACTOR_TABLE, LAYERS
from .results import ConditionContrast, PairContrast

__all__ = ["contrast_pairs", "pair_levels", "pair_rows", "condition_contrasts"]


def contrast_pairs(conditions: Sequence[Mapping[str, str]]) -> list[tuple[str, str, int, int]]:
    """(layer, factor, f, g) for every pair of files of one model that differ in one factor only (method
    pairs may also differ in the sub-parameters, which comprehension files lack), and for pairs of
    models under the same condition."""
    out = []
    for f in range(len(conditions)):
        for h in range(f + 1, len(conditions)):
            diff = [x for x in FACTOR_TABLE if conditions[f][x] != conditions[h][x]]
            if not diff:
                continue
            sub = [x for x in diff if FACTOR_TABLE[x].within is not None]
            rest = [x for x in diff if FACTOR_TABLE[x].within is None]
            if rest == ["method"]:
                out.append((FACTOR_TABLE["method"].layer, "method", f, h))
            elif not rest and len(sub) == 1 and conditions[f]["method"] == FACTOR_TABLE[sub[0]].within:
                out.append((FACTOR_TABLE[sub[0]].layer, sub[0], f, h))
            elif len(rest) == 1 and not sub:
                out.append((FACTOR_TABLE[rest[0]].layer, rest[0], f, h))
    return out


def pair_levels(factor: str, a: Mapping[str, str], b: Mapping[str, str]) -> tuple[str, str]:
    """The two files' levels of the factor a contrast pair differs in."""
    return a[factor], b[factor]


def pair_rows(pair_list, conds, names, observed_rho, implied, reps: Replicates | None, jack_rho, ci_method,
              confidence, messages) -> list[PairContrast]:
    """One :class:`PairContrast` per pair of :func:`contrast_pairs`."""
    out = []
    for p, (layer_name, factor, f, h) in enumerate(pair_list):
        level_a, level_b = pair_levels(factor, conds[f], conds[h])
        ci = NAN2
        if reps is not None:
            jack = jack_rho[:, p] if jack_rho is not None else None
            ci = interval(observed_rho[p], reps.rho[:, p], jack, ci_method, confidence, CORRELATION_BOUNDS, messages,
                          f"rho of {names[f]} vs {names[h]}")
        model = conds[f]["model"] if factor != "model" else f"{conds[f]['model']} vs {conds[h]['model']}"
        out.append(PairContrast(layer=layer_name, factor=factor, model=model, level_a=level_a, level_b=level_b,
                                file_a=names[f], file_b=names[h], rho=float(observed_rho[p]), ci_low=ci[0],
                                ci_high=ci[1], implied_rho=float(implied[f, h])))
    return out


def condition_contrasts(pairs: list[PairContrast], reps: Replicates | None, jack_rho, observed_rho, ci_method,
                        confidence, messages) -> tuple[ConditionContrast, ...]:
    """Group pair contrasts by layer, factor and levels: mean rho with a CI from the same replicates."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for p, row in enumerate(pairs):
        if row.factor == "model":
            key = (row.layer, row.factor, "different models, same condition")
        else:
            a, b = sorted([row.level_a, row.level_b])
            key = (row.layer, row.factor, f"{a} vs {b}")
        groups.setdefault(key, []).append(p)
    order = {name: i for i, name in enumerate(LAYERS)}
    out = []
    for (layer_name, factor, levels), idx in sorted(groups.items(),
                                                    key=lambda kv: (order.get(kv[0][0], 99), kv[0][1], kv[0][2])):
        value = float(observed_rho[idx].mean())
        ci = NAN2
        if reps is not None:
            jack = jack_rho[:, idx].mean(axis=1) if jack_rho is not None else None
            ci = interval(value, reps.rho[:, idx].mean(axis=1), jack, ci_method, confidence, CORRELATION_BOUNDS,
                          messages, f"mean rho of {factor} {levels}")
        models = tuple(dict.fromkeys(pairs[p].model for p in idx))
        out.append(ConditionContrast(layer=layer_name, factor=factor, levels=levels, n_pairs=len(idx), models=models,
                                     mean_rho=value, ci_low=ci[0], ci_high=ci[1],
                                     min_rho=float(observed_rho[idx].min()), max_rho=float(observed_rho[idx].max()),
                                     implied_rho=float(np.mean([pairs[p].implied_rho for p in idx]))))
    return tuple(out)
