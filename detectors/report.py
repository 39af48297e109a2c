"""The outcome of :func:`detectors.evaluate`: :class:`ColumnResult` per column and one :class:`DriftReport`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from detectors.multivariate import MultivariateResult

__all__ = ["ColumnResult", "DriftReport"]


def _f(value: float | None) -> float | None:
    """JSON-safe float: NaN and ±inf become ``None``."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class ColumnResult:
    """Verdict for one column.

    ``threshold`` is what ``statistic`` is compared with (presets ``evidently``/per-column tests), or what
    ``effect_size`` is compared with (preset ``default``, where ``alpha`` bounds ``p_value_adjusted``).
    ``unseen_categories`` lists the current categories absent from the reference with their counts.
    """

    name: str
    kind: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    missing_rate_reference: float
    missing_rate_current: float
    n_reference: int = 0
    n_current: int = 0
    alpha: float | None = None
    p_value_adjusted: float | None = None
    effect_size: float | None = None
    unseen_categories: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite numbers become ``None``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "test": self.test,
            "statistic": _f(self.statistic),
            "p_value": _f(self.p_value),
            "threshold": _f(self.threshold),
            "drifted": bool(self.drifted),
            "missing_rate_reference": _f(self.missing_rate_reference),
            "missing_rate_current": _f(self.missing_rate_current),
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "alpha": _f(self.alpha),
            "p_value_adjusted": _f(self.p_value_adjusted),
            "effect_size": _f(self.effect_size),
            "unseen_categories": {label: int(n) for label, n in self.unseen_categories},
        }


@dataclass(frozen=True)
class DriftReport:
    """Per-column results and the dataset-level verdict of one evaluation.

    ``dataset_drift = drift_share >= drift_share_threshold`` where ``drift_share`` is the share of the
    evaluated columns that drifted. ``multivariate`` is the joint PCA-reconstruction verdict
    (``drifted = statistic < lower or statistic > upper``, the band for the window's row count; ``None``
    below the detector's minimum window size) when the profile has that detector and the
    window tracked all of its columns, else ``None``; it does not enter ``dataset_drift``. ``quality``
    holds the data-quality findings (objects with ``to_dict()``) of :mod:`detectors.quality` when that
    module is available.
    """

    preset: str
    dataset_drift: bool
    drift_share: float
    drift_share_threshold: float
    columns: list[ColumnResult]
    quality: list[Any] = field(default_factory=list)
    n_current: int = 0
    profile_hash: str = ""
    profile_version: int = 0
    multivariate: MultivariateResult | None = None

    def column(self, name: str) -> ColumnResult:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``dataset_drift``, ``drift_share``, ``columns`` (see :meth:`ColumnResult.to_dict`), ..."""
        return {
            "preset": self.preset,
            "dataset_drift": bool(self.dataset_drift),
            "drift_share": _f(self.drift_share),
            "drift_share_threshold": _f(self.drift_share_threshold),
            "n_current": int(self.n_current),
            "profile_hash": self.profile_hash,
            "profile_version": int(self.profile_version),
            "columns": [c.to_dict() for c in self.columns],
            "quality": [_finding(q) for q in self.quality],
            "multivariate": None if self.multivariate is None else _multivariate(self.multivariate),
        }


def _multivariate(result: MultivariateResult) -> dict[str, Any]:
    out = result.to_dict()
    for key in ("statistic", "lower", "upper"):
        out[key] = _f(out[key])
    out["drifted"] = None if out["drifted"] is None else bool(out["drifted"])  # None: window below min_rows
    return out


def _finding(item: Any) -> Any:
    if hasattr(item, "to_dict"):
        return item.to_dict()
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return item
