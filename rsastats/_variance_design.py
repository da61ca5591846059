"""The design of a decomposition: file conditions, components, what the files can estimate, and
which file pairs form the simple view.  Private to :mod:`rsastats.variance`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .data import attribute_text
from .exceptions import ValidationError

__all__ = [
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
    "build_design",
    "contrast_pairs",
    "pair_levels",
]

# The attributes that define a file's condition, in the order the study's layers come.
FACTORS = ("model", "method", "temperature", "top_p", "max_new_tokens", "template", "seed", "precision", "experiment")
# Sub-parameters that exist only for generated text: their components apply to generation files only.
GENERATION_FACTORS = ("temperature", "top_p", "max_new_tokens", "template", "seed")
_LAYER_OF_FACTOR = {
    "model": "model",
    "method": "1 method",
    **{f: "2 sub-parameters" for f in GENERATION_FACTORS},
    "precision": "3 precision",
    "experiment": "4 experiment",
}
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
    """A file's level of every factor in :data:`FACTORS`, from its attributes.

    Generation sub-parameters of a file whose method is not ``generation`` are ``"n/a"``;
    a missing or empty attribute is ``"(unknown)"`` (one level of its own).
    """
    levels = {name: attribute_text(attrs.get(name, "")) or UNKNOWN for name in FACTORS}
    if levels["method"] != "generation":
        for name in GENERATION_FACTORS:
            levels[name] = NOT_APPLICABLE
    return levels


@dataclass(frozen=True)
class Component:
    name: str
    factors: tuple[str, ...]
    layer: str
    generation_only: bool

    @property
    def term(self) -> str:
        group = ":".join(("cell",) + self.factors)
        return f"(0 + generation | {group})" if self.generation_only else f"(1 | {group})"


def parse_components(names: Iterable[str]) -> list[Component]:
    out: list[Component] = []
    seen: set[tuple[str, ...]] = set()
    for raw in names:
        factors = tuple(part.strip() for part in str(raw).split(":"))
        unknown = [f for f in factors if f not in FACTORS]
        if unknown or not factors:
            raise ValidationError(f"unknown factor(s) {unknown} in component {raw!r}; factors are {', '.join(FACTORS)}")
        if len(set(factors)) != len(factors):
            raise ValidationError(f"component {raw!r} names a factor twice")
        key = tuple(sorted(factors))
        if key in seen:
            raise ValidationError(f"component {raw!r} is given twice")
        seen.add(key)
        non_model = [f for f in factors if f != "model"]
        layer = _LAYER_OF_FACTOR[non_model[0]] if non_model else "model"
        out.append(Component(":".join(factors), factors, layer, any(f in GENERATION_FACTORS for f in factors)))
    return out


# --------------------------------------------------------------------------- design
def component_levels(comp: Component, conditions: Sequence[Mapping[str, str]]) -> list[str | None]:
    """Each file's level of ``comp`` (``None`` where it does not apply)."""
    out: list[str | None] = []
    for cond in conditions:
        if comp.generation_only and cond["method"] != "generation":
            out.append(None)
        else:
            out.append(" x ".join(cond[f] for f in comp.factors))
    return out


def same_level_matrix(levels: Sequence[str | None]) -> np.ndarray:
    """G = Z Z': 1 where two files share a (non-None) level."""
    arr = np.array(["\0" if x is None else x for x in levels], dtype=object)
    applies = np.array([x is not None for x in levels])
    return ((arr[:, None] == arr[None, :]) & applies[:, None] & applies[None, :]).astype(np.float64)


@dataclass
class Design:
    components: list[Component]
    levels: list[list[str | None]]
    matrices: list[np.ndarray]
    estimable: list[bool]
    reasons: list[str]
    absorbs: dict[str, list[str]]
    notes: list[str]


def _describe_single_level(comp: Component, levels: Sequence[str | None], n_files: int) -> str:
    applied = [x for x in levels if x is not None]
    if not applied:
        return "no generation files, so generation sub-parameters do not apply"
    who = "generation files" if comp.generation_only else "files"
    return f"{' x '.join(comp.factors)} does not vary: it is {applied[0]} in all {len(applied)} {who}"


def build_design(components: list[Component], conditions: Sequence[Mapping[str, str]]) -> Design:
    """Which components the files can estimate, and why not for the others.

    A component is estimable when at least two of its levels occur among the files it applies to,
    and its "same level" matrix is linearly independent of those of the residual, the shared cell
    effect and the components kept before it (otherwise it is confounded with them).
    """
    n_files = len(conditions)
    identity = np.eye(n_files)
    ones = np.ones((n_files, n_files))
    basis = [identity.ravel(), ones.ravel()]
    basis_names = ["residual", "shared"]
    design = Design(components, [], [], [], [], {}, [])
    for comp in components:
        levels = component_levels(comp, conditions)
        g = same_level_matrix(levels)
        design.levels.append(levels)
        design.matrices.append(g)
        applied = {x for x in levels if x is not None}
        if len(applied) < 2:
            design.estimable.append(False)
            design.reasons.append(_describe_single_level(comp, levels, n_files))
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
    for factor in FACTORS:
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



# --------------------------------------------------------------------------- simple view
_PAIR_LAYERS = {"model": "model", "method": "1 method", "precision": "3 precision", "experiment": "4 experiment"}


def contrast_pairs(conditions: Sequence[Mapping[str, str]]) -> list[tuple[str, str, int, int]]:
    """(layer, factor, f, g) for every pair of files of one model that differ in one factor only (method
    pairs may also differ in the sub-parameters, which comprehension files lack), and for pairs of
    models under the same condition."""
    out = []
    for f in range(len(conditions)):
        for h in range(f + 1, len(conditions)):
            diff = [x for x in FACTORS if conditions[f][x] != conditions[h][x]]
            if not diff:
                continue
            gen = [x for x in diff if x in GENERATION_FACTORS]
            rest = [x for x in diff if x not in GENERATION_FACTORS]
            if rest == ["method"]:
                out.append(("1 method", "method", f, h))
            elif not rest and len(gen) == 1 and conditions[f]["method"] == "generation":
                out.append(("2 sub-parameters", gen[0], f, h))
            elif len(rest) == 1 and not gen and rest[0] in _PAIR_LAYERS:
                out.append((_PAIR_LAYERS[rest[0]], rest[0], f, h))
    return out


def pair_levels(factor: str, a: Mapping[str, str], b: Mapping[str, str]) -> tuple[str, str]:
    """The two files' levels of the factor a contrast pair differs in."""
    return a[factor], b[factor]
