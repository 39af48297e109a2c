r"""Block log-likelihood-ratio CUSUMs for early warnings inside an open window (pure).

Each test sees the events of a model in *blocks* (a fixed number of events) and turns a block into one
log-likelihood ratio (LLR) of a severe alternative against the reference; a Page CUSUM of these LLRs,
:math:`S_t = \max(0, S_{t-1} + \\ell_t)`, alarms when :math:`S_t > h`. It is the existing
:class:`~detectors.sequential.CUSUM` with ``target=0, sigma=1, k=0, mode="up"`` fed the LLRs
(:func:`llr_cusum`).

Threshold: for a CUSUM of exact LLRs, the expected run length between false alarms (ERT, in blocks) is
at least :math:`e^h` (Lorden 1971), so ``h = log(ert)`` (:func:`threshold_for_ert`) guarantees the
configured ERT whatever the block size; the measured ERT is longer (``bench/calibration_early.py``).

Block LLRs:

- :func:`bernoulli_llr` (missing values, unseen categories): ``x`` successes in ``n`` trials, rate
  ``p1`` against ``p0``: ``x log(p1/p0) + (n - x) log((1 - p1)/(1 - p0))``;
- :func:`variance_llr` (near-constant scores): ``n`` scores with sum of squared deviations ``ss`` from
  their mean, standard deviation ``sigma1`` against ``sigma0`` (Gaussian, ``ss / sigma^2 ~ chi2(n - 1)``):
  ``(n - 1) log(sigma0 / sigma1) - ss / 2 x (1/sigma1^2 - 1/sigma0^2)``;
- :func:`poisson_llr` (traffic drop or spike): a count ``x`` of events in a block of time, expected
  ``ratio x lam0`` against ``lam0``: ``x log(ratio) - lam0 (ratio - 1)``.
"""

from __future__ import annotations

import math

from detectors.sequential._base import InvalidParameterError
from detectors.sequential.cusum import CUSUM

__all__ = ["bernoulli_llr", "llr_cusum", "poisson_llr", "threshold_for_ert", "variance_llr"]


def threshold_for_ert(ert: float) -> float:
    """``h = log(ert)``: an LLR CUSUM with this threshold has an ERT of at least ``ert`` blocks.

    >>> round(threshold_for_ert(10_000), 3)
    9.21
    """
    if not (math.isfinite(ert) and ert > 1):
        raise InvalidParameterError("ert", ert, "a finite number > 1 (blocks between false alarms)",
                                    where="threshold_for_ert")
    return math.log(ert)


def llr_cusum(ert: float) -> CUSUM:
    """A one-sided CUSUM of block LLRs alarming at ``S > log(ert)`` (``CUSUM(0, 1, k=0, mode="up")``)."""
    return CUSUM(target=0.0, sigma=1.0, k=0.0, h=threshold_for_ert(ert), mode="up")


def _check_rate(name: str, p: float, where: str) -> None:
    if not (0.0 < p < 1.0):
        raise InvalidParameterError(name, p, "a rate strictly between 0 and 1", where=where)


def bernoulli_llr(x: int, n: int, p0: float, p1: float) -> float:
    """LLR of ``x`` successes among ``n`` Bernoulli trials: rate ``p1`` against ``p0`` (both in (0, 1)).

    >>> round(bernoulli_llr(5, 10, 0.01, 0.5), 3)
    16.145
    """
    _check_rate("p0", p0, "bernoulli_llr")
    _check_rate("p1", p1, "bernoulli_llr")
    if not 0 <= x <= n:
        raise InvalidParameterError("x", x, f"a count between 0 and n={n}", where="bernoulli_llr")
    return x * math.log(p1 / p0) + (n - x) * math.log((1.0 - p1) / (1.0 - p0))


def variance_llr(n: int, ss: float, sigma0: float, sigma1: float) -> float:
    """LLR of a block of ``n`` values whose squared deviations from their mean sum to ``ss``: standard
    deviation ``sigma1`` against ``sigma0`` (Gaussian within the block; ``0`` for ``n < 2``).

    >>> round(variance_llr(50, 0.0, 1.0, 0.05), 3)
    146.791
    """
    if not (sigma0 > 0 and sigma1 > 0):
        raise InvalidParameterError("sigma", (sigma0, sigma1), "two standard deviations > 0",
                                    where="variance_llr")
    if n < 2:
        return 0.0
    return (n - 1) * math.log(sigma0 / sigma1) - 0.5 * ss * (1.0 / sigma1**2 - 1.0 / sigma0**2)


def poisson_llr(x: int, lam0: float, ratio: float) -> float:
    """LLR of a Poisson count ``x``: mean ``ratio x lam0`` against ``lam0`` (``lam0 > 0``, ``ratio > 0``, ``!= 1``).

    >>> round(poisson_llr(0, 40.0, 0.25), 3)  # no event where 40 were expected: a drop to a quarter
    30.0
    """
    if not (math.isfinite(lam0) and lam0 > 0):
        raise InvalidParameterError("lam0", lam0, "a finite expected count > 0", where="poisson_llr")
    if not (math.isfinite(ratio) and ratio > 0 and ratio != 1):
        raise InvalidParameterError("ratio", ratio, "a finite rate ratio > 0 other than 1", where="poisson_llr")
    if x < 0:
        raise InvalidParameterError("x", x, "a count >= 0", where="poisson_llr")
    return x * math.log(ratio) - lam0 * (ratio - 1.0)
