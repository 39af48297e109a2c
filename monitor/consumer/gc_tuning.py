"""The garbage collector's settings while the watcher runs (``ServiceOptions.gc_young_threshold``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_tuned"]

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def gc_tuned(young: int | None) -> Iterator[None]:
    """Within: the youngest generation collected every ``young`` container allocations, and the objects alive
    on entry (modules, configuration, reference profiles) frozen out of collections; both undone on exit by the
    last of several concurrent users (``None``: no change). See ``ServiceOptions.gc_young_threshold``."""
    global _gc_users, _gc_saved
    if young is None:
        yield
        return
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.collect()
            gc.freeze()
            gc.set_threshold(max(young, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()
