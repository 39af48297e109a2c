"""Writing simulated events: the JSONL event file (predictions and outcomes, mixed, in time order) and Parquet.

The JSONL lines follow the event contract of :mod:`monitor.events` (``kind`` tells the two apart in one
file). Each recommendation gives a prediction, its business outcome (seconds later: ``shown``, ``played``,
``play_seconds``) and, when its label arrives, a second outcome event carrying only the ``label`` (hours to
days later, see :mod:`scenario.world`). Lines are formatted column-wise with Arrow's string kernels, which
keeps the whole scenario to seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scenario.world import FEATURES, Events

__all__ = ["event_lines", "events_frame", "validation_frame", "write_events_jsonl", "write_parquet"]

_CHUNK = 250_000


def _event_ids(index: npt.NDArray[np.int64], prefix: str) -> list[str]:
    return [f"{prefix}{i:08d}" for i in index.tolist()]


def _text(values: npt.NDArray[Any]) -> pa.Array:
    """Numbers as their shortest round-trip text (Arrow's cast), strings (object arrays) as they are."""
    if values.dtype == object:
        return pa.array(values, type=pa.string())
    return pc.cast(pa.array(values), pa.string())


def _pad(values: npt.NDArray[np.int64], width: int) -> pa.Array:
    return pc.utf8_lpad(_text(values), width, "0")


def _ts_text(ms: npt.NDArray[np.int64]) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of epoch milliseconds (integer arithmetic; a date string per day)."""
    day, in_day = np.divmod(ms, 86_400_000)
    days, day_idx = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string((days * 86_400_000).astype("datetime64[ms]"), unit="D")
    prefix = pa.array([f"{d}T" for d in dates.tolist()]).take(pa.array(day_idx.ravel()))
    hh, rest = np.divmod(in_day, 3_600_000)
    mm, rest = np.divmod(rest, 60_000)
    ss, milli = np.divmod(rest, 1000)
    return _join(prefix, _pad(hh, 2), ":", _pad(mm, 2), ":", _pad(ss, 2), ".", _pad(milli, 3), "Z")


def _ids_text(index: npt.NDArray[np.int64], prefix: str) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _pad(index, 8), "")


def _bools(values: npt.NDArray[np.bool_]) -> pa.Array:
    return pc.if_else(pa.array(values), "true", "false")


def _join(*parts: str | pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _prediction_lines(ev: Events, model: str, ids: pa.Array) -> pa.Array:
    tenure = pc.if_else(pa.array(np.isnan(ev.tenure_days)), "null",
                        _text(np.nan_to_num(ev.tenure_days, nan=0.0).astype(np.int64)))
    return _join(
        f'{{"kind":"prediction","model":"{model}","model_version":"', _text(ev.model_version),
        '","event_id":"', ids, '","ts":"', _ts_text(ev.ts_ms),
        '","features":{"device":"', _text(ev.device), '","country":"', _text(ev.country),
        '","tenure_days":', tenure, ',"hour_of_day":', _text(ev.hour_of_day),
        ',"item_popularity":', _text(ev.item_popularity), ',"premium":', _bools(ev.premium),
        '},"segments":{"country":"', _text(ev.country), '","age_band":"', _text(ev.age_band),
        '"},"prediction":', _text(ev.prediction), "}\n",
    )


def _outcome_lines(ev: Events, model: str, ids: pa.Array) -> pa.Array:
    return _join(
        '{"kind":"outcome","event_id":"', ids, '","ts":"', _ts_text(ev.outcome_ts_ms),
        f'","model":"{model}","outcomes":{{"shown":', _bools(ev.shown),
        ',"played":', _bools(ev.played), ',"play_seconds":', _text(ev.play_seconds), "}}\n",
    )


def _label_lines(ev: Events, model: str, ids: pa.Array) -> pa.Array:
    return _join(
        '{"kind":"outcome","event_id":"', ids, '","ts":"', _ts_text(ev.label_ts_ms),
        f'","model":"{model}","label":', _text(ev.quality_play.astype(np.int64)), "}\n",
    )


def n_events(ev: Events) -> tuple[int, int, int]:
    """(predictions, business outcomes, labels) that :func:`event_lines` writes for ``ev``."""
    return len(ev), len(ev), int(np.count_nonzero(ev.label_ts_ms >= 0))


def event_lines(ev: Events, *, model: str, id_prefix: str = "rec-") -> Iterator[bytes]:
    """Chunks of JSON lines (each ending in a newline) of every prediction, its outcome and its label event
    (when it has one: ``label_ts_ms >= 0``), in time order.

    A prediction comes before its outcome and its outcome before its label (each is never earlier, and ties
    keep that order). Event ids are ``<id_prefix><row number, 8 digits>``; numbers are written in their
    shortest exact form. Lines are built column-wise with Arrow's string kernels, so three weeks take
    seconds.
    """
    n = len(ev)
    if n == 0:
        return
    labelled = np.flatnonzero(ev.label_ts_ms >= 0)
    order = np.argsort(np.concatenate([ev.ts_ms, ev.outcome_ts_ms, ev.label_ts_ms[labelled]]), kind="stable")
    for lo in range(0, order.size, _CHUNK):
        k = order[lo : lo + _CHUNK]
        kind = np.minimum(k // n, 2)  # 0 prediction, 1 outcome, 2 label
        p_idx, o_idx, l_idx = k[kind == 0], k[kind == 1] - n, labelled[k[kind == 2] - 2 * n]
        parts = [
            _prediction_lines(ev.take(p_idx), model, _ids_text(p_idx, id_prefix)),
            _outcome_lines(ev.take(o_idx), model, _ids_text(o_idx, id_prefix)),
            _label_lines(ev.take(l_idx), model, _ids_text(l_idx, id_prefix)),
        ]
        # place each line at its position in the chunk: indices into [preds ++ outs ++ labels]
        where = np.empty(k.size, dtype=np.int64)
        offset = 0
        for code, part in enumerate(parts):
            at = kind == code
            where[at] = offset + np.arange(len(part))
            offset += len(part)
        lines = pa.concat_arrays([part.cast(pa.large_string()) for part in parts]).take(where)
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
        yield lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def write_events_jsonl(ev: Events, path: Path, *, model: str, id_prefix: str = "rec-") -> int:
    """Write :func:`event_lines` to ``path`` (one event a line); returns the number of lines."""
    with path.open("wb") as out:
        for chunk in event_lines(ev, model=model, id_prefix=id_prefix):
            out.write(chunk)
    return sum(n_events(ev))


def events_frame(ev: Events, *, id_prefix: str = "ref-") -> pd.DataFrame:
    """One row per recommendation: features, ``age_band`` (a segment value), ``prediction`` and the outcomes
    (training-reference layout)."""
    return pd.DataFrame(
        {
            "event_id": _event_ids(np.arange(len(ev), dtype=np.int64), id_prefix),
            "ts": pd.to_datetime(ev.ts_ms, unit="ms", utc=True),
            "model_version": ev.model_version.astype(str),
            "device": ev.device.astype(str),
            "country": ev.country.astype(str),
            "age_band": ev.age_band.astype(str),
            "tenure_days": ev.tenure_days,
            "hour_of_day": ev.hour_of_day,
            "item_popularity": ev.item_popularity,
            "premium": ev.premium,
            "prediction": ev.prediction,
            "shown": ev.shown,
            "played": ev.played,
            "play_seconds": ev.play_seconds,
            "quality_play": ev.quality_play,
            "label": ev.quality_play.astype(np.int64),
        }
    )


def validation_frame(ev: Events, *, id_prefix: str = "val-") -> pd.DataFrame:
    """The labelled validation layout: the shown recommendations' features, ``prediction`` and ``label``
    (``1`` = quality play), with their time."""
    shown = np.flatnonzero(ev.shown)
    frame = events_frame(ev.take(shown), id_prefix=id_prefix)
    return frame[["event_id", "ts", "model_version", *FEATURES, "prediction", "label"]]


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)
