"""The component and layer tables of a decomposition: each component's variance and share with
their intervals, its likelihood-ratio test and notes (or why it is not estimable), and the sum of
the shares of each of the study's layers."""

from __future__ import annotations

import numpy as np

from .bootstrap import NAN2, ReplicateIntervals
from .design import LAYERS, Component, Design
from .lrt import FittedModel
from .results import LayerShare, VarianceComponent

__all__ = ["component_rows", "layer_rows"]

_NAN = float("nan")


def _unestimable(name: str, layer: str, term: str, n_levels: int, reason: str) -> VarianceComponent:
    return VarianceComponent(name, layer, term, n_levels, False, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN,
                             _NAN, False, f"not estimable: {reason}")


def _component(name: str, layer: str, term: str, n_levels: int, variance: float, variance_ci: tuple[float, float],
               share: float, share_ci: tuple[float, float], lrt: tuple[float, float, float, float], at_boundary: bool,
               note: str) -> VarianceComponent:
    statistic, p, deff, p_adj = lrt
    return VarianceComponent(name, layer, term, n_levels, True, float(variance), variance_ci[0], variance_ci[1],
                             float(share), share_ci[0], share_ci[1], statistic, p, deff, p_adj, bool(at_boundary), note)


def component_rows(fitted: FittedModel, design: Design, comps: list[Component],
                   intervals: ReplicateIntervals) -> list[VarianceComponent]:
    """``shared``, every component given (estimable or not, in order), then ``residual``."""
    est = np.append(fitted.full.variances, fitted.full.residual)
    shares = est / est.sum()
    boundary = fitted.full.at_boundary
    position = {name: j for j, name in enumerate(fitted.names)}
    rows = [("shared", "shared geometry", "(1 | cell)", 1, True, "")]
    for i, comp in enumerate(comps):
        n_levels = len({x for x in design.levels[i] if x is not None})
        rows.append((comp.name, comp.layer, comp.term, n_levels, design.estimable[i], design.reasons[i]))
    out = []
    for name, layer_name, term, n_levels, estimable, reason in rows:
        if not estimable:
            out.append(_unestimable(name, layer_name, term, n_levels, reason))
            continue
        j = position[name]
        notes = []
        if boundary[j]:
            notes.append("at the boundary: variance 0 (singular fit)")
        if name in design.absorbs:
            notes.append(f"includes {', '.join(design.absorbs[name])} (confounded in these files)")
        out.append(_component(name, layer_name, term, n_levels, est[j], intervals.variance(j, est[j], name),
                              shares[j], intervals.share([j], shares[j], name), fitted.lrt.get(name, (_NAN,) * 4),
                              boundary[j], "; ".join(notes)))
    r = len(fitted.names)
    out.append(_component("residual", "residual", "residual", len(fitted.levels[0]), est[r],
                          intervals.variance(r, est[r], "residual"), shares[r],
                          intervals.share([r], shares[r], "residual"), (_NAN,) * 4, False,
                          "file-level variation no component explains"))
    return out


def layer_rows(components: list[VarianceComponent], fitted: FittedModel,
               intervals: ReplicateIntervals) -> list[LayerShare]:
    """One :class:`LayerShare` per layer of :data:`LAYERS` that has a component."""
    est = np.append(fitted.full.variances, fitted.full.residual)
    shares = est / est.sum()
    position = {name: j for j, name in enumerate(fitted.names)} | {"residual": len(fitted.names)}
    out = []
    for layer_name in LAYERS:
        members = [c for c in components if c.layer == layer_name]
        if not members:
            continue
        idx = [position[c.name] for c in members if c.estimable]
        missing = [c.name for c in members if not c.estimable]
        note = f"not estimable: {', '.join(missing)}" if missing else ""
        if not idx:
            out.append(LayerShare(layer_name, tuple(c.name for c in members), _NAN, *NAN2, note=note))
            continue
        value = float(shares[idx].sum())
        ci = intervals.share(idx, value, f"layer {layer_name}")
        out.append(LayerShare(layer_name, tuple(c.name for c in members if c.estimable), value, *ci, note=note))
    return out
