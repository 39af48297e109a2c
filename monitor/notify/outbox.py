"""The writing half of the transactional outbox: :class:`Outbox`.

:class:`~monitor.alerts.service.AlertService` hands each alert change to :meth:`Outbox.record`, which keeps
it on the session. Just before that session commits, the changes are grouped
(:func:`monitor.notify.grouping.group_changes`) and one :class:`~monitor.db.models.NotificationRow` per
notification is added with destination ``*`` (not yet routed): the rows commit with the alert changes or not at
all (a rollback discards the recorded changes). Routing and delivery are the sender's (:mod:`monitor.notify.sender`),
so whoever changes an alert (the watcher, ``driftwarden alerts``, the dashboard) needs no notification settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from monitor.db.models import NotificationRow
from monitor.notify.grouping import group_changes

__all__ = ["UNROUTED", "Outbox"]

UNROUTED = "*"
"""The destination of a notification row not yet routed (the sender replaces it by one row per destination)."""

_PENDING = "driftwarden_outbox_pending"
_HOOKED = "driftwarden_outbox_hooked"

Grouper = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class Outbox:
    """Writes one notification row per group of alert changes in the committing transaction (see the module
    docstring); ``grouper`` is the grouping unit (:func:`monitor.notify.grouping.group_changes`)."""

    def __init__(self, *, grouper: Grouper = group_changes) -> None:
        self.grouper = grouper

    def record(self, session: Session, change: dict[str, Any]) -> None:
        """Keep one alert change (``alert_payload`` + ``cause``) until ``session`` commits."""
        session.info.setdefault(_PENDING, []).append(change)
        if session.info.get(_HOOKED):
            return
        session.info[_HOOKED] = True
        event.listen(session, "before_commit", self._write)
        event.listen(session, "after_rollback", lambda sess: sess.info.pop(_PENDING, None))

    def _write(self, session: Session) -> None:
        changes = session.info.pop(_PENDING, None)
        if not changes:
            return
        for notification in self.grouper(changes):
            session.add(NotificationRow(key=notification["key"], destination=UNROUTED, payload=notification,
                                        status="pending", attempts=0))
