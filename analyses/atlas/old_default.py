"""The package's current default (two-factor bootstrap over emotions and prompts, basic interval clipped
to [-1, 1]) on a few atlas designs, against both estimands -- the reference row of the study.

    python -m analyses.atlas.old_default OUT_FOLDER --only 2,9,13 --n-sets 100 --n-boot 500
"""

from __future__ import annotations

import argparse
import pickle
import warnings

import numpy as np

from rsastats.inference.engine import ResamplingEngine
from rsastats.inputs import ModelInput
from rsastats.intervals import confidence_interval
from rsastats.rdm import RDM, rdm_matrix
from rsastats.vectors import PromptRows

from .designs import ATLAS
from .model import Population, calibrate_sigma
from .study import truths
from .summary import binomial_ci


def _models(ds):
    n, p = ds.prompts.shape[1:3]
    labels = tuple(f"e{i}" for i in range(n))
    out = []
    for k, name in enumerate("AB"):
        v = ds.prompts[k]
        rows = PromptRows(values=v, valid=np.ones((n, p), bool), emotions=labels, prompts=tuple(range(p)), post="none",
                          layers=(0,), normalization="raw", n_pcs=None)
        out.append(ModelInput(name, "activations", RDM(rdm_matrix(v.mean(1)), labels, "cosine", name), rows, "sim"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", required=True)
    ap.add_argument("--n-sets", type=int, default=100)
    ap.add_argument("--n-boot", type=int, default=500)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    for i in (int(x) for x in a.only.split(",")):
        d = calibrate_sigma(ATLAS[i], n_sets=40, steps=11)
        t = truths(d, 6000)
        pop = Population.of(d)
        lo, hi = [], []
        for seq in np.random.SeedSequence([7, d.seed]).spawn(a.n_sets):
            s_data, s_boot = seq.spawn(2)
            ds = pop.draw(np.random.default_rng(s_data))
            eng = ResamplingEngine(_models(ds), rank="spearman", scheme="both", rdm_method="cosine", workers=1)
            pairs = np.array([[0, 1]])
            est = float(eng.point(pairs)[0])
            reps = eng.replicates(pairs, a.n_boot, s_boot)[:, 0]
            l, h = confidence_interval(est, reps[np.isfinite(reps)], method="basic", bounds=(-1.0, 1.0))
            lo.append(l)
            hi.append(h)
        lo, hi = np.array(lo), np.array(hi)
        for target in ("measured", "free"):
            hits = int(np.sum((lo <= t[target]) & (hi >= t[target])))
            c = binomial_ci(hits, a.n_sets)
            rows.append({"design": d.name, "target": target, "coverage": hits / a.n_sets, "cp_low": c[0], "cp_high": c[1],
                         "width": float(np.mean(hi - lo)), "truth": t[target]})
            print(rows[-1], flush=True)
    with open(f"{a.out}/old_default.pkl", "wb") as fh:
        pickle.dump(rows, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
