"""Options shared by ``rsastats compare`` and ``rsastats matrix`` (how files become RDMs, and the
inference settings).  Values are validated by the library, so that a bad value gets the same
one-line error from Python and from the command line."""

from __future__ import annotations

from typing import Callable

import click

from ...inference.bootstrap import DEFAULT_CI, DEFAULT_N_BOOT
from ...inference.ceiling import DEFAULT_N_SPLITS
from ...inference.permutation import DEFAULT_PERMUTATIONS
from ..options import LAYER, LAYER_HELP

DEFAULT_CI_HELP = (
    f"Interval of rho as measured: jackknife-t, jackknife-z, percentile, basic or bca [default: {DEFAULT_CI}: Tukey's "
    "jackknife-t interval on the Fisher-z scale over emotions, its variance corrected for the second-order part the "
    "jackknife counts twice; the method calibrated on the design atlas of docs/calibration.md; it always contains rho "
    "and stays inside (-1, 1)]. jackknife-z is the normal interval with the plain jackknife standard error (the "
    "default before; conservative near rho = 0); percentile, basic and bca are bootstrap intervals, kept for "
    "comparison. rho_corrected (noise-free) always has its own interval: Fisher-z jackknife-t with the half splits' "
    "variance, BCa near the bound 1 and with fewer than 20 emotions, widened toward its check of uneven noise "
    "shrinkage and toward the ratio less its bias in sign-flip worlds of the prompts."
)


def geometry_options(func: Callable) -> Callable:
    options = [
        click.option("--layer", type=LAYER, default=None, help=LAYER_HELP),
        click.option("--last-k", type=int, default=None, help="Average the final K layers instead of one layer."),
        click.option("--normalization", default="raw", show_default=True,
                     help="Vector normalization before the RDM: raw, emotion-mean, baseline-mean, neutral-pc, unit, zscore."),
        click.option("--n-pcs", type=int, default=3, show_default=True, help="Baseline PCs removed by --normalization neutral-pc."),
        click.option("--rdm", "rdm_method", default="cosine", show_default=True,
                     help="Dissimilarity: cosine, correlation, euclidean, crossval-euclidean (activations only)."),
        click.option("--rank", default="spearman", show_default=True,
                     help="RDM comparison (rsastats.measures): spearman, pearson, kendall-b (alias kendall), kendall-a, rho-a, cosine."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def inference_options(func: Callable) -> Callable:
    options = [
        click.option("--bootstrap", "scheme", default=None,
                     help="Resample emotions, prompts or both [default: emotions: each emotion's prompts travel with it, "
                          "so an emotion resample carries prompt noise too]. prompts and both need --ci percentile, basic "
                          "or bca and answer other questions (docs/statistics.md)."),
        click.option("--ci", default=DEFAULT_CI, help=DEFAULT_CI_HELP),
        click.option("--n-boot", type=int, default=DEFAULT_N_BOOT, show_default=True, help="Bootstrap resamples."),
        click.option("--permutations", type=int, default=DEFAULT_PERMUTATIONS, show_default=True,
                     help="Mantel permutations (all n! are enumerated when n! <= this)."),
        click.option("--alternative", default="two-sided", show_default=True, help="Mantel test: two-sided, greater or less."),
        click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level, in (0, 1)."),
        click.option("--n-splits", type=int, default=DEFAULT_N_SPLITS, show_default=True,
                     help="Random half splits for the split-half reliability (noise ceiling)."),
        click.option("--no-ceiling", is_flag=True, help="Skip the noise ceilings."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
