"""Confidence intervals: the one home of interval maths and the one table of methods.

Methods (:data:`INTERVAL_METHODS`; Davison & Hinkley 1997, ch. 5; Efron & Tibshirani 1993, ch. 11, 14):

``jackknife-t`` ``tanh(atanh(est) -+ t_(n-1) SE)``, Tukey's jackknife-t interval on the Fisher-z scale,
                SE from the jackknife variance of ``atanh`` of the leave-one-out estimates less the
                second-order part the jackknife counts twice (by the estimated degeneracy;
                :mod:`rsastats.inference.degeneracy` estimates it from the two RDMs): the default
                interval of rho (docs/statistics.md, docs/calibration.md); it always contains its
                estimate and stays inside (-1, 1).  As rho's interval (:func:`confidence_interval`), each
                end ``z_e`` is then mapped to ``E[tanh(z_e + SE eps)]``, the mean on the correlation scale
                that rho's interval targets (:func:`rsastats.intervals.jackknife.mean_of_tanh`).
``jackknife-z`` ``tanh(atanh(est) -+ q SE)``, SE the plain jackknife standard error of ``atanh`` of the
                leave-one-out estimates, ``q`` normal (the default before; conservative near rho = 0); mapped
                as ``jackknife-t``.
``jackknife``   ``est -+ q SE`` on the raw scale (unbounded statistics, e.g. a difference of two rhos).
``percentile``  the ``(1-c)/2`` and ``(1+c)/2`` quantiles of the replicates.
``basic``       ``2*est - q_hi, 2*est - q_lo`` (reflects the bootstrap bias back onto the estimate).
``normal``      ``(2*est - median) -+ z SD``: the basic interval's point with the replicates' standard deviation
                (Davison & Hinkley 1997, eq. 5.5, the bias taken as the median's); the geometry default of
                ``baseline_pc1_share`` (docs/geometry.md).
``bca``         percentile at levels shifted by the bias correction ``z0`` and the acceleration
                ``a`` estimated by the jackknife.

Each method is built around a point estimate (``IntervalMethod.point``, formed by
:func:`interval_estimate`): its limit as the confidence level goes to 0, which lies inside the
interval at every level.  Where a bootstrap detects bias (basic, BCa) it is not the plain estimate:
report it beside the interval, with the plain estimate named as such (docs/statistics.md).

Quantiles are the ``(R+1)alpha``-th order statistics, interpolated on the normal-quantile scale
between neighbours (Davison & Hinkley eq. 5.8): the same numbers as R's ``boot::boot.ci``
(checked in ``tests/reference``).  ``z0`` uses the mid-rank fraction of replicates below the
estimate (equal to ``boot``'s strict fraction when no replicate ties the estimate).

A statistic with ``bounds`` (``(-1, 1)`` for correlations) keeps its interval inside them:
percentile and BCa endpoints are (interpolated) replicates and cannot leave the bounds; a basic
interval can, and is clipped to them (:data:`BASIC_BOUNDED` ``= "clip"``; the Fisher-z scale was the
alternative, decided by the coverage simulations of ``docs/calibration.md``).

Every module that forms an interval takes its method names from :data:`CI_METHODS` (checked by
:func:`ci_method_name`; an unknown name is an error) and forms it with :func:`confidence_interval`
or, when replicates may be undefined, :func:`bootstrap_interval`.  To add a method: one entry in
:data:`INTERVAL_METHODS` (``methods.py``) and its branch in :func:`confidence_interval` (``bootstrap.py``),
or a jackknife formula in ``jackknife.py`` (docs/architecture.md).
"""

from .bootstrap import acceleration, basic_interval, confidence_interval, interval_estimate, interval_pvalue
from .jackknife import fisher_z, jackknife_interval, jackknife_se
from .methods import (BASIC_BOUNDED, BOOTSTRAP_CI_METHODS, CI_METHODS, CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS, IntervalMethod,
                      ci_method_name)
from .undefined import (Expansion, Interval, bootstrap_interval, excluded_estimate, interval_note,
                        missing_interval_text, small_sample_expansion)

__all__ = ["IntervalMethod", "INTERVAL_METHODS", "CI_METHODS", "BOOTSTRAP_CI_METHODS", "DEFAULT_CI", "BASIC_BOUNDED", "CORRELATION_BOUNDS",
           "ci_method_name", "confidence_interval", "interval_estimate", "basic_interval", "acceleration", "fisher_z", "jackknife_se",
           "jackknife_interval", "interval_pvalue", "Interval", "bootstrap_interval", "excluded_estimate",
           "missing_interval_text", "interval_note", "Expansion", "small_sample_expansion"]
