"""A fifth, independent generative model for an acceptance check of ``rsastats compare``'s intervals.

Written without reading the project's own simulation models (``analyses/``, ``docs/calibration.md``,
``docs/statistics.md``): it imitates features of real language-model residual streams that a generic
simulation lacks, each a per-design switch.

Generative model
----------------
Two fixed "language models" (weights drawn once, seed ``MODEL_SEED``, the same in every design):

* latent text space of ``D_LAT = 12`` dimensions: 0 valence, 1 arousal, 2-6 idiosyncratic emotion
  dimensions, 7-11 emotion-free content dimensions;
* model A (``H_A = 48`` hidden dims) reads a text's latent ``x`` linearly: ``W_A x`` (rows normalised);
* model B (``H_B = 96`` hidden dims) is a random 2-layer MLP with GELU (12 -> 96 -> 96) of a *noisy copy*
  of the latent, ``z = x + delta_e + nu`` (``delta_e``: B's own fixed view of each emotion, drawn fresh with the
  emotions; ``nu``: B's own per-prompt noise), so that B's geometry is a nonlinear, partly different image of A's.

Per data set (everything below is drawn fresh in every data set of a design):

3. *emotions*: ``u_e = (s_v v_e, s_a a_e, s_i c_e, 0)`` with ``v_e ~ U(-sqrt3, sqrt3)`` (dominant valence axis),
   ``a_e ~ N(0,1)`` (arousal), ``c_e ~ N(0, I_5)`` (idiosyncratic), ``s_v = 1``, ``s_a = 0.6``, ``s_i = 0.45``;
5. *prompts*: text (e, p) has latent ``x_ep = u_e + t_p + sigma_e eps_ep`` where ``t_p ~ N(0, sigma_t^2 I)`` is the
   template of prompt index p (shared by every emotion at that index, and read by both models), ``eps_ep`` a
   multivariate Student t (``df``, scaled to unit variance; one heavy-tailed scale per text) and
   ``sigma_e = sigma exp(spread N(0,1))`` the emotion's own noise level;
2. *length* covariate ``l_ep = (lt_p + 0.5 le_ep)/sqrt(1.25)`` (template part + text part, mean 0, shared by both
   models): it drives 3 *rogue* high-variance dimensions in each model (``r_k (l_ep + 0.5 N(0,1)) + r0_k``, ``r_k``
   about 4x a typical dimension's scale), and the amplitude of a *common direction* ``c g (1 + 0.04 l + 0.03 N)``
   shared by all prompts, sized so that the cosines between emotion means are about 0.9-0.97 before the massive
   dimensions;
1. *massive activations*: 2 dims of A and 3 of B are overwritten by ``m_k (1 + 0.01 l + 0.015 N(0,1))``, with
   ``m_k`` 50-100x the median RMS of the ordinary dims (nearly constant: 1.5% relative variation);
   each model also adds independent Gaussian read-out noise to every ordinary dim;
6. *validity*: emotion e has ``n_e ~ U{n_min..P}`` valid prompts (a random subset; the same texts in both models),
   the others are ``valid = 0`` and NaN;
7. *near-identical pair* (one design): B is A plus a little independent Gaussian noise (``tau`` times each
   ordinary dim's typical scale), so B's expected activations equal A's and the noise-free rho is 1.

Truths
------
* **rho** (target of ``ci_low``/``ci_high``): the expectation of rho over fresh data sets of the design, estimated
  by computing rho in numpy (means of the valid prompts of the float32 values as written, cosine-distance RDM upper
  triangle, ``scipy.stats.spearmanr``) for ``N_TRUTH`` fresh data sets per design; its Monte Carlo SE is reported.
  The numpy rho is checked against the CLI's ``rho`` for every CLI data set (not only 3) to 1e-9.
* **noise-free rho** (target of ``corrected_ci_low``/``corrected_ci_high``): for each data set, the Spearman rho of
  the cosine RDMs of the emotions' *expected* activations, the expectation over the prompt population (templates,
  text noise, lengths, read-out noise, massive jitter) for that data set's emotions (and B's ``delta_e``).
  A is linear in the latent and every additive term has a known mean, so A's expectation is exact
  (``W_A u_e + c_A g_A + r0_A``, massive dims ``m_k``); so is B's except for the MLP term
  ``E[W2 GELU(W1 (u_e + delta_e + t + sigma_e eps + nu) + b1)]``, estimated by Monte Carlo with ``M = 2000``
  draws of (t, eps, nu) (the same standardised draws for every emotion, scaled by its ``sigma_e``), and
  Richardson-extrapolated: ``2 rho_M - mean(rho_{M/2} of the two halves)`` removes the O(1/M) attenuation.
  Its accuracy is measured (``--accuracy``) by recomputing the truth with an independent seed at ``M`` and at
  ``4 M`` for a few data sets per design; see the report.  In the near-identical design the truth is exactly 1.

Run
---
Each data set is written as two activation files and compared with
``rsastats compare a.nc b.nc --json --permutations 99`` (defaults otherwise), one process at a time, rows appended
to ``reports/calibration/fifth_model/runs.csv`` (resumable: data sets already there are skipped).

    python -m analyses.calibration.fifth_model truth      # expected rho per design (numpy, N_TRUTH data sets)
    python -m analyses.calibration.fifth_model run --n 200  # CLI data sets (resumable; --max-seconds S stops early)
    python -m analyses.calibration.fifth_model retry      # rerun data sets whose command failed (kept in failures.csv)
    python -m analyses.calibration.fifth_model accuracy   # accuracy of the noise-free truth
    python -m analyses.calibration.fifth_model report     # report.md
"""
import time
from pathlib import Path

from .cli import main
from .model import (BASE_SEED, D_LAT, DESIGN_BY_NAME, DESIGNS, H_A, H_B, H_MLP, M_TRUTH, MODEL_SEED, MODELS, N_TRUTH,
                    Dataset, Design, Models, cosine_rdm_upper, design_index, draw_emotions, ds_rng, emotion_cosines,
                    expected_means, expected_offsets, gelu, noise_free_rho, rho_numpy, simulate, truth_rng, valid_means)
from .report import cmd_report
from .run import FIELDS, cmd_accuracy, cmd_retry, cmd_run, cmd_truth, one_dataset

# The paths and the start time are set here, on the package, and the modules read them from it (``_pkg.OUT``), so
# that setting one here (a test's ``monkeypatch.setattr(fifth_model, "OUT", ...)``) reaches every reader.
ROOT = Path(__file__).resolve().parents[3]  # the repository root: .../analyses/calibration/fifth_model/__init__.py
OUT = ROOT / "reports" / "calibration" / "fifth_model"
CLI = str(ROOT / ".venv" / "bin" / "rsastats")
START = time.time()  # when the package was imported: ``run --max-seconds`` counts from here

__all__ = ["ROOT", "OUT", "CLI", "START", "BASE_SEED", "MODEL_SEED", "D_LAT", "H_A", "H_B", "H_MLP", "M_TRUTH",
           "N_TRUTH", "Design", "DESIGNS", "DESIGN_BY_NAME", "gelu", "Models", "MODELS", "Dataset", "draw_emotions",
           "expected_offsets", "simulate", "cosine_rdm_upper", "valid_means", "rho_numpy", "expected_means",
           "noise_free_rho", "design_index", "ds_rng", "truth_rng", "emotion_cosines", "cmd_truth", "FIELDS",
           "one_dataset", "cmd_retry", "cmd_run", "cmd_accuracy", "cmd_report", "main"]
