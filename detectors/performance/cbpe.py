"""CBPE: confidence-based performance estimation of a classifier's metrics on windows without labels.

Assumption: the calibrated scores are probabilities of the true class, ``P(y = c | score)``, unchanged
since the reference (covariate shift only). Then, per window of n rows with calibrated probabilities
``p`` and predictions from the raw scores (binary: ``score >= threshold``; multiclass: ``argmax``):

- expected confusion counts, per class c (binary: the positive class and its complement):
  ``TP_c = sum_{pred=c} p_c``, ``FP_c = sum_{pred=c} (1 - p_c)``, ``FN_c = sum_{pred!=c} p_c``,
  ``TN_c = sum_{pred!=c} (1 - p_c)``;
- accuracy ``= mean_i p_{pred_i}``; precision ``= TP/(TP+FP)``, recall ``= TP/(TP+FN)``,
  specificity ``= TN/(TN+FP)``, f1 ``= 2TP/(2TP+FP+FN)`` (ratios of expected counts, as NannyML);
  multiclass ``*_macro`` = mean over the classes with a positive denominator, ``*_weighted`` = mean
  weighted by the expected support ``sum_i p_ic``;
- roc_auc ``= E[concordant pairs] / E[positive-negative pairs]`` over pairs ``i != j`` ordered by raw
  score: ``sum_{s_i > s_j} p_i (1 - p_j) + 1/2 sum_{s_i = s_j, i != j} p_i (1 - p_j)`` divided by
  ``sum_i p_i * sum_j (1 - p_j) - sum_i p_i (1 - p_i)``. (NannyML's trapezoid over expected TP/FP
  counts also counts each row against itself, a bias of order 1/n, and rounds counts to 5 decimals.)
  Multiclass: one-vs-rest, averaged with equal or expected-support weights.

Calibration: per class (one-vs-rest for multiclass) isotonic regression fitted on the whole labelled
reference, used only where :func:`~detectors.performance.calibration.needs_calibration` says so;
multiclass rows are then renormalised to sum to 1 (uniform when all calibrated values are 0).

Sampling-error band: ``sampling_error = reference_se * sqrt(n_reference / n)``, where ``reference_se`` is
the standard error of the realized metric on the reference: ``sqrt(m (1 - m) / n_relevant)`` for the
rates (as NannyML), the delta-method error for f1, DeLong's for roc_auc, the confusion-matrix bootstrap
for multiclass averages. Band ``= value -/+ band_sigmas * sampling_error`` clipped to ``[0, 1]``
(``band_sigmas = 3`` as NannyML).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.errors import InvalidParameterError, ProfileFormatError
from detectors.performance._inputs import as_scores, class_indices, same_length
from detectors.performance.calibration import Isotonic, needs_calibration
from detectors.performance.cbpe_metrics import binary_estimates, multiclass_estimates, reference_errors
from detectors.performance.config import BINARY, CBPE_METRICS, MULTICLASS, check_metrics, check_task
from detectors.performance.errors import NotFittedError, PerformanceInputError
from detectors.performance.result import MetricEstimate

__all__ = ["CBPE"]

STATE_VERSION = 1


class CBPE:
    """Estimate classification metrics of unlabelled windows from calibrated scores (rules in the module doc).

    Parameters
    ----------
    task : str
        ``"binary_classification"`` or ``"multiclass_classification"`` (regression has no estimate).
    classes : sequence, optional
        Multiclass: the class of each score column, in column order (strings or ints; required).
    positive_class, threshold
        Binary: ``labels == positive_class`` is positive; ``score >= threshold`` predicts positive.
    metrics : iterable of str, optional
        From ``CBPE_METRICS[task]``; default all of them.
    band_sigmas : float
        Half-width of the band in sampling errors (default 3).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=5000); y = (rng.uniform(size=5000) < p).astype(int)
    >>> est = CBPE("binary_classification", metrics=["accuracy"]).fit(p, y)
    >>> round(est.estimate(p[:1000])["accuracy"].value, 2)
    0.75
    """

    def __init__(
        self,
        task: str,
        *,
        classes: Sequence[Any] | None = None,
        positive_class: Any = 1,
        threshold: float = 0.5,
        metrics: Iterable[str] | None = None,
        band_sigmas: float = 3.0,
    ) -> None:
        if check_task(task) not in (BINARY, MULTICLASS):
            raise InvalidParameterError(
                "task", task, f"{BINARY!r} or {MULTICLASS!r} (no CBPE for regression)", where="CBPE"
            )
        if task == MULTICLASS and (classes is None or len(classes) < 2):
            raise InvalidParameterError("classes", classes, "at least 2 classes in score-column order", where="CBPE")
        if not (isinstance(band_sigmas, int | float) and band_sigmas > 0):
            raise InvalidParameterError("band_sigmas", band_sigmas, "a number > 0", where="CBPE")
        self.task = task
        self.classes = None if classes is None else list(classes)
        self.positive_class = positive_class
        self.threshold = float(threshold)
        self.metrics = check_metrics(task, CBPE_METRICS[task] if metrics is None else metrics, allowed=CBPE_METRICS)
        self.band_sigmas = float(band_sigmas)
        self._calibrators: list[Isotonic | None] | None = None
        self._reference_se: dict[str, float] = {}
        self._reference_values: dict[str, float] = {}
        self._n_reference = 0

    # -- fitting ------------------------------------------------------------------------------------
    def fit(self, reference_scores: ArrayLike, reference_labels: ArrayLike) -> Self:
        """Fit the calibration and the reference standard errors on labelled reference data.

        Binary: ``reference_scores`` has shape (n,); multiclass: (n, k) in the order of ``classes``.

        Raises
        ------
        PerformanceInputError
            Lengths differ, a non-finite score, a label not in ``classes``, or an empty reference.
        """
        scores = self._scores(reference_scores, "CBPE.fit(reference_scores)")
        n = same_length("CBPE.fit", reference_scores=scores, reference_labels=reference_labels)
        if n < 2:
            raise PerformanceInputError("CBPE.fit", f"needs at least 2 reference rows, got {n}")
        targets = self._targets(reference_labels, scores)
        calibrators: list[Isotonic | None] = []
        for j in range(targets.shape[1]):
            column = scores if scores.ndim == 1 else scores[:, j]
            calibrators.append(
                Isotonic.fit(column, targets[:, j]) if needs_calibration(targets[:, j], column) else None
            )
        self._calibrators = calibrators
        values, errors = reference_errors(self, scores, targets)
        self._reference_values, self._reference_se, self._n_reference = values, errors, n
        return self

    def _scores(self, scores: ArrayLike, where: str) -> NDArray[np.float64]:
        arr = as_scores(scores, where, ndim=1 if self.task == BINARY else 2)
        if self.classes is not None and arr.shape[1] != len(self.classes):
            raise PerformanceInputError(where, f"{arr.shape[1]} score columns for {len(self.classes)} classes")
        return arr

    def _targets(self, labels: ArrayLike, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """0/1 target columns: (n, 1) for binary, one-vs-rest (n, k) for multiclass."""
        if self.task == BINARY:
            return (np.asarray(labels) == self.positive_class).astype(np.float64)[:, None]
        assert self.classes is not None
        idx = class_indices(labels, self.classes, "CBPE.fit(reference_labels)")
        return (idx[:, None] == np.arange(len(self.classes))[None, :]).astype(np.float64)

    # -- estimation ---------------------------------------------------------------------------------
    @property
    def calibrated(self) -> tuple[bool, ...]:
        """Per calibrated column (binary: one), whether isotonic calibration is applied."""
        if self._calibrators is None:
            raise NotFittedError("CBPE.calibrated")
        return tuple(c is not None for c in self._calibrators)

    @property
    def reference_values(self) -> Mapping[str, float]:
        """Realized metrics of the reference (its labels), per estimated metric."""
        return dict(self._reference_values)

    def calibrate(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Calibrated probabilities: (n,) of the positive class, or (n, k) rows summing to 1."""
        if self._calibrators is None:
            raise NotFittedError("CBPE.calibrate")
        s = self._scores(scores, "CBPE.calibrate(scores)")
        if self.task == BINARY:
            order = np.argsort(s)
            out = np.empty_like(s)
            out[order] = self._calibrate_sorted(s[order])
            return out
        s_t = np.ascontiguousarray(s.T)
        return self._calibrate_columns(s_t, self._column_orders(s_t)).T

    def _calibrate_sorted(self, sorted_scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Binary: calibrated p of scores sorted ascending, in that order (``np.interp`` is fastest on sorted input)."""
        assert self._calibrators is not None
        cal = self._calibrators[0]
        return sorted_scores if cal is None else cal(sorted_scores)

    @staticmethod
    def _column_orders(raw_t: NDArray[np.float64]) -> list[NDArray[np.intp]]:
        return [np.argsort(column) for column in raw_t]

    def _calibrate_columns(self, raw_t: NDArray[np.float64], orders: list[NDArray[np.intp]]) -> NDArray[np.float64]:
        """Multiclass, class-major (k, n): each class calibrated in its sorted order, then rows renormalised."""
        assert self._calibrators is not None
        out = raw_t.copy()
        for j, cal in enumerate(self._calibrators):
            if cal is not None:
                out[j, orders[j]] = cal(raw_t[j][orders[j]])
        total = out.sum(axis=0, keepdims=True)
        uniform = np.full_like(out, 1.0 / out.shape[0])
        return np.divide(out, total, out=uniform, where=total != 0)

    def estimate(self, scores: ArrayLike) -> dict[str, MetricEstimate]:
        """Estimated metrics of one unlabelled window, each with its sampling-error band.

        Binary windows are sorted once (``np.sort``); the calibration, the predicted-positive tail and the
        expected ROC AUC are all read off the sorted scores. Multiclass classes are argsorted once each.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        PerformanceInputError
            A non-finite score or the wrong number of score columns.
        """
        if self._calibrators is None:
            raise NotFittedError("CBPE.estimate")
        raw = self._scores(scores, "CBPE.estimate(scores)")
        n = raw.shape[0]
        if n == 0:
            return {
                m: MetricEstimate(m, math.nan, math.nan, math.nan, math.nan, 0, "empty window") for m in self.metrics
            }
        if self.task == BINARY:
            s = np.sort(raw)
            values = binary_estimates(s, self._calibrate_sorted(s), self.threshold, self.metrics)
        else:
            raw_t = np.ascontiguousarray(raw.T)  # class-major: each class's scores contiguous
            orders = self._column_orders(raw_t)
            values = multiclass_estimates(raw_t, self._calibrate_columns(raw_t, orders), orders, self.metrics)
        return {name: self._banded(name, values[name], n) for name in self.metrics}

    def _banded(self, name: str, value: float, n: int) -> MetricEstimate:
        se = self._reference_se.get(name, math.nan) * math.sqrt(self._n_reference / n)
        if not math.isfinite(value):
            return MetricEstimate(name, math.nan, se, math.nan, math.nan, n, "undefined for this window")
        half = self.band_sigmas * se
        return MetricEstimate(name, value, se, max(value - half, 0.0), min(value + half, 1.0), n)

    # -- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot ``{"kind": "cbpe", "version", "params", "state"}`` (NaN stored as ``None``)."""
        if self._calibrators is None:
            raise NotFittedError("CBPE.to_dict")
        return {
            "kind": "cbpe",
            "version": STATE_VERSION,
            "params": {
                "task": self.task,
                "classes": self.classes,
                "positive_class": self.positive_class,
                "threshold": self.threshold,
                "metrics": list(self.metrics),
                "band_sigmas": self.band_sigmas,
            },
            "state": {
                "calibrators": [None if c is None else c.to_dict() for c in self._calibrators],
                "reference_se": {k: v if math.isfinite(v) else None for k, v in self._reference_se.items()},
                "reference_values": {k: v if math.isfinite(v) else None for k, v in self._reference_values.items()},
                "n_reference": self._n_reference,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CBPE:
        """Rebuild a fitted estimator from :meth:`to_dict` output.

        Raises
        ------
        ProfileFormatError
            Wrong kind or version, or a missing or malformed key (named in the message).
        """
        if data.get("kind") != "cbpe" or data.get("version") != STATE_VERSION:
            raise ProfileFormatError(
                "CBPE.from_dict",
                f"expected kind 'cbpe' version {STATE_VERSION}, got "
                f"{data.get('kind')!r} version {data.get('version')!r}",
            )
        try:
            est = cls(**data["params"])
            state = data["state"]
            est._calibrators = [None if c is None else Isotonic.from_dict(c) for c in state["calibrators"]]
            est._reference_se = {k: math.nan if v is None else float(v) for k, v in state["reference_se"].items()}
            est._reference_values = {
                k: math.nan if v is None else float(v) for k, v in state["reference_values"].items()
            }
            est._n_reference = int(state["n_reference"])
        except KeyError as exc:
            raise ProfileFormatError("CBPE.from_dict", f"missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ProfileFormatError("CBPE.from_dict", str(exc)) from None
        return est
