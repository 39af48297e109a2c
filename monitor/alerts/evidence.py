"""What ``driftwarden alerts show`` prints: one alert, its history and its evidence.

:func:`alert_evidence` returns a JSON-ready dict: ``alert`` (every column, times in ISO 8601, the model's
name), ``history`` (every ``alert_events`` row in order: time, action, who, note), ``runbook`` (the
configured link of its signal, when given), and ``evidence``: for the first and the last window the alert
cites, the window (``window_id``, start, end, events, drift share) with the statistics of the alert's feature
in it (test, statistic, p-value, adjusted p-value, effect size, threshold, drifted, missing rates), and up to
``examples`` rows of that window's stored sample (when sampling kept one).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.errors import AlertNotFoundError
from monitor.db.models import Alert, AlertEvent, FeatureResult, ModelRow, WindowResult, WindowSample

__all__ = ["alert_evidence"]

FEATURE_FIELDS = ("test", "statistic", "p_value", "p_value_adjusted", "alpha", "effect_size", "threshold",
                  "drifted", "missing_rate_reference", "missing_rate_current")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars of a sample
        return _plain(value.item())
    return value


def _examples(session: Session, window_id: int, limit: int) -> list[dict[str, Any]]:
    sample = session.scalars(select(WindowSample).where(WindowSample.window_id == window_id)).first()
    if sample is None or limit <= 0 or sample.format != "parquet":
        return []
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(sample.data)).slice(0, limit)
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def _window(session: Session, window_id: int | None, feature: str | None, examples: int) -> dict[str, Any] | None:
    if window_id is None:
        return None
    window = session.get(WindowResult, window_id)
    if window is None:
        return None
    found: dict[str, Any] = {
        "window_id": window.id, "window_start": window.window_start.isoformat(),
        "window_end": window.window_end.isoformat(), "n_events": window.n_events, "drift_share": window.drift_share,
    }
    if feature is not None:
        result = session.scalars(select(FeatureResult).where(FeatureResult.window_id == window_id,
                                                             FeatureResult.feature == feature)).first()
        found["feature"] = None if result is None else {k: _plain(getattr(result, k)) for k in FEATURE_FIELDS}
    found["examples"] = _examples(session, window_id, examples)
    return found


def alert_evidence(session: Session, alert_id: int, *, examples: int = 5,
                   runbooks: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The alert, its history and its evidence (see the module docstring); raises AlertNotFoundError."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFoundError(alert_id)
    model = session.scalar(select(ModelRow.name).where(ModelRow.id == alert.model_id))
    row = {c.key: _plain(getattr(alert, c.key)) for c in Alert.__table__.columns}
    history = [{"ts": e.ts.isoformat(), "action": e.action, "actor": e.actor, "note": e.note}
               for e in session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                        .order_by(AlertEvent.ts, AlertEvent.id))]
    feature = alert.feature.split(":", 1)[0] if alert.feature else None  # data_quality: "<column>:<check>"
    first = _window(session, alert.first_window_id, feature, examples)
    last = first if alert.last_window_id == alert.first_window_id else _window(
        session, alert.last_window_id, feature, examples)
    return {"alert": {**row, "model": model}, "history": history,
            "runbook": (runbooks or {}).get(alert.signal), "evidence": {"first_window": first, "last_window": last}}
