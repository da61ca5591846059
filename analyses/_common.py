"""What every analysis shares: the command line, the context it runs in, and small helpers.

Each analysis module defines ``NAME``, ``TITLE``, ``QUESTION``, ``needs(model_set)`` (the
``(model, recipe)`` files it reads) and ``analyse(ctx, doc)`` (fills an :class:`AnalysisDocument`),
and ends with ``main = command(NAME)``.  Run one with::

    python -m analyses.<name> --models analyses/configs/offline.yaml [--out reports/<name>] [--cache DIR]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from rsastats.exceptions import RsaStatsError

from ._cache import ExtractionCache
from ._config import ModelSet, load_model_set
from ._document import AnalysisDocument
from rsastats.inference.difference import DIFFERENCE_CI
from rsastats.inference.pairs import compare_all
from rsastats.report.captions import inference_caption
from ._cache import COMPREHENSION

__all__ = ["Context", "ANALYSES", "run_analysis", "command", "DEFAULT_CONFIG", "sizes_text", "collect_warnings",
           "role_of", "ROLE_ORDER", "compare_set", "caption_of", "pairs_frame", "offline_limits"]

DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "offline.yaml"

# The twelve questions, in the order of issue 8, then the hypothesis RDMs and the peers' recipes of issue 16.
ANALYSES = ("cross_model", "base_instruct", "anisotropy", "layer_sensitivity", "normalization",
            "comprehension_generation", "generation_sweep", "precision", "cross_experiment", "decomposition",
            "maturity", "audit", "hypotheses", "recipes")
BASIC_NOTE = ("basic intervals reflect the extra attenuation of resampled prompts back and target the noise-free rho, "
              "so they need not contain the estimate (docs/statistics.md)")
ROLE_ORDER = ("trained-trained", "trained-random", "random-random")


@dataclass
class Context:
    """What an analysis runs on: the model set, the extraction cache, the seed, a log."""

    model_set: ModelSet
    cache: ExtractionCache
    seed: int = 0
    log: Callable[[str], None] = field(default=lambda line: None)

    @property
    def sizes(self):
        return self.model_set.sizes

    def file(self, model: str, recipe: str) -> str:
        return str(self.cache.get(model, recipe))


def role_of(ms: ModelSet, a: str, b: str) -> str:
    """``trained-trained``, ``trained-random`` or ``random-random`` for a pair of model names."""
    ra, rb = ms.entry(a).is_random, ms.entry(b).is_random
    return "random-random" if ra and rb else "trained-random" if ra or rb else "trained-trained"


def sizes_text(ms: ModelSet, *, generation: bool = False) -> str:
    s = ms.sizes
    text = (f"Each comprehension run reads the first {s.prompts} stimuli per emotion (of 48 named / 44 implicit) and "
            f"{s.baseline} of the 150 emotion-free baseline texts")
    if generation:
        text += f"; generation samples {s.samples} continuations of {s.new_tokens} new tokens per emotion"
    return text + f" (model set `{ms.name}`: {Path(ms.path).name})."


class collect_warnings:
    """Record warnings raised inside the block (once each) so the report can list them."""

    def __init__(self, into: list[str]):
        self.into = into

    def __enter__(self):
        self._cm = warnings.catch_warnings(record=True)
        self._caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        for w in self._caught:
            text = " ".join(str(w.message).split())
            if text not in self.into:
                self.into.append(text)
        return False


def run_analysis(name: str, model_set: ModelSet | str | Path = DEFAULT_CONFIG, *, out: str | Path | None = None,
                 cache: str | Path | None = None, seed: int = 0, log: Callable[[str], None] | None = None,
                 loader: Any = None) -> AnalysisDocument:
    """Run the analysis ``name`` on ``model_set`` and write ``out`` (default ``reports/<name>``)."""
    module = importlib.import_module(f"analyses.{name}")
    ms = model_set if isinstance(model_set, ModelSet) else load_model_set(model_set)
    log = log or (lambda line: None)
    ctx = Context(ms, ExtractionCache(ms, cache, seed=seed, log=log, loader=loader), seed=int(seed), log=log)
    out = Path(out) if out is not None else Path("reports") / name
    doc = AnalysisDocument(module.NAME, module.TITLE, module.QUESTION, out)
    started = time.perf_counter()
    for model, recipe in module.needs(ms):  # extract first, so the timing below is the analysis alone
        ctx.file(model, recipe)
    t0 = time.perf_counter()
    module.analyse(ctx, doc)
    config_arg = Path(ms.path)
    try:
        config_arg = config_arg.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    doc.settings.update({
        "command": f"python -m analyses.{name} --models {config_arg.as_posix()}",
        "model_set": ms.to_dict() | {"path": config_arg.as_posix()}, "seed": int(seed),
        "recipes": {r: ctx.cache.recipes[r].to_dict() for r in sorted({r for _, r in module.needs(ms)})},
        "extractions": {f"{m}/{r}": ctx.cache.record(m, r) for m, r in module.needs(ms)},
        "analysis_seconds": round(time.perf_counter() - t0, 1),
    })
    doc.write()
    log(f"{name}: written {out / 'report.md'} in {time.perf_counter() - started:.0f} s")
    return doc


def command(name: str) -> Callable[[Sequence[str] | None], int]:
    """The ``main`` of an analysis module: ``python -m analyses.<name> --models CONFIG``."""
    def main(argv: Sequence[str] | None = None) -> int:
        module = importlib.import_module(f"analyses.{name}")
        parser = argparse.ArgumentParser(prog=f"python -m analyses.{name}", description=module.QUESTION)
        parser.add_argument("--models", default=str(DEFAULT_CONFIG), help="model-set file (analyses/configs/*.yaml)")
        parser.add_argument("--out", default=None, help=f"report folder (default reports/{name})")
        parser.add_argument("--cache", default=None, help="extraction cache (default build/analyses/<model set>)")
        parser.add_argument("--seed", type=int, default=0)
        args = parser.parse_args(argv)
        try:
            run_analysis(name, args.models, out=args.out, cache=args.cache, seed=args.seed,
                         log=lambda line: print(line, file=sys.stderr, flush=True))
        except RsaStatsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0

    return main


def compare_set(ctx: Context, names, recipe: str = COMPREHENSION, **options):
    """compare_all over ``names`` x ``recipe`` with the model set's sizes."""
    s = ctx.sizes
    files = [ctx.file(n, recipe) for n in names]
    settings = dict(n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits, seed=ctx.seed)
    settings.update(options)
    return compare_all(files, names=list(names), **settings)


def ci_phrase(ci: str, confidence: float, n_boot: int, over: str = "emotions and prompts") -> str:
    """How a table's interval was made, in words: the jackknife intervals resample emotions only (leave one
    out), the bootstrap ones ``over`` what the comparison resampled."""
    if ci == "jackknife-t":
        return (f"{100 * confidence:g}% Fisher-z jackknife-t CI over emotions (leave one emotion out; variance corrected "
                "for the jackknife's second-order excess)")
    if ci == "jackknife-z":
        return f"{100 * confidence:g}% Fisher-z jackknife CI over emotions (leave one emotion out)"
    if ci == "jackknife":
        return f"{100 * confidence:g}% normal jackknife CI over emotions (leave one emotion out)"
    return f"{100 * confidence:g}% {ci} bootstrap CI over {over}, {n_boot} resamples"


_SCHEME_WORDS = {"emotions": "emotions", "prompts": "prompts", "both": "emotions and prompts"}


def difference_phrase(d, over: str | None = None) -> str:
    """How the interval of a paired difference (``compare_difference``) was made, in words: a jackknife leaves
    the same emotion out of both correlations, a bootstrap draws the same resamples for both."""
    if d.ci_method == DIFFERENCE_CI:  # not rho's Fisher-z interval: a difference has no Fisher-z transform
        phrase = (f"{100 * d.confidence:g}% jackknife-t CI over emotions on the raw scale (leave one emotion out; "
                  "variance less the jackknife's second-order excess)")
    else:
        phrase = ci_phrase(d.ci_method, d.confidence, d.n_boot, over or _SCHEME_WORDS.get(d.bootstrap, d.bootstrap))
    return f"{phrase}, {paired_words(d.ci_method)}"


def paired_words(ci_method: str) -> str:
    """What keeps the two correlations of a paired difference together under ``ci_method``."""
    if ci_method.startswith("jackknife"):
        return "the same emotion left out of both correlations"
    return "the same resamples for both correlations"


def caption_of(result, ctx: Context, extra: str = "") -> str:
    return inference_caption(n_emotions=result.n_emotions, prompts=f"{ctx.sizes.prompts} prompts per emotion",
                             ci=result.ci_method, confidence=result.confidence, scheme=result.bootstrap,
                             n_boot=result.n_boot, seed=ctx.seed, permutations=result.n_permutations,
                             exact=result.exact,
                             extra=(f"{result.rdm} RDMs compared by {result.rank}; {result.layer}; "
                                    f"{result.normalization} vectors" + (f"; {extra}" if extra else "")
                                    + ("; " + BASIC_NOTE if result.ci_method == "basic" else "")))


def pairs_frame(result, ms: ModelSet) -> pd.DataFrame:
    """A compare_all result's pairs with the role of each pair (trained/random)."""
    frame = result.pairs.copy()
    frame.insert(2, "pair_kind", [role_of(ms, a, b) for a, b in zip(frame["a"], frame["b"])])
    return frame


def fraction_text(k: int, n: int) -> str:
    return f"{k} of {n}"


def median_or_nan(values: Sequence[float]) -> float:
    values = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.median(values)) if values else float("nan")


_OFFLINE_MODELS = {"default": "SmolLM2-135M-Instruct", "minilm": "all-MiniLM-L6-v2"}


def offline_limits(ms: ModelSet) -> list[str]:
    """What a set of offline models can and cannot say about the study's models (empty for other sets)."""
    offline = [m for m in ms.trained if m.model in _OFFLINE_MODELS]
    if not offline:
        return []
    names = ", ".join(_OFFLINE_MODELS[m.model] for m in offline)
    items = [f"The trained models here ({names}) are not among the study's twelve (1-8B decoders, base and instruct): "
             "these results test the pipeline and the statistics and describe these small models; they do not confirm "
             "or refute the study's numbers. `analyses/configs/study12.yaml` runs the same analysis on the study's models."]
    if ms.random:
        items.append("The randomly initialised models read the same stimuli through the same tokenizers and "
                     "architectures but were never trained: whatever they share is produced by the stimuli, the "
                     "tokenizer or the pipeline, which makes them the baseline a claim about learned geometry must beat.")
    items.append(f"Sizes are reduced for a shared 2-core CPU ({ms.sizes.prompts} prompts per emotion, "
                 f"{ms.sizes.n_boot} bootstrap resamples): intervals are wider than with the full stimulus sets.")
    return items


def decomposition_caption(result) -> str:
    d = result.diagnostics
    return (f"n = {d.n_emotions} emotions ({d.n_cells} RDM cells) x {d.n_files} files; mixed model of the within-file "
            f"{'ranks' if d.response == 'rank' else 'z-scores'} of the {d.rdm or 'cosine'} RDM cells ({d.engine} "
            f"{d.method}); {100 * d.confidence:g}% {d.ci_method} bootstrap CIs over emotions, {d.n_boot} resamples "
            f"({d.n_boot_nonconverged} not converged, {d.n_boot_failed} failed); likelihood-ratio p adjusted for cells "
            f"that share an emotion; seed {d.seed}.")


def decomposition_section(doc: AnalysisDocument, result, prefix: str = "decomposition") -> None:
    """The tables and the figure of a :func:`rsastats.variance.decompose` result."""
    from rsastats.report.figures import variance_bars

    caption = decomposition_caption(result)
    comp = result.to_frame()
    layers = result.layers_frame()
    layers["components"] = [", ".join(c) for c in layers["components"]]
    if comp["estimable"].astype(bool).any():
        doc.figure(variance_bars(comp, layers), f"{prefix}_shares", "Variance components and layer shares",
                   caption + " Only estimable components are drawn.")
    doc.table(f"{prefix}_layers", "Variance by layer of method choices", caption, layers,
              columns={"layer": "layer", "components": "components", "share": "share", "share_ci_low": "",
                       "share_ci_high": "", "note": "note"}, cis=[("share_ci_low", "share_ci_high", "CI")])
    doc.table(f"{prefix}_components", "Variance components", caption, comp,
              columns={"component": "component", "layer": "layer", "n_levels": "levels", "share": "share",
                       "share_ci_low": "", "share_ci_high": "", "lrt_p_adjusted": "LRT p (adjusted)", "note": "note"},
              cis=[("share_ci_low", "share_ci_high", "CI")], kinds={"n_levels": "int", "lrt_p_adjusted": "p"})
    contrasts = result.contrasts_frame()
    if not contrasts.empty:
        contrasts["models"] = [", ".join(m) for m in contrasts["models"]]
        doc.table(f"{prefix}_contrasts", "rho between files that differ in one factor", caption, contrasts,
                  columns={"layer": "layer", "factor": "factor", "levels": "levels", "n_pairs": "pairs",
                           "mean_rho": "mean rho", "ci_low": "", "ci_high": "", "implied_rho": "rho implied by fit"},
                  cis=[("ci_low", "ci_high", "CI")], kinds={"n_pairs": "int"})
    diag = list(result.diagnostics.warnings) + list(result.diagnostics.notes)
    doc.bullets(diag)


def layer_shares(result) -> dict[str, dict[str, float]]:
    """``{layer: {share, ci_low, ci_high}}`` of a decomposition (for key numbers)."""
    return {ls.layer: {"share": ls.share, "ci_low": ls.share_ci[0], "ci_high": ls.share_ci[1]} for ls in result.layers}


def try_decompose(doc: AnalysisDocument, files, names, *, n_boot: int, seed: int, notes: list[str], prefix: str = "decomposition"):
    """:func:`rsastats.variance.decompose` of ``files`` and its section; when the files cannot be
    decomposed (no component estimable), the reason goes into the report and ``None`` is returned."""
    from rsastats.variance import decompose

    try:
        with collect_warnings(notes):
            result = decompose(list(files), names=list(names), n_boot=n_boot, seed=seed)
    except RsaStatsError as exc:
        doc.text(f"No decomposition: {exc}")
        return None
    decomposition_section(doc, result, prefix)
    return result
