"""The outcome of scoring one window with the multivariate detector: :class:`MultivariateResult` (importable
from :mod:`detectors.multivariate` too, which produces it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MultivariateResult"]


@dataclass(frozen=True, slots=True)
class MultivariateResult:
    """Outcome of scoring one window: ``drifted = statistic > upper or statistic < lower``, where the band is
    the one for ``n_rows`` rows; ``drifted`` is ``None`` (no verdict, ``lower``/``upper`` NaN) below the
    detector's minimum window size."""

    method: str
    statistic: float
    lower: float
    upper: float
    drifted: bool | None
    n_rows: int
    contributions: Mapping[str, float] | None = None
    """Share of the window's squared reconstruction error per column (see
    :meth:`~detectors.multivariate.PCAReconstruction.column_shares`), by column name, largest first; ``None``
    when not computed."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``contributions`` only when computed)."""
        out: dict[str, Any] = {
            "method": self.method,
            "statistic": self.statistic,
            "lower": self.lower,
            "upper": self.upper,
            "drifted": self.drifted,
            "n_rows": self.n_rows,
        }
        if self.contributions is not None:
            out["contributions"] = {k: float(v) for k, v in self.contributions.items()}
        return out
