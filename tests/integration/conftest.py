"""Helpers shared by the integration tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, text


def _stored_windows(url: str) -> list[tuple[Any, ...]]:
    """``(window_key, n_events, drift_share, take_rate)`` of every stored window, by key."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT w.window_key, w.n_events, w.drift_share, m.value FROM window_results w LEFT JOIN "
                "metric_values m ON m.window_id = w.id AND m.name = 'take_rate' ORDER BY w.window_key")).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


@pytest.fixture
def stored_windows() -> Callable[[str], list[tuple[Any, ...]]]:
    return _stored_windows
