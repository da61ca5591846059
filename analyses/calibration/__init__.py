"""Calibration simulations: is the Mantel test's Type-I error nominal, and do the shipped intervals cover
what they claim over a design atlas?

``python -m analyses.calibration --out docs/calibration.md`` runs both and writes the report (the atlas
takes about an hour on two quiet cores; ``--reuse-atlas`` rewrites the report from the results kept in
``reports/calibration/atlas/``).  The slow tests in ``tests/simulation`` run a subset with fewer data sets.
``studies`` holds the Type-I study, ``atlas`` the atlas of the shipped defaults (its generative model and
designs are :mod:`analyses.atlas`), ``rho`` rho's interval alone (reruns, weak designs), ``independent`` a
second generative model, ``cli_model`` a third one run through ``rsastats compare --json``, ``few`` designs with
fewer than 8 emotions (the package's minimums), ``corrected_methods`` and ``corrected_jackknife`` interval methods
of rho_corrected, ``equalize_bias`` how the half RDMs' squared norms move it, ``half_split`` the two half-split
schemes, ``uneven``, ``uneven_se`` and ``uneven_threshold`` the check of uneven shrinkage on stored results,
``widen`` how far the interval is widened toward that check's move and the sign-flip worlds' bias, ``world_check``
whether those worlds see the ratio's bias, ``world_signals`` what signal a world should carry (emotions noisier than
others in both models) and ``world_coverage`` what the equalized one does to the interval, ``near_bound`` BCa near the
bound against the jackknife's width (finished as shipped; ``--worlds``: the worlds' bias against the error),
``fourth_model`` and ``fifth_model`` a fourth and a fifth generative model written blind (run through the CLI; the
fifth imitates language-model residual streams), ``real_prompts``
the intervals on real activations (prompts and emotions drawn from larger real files, through the CLI), ``debias``
what subtracting the worlds' bias would do to the estimate, ``lengths`` how much emotion vectors differ in length
(real models against the simulated designs), ``methods`` the summary of the methods studied and not chosen,
``low_rank`` and ``low_rank_corrected`` rho's and rho_corrected's intervals where emotions vary along few directions,
``low_rank_caution`` where the intervals are given with ``ci_caution`` (the kernel's effective rank),
``mean_scale``, ``join_bound`` and ``join_weighted`` the stored studies re-scored or rewritten after a change to the
shipped intervals (the mean map, the join with rho's interval, rho's low-rank weight), ``report`` the Markdown,
``__main__`` the command.

Type-I error
    Two models whose RDMs share the *kind* of structure that makes RDM cells dependent -- a common
    direction (anisotropy) and hub emotions whose vectors lie close to it, so that their whole row
    of the cosine RDM is small -- but whose emotion-specific geometry is independent, so that the
    emotion labels are exchangeable (the Mantel null).  For each data set: the Mantel p (two-sided, 999
    label permutations) and the naive ``scipy.stats.spearmanr`` p over the 210 cells.
"""

from .atlas import TOLERANCE, atlas_section, coverage_table, load_atlas, run_atlas
from .report import write_report
from .studies import HUB_LEVELS, binomial_ci, type1_error

__all__ = ["HUB_LEVELS", "type1_error", "binomial_ci", "run_atlas", "load_atlas", "coverage_table", "atlas_section",
           "TOLERANCE", "write_report"]
