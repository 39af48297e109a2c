"""The consumer loop's signal handlers: they only flip flags, the loop acts on them at its next turn.

SIGTERM and SIGINT ask the loop to stop (persist, commit, exit 0); SIGHUP asks it to reload the configuration.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["flag_signals"]


@contextmanager
def flag_signals(stop: threading.Event, reload: Callable[[], None]) -> Iterator[None]:
    """Inside: SIGTERM and SIGINT set ``stop``, SIGHUP calls ``reload``; the previous handlers come back after.

    Outside the main thread (where Python cannot install handlers) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    def on_reload(_signum: int, _frame: FrameType | None) -> None:
        reload()

    previous = {sig: signal.signal(sig, handler)
                for sig, handler in ((signal.SIGTERM, on_stop), (signal.SIGINT, on_stop), (signal.SIGHUP, on_reload))}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
