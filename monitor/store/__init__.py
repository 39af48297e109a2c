"""Writing side of the database: the persist transaction (:mod:`.writer`), the reference registry
(:mod:`.references`), checkpoints and offsets (:mod:`.checkpoints`). Read-only queries for the dashboard
live in ``monitor.store.queries``. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations
