"""Realized performance of one window of a regression model, with confidence intervals.

With errors ``e_i = y_pred_i - y_true_i``:

====== =================================================== ==============================================
metric definition                                          interval (normal, ``z = Phi^-1((1+conf)/2)``)
====== =================================================== ==============================================
mae    mean |e|                                            CLT: ``sd(|e|) / sqrt(n)``
rmse   sqrt(mean e^2)                                      delta: ``sd(e^2) / (2 rmse sqrt(n))``
mape   mean |e| / max(|y_true|, eps) (float64 eps, as      CLT on the per-row ratios
       scikit-learn; a fraction, not a percentage)
r2     1 - sum e^2 / sum (y_true - mean y_true)^2          delta: sd of the influence
                                                           ``-(e_i^2 - mse)/v + mse ((y_i - ybar)^2 - v)/v^2``
                                                           (``v`` = population variance of y_true) / sqrt(n)
====== =================================================== ==============================================

``sd`` uses ``ddof=1``. ``r2`` is NaN with a reason when ``y_true`` is constant (scikit-learn returns 0 or 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.performance._inputs import as_scores, same_length
from detectors.performance._intervals import mean_interval, z_value
from detectors.performance.config import REGRESSION, check_metrics
from detectors.performance.result import MetricValue

__all__ = ["regression_metrics"]

_EPS = float(np.finfo(np.float64).eps)


def _sd_interval(value: float, influence: NDArray[np.float64], z: float) -> tuple[float, float]:
    n = influence.size
    if n < 2:
        return math.nan, math.nan
    se = float(influence.std(ddof=1)) / math.sqrt(n)
    return value - z * se, value + z * se


def regression_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, *, metrics: Iterable[str] | None = None, confidence: float = 0.95
) -> dict[str, MetricValue]:
    """Realized regression metrics of one window (rules in the module docstring).

    Raises
    ------
    PerformanceInputError
        Lengths differ or a value is not finite.
    UnknownNameError
        A metric name not defined for regression.

    Examples
    --------
    >>> r = regression_metrics([1.0, 2.0, 3.0], [1.5, 2.0, 2.0], metrics=["mae", "r2"])
    >>> round(r["mae"].value, 6), round(r["r2"].value, 6)
    (0.5, 0.375)
    """
    names = check_metrics(REGRESSION, metrics)
    yt = as_scores(y_true, "regression_metrics(y_true)")
    yp = as_scores(y_pred, "regression_metrics(y_pred)")
    n = same_length("regression_metrics", y_true=yt, y_pred=yp)
    z = z_value(confidence)
    out: dict[str, MetricValue] = {}
    if n == 0:
        return {m: MetricValue(m, math.nan, math.nan, math.nan, 0, confidence, "none", "empty window") for m in names}
    e = yp - yt
    sq = e * e
    for name in names:
        if name == "mae":
            value, lo, hi = mean_interval(np.abs(e), z)
            out[name] = MetricValue(name, value, lo, hi, n, confidence, "normal")
        elif name == "mape":
            value, lo, hi = mean_interval(np.abs(e) / np.maximum(np.abs(yt), _EPS), z)
            out[name] = MetricValue(name, value, lo, hi, n, confidence, "normal")
        elif name == "rmse":
            mse = float(sq.mean())
            value = math.sqrt(mse)
            if value > 0:
                lo, hi = _sd_interval(value, sq / (2.0 * value), z)
            else:
                lo, hi = (0.0, 0.0) if n > 1 else (math.nan, math.nan)
            out[name] = MetricValue(name, value, max(lo, 0.0), hi, n, confidence, "delta")
        else:
            dev = yt - yt.mean()
            var = float((dev * dev).mean())
            if var == 0.0:
                out[name] = MetricValue(name, math.nan, math.nan, math.nan, n, confidence, "delta", "constant y_true")
                continue
            mse = float(sq.mean())
            value = 1.0 - float(sq.sum()) / float((dev * dev).sum())
            influence = -(sq - mse) / var + mse * (dev * dev - var) / (var * var)
            lo, hi = _sd_interval(value, influence, z)
            out[name] = MetricValue(name, value, lo, hi, n, confidence, "delta")
    return out
