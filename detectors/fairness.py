"""Group fairness of a binary decision: per-group rates, their gaps and ratios, with confidence intervals.

Everything is computed from per-group confusion counts (:class:`GroupCounts`), which a stream can keep
exactly in constant memory per group. A prediction is *positive* when ``score >= threshold`` (the caller
decides); a label, when known, is ``True``/``False``.

Rates (``RATES``), per group ``g`` (a group whose denominator is 0, or below ``min_group_n``, has no value
and takes no part in the gap):

- ``selection_rate = positive / n`` (every prediction, labelled or not);
- ``true_positive_rate = tp / (tp + fn)``, ``false_positive_rate = fp / (fp + tn)``,
  ``accuracy = (tp + tn) / (tp + fp + fn + tn)``, ``precision = tp / (tp + fp)`` (labelled predictions).

Metrics (``METRICS``): ``<rate>_difference`` and ``<rate>_ratio`` for each rate, with the aliases
``demographic_parity_difference``/``_ratio`` (selection rate) and ``equal_opportunity_difference``/``_ratio``
(true positive rate). Between groups (the default, as ``fairlearn.metrics``):
``difference = max_g rate_g - min_g rate_g`` and ``ratio = min_g rate_g / max_g rate_g`` (1 when every rate
is 0). With a ``reference_group`` ``r``: ``difference = max_{g != r} |rate_g - rate_r|`` and
``ratio = min_{g != r} min(rate_g, rate_r) / max(rate_g, rate_r)``.

Intervals (two-sided, level ``confidence``), simultaneous over the ``m`` compared pairs (``m = k(k-1)/2``
pairs of ``k`` groups between groups, ``k - 1`` against the reference) by Bonferroni: each pair's interval is
at level ``1 - (1 - confidence) / m``.

- Difference of a pair ``p_a - p_b``: Newcombe's hybrid score interval (his method 10) from the two
  Wilson intervals ``(l, u)``: ``[d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2), d + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)]``.
  The gap's interval is ``[max_pairs L, max_pairs U]`` over the pairs' intervals of ``|d|`` (``[L, U]``
  if ``L > 0``; ``[-U, -L]`` if ``U < 0``; else ``[0, max(-L, U)]``): when every pair's interval covers its
  true difference, this one covers the true gap.
- Ratio of a pair ``p_a / p_b`` (``p_a <= p_b``): delta method on the log,
  ``se = sqrt((1 - p_a) / (n_a p_a) + (1 - p_b) / (n_b p_b))``, ``[r exp(-z se), min(1, r exp(z se))]``;
  when ``p_a = 0``: ``[0, min(1, u_a / l_b)]`` (Wilson bounds; 1 if ``l_b = 0``). The metric's interval is
  ``[min_pairs L, min_pairs U]``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> groups = rng.choice(["a", "b"], size=4000)
>>> positive = rng.random(4000) < np.where(groups == "a", 0.30, 0.20)
>>> counts = group_counts(groups, positive)
>>> res = fairness_metric("demographic_parity_difference", counts)
>>> round(res.value, 3), res.lower < res.value < res.upper, sorted(res.groups)
(0.084, True, ['a', 'b'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Final

import numpy as np
from scipy.special import ndtri

from detectors.errors import InvalidParameterError, UnknownNameError

__all__ = ["ALIASES", "METRICS", "RATES", "FairnessValue", "GroupCounts", "PairInterval", "bonferroni_z",
           "combine_pairs", "compared_pairs", "fairness_metric", "group_counts", "wilson_interval"]

RATES: Final = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy", "precision")
ALIASES: Final = {
    "demographic_parity_difference": "selection_rate_difference",
    "demographic_parity_ratio": "selection_rate_ratio",
    "equal_opportunity_difference": "true_positive_rate_difference",
    "equal_opportunity_ratio": "true_positive_rate_ratio",
}
METRICS: Final = (*ALIASES, *(f"{r}_{kind}" for r in RATES for kind in ("difference", "ratio")))


@dataclass
class GroupCounts:
    """Confusion counts of one group: ``n`` predictions, ``positive`` of them positive; of the labelled
    ones ``tp``/``fp``/``fn``/``tn``."""

    n: int = 0
    positive: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, positive: bool, label: bool | None = None) -> None:
        self.n += 1
        self.positive += bool(positive)
        if label is None:
            return
        if positive:
            if label:
                self.tp += 1
            else:
                self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    def rate(self, name: str) -> tuple[int, int]:
        """``(numerator, denominator)`` of rate ``name`` (see the module docstring)."""
        if name == "selection_rate":
            return self.positive, self.n
        if name == "true_positive_rate":
            return self.tp, self.tp + self.fn
        if name == "false_positive_rate":
            return self.fp, self.fp + self.tn
        if name == "accuracy":
            return self.tp + self.tn, self.tp + self.fp + self.fn + self.tn
        if name == "precision":
            return self.tp, self.tp + self.fp
        raise UnknownNameError("fairness rate", name, RATES)

    def to_list(self) -> list[int]:
        return [self.n, self.positive, self.tp, self.fp, self.fn, self.tn]

    @classmethod
    def from_list(cls, values: Sequence[int]) -> GroupCounts:
        return cls(*(int(v) for v in values))


@dataclass(frozen=True)
class FairnessValue:
    """One fairness metric of one attribute: ``value`` in ``[lower, upper]`` (``None`` when fewer than two
    groups have a rate), the per-group rates in ``groups``, and the pair that sets the value."""

    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    groups: dict[str, float] = field(default_factory=dict)
    pair: tuple[str, str] | None = None


def group_counts(groups: Sequence[Any] | np.ndarray, positive: Sequence[Any] | np.ndarray,
                 labels: Sequence[Any] | np.ndarray | None = None) -> dict[str, GroupCounts]:
    """Per-group counts of arrays of groups (made strings), positive decisions and labels (``None``
    entries: not labelled)."""
    out: dict[str, GroupCounts] = {}
    lab = [None] * len(groups) if labels is None else labels
    if len(positive) != len(groups) or len(lab) != len(groups):
        raise InvalidParameterError("positive/labels", (len(positive), len(lab)),
                                    f"arrays as long as groups ({len(groups)})", where="group_counts")
    for g, p, y in zip(groups, positive, lab, strict=True):
        out.setdefault(str(g), GroupCounts()).add(bool(p), None if y is None else bool(y))
    return out


def wilson_interval(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials at normal quantile ``z``."""
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _newcombe(a: tuple[int, int], b: tuple[int, int], z: float) -> tuple[float, float]:
    pa, pb = a[0] / a[1], b[0] / b[1]
    la, ua = wilson_interval(*a, z)
    lb, ub = wilson_interval(*b, z)
    d = pa - pb
    return d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2), d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)


def _abs_interval(lo: float, hi: float) -> tuple[float, float]:
    if lo > 0:
        return lo, hi
    if hi < 0:
        return -hi, -lo
    return 0.0, max(-lo, hi)


def _ratio_interval(a: tuple[int, int], b: tuple[int, int], z: float) -> tuple[float, float]:
    """Interval of ``p_a / p_b`` with ``p_a <= p_b`` (both counts of one pair)."""
    pa, pb = a[0] / a[1], b[0] / b[1]
    if pb == 0:
        return 1.0, 1.0
    if pa == 0:
        ua = wilson_interval(*a, z)[1]
        lb = wilson_interval(*b, z)[0]
        return 0.0, 1.0 if lb == 0 else min(1.0, ua / lb)
    r = pa / pb
    se = math.sqrt((1 - pa) / (a[1] * pa) + (1 - pb) / (b[1] * pb))
    return r * math.exp(-z * se), min(1.0, r * math.exp(z * se))


PairInterval = Callable[[str, str, float], tuple[float, float]]
"""``interval(a, b, z)``: a pair's two-sided interval at normal quantile ``z``, of ``value_a - value_b``
(a difference) or of ``value_a / value_b`` with ``value_a <= value_b`` (a ratio)."""


def bonferroni_z(confidence: float, m: int) -> float:
    """The normal quantile of each of ``m`` two-sided intervals at simultaneous level ``confidence``:
    ``Phi^-1(1 - (1 - confidence) / (2 m))``."""
    return float(ndtri(1 - (1 - confidence) / (2 * m)))  # the normal quantile (scipy.stats.norm.ppf)


def combine_pairs(kind: str, values: Mapping[str, float], pairs: Sequence[tuple[str, str]], interval: PairInterval,
                  z: float, *, between_groups: bool) -> tuple[float, float, float, tuple[str, str]]:
    """``(value, lower, upper, pair)`` of a ``kind`` ('difference' or 'ratio') gap over ``pairs`` of
    ``values`` (rules in the module docstring); ``between_groups``: no reference group (the value is then
    ``max - min`` or ``min / max`` exactly, as fairlearn computes it)."""
    if kind == "difference":
        best: tuple[float, tuple[str, str]] | None = None
        lower = upper = 0.0
        for a, b in pairs:
            gap = abs(values[a] - values[b])
            lo, hi = _abs_interval(*interval(a, b, z))
            lower, upper = max(lower, lo), max(upper, hi)
            if best is None or gap > best[0]:
                best = (gap, (a, b) if values[a] >= values[b] else (b, a))
        assert best is not None
        if between_groups:
            best = (max(values.values()) - min(values.values()), best[1])
        return best[0], lower, upper, best[1]
    best_r: tuple[float, tuple[str, str]] | None = None
    lower, upper = math.inf, math.inf
    for a, b in pairs:
        low_g, high_g = (a, b) if values[a] <= values[b] else (b, a)
        ratio = values[low_g] / values[high_g] if values[high_g] > 0 else 1.0
        lo, hi = interval(low_g, high_g, z)
        lower, upper = min(lower, lo), min(upper, hi)
        if best_r is None or ratio < best_r[0]:
            best_r = (ratio, (low_g, high_g))
    assert best_r is not None
    if between_groups:
        top = max(values.values())
        best_r = (min(values.values()) / top if top > 0 else 1.0, best_r[1])
    return best_r[0], lower, upper, best_r[1]


def compared_pairs(groups: Sequence[str], reference_group: str | None) -> list[tuple[str, str]] | None:
    """Every pair of ``groups`` (sorted), or each group with ``reference_group``; ``None`` when the
    reference group is not among ``groups``."""
    if reference_group is None:
        return list(combinations(groups, 2))
    if reference_group not in groups:
        return None
    return [(g, reference_group) for g in groups if g != reference_group]


def fairness_metric(metric: str, counts: Mapping[str, GroupCounts], *, confidence: float = 0.95,
                    reference_group: str | None = None, min_group_n: int = 1) -> FairnessValue:
    """``metric`` (a name of ``METRICS``) over the groups of ``counts``; see the module docstring."""
    if not 0.5 <= confidence < 1.0:
        raise InvalidParameterError("confidence", confidence, "a level in [0.5, 1)", where="fairness_metric")
    name = ALIASES.get(metric, metric)
    rate, _, kind = name.rpartition("_")
    if rate not in RATES or kind not in ("difference", "ratio"):
        raise UnknownNameError("fairness metric", metric, METRICS)
    fractions = {g: c.rate(rate) for g, c in counts.items()}
    usable = {g: f for g, f in sorted(fractions.items()) if f[1] >= max(1, min_group_n)}
    values = {g: k / n for g, (k, n) in usable.items()}
    pairs = compared_pairs(list(usable), reference_group)
    if not pairs:
        return FairnessValue(metric, None, None, None, values)
    if kind == "difference":
        def interval(a: str, b: str, z: float) -> tuple[float, float]:
            return _newcombe(usable[a], usable[b], z)
    else:
        def interval(a: str, b: str, z: float) -> tuple[float, float]:
            return _ratio_interval(usable[a], usable[b], z)
    value, lower, upper, pair = combine_pairs(kind, values, pairs, interval, bonferroni_z(confidence, len(pairs)),
                                              between_groups=reference_group is None)
    return FairnessValue(metric, value, lower, upper, values, pair)
