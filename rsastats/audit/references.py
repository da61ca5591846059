"""Where an audit's reference extractions come from: two given files, or a callable that makes them.

The core never extracts.  It asks a *reference maker* for the extractions of A's and B's recipes on
one reference model by calling it with two :class:`ReferenceRequest` (what each audited file
records) and ``runs=``; the maker answers with an object shaped like :class:`MadeReferences` (the
files of each side, the settings it had to assume, how it made them).  The extraction side provides
one (``extraction.reference.ReferenceExtractor``; the command line wires ``--reference-model`` to
it); a test or a user with other tools can pass any callable of the same shape.  The interface is
structural: a maker needs nothing from this module, and the audit reads its answer by attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import xarray as xr

from ..io import file_kind
from ..exceptions import LabelError, ValidationError
from ..inputs import Source, open_source, split_file_layer
from ..results import Record
from ..vectors import select_layers
from .attributes import compare_layers

__all__ = [
    "ReferenceRequest",
    "ReferenceAssumption",
    "MadeReferences",
    "ReferenceMaker",
    "References",
    "last_layer",
    "emotions_of",
    "select_emotions",
    "given_references",
    "made_references",
    "references_hold_prompts",
]


@dataclass(frozen=True)
class ReferenceRequest(Record):
    """What the audit asks of a reference maker for one side: re-make this file's recipe.

    ``side`` is ``"A"`` or ``"B"``; ``attrs`` the audited file's attributes (how it was made);
    ``emotions`` the audited emotions (extract exactly these); ``n_prompts`` the prompts per emotion
    of the audited file (``None`` for a vector set); ``baseline`` whether the normalization reads
    baseline (emotion-free) activations, which the reference files must then hold; ``n_baseline`` the
    baseline texts the audited file holds (``None`` when it holds none: the recipe's full set).
    """

    side: str
    attrs: dict[str, Any]
    emotions: tuple[str, ...]
    n_prompts: int | None
    baseline: bool
    n_baseline: int | None = None


@dataclass(frozen=True)
class ReferenceAssumption(Record):
    """A setting of a reference extraction that the audited file does not record.

    ``blocking`` is True when the assumption concerns one of the four layers' settings (the reference
    then may not reproduce that layer, and the audit's verdict is ``inconclusive``); an assumed
    sampling seed is not blocking (seeds are exchangeable draws).
    """

    side: str
    attribute: str
    value: str
    reason: str
    blocking: bool = True


@dataclass(frozen=True)
class MadeReferences(Record):
    """A reference maker's answer: the files it made from A's recipe (one per run: a sampled recipe
    runs ``runs`` times, a deterministic one once) and from B's, the reference model's name, the
    settings it assumed, how it made each side (``plans``: JSON-ready, one per side) and notes."""

    model: str
    files_a: tuple[str, ...]
    files_b: tuple[str, ...]
    assumptions: tuple[ReferenceAssumption, ...] = ()
    plans: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def from_answer(cls, answer: Any) -> "MadeReferences":
        """A maker's answer (any object with these attributes; ``assumptions`` items with
        ``side``, ``attribute``, ``value``, ``reason``, ``blocking``) as a :class:`MadeReferences`."""
        try:
            files_a = tuple(str(f) for f in answer.files_a)
            files_b = tuple(str(f) for f in answer.files_b)
            assumptions = tuple(ReferenceAssumption(str(x.side), str(x.attribute), str(x.value), str(x.reason),
                                                    bool(x.blocking)) for x in getattr(answer, "assumptions", ()))
            plans = tuple(dict(p) for p in getattr(answer, "plans", ()))
            notes = tuple(str(n) for n in getattr(answer, "notes", ()))
            model = str(answer.model)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValidationError(f"the reference maker's answer is not shaped like MadeReferences: {exc}") from None
        if not files_a or not files_b:
            raise ValidationError("the reference maker returned no file for one side")
        return cls(model, files_a, files_b, assumptions, plans, notes)


class ReferenceMaker(Protocol):
    """A callable that makes the reference extractions of the two audited recipes."""

    def __call__(self, requests: Sequence[ReferenceRequest], *, runs: int) -> Any:
        """Extract ``requests[0]``'s recipe and ``requests[1]``'s on one reference model; a sampled
        recipe ``runs`` times (seeds ``s, s + 1, ...``).  Returns an object shaped like
        :class:`MadeReferences`."""


@dataclass(frozen=True)
class References:
    """The opened reference extractions of an audit: each side's runs (files and datasets, on the
    audited emotions), and what a maker reported (empty for given files)."""

    model: str
    files_a: tuple[str, ...]
    files_b: tuple[str, ...]
    datasets_a: tuple[xr.Dataset, ...] = field(repr=False)
    datasets_b: tuple[xr.Dataset, ...] = field(repr=False)
    assumptions: tuple[ReferenceAssumption, ...] = ()
    plans: tuple[dict[str, Any], ...] = ()
    made: bool = False


def last_layer(labels: list[int]) -> list[int]:
    """The layers the audit reads of a file (``layers=`` of :func:`rsastats.inputs.open_source`):
    the last one only, so that only it is loaded."""
    return labels[-1:]


def emotions_of(ds: xr.Dataset) -> list[str]:
    """The emotion labels of a dataset, as text, in file order."""
    return [str(e) for e in ds["emotion"].values]


def select_emotions(ds: xr.Dataset, emotions: Sequence[str]) -> xr.Dataset:
    """``ds`` on ``emotions``, in that order (the same object when it already is)."""
    return ds if emotions_of(ds) == list(emotions) else ds.sel(emotion=list(emotions))


def labelled(source: Source, name: str) -> xr.Dataset:
    """The dataset of ``source`` with a ``source_path`` attribute saying where it came from (its path; for an
    in-memory dataset, its own ``source_path`` or ``name``), so that an error in it names it once it is cut."""
    return source.dataset.assign_attrs(source_path=source.path or str(source.attrs.get("source_path", "") or name))


def _open_reference(obj: Any, side: str, emotions: Sequence[str], notes: list[str]) -> tuple[str, xr.Dataset]:
    name = str(obj) if not isinstance(obj, xr.Dataset) else f"reference {side}"
    obj, own = split_file_layer(obj)  # FILE@LAYER: that layer, else the last
    layers = last_layer if own is None else (lambda labels: select_layers(labels, own, None, name)[0])
    source = open_source(obj, name=name, layers=layers, kinds=("activations", "vectors"), what="a reference")
    ds = labelled(source, name)
    have = emotions_of(ds)
    missing = [e for e in emotions if e not in set(have)]
    if missing:
        raise LabelError(f"lacks {', '.join(missing)}, which the audited files hold", path=name)
    extra = [e for e in have if e not in set(emotions)]
    if extra:
        notes.append(f"reference {side} ({name}) holds {len(extra)} emotion(s) the audited files lack "
                     f"({', '.join(extra)}); only the audited emotions were used")
    return name, select_emotions(ds, emotions)


def given_references(files: Sequence[Any], emotions: Sequence[str], attrs: Sequence[Mapping[str, Any]],
                     notes: list[str]) -> References:
    """Two precomputed reference files (A's recipe, B's recipe), opened on the audited emotions.

    A reference whose attributes do not match its side's recipe is noted (``notes`` grows); the
    model is named from the files' ``model`` attributes.
    """
    opened = []
    for side, obj, side_attrs in zip(("A", "B"), files, attrs):
        name, ds = _open_reference(obj, side, emotions, notes)
        _, layers = compare_layers(side_attrs, ds.attrs)
        moved = [x.description for x in layers if x.status == "differs"]
        if moved:
            notes.append(f"reference {side} was not made with {side}'s recipe: {'; '.join(moved)} "
                         f"({side} vs reference {side})")
        opened.append((name, ds))
    (name_a, ds_a), (name_b, ds_b) = opened
    model = ", ".join(sorted({str(r.attrs.get("model", "") or "(unknown)") for r in (ds_a, ds_b)}))
    return References(model, (name_a,), (name_b,), (ds_a,), (ds_b,))


def made_references(make: ReferenceMaker, requests: Sequence[ReferenceRequest], runs: int,
                    notes: list[str]) -> References:
    """Call a reference maker and open what it made on the audited emotions (its notes join ``notes``)."""
    answer = MadeReferences.from_answer(make(tuple(requests), runs=runs))
    if max(len(answer.files_a), len(answer.files_b)) > runs:
        raise ValidationError(f"the reference maker returned more than the {runs} run(s) asked for")
    notes.extend(answer.notes)
    emotions = requests[0].emotions
    datasets = [tuple(_open_reference(f, side, emotions, notes)[1] for f in files)
                for side, files in (("A", answer.files_a), ("B", answer.files_b))]
    return References(answer.model, answer.files_a, answer.files_b, datasets[0], datasets[1], answer.assumptions,
                      answer.plans, made=True)


def references_hold_prompts(refs: References) -> bool:
    """Whether every reference file holds prompts (activations), so a prompt bootstrap applies."""
    return all(file_kind(r) == "activations" for r in refs.datasets_a + refs.datasets_b)
