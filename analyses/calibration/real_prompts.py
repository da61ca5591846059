"""rho's and rho_corrected's intervals on real activations: a few prompts drawn from many (issue 14).

The calibration studies simulate their data.  Here the data are real: two activation files with the same emotions
and ``N`` prompts per emotion (the committed runs: the offline SmolLM2-135M-Instruct and all-MiniLM-L6-v2 reading
the 48 named stimuli of the 21 emotions, and the same 48 sentence frames filled with 102 emotion words).  A data set
keeps ``P`` of the ``N`` prompt labels, drawn at random without replacement and the same for every emotion and both
files (prompt ``p`` of every emotion comes from one template, as in a user's smaller stimulus set), with
``--emotions K`` also ``K`` of the files' emotions, and is compared by ``rsastats compare --json`` with its defaults
and ``--seed`` = the data set's index, as a user would.  Truths, the files' prompts and emotions being the population:

- ``free``: rho of the cosine RDMs of the means of all ``N`` prompts (rho with every prompt: rho_corrected's),
  averaged over 2000 draws of ``K`` emotions; ``own_free`` (per data set): the same for the data set's own emotions;
- ``measured``: the mean of rho over 2000 draws of ``P`` labels (and ``K`` emotions) (rho's).

What the coverage means:

- without ``--emotions`` the emotions are the same in every data set, while both intervals also allow for a new
  sample of emotions, so an unbiased estimator's interval covers the fixed-emotion truth more often than 95%: that
  run checks bias (the mean error ``rho_corrected - own_free`` against its SD, and one-sided misses);
- with ``--emotions K`` of ``E`` the emotions are drawn without replacement from a finite set, whose sampling variance
  is ``1 - K/E`` times the one the intervals allow for (0.79 at 21 of 102, 0.88 at 12): an interval calibrated for new
  emotions from an unlimited population covers about 97% (21 of 102) or 96% (12 of 102) here;
- drawn without replacement, the two halves of a data set's prompts have errors correlated ``-P / (2N - P)`` (-0.04
  at 4 of 48 prompts, -0.09 at 8) where the split-half correlations assume 0.

Each data set also gets the sign-flip worlds' estimate of the ratio's bias (the shipped one: the equalized signal,
the median of 80 worlds; :func:`analyses.calibration.world_check._measures`) to set beside the mean error.

Run:  python -m analyses.calibration.real_prompts --pair A.nc:LAYER B.nc:LAYER [--pair ...] [--prompts 4 8]
      [--emotions K] [--sets 100] [--jobs 2]   (about 1 s per data set on 2 cores)
Writes reports/calibration/real_prompts/<A>-<B>-P<P>[-E<K>].csv and .json, and summary.md.  The committed runs
(``stimuli.csv``: the 48 named texts of "happy" with the word replaced by each of 102 emotion words,
:func:`emotion_word_stimuli`; about 8 min and 25 min of extraction on 2 cores):

    rsastats extract --out 21/smollm2.nc; rsastats extract --model minilm --out 21/minilm.nc
    python -m analyses.calibration.real_prompts --pair 21/smollm2.nc:20 21/minilm.nc:4 \
        --pair 21/smollm2.nc:10 21/smollm2.nc:25 --pair 21/smollm2.nc:2 21/minilm.nc:6 --sets 120
    python -m analyses.calibration.real_prompts --write-stimuli stimuli.csv
    rsastats extract --stimuli stimuli.csv --layers 2,10,20,25 --out 102/smollm2.nc
    rsastats extract --model minilm --stimuli stimuli.csv --layers 4,6 --out 102/minilm.nc
    python -m analyses.calibration.real_prompts --pair 102/smollm2.nc:20 102/minilm.nc:4 \
        --pair 102/smollm2.nc:10 102/smollm2.nc:25 --pair 102/smollm2.nc:2 102/minilm.nc:6 --emotions 21 --sets 200
    (and again with --emotions 12)
    rsastats extract --stimuli stimuli.csv --layers 10,20,25 --precision bf16 --out 102/smollm2-bf16.nc   (3.3 min)
    python -m analyses.calibration.real_prompts --pair 102/smollm2.nc:20 102/smollm2-bf16.nc:20 --emotions 21 --sets 200
    (and again with --emotions 12: one model at two precisions, 2026-12-06)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.io import atomic_path, make_activations, open_activations, write_dataset

from ..atlas.model import cosine_cells, spearman
from .cli_model import FIELDS
from .studies import binomial_ci, write_run

__all__ = ["EMOTION_WORDS", "emotion_word_stimuli", "read_layer", "truths", "run_pair", "own_free", "summary_table",
           "summary_markdown", "main"]

FOLDER = Path("reports/calibration/real_prompts")
NAMED = Path(__file__).resolve().parents[2] / "extraction" / "stimuli_data" / "named.csv"
# emotion words put into the named stimuli's 48 sentence frames besides the 21 emotions of the study
EMOTION_WORDS = """joyful cheerful content delighted elated excited ecstatic serene relaxed peaceful relieved satisfied amused
affectionate tender compassionate confident determined inspired curious surprised amazed nostalgic lonely miserable
depressed heartbroken disappointed regretful ashamed embarrassed humiliated jealous envious resentful bitter irritated
annoyed furious enraged frustrated disgusted scared terrified panicked worried uneasy tense stressed overwhelmed
confused bored tired exhausted indifferent restless impatient hopeless helpless insecure vulnerable shy sympathetic
thankful optimistic pessimistic suspicious defiant triumphant playful giddy mellow wistful melancholy grumpy agitated
startled horrified sheepish lighthearted upset""".split()


def emotion_word_stimuli(named: str | Path = NAMED, words: list[str] | None = None) -> pd.DataFrame:
    """Columns ``emotion, text``: the named stimuli's texts of "happy" with the word replaced by each of the study's
    emotions and :data:`EMOTION_WORDS` (every named text is such a frame: "I feel happy at work today.")."""
    frame = pd.read_csv(named)
    frames = frame.loc[frame["emotion"] == "happy", "text"].tolist()
    study = sorted(frame["emotion"].unique())
    words = study + [w for w in (EMOTION_WORDS if words is None else words) if w not in study]
    return pd.DataFrame([{"emotion": w, "text": t.replace("happy", w)} for w in words for t in frames])


def read_layer(spec: str) -> tuple[str, np.ndarray, list[str]]:
    """``FILE:LAYER`` -> (label, prompts (E, N, H) float64, emotions); every prompt must be valid."""
    path, _, layer = spec.rpartition(":")
    ds = open_activations(path)
    if "valid" in ds and not bool(ds["valid"].all()):
        raise ValueError(f"{path}: some prompts are invalid; this study needs every prompt")
    x = ds["activations"].sel(layer=int(layer)).transpose("emotion", "prompt", "hidden").values.astype(np.float64)
    return f"{Path(path).stem}-L{layer}", x, [str(e) for e in ds["emotion"].values]


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearman(cosine_cells(a.mean(axis=1)), cosine_cells(b.mean(axis=1))))


def _draw(rng: np.random.Generator, shape: tuple[int, int], n_prompts: int, n_emotions: int | None) -> tuple:
    """(prompt labels, emotion rows) of one data set, both sorted; every emotion where ``n_emotions`` is None."""
    labels = np.sort(rng.choice(shape[1], n_prompts, replace=False))
    rows = np.arange(shape[0]) if n_emotions is None else np.sort(rng.choice(shape[0], n_emotions, replace=False))
    return labels, rows


def truths(x_a: np.ndarray, x_b: np.ndarray, n_prompts: int, n_mc: int = 2000, seed: int = 3,
           n_emotions: int | None = None) -> dict[str, float]:
    """``free`` and ``measured`` (module docstring); with ``n_emotions``, means over draws of that many emotions."""
    rng = np.random.default_rng([seed, n_prompts] + ([] if n_emotions is None else [n_emotions]))
    draws = [_draw(rng, x_a.shape, n_prompts, n_emotions) for _ in range(n_mc)]
    free = (_rho(x_a, x_b) if n_emotions is None
            else float(np.mean([_rho(x_a[rows], x_b[rows]) for _, rows in draws])))
    measured = float(np.mean([_rho(x_a[rows][:, labels], x_b[rows][:, labels]) for labels, rows in draws]))
    return {"free": free, "measured": measured, "n_mc": n_mc}


def _one(args: tuple) -> dict:
    from click.testing import CliRunner

    from rsastats.cli import cli
    from rsastats.inputs import load_models

    from rsastats.inference.worlds import N_INNER

    from .world_check import _measures

    (x_a, x_b), emotions, n_prompts, n_emotions, k, seed = args
    labels, rows = _draw(np.random.default_rng([seed, n_prompts, k]), x_a.shape, n_prompts, n_emotions)
    x_a, x_b, emotions = x_a[rows], x_b[rows], [emotions[r] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, x in (("A", x_a), ("B", x_b)):
            ds = make_activations(x[:, labels, None, :].astype(np.float32), emotions, prompts=labels.tolist(),
                                  attrs={"model": name, "method": "comprehension", "precision": "fp32"})
            paths.append(str(write_dataset(ds, Path(tmp) / f"{name}.nc")))
        result = CliRunner().invoke(cli, ["compare", *paths, "--json", "--seed", str(k)])
        if result.exit_code != 0:
            raise RuntimeError(f"data set {k}: rsastats compare exited {result.exit_code}: {result.output[-300:]}")
        worlds = _measures(load_models(paths), k, "equalized", N_INNER)  # the shipped worlds
    out = json.loads(result.stdout)
    return {"i": k, "labels": " ".join(map(str, labels)), "emotions": " ".join(emotions),
            **{f: out.get(f) for f in FIELDS},
            "ratio": worlds["ratio"], "world_bias": worlds["world_bias"], "world_bias_se": worlds["world_bias_se"]}


def run_pair(a: tuple, b: tuple, n_prompts: int, n_sets: int, *, n_emotions: int | None = None, seed: int = 11,
             jobs: int = 2) -> tuple[pd.DataFrame, dict]:
    """Every data set of one pair of layers at ``n_prompts`` prompts (and ``n_emotions`` of the file's emotions,
    drawn per data set; None: all), and the pair's truths."""
    (name_a, x_a, emotions), (name_b, x_b, emotions_b) = a, b
    if emotions != emotions_b or x_a.shape[:2] != x_b.shape[:2]:
        raise ValueError(f"{name_a} and {name_b} differ in their emotions or prompts")
    started = time.time()
    truth = truths(x_a, x_b, n_prompts, n_emotions=n_emotions)
    tasks = [((x_a, x_b), emotions, n_prompts, n_emotions, k, seed) for k in range(n_sets)]
    with ProcessPoolExecutor(jobs) as pool:
        rows = list(pool.map(_one, tasks, chunksize=2))
    frame = own_free(pd.DataFrame(rows), x_a, x_b, emotions)
    meta = {"a": name_a, "b": name_b, "emotions": n_emotions or len(emotions), "population_emotions": len(emotions),
            "population_prompts": x_a.shape[1],
            "prompts": n_prompts, "truth": truth, "n_sets": n_sets, "seed": seed, "seconds": time.time() - started}
    return frame, meta


def own_free(frame: pd.DataFrame, x_a: np.ndarray, x_b: np.ndarray, emotions: list[str]) -> pd.DataFrame:
    """``frame`` with ``own_free``: each data set's own noise-free rho (its emotions, every prompt of the file)."""
    index = {name: i for i, name in enumerate(emotions)}
    rows = [[index[name] for name in names.split()] for names in frame["emotions"]]
    return frame.assign(own_free=[_rho(x_a[r], x_b[r]) for r in rows])


def summary_table(folder: str | Path = FOLDER) -> pd.DataFrame:
    """One row per stored run: coverage, one-sided misses, mean errors and the worlds' bias."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        meta, f = json.loads(path.read_text()), pd.read_csv(path.with_suffix(".csv"))
        t = meta["truth"]
        own = f["own_free"] if "own_free" in f else t["free"]  # each data set's own emotions, every prompt
        g = f[f["rho_corrected"].notna()]
        err = g["rho_corrected"] - (own[g.index] if "own_free" in f else own)
        hit = (g["corrected_ci_low"] <= t["free"]) & (t["free"] <= g["corrected_ci_high"])
        rows.append({"a": meta["a"], "b": meta["b"], "P": meta["prompts"], "N": meta["population_prompts"],
                     "K": meta["emotions"], "E": meta.get("population_emotions", meta["emotions"]),
                     "n_sets": len(f), "measured": t["measured"], "free": t["free"],
                     "rho_cover": float(((f["ci_low"] <= t["measured"]) & (t["measured"] <= f["ci_high"])).mean()),
                     "rho_error": float((f["rho"] - t["measured"]).mean()), "given": len(g) / len(f),
                     "cover": binomial_ci(int(hit.sum()), len(g)) if len(g) else (np.nan, np.nan),
                     "covered": float(hit.mean()),
                     "above": float((g["corrected_ci_low"] > t["free"]).mean()),
                     "below": float((g["corrected_ci_high"] < t["free"]).mean()),
                     "error": float(err.mean()), "error_sd": float(err.std()),
                     "ratio_error": float((f["ratio"] - own).mean()), "world_bias": float(f["world_bias"].mean()),
                     "width": float((g["corrected_ci_high"] - g["corrected_ci_low"]).mean()),
                     "split_half": float(np.minimum(f["split_half_a"], f["split_half_b"]).median())})
    return pd.DataFrame(rows)


def summary_markdown(table: pd.DataFrame) -> str:
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = ["# rho and rho_corrected on real activations: a few prompts drawn from many", "",
             "Generated by `python -m analyses.calibration.real_prompts` (its docstring says how). Where all the files' "
             "emotions are in every data set (21 of 21) this is a check of bias: intervals that allow for new emotions "
             "should cover a fixed-emotion truth more than 95%. Where K of E emotions are drawn, the finite set of "
             "emotions makes an interval calibrated for new emotions cover about 97% (21 of 102) or 96% (12 of 102). "
             "Truths: `measured` the mean rho over draws of P of the N prompt labels (and K emotions), `free` rho of "
             "the means of all N (averaged over draws of K emotions). Errors: mean over data sets against each data "
             "set's own emotions with all N prompts; `world bias`: the sign-flip worlds' mean estimate of the ratio's "
             "bias, beside the ratio's mean error (`ratio error`, every data set).", "",
             "| a | b | emotions | P of N | rho: truth, coverage %, mean error | free | given "
             "| rho_corrected coverage % [CP 95%] | misses above / below % | mean error (SD) | ratio error | world bias "
             "| width | median smaller split-half |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict(orient="records"):
        lines.append(f"| {r['a']} | {r['b']} | {r['K']} of {r['E']} | {r['P']} of {r['N']} | {r['measured']:.3f}, "
                     f"{pct(r['rho_cover'])}, {r['rho_error']:+.3f} | {r['free']:.3f} | {pct(r['given'])}% | {pct(r['covered'])} "
                     f"[{pct(r['cover'][0])}, {pct(r['cover'][1])}] | {pct(r['above'])} / {pct(r['below'])} "
                     f"| {r['error']:+.3f} ({r['error_sd']:.3f}) | {r['ratio_error']:+.3f} | {r['world_bias']:+.3f} "
                     f"| {r['width']:.3f} | {r['split_half']:.2f} |")
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("A:LAYER", "B:LAYER"))
    parser.add_argument("--write-stimuli", default=None, help="write the 102 emotion words' stimuli (CSV) and stop")
    parser.add_argument("--summary", action="store_true", help="only rewrite summary.md from the stored runs")
    parser.add_argument("--prompts", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--sets", type=int, default=100)
    parser.add_argument("--emotions", type=int, default=None, help="draw this many of the files' emotions per data set")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(FOLDER))
    args = parser.parse_args(argv)
    if args.write_stimuli:
        with atomic_path(args.write_stimuli) as tmp:
            emotion_word_stimuli().to_csv(tmp, index=False)
        return
    if not args.pair and not args.summary:
        parser.error("give --pair A.nc:LAYER B.nc:LAYER (or --write-stimuli FILE, or --summary)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec_a, spec_b in args.pair if not args.summary else []:
        a, b = read_layer(spec_a), read_layer(spec_b)
        for n_prompts in args.prompts:
            frame, meta = run_pair(a, b, n_prompts, args.sets, n_emotions=args.emotions, jobs=args.jobs)
            stem = f"{a[0]}-{b[0]}-P{n_prompts}" + (f"-E{args.emotions}" if args.emotions else "")
            write_run(out, stem, frame, meta)
            print(f"{stem}: {meta['seconds']:.0f} s", flush=True)
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(summary_markdown(summary_table(out)), encoding="utf-8")


if __name__ == "__main__":
    main()
