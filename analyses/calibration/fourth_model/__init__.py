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
import sys

from .model import (ABLATIONS, BASE, DA, DB, DESIGNS, Model, cos_rdm_upper, dkey, mean_cos, means, rho_hat, rho_of,
                    rho_of_centred, spearman, split_half)
from .report import cmd_ablate_report, cmd_report, fnum
from .run import FIELDS, cli_compare, cmd_calib, cmd_check, cmd_run, cmd_truth, truth_one, write_pair

# The output folder and the command are set here, on the package, and the modules read them from it
# (``_pkg.HERE``), so that ``--out`` (or a caller setting ``fourth_model.HERE``) reaches every command.
HERE = "reports/calibration/fourth_model"  # the output folder (``--out``)
RSASTATS = [sys.executable, "-m", "rsastats"]

__all__ = ["HERE", "RSASTATS", "DA", "DB", "BASE", "DESIGNS", "ABLATIONS", "dkey", "Model", "cos_rdm_upper",
           "spearman", "rho_of", "rho_of_centred", "means", "rho_hat", "split_half", "mean_cos", "cmd_calib",
           "write_pair", "cli_compare", "cmd_check", "truth_one", "cmd_truth", "FIELDS", "cmd_run", "fnum",
           "cmd_report", "cmd_ablate_report"]
