"""The ``retention:`` section: how long each growing table keeps its rows (unset: forever).

Window data (``samples``, ``feature_results``, ``window_results``) ages in *event time*: a row goes when its
window ended more than the retention before the newest stored window of the same model, so a replay of
old traffic keeps what a live run would. ``dead_letters`` age in processing time (``created_at``). Alerts,
their history and every window an alert cites (its first and last) are always kept. ``window_results``
removes a window with everything it holds (feature results, metric, performance, segment and fairness rows,
sample); it must be at least every model's ``label_ttl`` + ``outcome_join_ttl``, since windows still take
labels that long.

>>> RetentionConfig.model_validate({"samples": "14d", "dead_letters": "30d"}).samples
1209600.0
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from monitor.config.durations import Duration

__all__ = ["RETAINED_TABLES", "RetentionConfig"]

RETAINED_TABLES = ("samples", "feature_results", "window_results", "dead_letters")


class RetentionConfig(BaseModel):
    """Per table, the age after which rows are pruned; ``batch_size`` rows at most per table and pass;
    the watcher runs one pass inside a persist transaction at most every ``interval``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: Duration | None = Field(default=None, gt=0)
    feature_results: Duration | None = Field(default=None, gt=0)
    window_results: Duration | None = Field(default=None, gt=0)
    dead_letters: Duration | None = Field(default=None, gt=0)
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    interval: Duration = Field(default=60.0, ge=0)

    @property
    def enabled(self) -> bool:
        return any(getattr(self, name) is not None for name in RETAINED_TABLES)
