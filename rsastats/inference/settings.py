"""Settings shared by the comparison functions (one pair, a difference, all pairs): validation of the
inference options, the resampling scheme, the interval, and the seed streams."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..checks import check_choice, check_confidence, check_count
from ..limits import check_count_fits
from ..exceptions import RsaStatsWarning, ValidationError
from ..inputs import ModelInput, RDMOptions
from ..intervals import INTERVAL_METHODS, ci_method_name
from ..measures import rank_method_name
from ..rng import SeedLike, spawn_sequences
from .engine import SCHEMES

__all__ = ["Streams", "streams", "comparison_settings", "check_resample_memory", "scheme_for", "layer_text", "DEFAULT_SCHEME"]

# Emotions are the sampling unit: each emotion's prompt rows travel with it, so resampling emotions
# carries both sources of variation of rho as measured (docs/statistics.md, "Two estimands").
DEFAULT_SCHEME = "emotions"
# What the other schemes' intervals of rho are, said wherever one is asked for (measured: docs/calibration.md,
# 'The other bootstrap schemes', analyses/calibration/schemes.py)
SCHEME_WARNINGS = {
    "prompts": "--bootstrap prompts keeps these emotions and resamples their prompts: rho's interval leaves out the "
               "variance a new sample of emotions brings, and its resamples, which repeat prompts, lie below rho, so "
               "the interval is calibrated neither for rho as measured nor for rho given these emotions and often "
               "excludes rho (then it is not shown)",
    "both": "--bootstrap both resamples the prompts within the resampled emotions: its resamples, which repeat "
            "prompts, lie below rho and count the prompts' noise a second time, so rho's interval is not calibrated",
}


@dataclass(frozen=True)
class Streams:
    """Child streams of a comparison's seed: bootstrap (0), permutations (1), half splits (2), the
    emotion resamples of the corrected rho (3) and its sign-flip worlds (4).  Each part is reproducible on its
    own (a child depends only on the seed and its index)."""

    bootstrap: np.random.SeedSequence
    permutations: np.random.SeedSequence
    splits: np.random.SeedSequence
    corrected: np.random.SeedSequence
    worlds: np.random.SeedSequence


def streams(seed: SeedLike) -> Streams:
    return Streams(*spawn_sequences(seed, 5))


def comparison_settings(n_boot: Any, ci: Any, confidence: Any, rank: Any, scheme: Any,
                        options: RDMOptions) -> tuple[int, str, float, str, str | None, RDMOptions]:
    """Checked (n_boot, ci, confidence, rank, scheme, options)."""
    n_boot = check_count("n_boot", n_boot, 2)
    ci = ci_method_name(ci)
    confidence = check_confidence(confidence)
    rank = rank_method_name(rank)
    if scheme is not None:
        scheme = check_choice("bootstrap scheme", scheme, SCHEMES)
    return n_boot, ci, confidence, rank, scheme, options.checked()


def check_resample_memory(models: Sequence[ModelInput], n_pairs: int, n_boot: int, n_permutations: int,
                          n_splits: int) -> None:
    """Refuse before any work a ``--n-boot``, ``--permutations`` or ``--n-splits`` whose arrays would not fit
    the memory limit (:mod:`rsastats.limits`).  Bytes per unit, from the arrays each one keeps: a
    bootstrap replicate holds its emotion counts, its weights of every RDM cell (for rho_corrected) and
    a few copies of its rho per pair; a permutation its permuted labels and statistics; a half split the
    prompt counts of both halves and both halves' RDM cells of every model."""
    n = models[0].rdm.n_emotions
    cells = n * (n - 1) // 2
    prompts = sum(m.rows.valid.size for m in models if m.rows is not None)
    check_count_fits("--n-boot", n_boot, 8 * (n + cells + 3 * n_pairs))
    check_count_fits("--permutations", n_permutations, 8 * (n + 2 * n_pairs))
    check_count_fits("--n-splits", n_splits, 8 * (2 * prompts + 4 * len(models) * cells + 256 * (len(models) + 2 * n_pairs)))


def scheme_for(models: Sequence[ModelInput], scheme: str | None, ci: str) -> str:
    """The resampling scheme: ``emotions`` unless asked; prompt schemes need activations, and the
    jackknife intervals leave out emotions, so they go with the emotion scheme only.  A prompt scheme warns what its
    interval of rho is (:data:`SCHEME_WARNINGS`)."""
    chosen = scheme or DEFAULT_SCHEME
    if chosen in ("prompts", "both"):
        missing = [m for m in models if not m.has_prompts]
        if missing:
            raise ValidationError(f"--bootstrap {chosen} resamples prompts and needs activations files; "
                                  f"{missing[0].name} is a {missing[0].kind} file (use --bootstrap emotions)",
                                  path=missing[0].path or missing[0].rdm.source or None)
        if INTERVAL_METHODS[ci].uses == "jackknife":
            raise ValidationError(f"--ci {ci} leaves out one emotion at a time (emotions are the sampling unit); "
                                  f"with --bootstrap {chosen} use --ci percentile, basic or bca")
        warnings.warn(f"{SCHEME_WARNINGS[chosen]} (docs/calibration.md, 'The other bootstrap schemes'); the default, "
                      "--bootstrap emotions, is calibrated over the design atlas", RsaStatsWarning, stacklevel=3)
    return chosen


def layer_text(models: Sequence[ModelInput]) -> str:
    """Each model's layer choice (once when they agree), with a note when files of one model are
    compared at different layer labels (never silently: that rho answers another question)."""
    texts = [m.layer_selection for m in models]
    text = texts[0] if len(set(texts)) == 1 else "; ".join(f"{m.name}: {t}" for m, t in zip(models, texts))
    known = [m for m in models if m.layers is not None]
    if any(_same_model(a, b) and a.layers != b.layers for i, a in enumerate(known) for b in known[i + 1:]):
        text += "; note: files of the same model are compared at different layers"
    unknown = [m.name for m in models if m.layer_offset is None]
    if unknown:
        text += (f"; note: the layer convention of {', '.join(unknown)} is unknown, so its layer labels may not be "
                 "rsastats layers (docs/file-format.md)")
    return text


def _same_model(a: ModelInput, b: ModelInput) -> bool:
    """Whether two inputs may be of one model (same ``model`` attribute, or one not recorded): only
    then do different layer labels mean different physical layers of one network."""
    model_a, model_b = str(a.attrs.get("model", "") or ""), str(b.attrs.get("model", "") or "")
    return not model_a or not model_b or model_a == model_b
