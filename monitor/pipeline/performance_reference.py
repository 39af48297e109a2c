"""The labelled reference of a model's quality: metric values on validation data and the fitted CBPE (pure).

``driftwarden reference build`` computes it from the validation file named in the model's ``performance.
reference`` (predictions and labels) and stores :meth:`PerformanceReference.to_dict` in
``performance_references``; the watcher loads it from there and never reads the file. The reference value
of a metric is its realized value on that validation data, never on training data.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.performance import CBPE, CBPE_METRICS, binary_metrics, multiclass_metrics, regression_metrics
from detectors.performance.result import MetricValue
from monitor.config import PerformanceSettings
from monitor.pipeline.labels import check_label

__all__ = ["PerformanceReference", "realized_metrics"]


def realized_metrics(settings: PerformanceSettings, labels: Sequence[Any], scores: Sequence[Any]
                     ) -> dict[str, MetricValue]:
    """The configured realized metrics of labelled rows (labels as :func:`~monitor.pipeline.labels.check_label`
    gives them: binary ``True`` = positive; scores as a :class:`~monitor.pipeline.labels.LabelBook` keeps them)."""
    metrics = tuple(settings.metrics or ())
    if settings.task == "binary_classification":
        return binary_metrics(list(labels), list(scores), positive_class=True, threshold=settings.threshold,
                              metrics=metrics, confidence=settings.confidence)
    if settings.task == "multiclass_classification":
        return multiclass_metrics(list(labels), [list(s) for s in scores], list(settings.classes or ()),
                                  metrics=metrics, confidence=settings.confidence)
    return regression_metrics(list(labels), list(scores), metrics=metrics, confidence=settings.confidence)


def build_cbpe(settings: PerformanceSettings, labels: Sequence[Any], scores: Sequence[Any]) -> CBPE | None:
    """CBPE fitted on the labelled rows for the configured metrics it can estimate (``None`` for regression
    or when none of the metrics can be estimated)."""
    wanted = [m for m in settings.metrics or () if m in CBPE_METRICS[settings.task]]
    if settings.task == "regression" or not wanted:
        return None
    if settings.task == "binary_classification":
        return CBPE(settings.task, positive_class=True, threshold=settings.threshold, metrics=wanted).fit(
            list(scores), list(labels))
    return CBPE(settings.task, classes=list(settings.classes or ()), metrics=wanted).fit(
        [list(s) for s in scores], list(labels))


@dataclass(frozen=True)
class PerformanceReference:
    """What the watcher needs of the labelled reference (see the module docstring)."""

    task: str
    values: dict[str, MetricValue]
    cbpe: CBPE | None
    n_rows: int
    content_hash: str
    version: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        found = self.values.get(metric)
        return found.value if found is not None and math.isfinite(found.value) else None

    @classmethod
    def build(cls, settings: PerformanceSettings, labels: Sequence[Any], scores: Sequence[Any], *,
              model: str) -> PerformanceReference:
        """From raw validation labels and scores (labels checked like the watcher's: a bad one raises
        :class:`~monitor.pipeline.labels.BadLabelError` naming it)."""
        checked = [check_label(settings.task, y, model=model, positive_class=settings.positive_class,
                               classes=settings.classes) for y in labels]
        values = realized_metrics(settings, checked, scores)
        cbpe = build_cbpe(settings, checked, scores)
        used = settings.model_dump(mode="json", exclude={"reference"})
        blob = json.dumps({"settings": used, "labels": [str(y) for y in checked],
                           "scores": [repr(s) for s in scores]}, sort_keys=True).encode()
        return cls(settings.task, values, cbpe, len(checked), hashlib.blake2b(blob, digest_size=32).hexdigest(),
                   settings=used)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "values": {k: v.to_dict() for k, v in self.values.items()},
                "cbpe": None if self.cbpe is None else self.cbpe.to_dict(), "n_rows": self.n_rows,
                "content_hash": self.content_hash, "version": self.version, "settings": self.settings}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceReference:
        def metric(d: Mapping[str, Any]) -> MetricValue:
            nan = math.nan
            return MetricValue(str(d["metric"]), nan if d["value"] is None else float(d["value"]),
                               nan if d["lower"] is None else float(d["lower"]),
                               nan if d["upper"] is None else float(d["upper"]), int(d["n"]),
                               float(d["confidence"]), str(d["method"]), d.get("reason"))

        return cls(str(data["task"]), {k: metric(v) for k, v in data["values"].items()},
                   None if data.get("cbpe") is None else CBPE.from_dict(data["cbpe"]), int(data["n_rows"]),
                   str(data["content_hash"]), int(data.get("version", 0)), dict(data.get("settings") or {}))

    def with_version(self, version: int) -> PerformanceReference:
        return PerformanceReference(self.task, self.values, self.cbpe, self.n_rows, self.content_hash, version,
                                    self.settings)
