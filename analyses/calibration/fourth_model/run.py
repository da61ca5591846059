"""The fourth model's runs: ``calib``, ``check``, ``truth``, ``run`` and ``run-centred`` (data sets through the CLI).

The output folder ``HERE`` (``--out``) and the command ``RSASTATS`` are read from the package
(:mod:`analyses.calibration.fourth_model`), where ``python -m analyses.calibration.fourth_model --out`` sets the folder.
"""
import csv
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from rsastats.io import atomic_path

from .. import fourth_model as _pkg
from .model import DA, DB, DESIGNS, Model, dkey, mean_cos, means, rho_hat, split_half


def cmd_calib(names, n=100):
    for name in names:
        mod = Model(name)
        rng = np.random.default_rng(1)
        sh, rh, nf, mc, lens = [], [], [], [], []
        for _ in range(n):
            em = mod.emotions(rng)
            x, v = mod.prompts(rng, em, mod.cfg["P"])
            sh.append(split_half(x, v, rng))
            rh.append(rho_hat(x, v))
            if not mod.cfg["layernorm"]:
                nf.append(mod.noise_free_rho(rng, em))
            m = means(x, v)
            mc.append(mean_cos(m[DA]))
            ln = np.linalg.norm(em["mu"][DA], axis=1)
            lens.append(ln.max() / ln.min())
        sh = np.array(sh)
        print(f"{name}: splithalf A {sh[:,0].mean():.2f} B {sh[:,1].mean():.2f}  rho_hat {np.mean(rh):.3f}"
              f"  noise-free {np.mean(nf) if nf else float('nan'):.3f}  meancosA {np.mean(mc):.3f}"
              f"  len max/min {np.median(lens):.1f}", flush=True)


def write_pair(mod, x, valid, folder):
    from rsastats.io.construct import make_activations
    from rsastats.io.files import write_dataset
    E = valid.shape[0]
    paths = []
    for d, tag in ((DA, "a"), (DB, "b")):
        arr = np.where(valid[..., None], x[d], np.nan)[:, :, None, :].astype(np.float32)
        ds = make_activations(arr, [f"e{i:02d}" for i in range(E)], valid=valid.astype(int),
                              attrs={"model": f"model_{tag}", "method": "comprehension",
                                     "precision": "fp32"})
        p = os.path.join(folder, f"{tag}.nc")
        write_dataset(ds, p)
        paths.append(p)
    return paths


def cli_compare(paths, normalization="raw"):
    t0 = time.time()
    r = subprocess.run([*_pkg.RSASTATS, "compare", paths[0], paths[1], "--json", "--permutations", "99",
                        "--normalization", normalization],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"rc={r.returncode}: {r.stderr[-2000:]}")
    return json.loads(r.stdout), time.time() - t0, r.stderr.strip()


def cmd_check(name):
    mod = Model(name)
    rng = np.random.default_rng(999)
    em = mod.emotions(rng)
    x, v = mod.prompts(rng, em, mod.cfg["P"])
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_pair(mod, x, v, tmp)
        out, dt, err = cli_compare(paths)
    xf = {d: x[d].astype(np.float32).astype(np.float64) for d in x}
    print(json.dumps(out, indent=1))
    print("numpy rho_hat (float64):", rho_hat(x, v), " (from float32):", rho_hat(xf, v), " CLI:", out["rho"],
          " seconds:", round(dt, 1), "stderr:", err[:300])


def truth_one(name, n, seed=12345):
    mod = Model(name)
    rng = np.random.default_rng([seed, dkey(name)])
    rh, nf = [], []
    t0 = time.time()
    for i in range(n):
        em = mod.emotions(rng)
        x, v = mod.prompts(rng, em, mod.cfg["P"])
        rh.append(rho_hat(x, v))
        nf.append(mod.noise_free_rho(rng, em))
    rh, nf = np.array(rh), np.array(nf)
    return dict(n=n, truth_rho=rh.mean(), truth_rho_se=rh.std(ddof=1) / np.sqrt(n),
                sd_rho_hat=rh.std(ddof=1), truth_free=nf.mean(), truth_free_se=nf.std(ddof=1) / np.sqrt(n),
                sd_free=nf.std(ddof=1), seconds=time.time() - t0)


def cmd_truth(names, n):
    path = os.path.join(_pkg.HERE, "truth.json")
    allt = json.loads(Path(path).read_text()) if os.path.exists(path) else {}
    for name in names:
        allt[name] = dict(truth_one(name, n), settings=DESIGNS[name])
        print(name, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in allt[name].items()
                     if k != "settings"}, flush=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(allt, indent=1))


FIELDS = ["design", "i", "rho_np", "rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low",
          "corrected_ci_high", "corrected_note", "noise_ceiling", "ceiling_note", "p_value",
          "reliability_a", "reliability_b", "split_half_a", "split_half_b", "ci_method", "own_free",
          "n_valid_min", "seconds", "stderr"]


def cmd_run(name, n, seed=777, normalization="raw"):
    """``normalization`` "emotion-mean" (results_<name>_centred.csv): the same data sets compared with
    ``--normalization emotion-mean``, each against its own noise-free rho of centred means."""
    mod = Model(name)
    centre = normalization == "emotion-mean"
    path = os.path.join(_pkg.HERE, f"results_{name}{'_centred' if centre else ''}.csv")
    done = set()
    if os.path.exists(path):
        with open(path) as f:
            done = {int(r["i"]) for r in csv.DictReader(f)}
    new = not os.path.exists(path)
    f = open(path, "a", newline="")
    wr = csv.DictWriter(f, FIELDS)
    if new:
        wr.writeheader()
    tmpdir = tempfile.mkdtemp(prefix="fourth_model_")  # the two files of a data set, removed after its comparison
    t0 = time.time()
    for i in range(n):
        if i in done:
            continue
        rng = np.random.default_rng([seed, dkey(name), i])  # each data set reproducible alone
        em = mod.emotions(rng)
        x, v = mod.prompts(rng, em, mod.cfg["P"])
        own = mod.noise_free_rho(np.random.default_rng([seed, dkey(name), i, 1]), em, M=4000, centre=centre)
        paths = write_pair(mod, x, v, tmpdir)
        try:
            out, dt, err = cli_compare(paths, normalization)
        finally:
            for p in paths:
                os.remove(p)
        row = {k: out.get(k) for k in FIELDS if k in out}
        row.update(design=name, i=i, rho_np=rho_hat(x, v), own_free=own, n_valid_min=int(v.sum(1).min()),
                   seconds=round(dt, 2), stderr=err.replace("\n", " | ")[:300])
        wr.writerow(row)
        f.flush()
        if i % 10 == 0:
            print(name, i, f"{time.time() - t0:.0f}s", flush=True)
    f.close()
    shutil.rmtree(tmpdir)  # the two files are gone; the writer leaves its lock files beside them
