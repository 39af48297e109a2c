"""The band of the multivariate statistic for a window of any size, from out-of-sample reference errors.

A window's statistic ``T`` is the mean of ``n`` per-row reconstruction errors. Its band comes from the
per-row errors ``e_1 .. e_N`` that every reference row gets from a PCA fitted *without* it (cross-fitting,
:class:`~detectors.multivariate.PCAReconstruction`), so unchanged production data and the reference
errors share one distribution. With ``m, s, g, k`` their mean, sample standard deviation (``ddof=1``),
skewness and excess kurtosis, the null distribution of ``D = T - m`` (a mean of ``n`` new errors minus a
mean of ``N`` reference errors, both independent) has

* variance ``s**2 * v`` with ``v = 1/n + 1/N`` (the ``1/N`` term: ``m`` is itself estimated, which
  matters once the window is not much smaller than the reference);
* skewness ``g3 = g * (1/n**2 - 1/N**2) / v**1.5`` and excess kurtosis ``g4 = k * (1/n**3 + 1/N**3) / v**2``.

Rule, for a window of ``n >= min_rows`` rows and ``z = Phi^-1(1 - alpha / 2)``::

    lower, upper = m + s * sqrt(v) * q(-z), m + s * sqrt(v) * q(z)      (lower clipped at 0)
    q(x) = x + (x**2 - 1) g3 / 6 + (x**3 - 3x) g4 / 24 - (2x**3 - 5x) g3**2 / 36   (Cornish-Fisher)
    drifted = T < lower or T > upper

The normal approximation of a mean (central limit theorem) is corrected to second order by the
Cornish-Fisher expansion because the per-row errors are norms, hence right-skewed: at ``n = 200`` a plain
``m ± z s sqrt(v)`` puts too much of the false-alarm rate above the band. Below ``min_rows`` there is no
verdict (``None``): a mean of a few rows is too far from normal for a per-window rate of ``alpha``.

>>> band = ErrorBand(mean=4.0, std=0.5, skewness=0.0, excess_kurtosis=0.0, n_reference=10_000,
...                  alpha=0.001, min_rows=200)
>>> lower, upper = band.bounds(1000)
>>> round(upper - 4.0, 4), round(4.0 - lower, 4)
(0.0546, 0.0546)
>>> band.bounds(100)
(nan, nan)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Final, Self

import numpy as np
from numpy.typing import ArrayLike

from detectors.errors import InsufficientDataError, InvalidParameterError

__all__ = ["DEFAULT_ALPHA", "MIN_WINDOW_ROWS", "ErrorBand"]

#: Target false-alarm rate per window on unchanged data (two-sided).
DEFAULT_ALPHA: Final = 0.001
#: Fewest rows a window needs for a multivariate verdict.
MIN_WINDOW_ROWS: Final = 200


@dataclass(frozen=True, slots=True)
class ErrorBand:
    """Moments of the out-of-sample per-row errors of a reference and the rule of the module docstring."""

    mean: float
    std: float
    skewness: float
    excess_kurtosis: float
    n_reference: int
    alpha: float = DEFAULT_ALPHA
    min_rows: int = MIN_WINDOW_ROWS

    def __post_init__(self) -> None:
        where = "ErrorBand"
        if not 0 < self.alpha < 1:
            raise InvalidParameterError("alpha", self.alpha, "in (0, 1)", where=where)
        if self.min_rows < 1:
            raise InvalidParameterError("min_rows", self.min_rows, "an integer >= 1", where=where)
        if self.n_reference < 2:
            raise InvalidParameterError("n_reference", self.n_reference, "an integer >= 2", where=where)
        for name in ("mean", "std", "skewness", "excess_kurtosis"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidParameterError(name, getattr(self, name), "a finite number", where=where)

    @classmethod
    def from_errors(cls, errors: ArrayLike, *, alpha: float = DEFAULT_ALPHA, min_rows: int = MIN_WINDOW_ROWS) -> Self:
        """The band of out-of-sample per-row ``errors`` (skewness and kurtosis: scipy's bias-corrected ones,
        0 when the errors are constant)."""
        e = np.asarray(errors, dtype=np.float64).reshape(-1)
        if e.size < 2:
            raise InsufficientDataError("ErrorBand.from_errors", 2, int(e.size))
        std = float(np.std(e, ddof=1))
        skew = kurt = 0.0
        if std > 0 and e.size >= 4:
            from scipy import stats  # a profile build's only use of scipy here (the watcher loads no scipy.stats)

            skew = float(stats.skew(e, bias=False))
            kurt = float(stats.kurtosis(e, fisher=True, bias=False))
        return cls(float(np.mean(e)), std, skew, kurt, int(e.size), float(alpha), int(min_rows))

    def bounds(self, n: int) -> tuple[float, float]:
        """``(lower, upper)`` for a window of ``n`` rows; ``(nan, nan)`` below :attr:`min_rows`."""
        if n < self.min_rows:
            return math.nan, math.nan
        big_n = self.n_reference
        v = 1.0 / n + 1.0 / big_n
        g3 = self.skewness * (1.0 / n**2 - 1.0 / big_n**2) / v**1.5
        g4 = self.excess_kurtosis * (1.0 / n**3 + 1.0 / big_n**3) / v**2
        z = float(NormalDist().inv_cdf(1 - self.alpha / 2))
        sd = self.std * math.sqrt(v)

        def q(x: float) -> float:
            return x + (x * x - 1) * g3 / 6 + (x**3 - 3 * x) * g4 / 24 - (2 * x**3 - 5 * x) * g3 * g3 / 36

        return max(0.0, self.mean + sd * q(-z)), self.mean + sd * q(z)

    def verdict(self, statistic: float, n: int) -> bool | None:
        """``statistic < lower or statistic > upper`` for ``n`` rows, ``None`` below :attr:`min_rows`.

        >>> band = ErrorBand(1.0, 0.2, 0.0, 0.0, 5000)
        >>> band.verdict(1.05, 1000), band.verdict(1.05, 10)
        (True, None)
        """
        if n < self.min_rows:
            return None
        lower, upper = self.bounds(n)
        return bool(statistic < lower or statistic > upper)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict` (KeyError, TypeError or ValueError for a bad payload)."""
        return cls(
            mean=float(data["mean"]),
            std=float(data["std"]),
            skewness=float(data["skewness"]),
            excess_kurtosis=float(data["excess_kurtosis"]),
            n_reference=int(data["n_reference"]),
            alpha=float(data["alpha"]),
            min_rows=int(data["min_rows"]),
        )
