"""Calibration simulations: is the Mantel test's Type-I error nominal, and which bootstrap interval
covers the true (noise-free) rho?

``python -m analyses.calibration --out docs/calibration.md`` runs both studies and writes the report
(about ten minutes on two cores; ``--quick`` for a smoke run).  The slow tests in
``tests/simulation`` call the same functions with fewer data sets.  ``studies`` holds the
simulations, ``report`` the Markdown, ``__main__`` the command.

Type-I error
    Two models whose RDMs share the *kind* of structure that makes RDM cells dependent -- a common
    direction (anisotropy) and hub emotions whose vectors lie close to it, so that their whole row
    of the cosine RDM is small -- but whose emotion-specific geometry is independent, so that the
    emotion labels are exchangeable (the Mantel null).  Hubs are drawn independently in the two
    models.  For each data set: the Mantel p (two-sided, 999 label permutations) and the naive
    ``scipy.stats.spearmanr`` p over the 210 cells.

Coverage
    A fixed pair of models (a population): emotion ``e`` has latent coordinates ``L_e`` (three
    factors, like valence and arousal); model ``A``'s true vector is ``W_A L_e + s u_e^A + c_A``
    (a model-specific linear read-out, an idiosyncratic part and a common direction), model ``B``'s
    likewise with its own ``W_B, u^B, c_B``.  Each data set draws 21 new emotions and 20 prompts per
    emotion with Gaussian prompt noise (low / moderate / heavy).  Two targets:

    - the *conditional* noise-free rho: Spearman rho between the two true RDMs of the 21 emotions
      drawn (what the prompt bootstrap is about: the emotions are fixed, the prompts are a sample);
    - the *population* noise-free rho: the same correlation over a large set of emotions from the
      population (what the emotion bootstrap, and the two-factor one, are about).

    For each data set, bootstrap scheme (emotions / prompts / both) and interval method
    (percentile, basic on the Fisher-z scale, basic clipped to [-1, 1], BCa) the interval either
    covers the scheme's target or not; the hit rate is reported with a Clopper-Pearson 95% CI.
    Point estimates are compared too: rho, the bootstrap bias-corrected ``2 rho - mean(rho*)`` and
    the disattenuated ``rho / sqrt(r_A r_B)`` (split-half reliabilities with Spearman-Brown).
"""

from .report import write_report
from .studies import (HUB_LEVELS, INTERVALS, NOISE_LEVELS, Population, bias_table, binomial_ci, choose_default,
                      coverage_study, library_setting, summarize_coverage, type1_error)

__all__ = ["NOISE_LEVELS", "HUB_LEVELS", "INTERVALS", "Population", "type1_error", "coverage_study", "summarize_coverage",
           "choose_default", "library_setting", "bias_table", "binomial_ci", "write_report"]
