"""Business metrics of a window from its joined outcomes (pure): take-rate, CTR, any ratio of conditions.

A metric is ``count(records meeting every numerator condition and every denominator condition) /
count(records meeting every denominator condition)``; a record is the merged outcome of one prediction of
the window (see :mod:`monitor.pipeline.outcome_join`). Predictions without any outcome are not records. With a zero
denominator the value is ``None`` (no data), never 0.

Examples
--------
>>> from monitor.config import MetricConfig
>>> take = MetricConfig(name="take_rate", kind="take_rate", quality_play_seconds=30)
>>> records = [
...     {"shown": True, "played": True, "play_seconds": 45},   # quality play
...     {"shown": True, "played": True, "play_seconds": 5},    # played, too short
...     {"shown": True},                                       # shown, not played
...     {"shown": False, "played": True, "play_seconds": 99},  # not shown: not counted at all
... ]
>>> compute_metric(take, records)
MetricResult(name='take_rate', value=0.3333333333333333, numerator=1, denominator=3)
>>> compute_metric(take, []).value is None
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.config import Condition, MetricConfig

__all__ = ["MetricResult", "compute_metric", "compute_metrics", "condition_holds"]


@dataclass(frozen=True, slots=True)
class MetricResult:
    name: str
    value: float | None
    numerator: int
    denominator: int


def condition_holds(condition: Condition, record: Mapping[str, Any]) -> bool:
    """Whether ``record`` meets ``condition``; a missing field, or one of the wrong type, never does.

    >>> condition_holds(Condition(field="play_seconds", op=">=", value=30), {"play_seconds": "abc"})
    False
    >>> condition_holds(Condition(field="played", op="falsy"), {})
    True
    """
    value = record.get(condition.field)
    op = condition.op
    if op == "truthy":
        return bool(value) if not _is_nan(value) else False
    if op == "falsy":
        return not value or _is_nan(value)
    if value is None:
        return False
    target = condition.value
    if op == "==":
        return bool(value == target)
    if op == "!=":
        return bool(value != target)
    if not _is_real(value) or not _is_real(target):
        return False
    x, y = float(value), float(target)  # type: ignore[arg-type]
    if op == ">=":
        return x >= y
    if op == ">":
        return x > y
    if op == "<=":
        return x <= y
    return x < y


def _is_real(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def compute_metric(metric: MetricConfig, records: Iterable[Mapping[str, Any]]) -> MetricResult:
    """One metric over the merged outcome records of a window."""
    num = den = 0
    for record in records:
        if all(condition_holds(c, record) for c in metric.denominator):
            den += 1
            if all(condition_holds(c, record) for c in metric.numerator):
                num += 1
    return MetricResult(metric.name, num / den if den else None, num, den)


def compute_metrics(metrics: Iterable[MetricConfig], records: Iterable[Mapping[str, Any]]) -> list[MetricResult]:
    """Every configured metric over the same records (materialised once)."""
    rows = list(records)
    return [compute_metric(m, rows) for m in metrics]
