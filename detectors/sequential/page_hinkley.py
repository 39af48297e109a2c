"""Page–Hinkley test for a change in the mean of a series."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.sequential._base import InvalidParameterError, SequentialDetector, check_mode

__all__ = ["PageHinkley"]


class PageHinkley(SequentialDetector):
    r"""Page–Hinkley change detector with a fading cumulative sum (same algorithm as River's).

    At step :math:`t` (``n`` counts observations since the last reset):

    .. math::

        \bar x_t = \bar x_{t-1} + \tfrac{1}{t}(x_t - \bar x_{t-1}), \qquad d_t = x_t - \bar x_t

        U_t = \alpha U_{t-1} + d_t - \delta, \qquad L_t = \alpha L_{t-1} + d_t + \delta

        \text{increase}_t = U_t - \min_{s \le t} U_s, \qquad \text{decrease}_t = \max_{s \le t} L_s - L_t

    Rule: once ``n >= min_instances``, a change is detected when ``increase > threshold`` (mode
    ``"up"``), ``decrease > threshold`` (``"down"``) or either (``"both"``). The comparison is strict.
    After a detection the next ``update`` restarts from an empty state.

    This is line for line the computation of ``river.drift.PageHinkley`` (River 0.26), including its
    update order, so on the same floats it detects at the same indices (checked in
    ``tests/unit/detectors/test_sequential_river.py``). River starts the running maximum of
    :math:`L` at ``-1`` instead of :math:`-\infty`; this cannot matter because :math:`L_1 = \delta \ge 0`.

    Measured with the defaults on N(0, 1) noise (30 seeded series of 10,000): 0.64 false alarms per
    1,000 observations; median delay 40 observations for a 1-sigma shift, 12 for 3 sigma. ``threshold``
    is in the units of the series: scale it to the series' standard deviation.

    Parameters
    ----------
    min_instances
        No detection before this many observations since the last reset.
    delta
        Tolerated drift of the mean per step (:math:`\delta \ge 0`), in the units of the series.
    threshold
        Decision threshold :math:`\lambda > 0`, in the units of the series.
    alpha
        Forgetting factor of the cumulative sums, in ``(0, 1]``.
    mode
        ``"up"``, ``"down"`` or ``"both"``.

    Examples
    --------
    River's docstring example (shift at index 1000):

    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> ph = PageHinkley()
    >>> [i for i, x in enumerate(stream) if ph.update(x)]
    [1006]
    >>> round(ph.mean, 4), ph.n
    (5.4723, 993)
    """

    kind = "page_hinkley"

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        name = type(self).__name__
        if min_instances < 1:
            raise InvalidParameterError("min_instances", min_instances, "an integer >= 1", where=name)
        if not delta >= 0:
            raise InvalidParameterError("delta", delta, "a number >= 0", where=name)
        if not threshold > 0:
            raise InvalidParameterError("threshold", threshold, "a number > 0", where=name)
        if not 0 < alpha <= 1:
            raise InvalidParameterError("alpha", alpha, "a number in (0, 1]", where=name)
        check_mode(name, mode)
        super().__init__()
        self.min_instances = int(min_instances)
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.alpha = float(alpha)
        self.mode = mode
        self._clear()

    def params(self) -> dict[str, Any]:
        return {
            "min_instances": self.min_instances,
            "delta": self.delta,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    # -- read-only estimates ----------------------------------------------------------------------
    @property
    def mean(self) -> float:
        """Running mean since the last reset (0.0 before any observation)."""
        return self._mean

    @property
    def statistic(self) -> float:
        """Current test statistic compared with ``threshold`` (the larger side in mode ``"both"``)."""
        if self._min_increase is None or self._max_decrease is None:
            return 0.0
        increase = self._sum_increase - self._min_increase
        decrease = self._max_decrease - self._sum_decrease
        if self.mode == "up":
            return increase
        if self.mode == "down":
            return decrease
        return max(increase, decrease)

    # -- algorithm --------------------------------------------------------------------------------
    def _clear(self) -> None:
        self._mean = 0.0
        self._sum_increase = 0.0
        self._sum_decrease = 0.0
        self._min_increase: float | None = None
        self._max_decrease: float | None = None

    def _step(self, x: float) -> bool:
        # River's stats.Mean: n += 1; mean += (1 / n) * (x - mean). Same operation order, same floats.
        self._mean += (1.0 / self._n) * (x - self._mean)
        dev = x - self._mean
        self._sum_increase = self.alpha * self._sum_increase + dev - self.delta
        self._sum_decrease = self.alpha * self._sum_decrease + dev + self.delta
        if self._min_increase is None or self._sum_increase < self._min_increase:
            self._min_increase = self._sum_increase
        if self._max_decrease is None or self._sum_decrease > self._max_decrease:
            self._max_decrease = self._sum_decrease
        if self._n < self.min_instances:
            return False
        increase = self._sum_increase - self._min_increase
        decrease = self._max_decrease - self._sum_decrease
        if self.mode == "up":
            return increase > self.threshold
        if self.mode == "down":
            return decrease > self.threshold
        return increase > self.threshold or decrease > self.threshold

    def _get_state(self) -> dict[str, Any]:
        return {
            "mean": self._mean,
            "sum_increase": self._sum_increase,
            "sum_decrease": self._sum_decrease,
            "min_increase": self._min_increase,
            "max_decrease": self._max_decrease,
        }

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self._mean = float(state["mean"])
        self._sum_increase = float(state["sum_increase"])
        self._sum_decrease = float(state["sum_decrease"])
        lo, hi = state["min_increase"], state["max_decrease"]
        self._min_increase = None if lo is None else float(lo)
        self._max_decrease = None if hi is None else float(hi)
