"""A fourth generative model, written blind: an independent acceptance test of `rsastats compare` intervals.

Written on 2026-12-04 by a helper session that saw the issue's description of the estimands and the file format
(README, docs/cli.md, the writer API) but not this package's simulation models (analyses/, docs/calibration.md,
docs/statistics.md), so that it checks the defaults on designs they were not tuned on.  Every data set is written
as two activation files (48 and 96 dims) and compared by `rsastats compare a.nc b.nc --json --permutations 99`.
Results: reports/calibration/fourth_model/ (report_numbers.md, ablations.md, per-data-set CSVs, truth.json).

Usage (from the repository root; ``--out`` defaults to reports/calibration/fourth_model):
    python -m analyses.calibration.fourth_model calib            # split-half reliability / cosine summary per design
    python -m analyses.calibration.fourth_model check D1         # one data set: numpy rho vs CLI rho
    python -m analyses.calibration.fourth_model truth [D1 ...]   # Monte Carlo truths (2000 data sets) -> truth.json
    python -m analyses.calibration.fourth_model run D1 [--n 200] # CLI comparisons -> results_D1.csv (resumes)
    python -m analyses.calibration.fourth_model report           # aggregate -> report_numbers.md
    python -m analyses.calibration.fourth_model run D4_het0 ... --n 40; ... ablate-report   # D4 ablations
    python -m analyses.calibration.fourth_model run-centred D4 --n 40   # D4 with --normalization emotion-mean

Generative model (all designs; switches per design)
---------------------------------------------------
Emotion population (fresh emotions in every data set):
  angle th ~ U(0, 2pi) (or, with clusters=K, th = one of K fixed cluster angles + N(0, 0.35)),
  radius r = 0.6 + 0.4 Beta(2, 2); latent L_e = [3 r cos th (valence), 2 r sin th (arousal), z_e],
  z_e ~ N(0, idio^2 I_6) (idiosyncratic, shared by both models).
  Model-specific idiosyncratic parts u_{m,e} ~ N(0, I_6) (not shared).
  Length multiplier s_{m,e} = exp(len_sd (len_share g_e + sqrt(1-len_share^2) g_{m,e})).
  Noise scale sigma_e = exp(het_sd n_e) shared by both models (the same texts are noisy in both).
Two models (maps fixed per design, drawn from the design seed): A in 48 dims, B in 96 dims:
  mu_m(e) = s_{m,e} * g_m(W_m L_e + gamma V_m u_{m,e}),  g_A = identity,
  g_B(x) = x + nonlin (x^2 - 1) elementwise (mildly nonlinear), W, V Gaussian.
  c_m: common offset of norm offset * sqrt(d_m) (anisotropy), shared by all prompts.
Prompt p of emotion e in model m (pre-norm hidden state):
  h = c_m + a_p mu_m(e) + tmpl T_m t_p + sigma0 sigma_e [ shared S_m s_{e,p} + w_{e,p} eps_{m,e,p} ]
  a_p = 1 + amp_sd N(0,1): template p's multiplicative strength (same frame for every emotion, both models)
  t_p ~ N(0, I_4): template p's additive effect (every emotion, both models)
  s_{e,p} ~ N(0, I_8): the sentence's own effect, read by both models
  w_{e,p}: heavy-tail scale of the sentence, sqrt((df-2)/chi2_df), shared by both models (multivariate t);
  eps: per-dim sqrt(1-skew) N(0,1) + sqrt(skew) (Exp(1) - 1)  (skewed, zero mean, unit variance)
  layernorm designs: x = sqrt(d_m) h / ||h||, else x = h.
  Invalid prompts: each emotion loses Binomial(P, miss_p) prompts, at most P - min_valid (valid=0, NaN).
"Unlimited prompts" (noise-free mean): the expectation of x over the prompt population, i.e. over
  fresh templates (a_p, t_p), fresh sentences (s, w, eps): linear designs: E[x] = c_m + mu_m(e) exactly
  (all prompt terms have mean 0, E[a_p] = 1); layernorm designs: E[sqrt(d) h/||h||] by Monte Carlo
  with M independent prompt draws per emotion, Richardson-extrapolated (2 rho_M - mean(rho_{M/2}))
  to remove the 1/M attenuation.  The missingness is not part of the noise-free mean.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from rsastats.io import atomic_path

from .studies import binomial_ci

HERE = "reports/calibration/fourth_model"  # the output folder (``--out``)
RSASTATS = [sys.executable, "-m", "rsastats"]
DA, DB = 48, 96

BASE = dict(E=21, P=6, clusters=0, idio=0.6, gamma=0.6, nonlin=0.0, len_sd=0.2, len_share=0.8,
            offset=3.0, layernorm=False, amp_sd=0.0, tmpl=0.0, shared=0.0, sigma0=1.0, het_sd=0.0,
            t_df=0, skew=0.0, miss_p=0.0, min_valid=2, seed=0)

DESIGNS = {
    # 21 emotions, 3 prompts, fairly reliable; heavy tails (t3), templates, heteroscedastic
    "D1": dict(BASE, E=21, P=3, offset=3.0, t_df=3, amp_sd=0.25, tmpl=0.5, het_sd=0.4,
               len_sd=0.3, sigma0=0.9, seed=101),
    # 10 emotions in 4 clusters, 6 prompts, low reliability; skewed noise, shared sentence
    # effects, strongly uneven noise, invalid prompts
    "D2": dict(BASE, E=10, P=6, clusters=4, offset=2.0, skew=0.5, shared=0.7, het_sd=0.6,
               miss_p=0.15, min_valid=3, sigma0=3.2, seed=202),
    # 30 emotions, 12 prompts, strong vector-length differences, t5 noise
    "D3": dict(BASE, E=30, P=12, len_sd=0.9, len_share=0.9, offset=2.0, t_df=5, het_sd=0.3,
               sigma0=2.0, seed=303),
    # 21 emotions, 30 prompts, low reliability, layer-norm, templates, shared sentence effects, t4
    "D4": dict(BASE, E=21, P=30, layernorm=True, offset=4.0, amp_sd=0.3, tmpl=0.6, shared=0.6,
               t_df=4, het_sd=0.3, sigma0=7.0, seed=404),
    # 30 emotions, 6 prompts, high reliability; nonlinear B, skewed noise, invalid prompts
    "D5": dict(BASE, E=30, P=6, nonlin=0.3, gamma=0.8, skew=0.7, het_sd=0.5, miss_p=0.1,
               min_valid=3, offset=3.0, sigma0=0.6, seed=505),
    # 10 emotions, 12 prompts, moderate; everything: layer-norm, lengths, templates, shared, invalid
    "D6": dict(BASE, E=10, P=12, clusters=3, layernorm=True, len_sd=0.6, offset=3.0, amp_sd=0.3,
               tmpl=0.5, shared=0.5, t_df=3, het_sd=0.5, skew=0.3, miss_p=0.15, min_valid=4,
               sigma0=2.5, seed=606),
}


# Ablations of D4 (run with `fourth.py run D4_het0 ... --n 40`, summarised by `fourth.py ablate-report`):
# each switches one feature of D4 off, same model maps (same seed); compared with each data set's own
# noise-free rho only (no truth_rho / truth_free Monte Carlo).
ABLATIONS = {
    "D4_het0": dict(DESIGNS["D4"], het_sd=0.0),
    "D4_shared0": dict(DESIGNS["D4"], shared=0.0),
    "D4_tmpl0": dict(DESIGNS["D4"], tmpl=0.0, amp_sd=0.0),
    "D4_noLN": dict(DESIGNS["D4"], layernorm=False),
    "D4_gauss": dict(DESIGNS["D4"], t_df=0),
    "D4_offset0": dict(DESIGNS["D4"], offset=0.0),  # added by the session that committed this script
}
DESIGNS.update(ABLATIONS)


def dkey(name):
    import zlib
    return int(name[1:]) if name[1:].isdigit() else zlib.crc32(name.encode())


class Model:
    def __init__(self, name):
        self.name = name
        self.cfg = cfg = DESIGNS[name]
        r = np.random.default_rng(cfg["seed"])
        self.W = {d: r.normal(0, 1 / np.sqrt(6.7), (d, 8)) for d in (DA, DB)}
        self.V = {d: r.normal(0, 1 / np.sqrt(6.0), (d, 6)) for d in (DA, DB)}
        self.T = {d: r.normal(0, 0.5, (d, 4)) for d in (DA, DB)}
        self.S = {d: r.normal(0, 1 / np.sqrt(8), (d, 8)) for d in (DA, DB)}
        self.c = {}
        for d in (DA, DB):
            v = r.normal(size=d)
            self.c[d] = cfg["offset"] * np.sqrt(d) * v / np.linalg.norm(v)
        self.cluster_angles = r.uniform(0, 2 * np.pi, max(cfg["clusters"], 1))

    # ---- emotions -------------------------------------------------------------------------
    def emotions(self, rng, E=None):
        cfg = self.cfg
        E = E or cfg["E"]
        if cfg["clusters"]:
            k = rng.integers(0, cfg["clusters"], E)
            th = self.cluster_angles[k] + rng.normal(0, 0.35, E)
        else:
            th = rng.uniform(0, 2 * np.pi, E)
        rad = 0.6 + 0.4 * rng.beta(2, 2, E)
        L = np.column_stack([3 * rad * np.cos(th), 2 * rad * np.sin(th),
                             rng.normal(0, cfg["idio"], (E, 6))])
        g = rng.normal(size=E)
        sh = cfg["len_share"]
        mu = {}
        for d in (DA, DB):
            u = rng.normal(size=(E, 6))
            x = L @ self.W[d].T + cfg["gamma"] * u @ self.V[d].T
            if d == DB and cfg["nonlin"]:
                x = x + cfg["nonlin"] * (x ** 2 - 1)
            s = np.exp(cfg["len_sd"] * (sh * g + np.sqrt(1 - sh ** 2) * rng.normal(size=E)))
            mu[d] = s[:, None] * x
        sig = np.exp(cfg["het_sd"] * rng.normal(size=E))
        return dict(mu=mu, sig=sig, E=E)

    # ---- prompts --------------------------------------------------------------------------
    def prompts(self, rng, em, P, templates_shared=True):
        """Return x[d] (E, P, d) and valid (E, P).  templates_shared=False draws a fresh template
        for every (emotion, prompt) cell (used for the noise-free Monte Carlo)."""
        cfg = self.cfg
        E = em["E"]
        tshape = (1, P) if templates_shared else (E, P)
        a = 1 + cfg["amp_sd"] * rng.normal(size=tshape)
        t = rng.normal(size=tshape + (4,))
        s = rng.normal(size=(E, P, 8))
        if cfg["t_df"]:
            df = cfg["t_df"]
            w = np.sqrt((df - 2) / rng.chisquare(df, (E, P)))
        else:
            w = np.ones((E, P))
        sc = cfg["sigma0"] * em["sig"][:, None]  # (E,1)
        out = {}
        for d in (DA, DB):
            eps = np.sqrt(1 - cfg["skew"]) * rng.normal(size=(E, P, d))
            if cfg["skew"]:
                eps += np.sqrt(cfg["skew"]) * (rng.exponential(size=(E, P, d)) - 1)
            h = (self.c[d] + a[..., None] * em["mu"][d][:, None, :]
                 + cfg["tmpl"] * (t @ self.T[d].T)
                 + sc[..., None] * (cfg["shared"] * (s @ self.S[d].T) + w[..., None] * eps))
            if cfg["layernorm"]:
                h = np.sqrt(d) * h / np.linalg.norm(h, axis=-1, keepdims=True)
            out[d] = h
        valid = np.ones((E, P), bool)
        if cfg["miss_p"]:
            nmiss = np.minimum(rng.binomial(P, cfg["miss_p"], E), P - cfg["min_valid"])
            for i in range(E):
                if nmiss[i]:
                    valid[i, rng.choice(P, nmiss[i], replace=False)] = False
        return out, valid

    # ---- noise-free -------------------------------------------------------------------------
    def noise_free_rho(self, rng, em, M=2000, centre=False):
        """The noise-free rho; ``centre``: of the means less their mean over emotions (``--normalization
        emotion-mean``)."""
        rho = rho_of_centred if centre else rho_of
        if not self.cfg["layernorm"]:
            return rho(self.c[DA] + em["mu"][DA], self.c[DB] + em["mu"][DB])
        sums = {DA: [], DB: []}
        chunk = 250
        for _ in range(M // chunk):
            x, _v = self.prompts(rng, em, chunk, templates_shared=False)
            for d in (DA, DB):
                sums[d].append(x[d].mean(1))
        half = len(sums[DA]) // 2
        mA = [np.mean(sums[DA][:half], 0), np.mean(sums[DA][half:], 0)]
        mB = [np.mean(sums[DB][:half], 0), np.mean(sums[DB][half:], 0)]
        rM = rho((mA[0] + mA[1]) / 2, (mB[0] + mB[1]) / 2)
        rH = 0.5 * (rho(mA[0], mB[0]) + rho(mA[1], mB[1]))
        return 2 * rM - rH


def cos_rdm_upper(m):
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    D = 1 - n @ n.T
    iu = np.triu_indices(len(m), 1)
    return D[iu]


def spearman(a, b):
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))


def rho_of(mA, mB):
    return spearman(cos_rdm_upper(mA), cos_rdm_upper(mB))


def rho_of_centred(mA, mB):
    """:func:`rho_of` of the means less their mean over emotions."""
    return rho_of(mA - mA.mean(0), mB - mB.mean(0))


def means(x, valid):
    out = {}
    for d, v in x.items():
        w = valid[..., None].astype(float)
        out[d] = (np.where(valid[..., None], v, 0)).sum(1) / w.sum(1)
    return out


def rho_hat(x, valid):
    m = means(x, valid)
    return rho_of(m[DA], m[DB])


def split_half(x, valid, rng):
    """Model A and B split-half RDM Spearman (random halves of valid prompts)."""
    res = []
    for d in (DA, DB):
        h1, h2 = [], []
        for i in range(x[d].shape[0]):
            idx = rng.permutation(np.flatnonzero(valid[i]))
            k = len(idx) // 2
            h1.append(x[d][i, idx[:k]].mean(0))
            h2.append(x[d][i, idx[k:2 * k]].mean(0))
        res.append(spearman(cos_rdm_upper(np.array(h1)), cos_rdm_upper(np.array(h2))))
    return res


def mean_cos(m):
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    C = n @ n.T
    return C[np.triu_indices(len(m), 1)].mean()


# ---- commands ------------------------------------------------------------------------------
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
    r = subprocess.run([*RSASTATS, "compare", paths[0], paths[1], "--json", "--permutations", "99",
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
    path = os.path.join(HERE, "truth.json")
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
    path = os.path.join(HERE, f"results_{name}{'_centred' if centre else ''}.csv")
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


# ---- report --------------------------------------------------------------------------------
def fnum(s):
    return float(s) if s not in ("", None, "None") else np.nan


def cmd_report():
    import collections
    import re
    truth = json.loads(Path(HERE, "truth.json").read_text())
    lines = ["# Independent acceptance test of `rsastats compare` intervals (fourth generative model)", ""]
    summary = []
    for name in DESIGNS:
        if name in ABLATIONS:
            continue
        path = os.path.join(HERE, f"results_{name}.csv")
        if not os.path.exists(path) or name not in truth:
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        T = truth[name]
        n = len(rows)
        g = lambda k: np.array([fnum(r[k]) for r in rows])
        rho, lo, hi = g("rho"), g("ci_low"), g("ci_high")
        rc, clo, chi = g("rho_corrected"), g("corrected_ci_low"), g("corrected_ci_high")
        own, rnp, nc = g("own_free"), g("rho_np"), g("noise_ceiling")
        tr, tf = T["truth_rho"], T["truth_free"]
        given_ci = ~np.isnan(lo)
        cov = (lo <= tr) & (tr <= hi)
        k, m = int(cov[given_ci].sum()), int(given_ci.sum())
        given_c = ~np.isnan(rc)
        covc = (clo <= tf) & (tf <= chi)
        kc, mc = int(covc[given_c].sum()), int(given_c.sum())
        notes = collections.Counter()
        widened = widened_any = 0
        for r in rows:
            note = r["corrected_note"] or ""
            if r["rho_corrected"] in ("", "None"):
                notes[re.sub(r"-?\d+(\.\d+)?", "#", note)[:150]] += 1
            if note.startswith("widened by"):
                widened += 1
            if "widened by" in note:
                widened_any += 1
        # every note text (also on given values)
        allnotes = collections.Counter(re.sub(r"-?\d+(\.\d+)?", "#", r["corrected_note"] or "")[:70] for r in rows)
        outside = int(np.sum(given_ci & ((rho < lo - 1e-12) | (rho > hi + 1e-12))))
        outside_c = int(np.sum(given_c & ((rc < clo - 1e-12) | (rc > chi + 1e-12))))
        vals = np.concatenate([rho, lo, hi, rc, clo, chi, nc, g("reliability_a"), g("reliability_b"),
                               g("split_half_a"), g("split_half_b")])
        vals = vals[~np.isnan(vals)]
        out11 = int(np.sum(np.abs(vals) > 1 + 1e-12))
        mism = float(np.nanmax(np.abs(rho - rnp)))
        s = T["settings"]
        p = lambda a, b: f"{100 * a / b:.1f}%" if b else "n/a"
        clp = binomial_ci(k, m)
        lines += [f"## {name}", "",
                  "settings: " + ", ".join(f"{kk}={vv}" for kk, vv in s.items()), "",
                  f"- data sets: {n}; CLI seconds per comparison: median {np.median(g('seconds')):.1f}",
                  f"- truth_rho = {tr:.4f} (MC se {T['truth_rho_se']:.4f}, {T['n']} data sets; "
                  f"sd of rho_hat {T['sd_rho_hat']:.3f}); truth_free = {tf:.4f} (MC se {T['truth_free_se']:.4f}; "
                  f"sd of own noise-free rho {T['sd_free']:.3f})",
                  f"- mean reliability_a/b (package) {np.nanmean(g('reliability_a')):.3f}/"
                  f"{np.nanmean(g('reliability_b')):.3f}; mean split_half_a/b {np.nanmean(g('split_half_a')):.3f}/"
                  f"{np.nanmean(g('split_half_b')):.3f}",
                  f"- max |CLI rho - numpy rho_hat| = {mism:.2e}; mean rho {np.nanmean(rho):.4f}",
                  f"- rho interval given {m}/{n}; coverage of truth_rho {k}/{m} = {p(k, m)} "
                  f"(95% CP {100 * clp[0]:.1f}-{100 * clp[1]:.1f}%); misses: truth above ci_high "
                  f"{int(np.sum(given_ci & (tr > hi)))}, below ci_low {int(np.sum(given_ci & (tr < lo)))}; "
                  f"mean width {np.nanmean(hi - lo):.3f}",
                  ]
        if mc:
            clc = binomial_ci(kc, mc)
            lines += [
                f"- rho_corrected given {mc}/{n} ({p(mc, n)}); coverage of truth_free {kc}/{mc} = {p(kc, mc)} "
                f"(95% CP {100 * clc[0]:.1f}-{100 * clc[1]:.1f}%); misses: truth above corrected_ci_high "
                f"{int(np.sum(given_c & (tf > chi)))}, below corrected_ci_low {int(np.sum(given_c & (tf < clo)))}; "
                f"mean width {np.nanmean((chi - clo)[given_c]):.3f}",
                f"- coverage of each data set's own noise-free rho by the corrected interval: "
                f"{int(np.sum(given_c & (clo <= own) & (own <= chi)))}/{mc}",
                f"- bias of rho_corrected vs own noise-free rho: mean {np.nanmean((rc - own)[given_c]):+.4f} "
                f"(se {np.nanstd((rc - own)[given_c], ddof=1) / np.sqrt(mc):.4f}); "
                f"median {np.nanmedian((rc - own)[given_c]):+.4f}; mean rho_corrected {np.nanmean(rc[given_c]):.4f} "
                f"vs mean own noise-free (same data sets) {np.mean(own[given_c]):.4f}",
                f"- bias of rho vs truth_rho: {np.nanmean(rho) - tr:+.4f}; "
                f"mean own noise-free (all) {np.mean(own):.4f}",
            ]
        else:
            clc = (np.nan, np.nan)
            lines += [f"- rho_corrected given 0/{n}; bias of rho vs truth_rho: {np.nanmean(rho) - tr:+.4f}"]
        lines += ["- rho_corrected null reasons: " + "; ".join(f"{c}x '{t}'" for t, c in notes.most_common(4)),
                  f"- corrected_note starts with 'widened by': {widened}/{n}; contains 'widened by': "
                  f"{widened_any}/{n}; note heads: "
                  + "; ".join(f"{c}x '{t}'" for t, c in allnotes.most_common(5)),
                  f"- noise_ceiling given {int(np.sum(~np.isnan(nc)))}/{n}",
                  f"- estimate outside its own interval: rho {outside}, rho_corrected {outside_c};"
                  f" values outside [-1, 1]: {out11}", ""]
        flag = lambda c: "" if c is None else ("" if 0.925 <= c <= 0.975 else " FLAG")
        rel = f"{np.nanmean(g('reliability_a')):.2f}/{np.nanmean(g('reliability_b')):.2f}"
        summary.append((name, s["E"], s["P"], rel,
                        f"{tr:.3f}", f"{tf:.3f}", p(k, m) + flag(k / m if m else None),
                        f"{100*clp[0]:.1f}-{100*clp[1]:.1f}", f"{mc}/{n}",
                        (p(kc, mc) + flag(kc / mc)) if mc else "n/a",
                        f"{100*clc[0]:.1f}-{100*clc[1]:.1f}" if mc else "",
                        f"{np.nanmean((rc - own)[given_c]):+.3f}" if mc else "", f"{widened}/{widened_any}"))
    head = ["design", "E", "P", "rel a/b", "truth_rho", "truth_free", "cov rho", "CP", "corr given",
            "cov corr", "CP", "bias corr", "widened (starts/contains)"]
    tab = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tab += ["| " + " | ".join(str(c) for c in r) + " |" for r in summary]
    txt = "\n".join(lines[:2] + ["## Summary", ""] + tab + [""] + lines[2:])
    with atomic_path(os.path.join(HERE, "report_numbers.md")) as tmp:
        tmp.write_text(txt)
    print(txt)


def cmd_ablate_report():
    lines = ["| variant | n | rho_corrected given | mean rho | mean own noise-free | mean rho_corrected - own (se) |"
             " corrected CI covers own | rel a/b | BCa-near-1 notes |", "|" + "---|" * 9]
    for name in ["D4"] + list(ABLATIONS) + ["D4_centred"]:
        path = os.path.join(HERE, f"results_{name}.csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if name == "D4":
            rows = rows[:40]
        g = lambda k: np.array([fnum(r[k]) for r in rows])
        rc, clo, chi, own = g("rho_corrected"), g("corrected_ci_low"), g("corrected_ci_high"), g("own_free")
        ok = ~np.isnan(rc)
        d = (rc - own)[ok]
        bca = sum("near the bound" in (r["corrected_note"] or "") for r in rows)
        lines.append(f"| {name} | {len(rows)} | {ok.sum()} | {np.nanmean(g('rho')):.3f} | {own.mean():.3f} | "
                     f"{d.mean():+.3f} ({d.std(ddof=1) / np.sqrt(len(d)):.3f}) | "
                     f"{int(np.sum(ok & (clo <= own) & (own <= chi)))}/{ok.sum()} | "
                     f"{np.nanmean(g('reliability_a')):.2f}/{np.nanmean(g('reliability_b')):.2f} | {bca} |")
    txt = "\n".join(lines)
    with atomic_path(os.path.join(HERE, "ablations.md")) as tmp:
        tmp.write_text(txt + "\n")
    print(txt)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("designs", nargs="*")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args()
    HERE = a.out
    os.makedirs(HERE, exist_ok=True)
    names = a.designs or [k for k in DESIGNS if k not in ABLATIONS]
    if a.cmd == "calib":
        cmd_calib(names)
    elif a.cmd == "check":
        cmd_check(names[0])
    elif a.cmd == "truth":
        cmd_truth(names, a.n if a.n != 200 else 2000)
    elif a.cmd == "run":
        for nm in names:
            cmd_run(nm, a.n)
    elif a.cmd == "run-centred":
        for nm in names:
            cmd_run(nm, a.n, normalization="emotion-mean")
    elif a.cmd == "report":
        cmd_report()
    elif a.cmd == "ablate-report":
        cmd_ablate_report()
