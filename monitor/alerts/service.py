"""The one place that changes alert state: :class:`AlertService`.

Lifecycle of an alert (one row of ``alerts`` per episode of a signal, dedup key ``model|signal|feature``)::

    (signal fires) ──► open ──acknowledge──► acknowledged ──┐
                        │  └──────────────resolve──────────┴─► resolved
                        └─ N clean windows in a row (auto_resolve_after) ─► resolved (by "auto")

- a signal that fires again on an unresolved alert updates ``last_seen`` (the window's end),
  ``windows_count``, the message, and raises the severity if it got worse (never lowers it);
- a window of the model without that signal counts as clean for every unresolved alert of the model
  (for the population's label-judged signals, :data:`LABEL_SIGNALS`, a window judged without it);
- once resolved, a new firing opens a new alert (a new row).

Besides the lifecycle, people assign an alert (``assignee``) and snooze it until a time (``snoozed_until``:
what windows do to it is recorded, not notified, until then).

Every change appends to ``alert_events`` (opened, escalated, acknowledged, resolved, auto_resolved, assigned,
snoozed). Every change that notifies (opened, escalated, acknowledged, resolved, assigned) is handed to the
notifier with its cause (``window:<id>``, ``labels:<id>``, ``early:<model>:<time>``, ``alert:<id>:<time>``),
which writes the notification rows in the same transaction (:mod:`monitor.notify.outbox`); what the watcher
does to an alert of an incident is announced by its incident (:mod:`monitor.alerts.incidents`). Nothing here
commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.errors import AlertNotFoundError, AlertStateError
from monitor.db.base import utcnow
from monitor.db.models import Alert, AlertEvent, ModelRow, WindowResult
from monitor.pipeline.alert_signals import SEVERITY_RANK, Signal
from monitor.pipeline.closed import epoch_to_datetime
from monitor.pipeline.early import EarlyAlert
from monitor.pipeline.fairness_late import label_judged
from monitor.store.models_repo import get_or_create_model

__all__ = ["LABEL_SIGNALS", "AlertChanges", "AlertService", "Notifier", "alert_payload", "change_cause", "list_alerts"]

LABEL_SIGNALS = frozenset({"business_metric_drop", "performance_drop", "performance_estimate_unreliable"})
"""Signals judged when labels / outcomes arrive (:meth:`AlertService.process_labels`), not when a window
closes: a closing window never counts as clean for the population's alerts of them, nor for a
``fairness_gap`` of a label-based fairness metric (:func:`monitor.pipeline.fairness_late.label_judged`:
raised at close and at the label updates, judged clean by final updates only). A segment's
``business_metric_drop`` is judged when its window closes (:mod:`monitor.pipeline.segment_finish`), so a
closing window without it counts as clean for it like for any window-close signal."""

_CAUSE = "driftwarden_alert_cause"


class Notifier(Protocol):
    """Where alert changes go: :class:`monitor.notify.outbox.Outbox` writes them in the same transaction."""

    def record(self, session: Session, change: dict[str, Any]) -> None: ...


@dataclass
class AlertChanges:
    """What one :meth:`AlertService.process_window` call did (alert ids)."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def change_cause(session: Session, default: str) -> str:
    """The cause of the changes ``session`` is making (set by the last :class:`AlertService` call on it)."""
    return str(session.info.get(_CAUSE, default))


def alert_payload(alert: Alert, model: str, action: str) -> dict[str, Any]:
    """The notification of one alert change (the notifier renders it as Slack-compatible JSON)."""
    return {
        "action": action, "alert_id": alert.id, "model": model, "signal": alert.signal, "feature": alert.feature,
        "severity": alert.severity, "status": alert.status, "message": alert.message,
        "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(),
        "windows_count": alert.windows_count, "detected_at": alert.detected_at.isoformat(), "early": alert.early,
        "detected_events": alert.detected_events, "assignee": alert.assignee,
        "snoozed_until": alert.snoozed_until.isoformat() if alert.snoozed_until else None,
        "incident_id": alert.incident_id,
    }


class AlertService:
    """Opens, updates, acknowledges and resolves alerts (see the module docstring)."""

    def __init__(self, notifier: Notifier | None = None, *, auto_resolve_after: int = 3,
                 clock: Callable[[], datetime] = utcnow) -> None:
        if auto_resolve_after < 1:
            raise ValueError(f"auto_resolve_after must be >= 1, got {auto_resolve_after}")
        self.notifier = notifier
        self.auto_resolve_after = auto_resolve_after
        self.clock = clock

    # -- notifications: recorded in the transaction (the outbox) ------------------------------------
    def _queue(self, session: Session, payload: dict[str, Any]) -> None:
        if self.notifier is None:
            return
        cause = change_cause(session, f"alert:{payload['alert_id']}")
        snoozed = payload.get("snoozed_until")
        if snoozed and not cause.startswith("alert:") and datetime.fromisoformat(snoozed) > self.clock():
            return  # a snoozed alert: what windows do to it is recorded, not notified
        self.notifier.record(session, {**payload, "cause": cause})

    def _open(self, session: Session, model: str, alert: Alert, changes: AlertChanges) -> None:
        """Add a new alert with its "opened" history entry and notification."""
        session.add(alert)
        session.flush()
        session.add(AlertEvent(alert_id=alert.id, ts=self.clock(), action="opened", note=alert.message))
        changes.opened.append(alert.id)
        self._queue(session, alert_payload(alert, model, "opened"))

    def _escalate_if_worse(self, session: Session, model: str, alert: Alert, signal: Signal,
                           changes: AlertChanges) -> None:
        """Raise the alert's severity to the signal's when that is higher ("escalated" entry and notification)."""
        if SEVERITY_RANK.get(signal.severity, 0) > SEVERITY_RANK.get(alert.severity, 0):
            alert.severity = signal.severity
            session.add(AlertEvent(alert_id=alert.id, ts=self.clock(), action="escalated",
                                   note=f"severity {signal.severity}: {signal.message}"))
            changes.escalated.append(alert.id)
            self._queue(session, alert_payload(alert, model, "escalated"))

    # -- windows -------------------------------------------------------------------------------------
    def process_window(self, session: Session, model: str, window_result: WindowResult,
                       signals: Iterable[Signal], *, auto_resolve_after: int | None = None) -> AlertChanges:
        """Apply one window's signals to the model's alerts (the window row must be flushed)."""
        limit = auto_resolve_after or self.auto_resolve_after
        session.info[_CAUSE] = f"window:{window_result.id}"
        model_row = get_or_create_model(session, model)
        seen_at = window_result.window_end
        changes = AlertChanges()
        unresolved = {
            a.dedup_key: a
            for a in session.scalars(
                select(Alert).where(Alert.model_id == model_row.id, Alert.status != "resolved").with_for_update()
            )
        }
        fired: set[str] = set()
        for signal in signals:
            key = signal.dedup_key(model)
            if key in fired:
                continue
            fired.add(key)
            alert = unresolved.get(key)
            if alert is None:
                alert = Alert(
                    model_id=model_row.id, dedup_key=key, signal=signal.signal, feature=signal.feature,
                    segment=signal.segment,
                    severity=signal.severity, status="open", message=signal.message, first_seen=seen_at,
                    last_seen=seen_at, detected_at=seen_at, windows_count=1, clean_windows=0,
                    first_window_id=window_result.id,
                    last_window_id=window_result.id,
                )
                self._open(session, model, alert, changes)
                continue
            alert.last_seen = max(alert.last_seen, seen_at)
            alert.windows_count += 1
            alert.clean_windows = 0
            alert.message = signal.message
            alert.last_window_id = window_result.id
            changes.updated.append(alert.id)
            self._escalate_if_worse(session, model, alert, signal, changes)
        for key, alert in unresolved.items():
            # a window that ended at or before the detection cannot say the problem is gone (an early alert
            # met such a window first or second depending on where persist points fell: not counted either way)
            if key in fired or (alert.segment is None and (alert.signal in LABEL_SIGNALS
                                                            or label_judged(alert.signal, alert.feature))) \
                    or seen_at <= alert.detected_at:
                continue
            self._count_clean(session, model, alert, limit, changes)
        session.flush()
        return changes

    def process_labels(self, session: Session, model: str, window_result: WindowResult, signals: Iterable[Signal],
                       judged: Iterable[tuple[str, str | None]], *, auto_resolve_after: int | None = None,
                       judged_at: datetime | None = None) -> AlertChanges:
        """Apply the label-lifecycle signals of one window update (see :data:`LABEL_SIGNALS`).

        A signal opens or updates its alert like :meth:`process_window` (a window counted once per alert:
        updates of the window already counted change the message and may raise the severity). An
        unresolved alert whose ``(signal, feature)`` is in ``judged`` and did not fire counts one clean
        window (the pipeline judges only in a window's final update). An alert it opens has ``first_seen`` =
        the window's end and ``detected_at`` = ``judged_at`` (when the labels that showed it arrived; event
        time), if later."""
        limit = auto_resolve_after or self.auto_resolve_after
        session.info[_CAUSE] = f"labels:{window_result.id}"
        model_row = get_or_create_model(session, model)
        seen_at = window_result.window_end
        changes = AlertChanges()
        signals = list(signals)
        keys = {s.dedup_key(model) for s in signals} | {
            Signal(sig, "info", "", feature).dedup_key(model) for sig, feature in judged}
        if not keys:
            return changes
        unresolved = _unresolved_alerts(session, model_row.id, keys)
        fired: set[str] = set()
        for signal in signals:
            key = signal.dedup_key(model)
            if key in fired:
                continue
            fired.add(key)
            alert = unresolved.get(key)
            if alert is None:
                alert = Alert(
                    model_id=model_row.id, dedup_key=key, signal=signal.signal, feature=signal.feature,
                    severity=signal.severity, status="open", message=signal.message, first_seen=seen_at,
                    last_seen=seen_at, detected_at=max(seen_at, judged_at or seen_at), windows_count=1,
                    clean_windows=0, first_window_id=window_result.id,
                    last_window_id=window_result.id,
                )
                self._open(session, model, alert, changes)
                unresolved[key] = alert
                continue
            if alert.last_window_id is None or window_result.id > alert.last_window_id:
                alert.windows_count += 1  # (updates of older windows, interleaved, never count them twice)
                alert.last_window_id = window_result.id
            alert.last_seen = max(alert.last_seen, seen_at)
            alert.clean_windows = 0
            alert.message = signal.message
            changes.updated.append(alert.id)
            self._escalate_if_worse(session, model, alert, signal, changes)
        for sig, feature in judged:
            key = Signal(sig, "info", "", feature).dedup_key(model)
            alert = unresolved.get(key)
            if alert is None or key in fired or alert.status == "resolved":
                continue
            self._count_clean(session, model, alert, limit, changes)
        session.flush()
        return changes

    def _count_clean(self, session: Session, model: str, alert: Alert, limit: int, changes: AlertChanges) -> None:
        """One more clean window for ``alert``; resolved (auto) at ``limit`` clean windows in a row."""
        alert.clean_windows += 1
        if alert.clean_windows < limit:
            return
        alert.status = "resolved"
        alert.resolved_by = "auto"
        alert.resolved_at = self.clock()
        alert.resolve_note = f"{alert.clean_windows} clean windows in a row"
        session.add(AlertEvent(alert_id=alert.id, ts=self.clock(), action="auto_resolved",
                               actor="auto", note=alert.resolve_note))
        changes.resolved.append(alert.id)
        self._queue(session, alert_payload(alert, model, "resolved"))

    def process_early(self, session: Session, model: str, early: EarlyAlert) -> AlertChanges:
        """Apply an early alert raised inside an open window (:mod:`monitor.pipeline.early`).

        No unresolved alert of its dedup key: a new one opens with ``early`` set, ``detected_at`` =
        ``first_seen`` = ``last_seen`` = the detection's event time and ``windows_count`` 0 (the window it
        was raised in counts when it closes and fires the same signal). An unresolved one: if it was detected
        later (the window-close alert of the same window was written first), it takes the earlier detection
        (``detected_at``, ``first_seen``, ``early``, ``detected_events``); otherwise nothing changes."""
        model_row = get_or_create_model(session, model)
        signal = early.signal
        key = signal.dedup_key(model)
        at = epoch_to_datetime(early.detected_at)
        session.info[_CAUSE] = f"early:{model}:{at.isoformat()}"
        changes = AlertChanges()
        alert = session.scalars(select(Alert).where(
            Alert.model_id == model_row.id, Alert.status != "resolved", Alert.dedup_key == key).with_for_update()
        ).first()
        if alert is None:
            alert = Alert(
                model_id=model_row.id, dedup_key=key, signal=signal.signal, feature=signal.feature,
                severity=signal.severity, status="open", message=signal.message, first_seen=at, last_seen=at,
                detected_at=at, early=True, detected_events=early.detected_events, windows_count=0,
                clean_windows=0,
            )
            self._open(session, model, alert, changes)
        elif at < alert.detected_at:
            alert.detected_at = at
            alert.first_seen = min(alert.first_seen, at)
            alert.early = True
            alert.detected_events = early.detected_events
            changes.updated.append(alert.id)
        session.flush()
        return changes

    # -- people --------------------------------------------------------------------------------------
    def _get(self, session: Session, alert_id: int) -> Alert:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None:
            raise AlertNotFoundError(alert_id)
        return alert

    def _model_name(self, session: Session, alert: Alert) -> str:
        return str(session.scalar(select(ModelRow.name).where(ModelRow.id == alert.model_id)))

    def acknowledge(self, session: Session, alert_id: int, by: str, note: str | None = None) -> Alert:
        """open -> acknowledged (re-acknowledging updates who and the note). Resolved: AlertStateError."""
        alert = self._get(session, alert_id)
        session.info[_CAUSE] = f"alert:{alert_id}:{self.clock().isoformat()}"
        if alert.status == "resolved":
            raise AlertStateError(alert_id, alert.status, "acknowledged")
        alert.status = "acknowledged"
        alert.acknowledged_by = by
        alert.acknowledged_at = self.clock()
        alert.ack_note = note
        session.add(AlertEvent(alert_id=alert.id, ts=self.clock(), action="acknowledged", actor=by, note=note))
        session.flush()
        self._queue(session, alert_payload(alert, self._model_name(session, alert), "acknowledged"))
        return alert

    def resolve(self, session: Session, alert_id: int, by: str, note: str | None = None) -> Alert:
        """open or acknowledged -> resolved. Already resolved: AlertStateError."""
        alert = self._get(session, alert_id)
        session.info[_CAUSE] = f"alert:{alert_id}:{self.clock().isoformat()}"
        if alert.status == "resolved":
            raise AlertStateError(alert_id, alert.status, "resolved again")
        alert.status = "resolved"
        alert.resolved_by = by
        alert.resolved_at = self.clock()
        alert.resolve_note = note
        session.add(AlertEvent(alert_id=alert.id, ts=self.clock(), action="resolved", actor=by, note=note))
        session.flush()
        self._queue(session, alert_payload(alert, self._model_name(session, alert), "resolved"))
        return alert

    def snooze(self, session: Session, alert_id: int, until: datetime, by: str, note: str | None = None) -> Alert:
        """Until ``until`` (UTC), what windows do to the alert is not notified (``until`` in the past: unsnooze).
        Resolved: AlertStateError."""
        alert = self._get(session, alert_id)
        if alert.status == "resolved":
            raise AlertStateError(alert_id, alert.status, "snoozed")
        alert.snoozed_until = until
        _note_action(self, session, alert, "snoozed", by, f"until {until.isoformat()}" + (f": {note}" if note else ""))
        return alert

    def assign(self, session: Session, alert_id: int, assignee: str | None, by: str) -> Alert:
        """Assign the alert to ``assignee`` (``None``: nobody), notified as ``assigned``."""
        alert = self._get(session, alert_id)
        session.info[_CAUSE] = f"alert:{alert_id}:{self.clock().isoformat()}"
        alert.assignee = assignee
        _note_action(self, session, alert, "assigned", by, assignee or "nobody")
        self._queue(session, alert_payload(alert, self._model_name(session, alert), "assigned"))
        return alert


def _unresolved_alerts(session: Session, model_id: int, keys: set[str]) -> dict[str, Alert]:
    """The model's unresolved alerts of these dedup keys, by key, locked for the update."""
    return {
        a.dedup_key: a
        for a in session.scalars(select(Alert).where(
            Alert.model_id == model_id, Alert.status != "resolved", Alert.dedup_key.in_(keys)
        ).with_for_update())
    }


def _note_action(service: AlertService, session: Session, alert: Alert, action: str, by: str,
                 note: str | None) -> None:
    session.add(AlertEvent(alert_id=alert.id, ts=service.clock(), action=action, actor=by, note=note))
    session.flush()


def list_alerts(session: Session, *, status: str | None = None, model: str | None = None,
                limit: int = 100) -> list[tuple[Alert, str]]:
    """``(alert, model name)`` newest ``last_seen`` first; ``status`` may be ``open``, ``acknowledged``,
    ``resolved``, ``unresolved``, or ``all``/``None`` (every status)."""
    query = select(Alert, ModelRow.name).join(ModelRow, ModelRow.id == Alert.model_id)
    if status == "unresolved":
        query = query.where(Alert.status != "resolved")
    elif status is not None and status != "all":
        query = query.where(Alert.status == status)
    if model is not None:
        query = query.where(ModelRow.name == model)
    query = query.order_by(Alert.last_seen.desc(), Alert.id.desc()).limit(limit)
    return [(a, str(name)) for a, name in session.execute(query).all()]
