"""The design of a decomposition: the factors of a file's condition (one table), the components
fitted from them, each file's levels, the components' "same level" matrices, and which components
the files can estimate.

To add a method factor (e.g. a sub-parameter of a contrastive recipe), add one :class:`Factor` to
:data:`FACTOR_TABLE`: its attribute name, the study's layer it belongs to, and (for a sub-parameter)
the ``method`` whose files alone have it.  A new *method* (a recipe) needs no change here: it is a
new level of the ``method`` factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..io import known_attribute
from ..exceptions import ValidationError

__all__ = [
    "Factor",
    "FACTOR_TABLE",
    "FACTORS",
    "GENERATION_FACTORS",
    "LAYERS",
    "DEFAULT_COMPONENTS",
    "UNKNOWN",
    "NOT_APPLICABLE",
    "Component",
    "Design",
    "file_condition",
    "parse_components",
    "component_levels",
    "same_level_matrix",
    "build_design",
]


@dataclass(frozen=True)
class Factor:
    """One factor of a file's condition: the attribute it is read from, the study's layer its
    components belong to, and the method whose files alone have it (``None``: every file)."""

    name: str
    layer: str
    within: str | None = None


# The attributes that define a file's condition, in the order the study's layers come.
FACTOR_TABLE: dict[str, Factor] = {f.name: f for f in (
    Factor("model", "model"),
    Factor("method", "1 method"),
    # Sub-parameters that exist only for generated text: their components apply to generation files only.
    Factor("temperature", "2 sub-parameters", "generation"),
    Factor("top_p", "2 sub-parameters", "generation"),
    Factor("max_new_tokens", "2 sub-parameters", "generation"),
    Factor("template", "2 sub-parameters", "generation"),
    Factor("seed", "2 sub-parameters", "generation"),
    Factor("precision", "3 precision"),
    Factor("experiment", "4 experiment"),
)}
FACTORS = tuple(FACTOR_TABLE)
GENERATION_FACTORS = tuple(f.name for f in FACTOR_TABLE.values() if f.within == "generation")
LAYERS = ("shared geometry", "model", "1 method", "2 sub-parameters", "3 precision", "4 experiment", "residual")
# Main effects first, so that when two factors are confounded the earlier one keeps the variance.
DEFAULT_COMPONENTS = (
    "model",
    "method",
    "precision",
    "experiment",
    "temperature",
    "top_p",
    "max_new_tokens",
    "template",
    "seed",
    "model:method",
    "model:precision",
    "model:experiment",
)
UNKNOWN = "(unknown)"
NOT_APPLICABLE = "n/a"


# --------------------------------------------------------------------------- conditions
def file_condition(attrs: Mapping[str, Any]) -> dict[str, str]:
    """A file's level of every factor of :data:`FACTOR_TABLE`, from its attributes.

    A sub-parameter of a file whose method is not the one it belongs to (e.g. a generation
    sub-parameter of a comprehension file) is ``"n/a"``; a missing or empty attribute is
    ``"(unknown)"`` (one level of its own).
    """
    levels = {name: known_attribute(attrs, name) or UNKNOWN for name in FACTOR_TABLE}
    for factor in FACTOR_TABLE.values():
        if factor.within is not None and levels["method"] != factor.within:
            levels[factor.name] = NOT_APPLICABLE
    return levels


# --------------------------------------------------------------------------- components
@dataclass(frozen=True)
class Component:
    """A random cell-by-level effect of one factor or a crossing of factors.

    ``within`` is the method whose files alone it applies to (a sub-parameter's component), or None.
    """

    name: str
    factors: tuple[str, ...]
    layer: str
    within: str | None

    @property
    def term(self) -> str:
        group = ":".join(("cell",) + self.factors)
        return f"(0 + {self.within} | {group})" if self.within else f"(1 | {group})"


def parse_components(names: Iterable[str]) -> list[Component]:
    """Components from names (factors joined by ``:``); an unknown factor is an error."""
    out: list[Component] = []
    seen: set[tuple[str, ...]] = set()
    for raw in names:
        factors = tuple(part.strip() for part in str(raw).split(":"))
        unknown = [f for f in factors if f not in FACTOR_TABLE]
        if unknown or not factors:
            raise ValidationError(f"unknown factor(s) {unknown} in component {raw!r}; "
                                  f"factors are {', '.join(FACTOR_TABLE)}")
        if len(set(factors)) != len(factors):
            raise ValidationError(f"component {raw!r} names a factor twice")
        key = tuple(sorted(factors))
        if key in seen:
            raise ValidationError(f"component {raw!r} is given twice")
        seen.add(key)
        within = sorted({FACTOR_TABLE[f].within for f in factors} - {None})
        if len(within) > 1:
            raise ValidationError(f"component {raw!r} crosses sub-parameters of different methods ({', '.join(within)}): "
                                  "no file has both")
        non_model = [f for f in factors if f != "model"]
        layer = FACTOR_TABLE[non_model[0]].layer if non_model else "model"
        out.append(Component(":".join(factors), factors, layer, within[0] if within else None))
    return out


def component_levels(comp: Component, conditions: Sequence[Mapping[str, str]]) -> list[str | None]:
    """Each file's level of ``comp`` (``None`` where it does not apply)."""
    out: list[str | None] = []
    for cond in conditions:
        if comp.within is not None and cond["method"] != comp.within:
            out.append(None)
        else:
            out.append(" x ".join(cond[f] for f in comp.factors))
    return out


def same_level_matrix(levels: Sequence[str | None]) -> np.ndarray:
    """G = Z Z': 1 where two files share a (non-None) level."""
    arr = np.array(["\0" if x is None else x for x in levels], dtype=object)
    applies = np.array([x is not None for x in levels])
    return ((arr[:, None] == arr[None, :]) & applies[:, None] & applies[None, :]).astype(np.float64)


# --------------------------------------------------------------------------- design
@dataclass
class Design:
    """Per component (in the order given): each file's level, the "same level" matrix, whether it
    is estimable and why not; which kept components absorb confounded ones; notes on the files."""

    components: list[Component]
    levels: list[list[str | None]]
    matrices: list[np.ndarray]
    estimable: list[bool]
    reasons: list[str]
    absorbs: dict[str, list[str]]
    notes: list[str]


def _describe_single_level(comp: Component, levels: Sequence[str | None]) -> str:
    applied = [x for x in levels if x is not None]
    if not applied:
        return f"no {comp.within} files, so {comp.within} sub-parameters do not apply"
    who = f"{comp.within} files" if comp.within else "files"
    return f"{' x '.join(comp.factors)} does not vary: it is {applied[0]} in all {len(applied)} {who}"


def build_design(components: list[Component], conditions: Sequence[Mapping[str, str]]) -> Design:
    """Which components the files can estimate, and why not for the others.

    A component is estimable when at least two of its levels occur among the files it applies to,
    and its "same level" matrix is linearly independent of those of the residual, the shared cell
    effect and the components kept before it (otherwise it is confounded with them).
    """
    n_files = len(conditions)
    basis = [np.eye(n_files).ravel(), np.ones((n_files, n_files)).ravel()]
    basis_names = ["residual", "shared"]
    design = Design(components, [], [], [], [], {}, [])
    for comp in components:
        levels = component_levels(comp, conditions)
        g = same_level_matrix(levels)
        design.levels.append(levels)
        design.matrices.append(g)
        if len({x for x in levels if x is not None}) < 2:
            design.estimable.append(False)
            design.reasons.append(_describe_single_level(comp, levels))
            continue
        stack = np.column_stack(basis)
        coef, *_ = np.linalg.lstsq(stack, g.ravel(), rcond=None)
        resid = g.ravel() - stack @ coef
        if np.linalg.norm(resid) <= 1e-8 * max(1.0, np.linalg.norm(g)):
            partners = [name for name, c in zip(basis_names, coef) if abs(c) > 1e-8]
            design.estimable.append(False)
            design.reasons.append(_confounding_reason(comp, partners))
            for name in partners:
                if name not in ("residual", "shared"):
                    design.absorbs.setdefault(name, []).append(comp.name)
            continue
        basis.append(g.ravel())
        basis_names.append(comp.name)
        design.estimable.append(True)
        design.reasons.append("")
    used = {f for comp in components for f in comp.factors}
    for factor in (f for f in FACTOR_TABLE if f in used):  # a factor outside the model is no level of it
        unknown = sum(1 for c in conditions if c[factor] == UNKNOWN)
        if unknown:
            design.notes.append(f"{factor} is unknown (empty attribute) for {unknown} of {n_files} files; "
                                f"they are treated as one level '{UNKNOWN}'")
    return design


def _confounding_reason(comp: Component, partners: list[str]) -> str:
    if partners == ["residual"]:
        return (f"confounded with the residual: no two files share a level of {' x '.join(comp.factors)}, "
                "so its variance is in the residual")
    if len(partners) == 1:
        return f"confounded with {partners[0]} (the files' levels of both coincide); its variance is in {partners[0]}"
    return f"confounded with a combination of {', '.join(partners)}; not separable in these files"
