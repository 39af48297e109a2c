"""Evidently HTML report of one window's stored sample against the model's reference.

The watcher keeps a bounded sample of each window (``window_samples``, parquet; off when a model's
``sample.enabled`` is false) and the reference as a :class:`detectors.ReferenceProfile`, which holds the
sorted reference values of numeric columns and the category counts of categorical ones, not raw rows.
:func:`reference_frame` therefore rebuilds a reference *frame* from those marginals (numeric: evenly
spaced quantiles of the kept values; categorical: labels repeated in proportion to their counts), which is
exactly what a per-column drift report compares. Joint structure is not kept, so multivariate views of the
report describe the rebuilt frame, not the training data.

>>> import numpy as np, pandas as pd
>>> from detectors.profile import ReferenceProfile
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], size=500, p=[0.8, 0.2])})
>>> frame = reference_frame(ReferenceProfile.build(ref), n_rows=100)
>>> len(frame), sorted(frame["c"].value_counts().to_dict().items())
(100, [('a', 82), ('b', 18)])
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from monitor.errors import MonitorError

__all__ = ["ReportError", "decode_sample", "evidently_report_html", "reference_frame", "window_report_html"]

#: Rows of the rebuilt reference frame (the report compares distributions, so a few thousand is plenty).
DEFAULT_REFERENCE_ROWS = 5000


class ReportError(MonitorError):
    """A window report cannot be built; the message names the window or column and the reason."""


def decode_sample(data: bytes, fmt: str = "parquet", *, where: str = "window sample") -> pd.DataFrame:
    """The stored sample as a DataFrame (``fmt``: ``parquet`` or ``json`` records)."""
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        if fmt == "json":
            return pd.read_json(io.BytesIO(data), orient="records")
    except Exception as exc:
        raise ReportError(f"{where}: cannot decode {fmt} sample ({type(exc).__name__}: {exc})") from exc
    raise ReportError(f"{where}: unknown sample format {fmt!r} (expected 'parquet' or 'json')")


def reference_frame(profile: Any, n_rows: int = DEFAULT_REFERENCE_ROWS, columns: Sequence[str] | None = None
                    ) -> pd.DataFrame:
    """A frame of ``n_rows`` rows with each profiled column's reference distribution (see module docstring).

    Numeric columns get the ``(i + 0.5) / n_rows`` quantiles of the kept reference values (deterministic,
    no random draw), with the reference share of missing values as NaN; categorical and binary columns get
    their labels in proportion to the reference counts (largest-remainder rounding), plus missing values.
    Rows are shuffled with a fixed seed so that no column is sorted against another.
    """
    if n_rows < 1:
        raise ReportError(f"reference_frame: n_rows must be >= 1, got {n_rows}")
    names = list(columns) if columns is not None else list(profile.names)
    out: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for name in names:
        col = profile[name]
        n_missing = round(n_rows * col.missing_rate)
        n_valid = n_rows - n_missing
        if col.kind == "numeric":
            values = np.asarray(col.values, dtype=float)
            if values.size == 0:
                data: np.ndarray[Any, Any] = np.full(n_rows, np.nan)
            else:
                qs = (np.arange(n_valid) + 0.5) / max(n_valid, 1)
                data = np.concatenate([np.quantile(values, qs), np.full(n_missing, np.nan)])
        else:
            labels = _proportional(list(col.categories), np.asarray(col.counts, dtype=float), n_valid)
            data = np.array([*labels, *([None] * n_missing)], dtype=object)
        out[name] = data[rng.permutation(n_rows)]
    return pd.DataFrame(out)


def _proportional(labels: list[str], counts: np.ndarray[Any, Any], n: int) -> list[str]:
    total = counts.sum()
    if total <= 0 or not labels:
        return [None] * n  # type: ignore[list-item]
    exact = counts / total * n
    whole = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - whole))[: n - int(whole.sum())]:
        whole[i] += 1
    return [label for label, k in zip(labels, whole, strict=True) for _ in range(int(k))]


def window_report_html(
    current: pd.DataFrame,
    profile: Any,
    kinds: Mapping[str, str] | None = None,
    *,
    title: str = "window vs reference",
    reference_rows: int = DEFAULT_REFERENCE_ROWS,
) -> str:
    """Evidently's data-drift + data-summary report of ``current`` against the rebuilt reference, as HTML.

    ``kinds`` (column -> ``numeric``/``categorical``/``binary``/``boolean``) defaults to the profile's kinds;
    only columns present in both the sample and the profile are compared.
    """
    kinds = dict(kinds or profile.kinds)
    shared = [c for c in profile.names if c in current.columns and c in kinds]
    if not shared:
        raise ReportError(
            f"{title}: the sample's columns {sorted(map(str, current.columns))} share none with the reference "
            f"profile's {sorted(profile.names)}"
        )
    reference = reference_frame(profile, reference_rows, shared)
    return evidently_report_html(reference, current, {c: kinds[c] for c in shared}, title=title)


def evidently_report_html(reference: pd.DataFrame, current: pd.DataFrame, kinds: Mapping[str, str], *,
                          title: str) -> str:
    """Evidently's data-drift + data-summary report of ``current`` against ``reference`` over the columns of
    ``kinds`` (column -> ``numeric``; any other kind is categorical), as HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    shared = list(kinds)
    numeric = [c for c in shared if kinds[c] == "numeric"]
    categorical = [c for c in shared if c not in numeric]
    reference = reference[shared].copy()
    current = current[shared].copy()
    for frame in (reference, current):
        for c in numeric:
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
        for c in categorical:
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset(), DataSummaryPreset()], metadata={"title": title})
    try:
        snapshot = report.run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        return str(snapshot.get_html_str(as_iframe=False))
    except Exception as exc:
        raise ReportError(f"{title}: Evidently failed ({type(exc).__name__}: {exc})") from exc
