"""How much emotion vectors differ in length: real models against the second generative model's designs.

rho_corrected's interval under-covers in the second model's ``sizes`` designs (docs/statistics.md, 'Emotion
vectors of different lengths'), where the length of an emotion's own part varies across emotions with an SD of
its log of 0.8.  Whether real models look like that is a question about data, answered here with one number per
layer: the SD over emotions of ``log |c_e|``, with ``c_e`` the emotion's mean vector less the mean over emotions
(its own part: a common direction, and template effects that every emotion shares, drop out).

``|c_e|^2`` is estimated without the prompt noise's inflation by the cross-product of two halves of the prompts
(``<c_e^(1), c_e^(2)>``: even and odd prompts, each centred over emotions; where the two halves' noise is
independent its expectation is ``|c_e|^2``) -- ``split``, whose SD over emotions the noise inflates -- next to the
plain ``|c_e|`` of all prompts (``raw``, whose SD the noise shrinks: it adds the same length to every emotion).
Where the two agree the noise is small against the lengths.  Emotions whose cross-product is not positive are left
out and counted (``positive``: the share kept).  For the second model's designs, the same two values from their
prompts, and the SD from the noise-free vectors (``noise_free``); for the atlas's designs ``noise_free`` only;
averaged over ``--sets`` data sets and both models.

Run:  python -m analyses.calibration.lengths [FILE.nc ...] [--sets 20]   (seconds; files: activation files with
prompts, every layer).  Writes reports/calibration/lengths.csv.  The committed one read the two models that ship
offline (21 emotions x 16 named prompts, last token, fp32; about 3 min on 2 cores):

    rsastats extract --limit 16 --out smollm2.nc
    rsastats extract --model minilm --limit 16 --out minilm.nc
    python -m analyses.calibration.lengths smollm2.nc minilm.nc
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from rsastats.io import atomic_path, open_activations

from ..atlas.designs import ATLAS
from ..atlas.model import Population
from .independent import DESIGNS, Model

__all__ = ["log_length_sd", "file_rows", "design_rows", "atlas_rows", "main"]

OUT = Path("reports/calibration/lengths.csv")


def log_length_sd(prompts: np.ndarray) -> dict[str, float]:
    """``raw``, ``split`` and ``positive`` (module docstring) of prompts ``(n_emotions, n_prompts, hidden)``."""
    x = np.asarray(prompts, dtype=float)
    means = x.mean(axis=1)
    raw = np.linalg.norm(means - means.mean(axis=0), axis=1)
    halves = [x[:, k::2].mean(axis=1) for k in (0, 1)]
    first, second = (h - h.mean(axis=0) for h in halves)
    cross = np.einsum("eh,eh->e", first, second)
    positive = cross > 0
    return {"raw": float(np.std(np.log(raw))), "split": float(np.std(0.5 * np.log(cross[positive]))),
            "positive": float(positive.mean())}


def file_rows(path: str | Path) -> list[dict]:
    """One row per layer of an activation file (emotions whose prompts are all valid)."""
    ds = open_activations(path)
    acts = ds["activations"]
    extra = [d for d in acts.dims if d not in ("emotion", "prompt", "layer", "hidden")]
    if extra:  # generation files: one row per continuation
        acts = acts.stack(row=("prompt", *extra)).rename({"row": "rows"})
    else:
        acts = acts.rename({"prompt": "rows"})
    valid = ds["valid"] if "valid" in ds else xr.ones_like(ds["activations"].isel(layer=0, hidden=0), dtype=bool)
    valid = valid.stack(row=("prompt", *extra)).values if extra else valid.values
    keep = np.asarray(valid, dtype=bool).reshape(ds.sizes["emotion"], -1).all(axis=1)
    rows = []
    for layer in acts["layer"].values:
        x = acts.sel(layer=layer).transpose("emotion", "rows", "hidden").values[keep].astype(float)
        own = np.linalg.norm(x.mean(axis=1) - x.mean(axis=(0, 1)), axis=1)
        if not np.isfinite(x).all() or own.min() <= 1e-6 * np.linalg.norm(x, axis=-1).mean():
            continue  # e.g. the embedding output where every text ends in the same token (last-token pooling)
        rows.append({"source": Path(path).name, "layer": int(layer), "n_emotions": int(keep.sum()),
                     "n_prompts": x.shape[1], **log_length_sd(x), "noise_free": np.nan})
    return rows


def design_rows(n_sets: int, seed: int = 7) -> list[dict]:
    """One row per design of the second generative model (:mod:`.independent`), means over data sets and models."""
    rows = []
    for design in DESIGNS:
        model, rng, values = Model(design), np.random.default_rng(seed), []
        for _ in range(n_sets):
            mu, prompts, valid = model.draw(rng)
            for m in range(2):
                x = prompts[m][valid.all(axis=1)]
                values.append({**log_length_sd(x), "noise_free": _noise_free_sd(mu[m])})
        mean = pd.DataFrame(values).mean()
        rows.append({"source": f"second model: {design.name}", "layer": np.nan, "n_emotions": design.n_emotions,
                     "n_prompts": design.n_prompts, **mean.to_dict()})
    return rows


def _noise_free_sd(mu: np.ndarray) -> float:
    """SD over emotions of the log length of the own parts of noise-free vectors ``(n, hidden)``."""
    return float(np.std(np.log(np.linalg.norm(mu - mu.mean(axis=0), axis=1))))


def atlas_rows(n_sets: int, seed: int = 7) -> list[dict]:
    """One row per atlas design with prompts (:mod:`analyses.atlas`): ``noise_free`` only (its prompt noise is set
    per design by a calibration this script does not run); means over data sets and models."""
    rows = []
    for design in ATLAS:
        if design.vectors_only:
            continue
        population, rng = Population.of(design), np.random.default_rng(seed)
        values = [_noise_free_sd(mu) for _ in range(n_sets) for mu in population.emotions(design.n_emotions, rng)[0]]
        rows.append({"source": f"atlas: {design.name}", "layer": np.nan, "n_emotions": design.n_emotions,
                     "n_prompts": design.n_prompts, "raw": np.nan, "split": np.nan, "positive": np.nan,
                     "noise_free": float(np.mean(values))})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    rows = [row for path in args.files for row in file_rows(path)] + design_rows(args.sets) + atlas_rows(args.sets)
    frame = pd.DataFrame(rows).astype({"layer": "Int64"})
    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.4f")
    with pd.option_context("display.max_rows", None, "display.width", 160):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
