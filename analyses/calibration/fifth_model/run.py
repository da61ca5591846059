"""The fifth model's runs: the truths (``truth``, ``accuracy``) and the command-line comparisons (``run``, ``retry``).

Paths (``OUT``, ``CLI``) and the start time ``START`` are read from the package
(:mod:`analyses.calibration.fifth_model`), where a test or a caller may set them.
"""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import fifth_model as _pkg
from .model import (BASE_SEED, DESIGN_BY_NAME, DESIGNS, M_TRUTH, MODELS, design_index, ds_rng, emotion_cosines,
                    noise_free_rho, rho_numpy, simulate, truth_rng, valid_means)


def cmd_truth(args):
    _pkg.OUT.mkdir(parents=True, exist_ok=True)
    path = _pkg.OUT / "truth.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    for d in DESIGNS:
        if d.name in res and res[d.name]["n"] >= args.n:
            continue
        t0 = time.time()
        rhos, cosA, cosB, cosA_ord = [], [], [], []
        for j in range(args.n):
            ds = simulate(d, np.random.default_rng([BASE_SEED, design_index(d), 10 ** 7 + j]))
            rhos.append(rho_numpy(ds))
            if j < 50:
                cosA.append(np.median(emotion_cosines(ds)))
                mo = valid_means(ds.A, ds.valid)[:, MODELS.ord_A]; mo = mo / np.linalg.norm(mo, axis=1, keepdims=True)
                cosA_ord.append(np.median((mo @ mo.T)[np.triu_indices(d.E, 1)]))
                cB = valid_means(ds.B, ds.valid); cB = cB / np.linalg.norm(cB, axis=1, keepdims=True)
                cosB.append(np.median((cB @ cB.T)[np.triu_indices(d.E, 1)]))
        rhos = np.array(rhos)
        res[d.name] = {"n": int(args.n), "true_rho": float(rhos.mean()),
                       "mc_se": float(rhos.std(ddof=1) / math.sqrt(len(rhos))),
                       "sd_rho": float(rhos.std(ddof=1)), "median_cos_A": float(np.median(cosA)),
                       "median_cos_B": float(np.median(cosB)),
                       "median_cos_A_ordinary_dims": float(np.median(cosA_ord)), "seconds": time.time() - t0}
        print(d.name, res[d.name], flush=True)
        path.write_text(json.dumps(res, indent=1))


FIELDS = ["design", "i", "rc", "stderr", "seconds", "rho_numpy", "noise_free", "noise_free_M", "noise_free_half",
          "rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note",
          "noise_ceiling", "ceiling_note", "ci_method", "n_valid_min", "n_valid_mean"]


def _done(path):
    if not path.exists():
        return set()
    with open(path) as fh:
        return {(r["design"], int(r["i"])) for r in csv.DictReader(fh)}


def one_dataset(d, i, work, make_activations):
    """Simulate data set i of design d, compare it through the CLI, compute its truths; one CSV row."""
    t0 = time.time()
    ds = simulate(d, ds_rng(d, i))
    emos = [f"emo{k:02d}" for k in range(d.E)]
    a, b = work / "a.nc", work / "b.nc"
    for p in (a, b):
        if p.exists():
            p.unlink()
    make_activations(ds.A[:, :, None, :], emos, valid=ds.valid, attrs={"model": "A"}).to_netcdf(a)
    make_activations(ds.B[:, :, None, :], emos, valid=ds.valid, attrs={"model": "B"}).to_netcdf(b)
    proc = subprocess.run([_pkg.CLI, "compare", str(a), str(b), "--json", "--permutations", "99"],
                          capture_output=True, text=True)
    row = {"design": d.name, "i": i, "rc": proc.returncode,
           "stderr": proc.stderr.strip().replace("\n", " | ")[:600],
           "rho_numpy": rho_numpy(ds),
           "n_valid_min": int(ds.valid.sum(1).min()), "n_valid_mean": float(ds.valid.sum(1).mean())}
    nf, nfM, nfh = noise_free_rho(d, ds, truth_rng(d, i))
    row.update(noise_free=nf, noise_free_M=nfM, noise_free_half=nfh)
    try:
        js = json.loads(proc.stdout)
        for k in ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                  "corrected_note", "noise_ceiling", "ceiling_note", "ci_method"):
            v = js.get(k)
            row[k] = "" if v is None else (v if not isinstance(v, str) else v.replace("\n", " "))
    except Exception:
        pass
    row["seconds"] = round(time.time() - t0, 2)
    print(d.name, i, row["rc"], row.get("rho"), row["rho_numpy"], row.get("rho_corrected"), nf, row["seconds"],
          flush=True)
    return row


def cmd_retry(args):
    """Rerun the data sets whose command failed; the failed rows move to failures.csv (kept for the report)."""
    from rsastats.io import make_activations
    path = _pkg.OUT / "runs.csv"
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    bad = [r for r in rows if r["rc"] != "0"]
    if not bad:
        return
    fpath = _pkg.OUT / "failures.csv"
    new = not fpath.exists()
    with open(fpath, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerows(bad)
    work = Path(tempfile.mkdtemp(prefix="fifth_model_"))
    try:
        out = []
        for r in rows:
            out.append(one_dataset(DESIGN_BY_NAME[r["design"]], int(r["i"]), work, make_activations)
                       if r["rc"] != "0" else r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(out)
    os.replace(tmp, path)


def cmd_run(args):
    from rsastats.io import make_activations
    _pkg.OUT.mkdir(parents=True, exist_ok=True)
    path = _pkg.OUT / "runs.csv"
    done = _done(path)
    new = not path.exists()
    work = Path(tempfile.mkdtemp(prefix="fifth_model_"))
    designs = [DESIGN_BY_NAME[n] for n in args.designs] if args.designs else DESIGNS
    try:
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            if new:
                w.writeheader()
            for i in range(args.start, args.n):          # round-robin: every design advances together
                for d in designs:
                    if (d.name, i) in done:
                        continue
                    row = one_dataset(d, i, work, make_activations)
                    w.writerow(row)
                    fh.flush()
                    if args.max_seconds and time.time() - _pkg.START > args.max_seconds:
                        print("time limit reached", flush=True)
                        return
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cmd_accuracy(args):
    """Accuracy of the noise-free truth: independent MC seeds at M and at 4M for a few data sets per design."""
    rows = []
    for d in DESIGNS:
        if d.near_identical:
            continue
        for i in range(args.n):
            ds = simulate(d, ds_rng(d, i))
            r1 = noise_free_rho(d, ds, truth_rng(d, i, 1))
            r2 = noise_free_rho(d, ds, truth_rng(d, i, 2))
            r4 = noise_free_rho(d, ds, truth_rng(d, i, 3), M=4 * M_TRUTH)
            rows.append({"design": d.name, "i": i, "rich_M_seed1": r1[0], "rich_M_seed2": r2[0], "rich_4M": r4[0],
                         "plain_M_seed1": r1[1], "plain_4M": r4[1], "half_M_seed1": r1[2]})
            print(rows[-1], flush=True)
    with open(_pkg.OUT / "truth_accuracy.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

