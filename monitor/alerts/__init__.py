"""Alerts: signals of a window (:mod:`.signals`), the one service that changes alert state
(:mod:`.service`) and the non-blocking webhook notifier (:mod:`.notifier`)."""

from __future__ import annotations
