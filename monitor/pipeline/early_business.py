"""Early warning of a business-metric collapse (pure): a Bernoulli CUSUM per ratio metric with a reference value.

Granularity: outcomes are merged into their prediction's record as they arrive
(:func:`monitor.pipeline.outcome_join.merge_outcome`). Each merge that makes a record meet the metric's
denominator conditions for the first time adds one trial, and one success if the record also meets the
numerator; a later merge that makes an already counted record meet the numerator adds its success then
(so that outcome fields arriving in several events count once, and the counts agree with the window-close
metric's in total). Every ``early_warning.min_events`` trials form a block, tested with
``llr = bernoulli_llr(min(successes, trials), trials, p0, p1)``:

- ``p0 = reference_value x (1 - max_relative_drop / 2)``: half-way to the window-close rule's boundary, so
  that a rate moving within the window-close rule's tolerance over the day (a take-rate 10% below its
  reference for hours) is not a collapse (metrics without a ``reference_value``, or with ``p0`` not
  strictly between 0 and 1, are not tested);
- ``p1 = reference_value x max(1 - 2 x max_relative_drop, 0.1)``: twice the window-close rule's drop (a
  collapse);

into a CUSUM ``S = max(0, S + llr)`` alarming at ``S > log(early_warning.ert)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detectors.sequential import CUSUM
from detectors.sequential.early import bernoulli_llr, llr_cusum
from monitor.config import MetricConfig, ModelConfig
from monitor.pipeline.business_metrics import condition_holds

__all__ = ["BusinessAlarm", "BusinessTest"]


@dataclass(frozen=True)
class BusinessAlarm:
    """A crossing of metric ``name``: the block's rate, ``p0``, and the trials of the CUSUM's run."""

    name: str
    rate: float
    p0: float
    run_events: int


@dataclass
class _Metric:
    config: MetricConfig
    p0: float
    p1: float
    cusum: CUSUM
    trials: int = 0
    successes: int = 0
    run_events: int = 0


class BusinessTest:
    """The business-metric CUSUMs of one model (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        self.block = config.early_warning.min_events
        self.metrics: list[_Metric] = []
        for metric in config.business_metrics:
            ref = metric.reference_value
            if ref is None:
                continue
            p0 = ref * (1.0 - metric.max_relative_drop / 2)
            p1 = ref * max(1.0 - 2.0 * metric.max_relative_drop, 0.1)
            if not 0.0 < p1 < p0 < 1.0:
                continue
            self.metrics.append(_Metric(metric, float(p0), p1, llr_cusum(config.early_warning.ert)))

    def merged(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[BusinessAlarm]:
        """One outcome merged into a record (its fields ``before`` and ``after`` the merge); the alarms."""
        out: list[BusinessAlarm] = []
        for m in self.metrics:
            den_after = all(condition_holds(c, after) for c in m.config.denominator)
            if not den_after:
                continue
            num_after = all(condition_holds(c, after) for c in m.config.numerator)
            if not all(condition_holds(c, before) for c in m.config.denominator):
                m.trials += 1
                m.successes += int(num_after)
            elif num_after and not all(condition_holds(c, before) for c in m.config.numerator):
                m.successes += 1
            if m.trials >= self.block:
                alarm = self._test(m)
                if alarm is not None:
                    out.append(alarm)
        return out

    @staticmethod
    def _test(m: _Metric) -> BusinessAlarm | None:
        n, x = m.trials, min(m.successes, m.trials)
        m.trials = m.successes = 0
        fired = m.cusum.update(bernoulli_llr(x, n, m.p0, m.p1))
        m.run_events = 0 if m.cusum.sum_increase <= 0 and not fired else m.run_events + n
        if not fired:
            return None
        alarm = BusinessAlarm(m.config.name, x / n, m.p0, m.run_events)
        m.run_events = 0
        return alarm

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {m.config.name: [m.cusum.to_dict(), m.trials, m.successes, m.run_events] for m in self.metrics}

    def restore(self, data: Mapping[str, Any]) -> None:
        for m in self.metrics:
            item = data.get(m.config.name)
            if item is None:
                continue
            restored = CUSUM.from_dict(item[0])
            if restored.h == m.cusum.h:
                m.cusum = restored
                m.trials, m.successes, m.run_events = int(item[1]), int(item[2]), int(item[3])
