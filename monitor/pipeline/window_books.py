"""The per-window books of segments and fairness, made and restored for a model's open window."""

from __future__ import annotations

from monitor.config import ModelConfig
from monitor.pipeline.fairness_state import FairnessBook
from monitor.pipeline.open_window import OpenWindow
from monitor.pipeline.segments import SegmentBook

__all__ = ["attach_books", "segment_keys"]


def segment_keys(config: ModelConfig) -> frozenset[str]:
    """The segment keys an event's ``segments`` are read for: the configured keys and the fairness
    attributes that are not features."""
    keys = set(config.segments.keys)
    if config.fairness is not None:
        keys.update(a for a in config.fairness.attributes if a not in config.features)
    return frozenset(keys)


def attach_books(config: ModelConfig, window: OpenWindow, columns: tuple[str, ...], seed: int) -> None:
    """Give ``window`` its :class:`SegmentBook` (segment keys configured) and :class:`FairnessBook`
    (``fairness`` configured), restoring a checkpoint's fairness counts if it holds some."""
    seg = config.segments
    if seg.keys and window.seg is None:
        window.seg = SegmentBook(tuple(seg.keys), seg.max_segments, seg.max_values, seed, window.profile,
                                 keep_events=bool(config.business_metrics))
    fair = config.fairness
    if fair is not None and window.fair is None:
        where = {a: (columns.index(a) if a in config.features else None) for a in fair.attributes}
        window.fair = FairnessBook(fair, where, keep_events=config.performance is not None)
        if window.fair_state is not None:
            window.fair.restore(window.fair_state)
            window.fair_state = None
