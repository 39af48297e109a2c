"""Writing simulated events: the JSONL event file (predictions and outcomes, mixed, in time order) and Parquet.

The JSONL lines follow the event contract of :mod:`monitor.events` (``kind`` tells the two apart in one
file). Lines are formatted column-wise from numpy arrays, which keeps a fortnight of events to seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitor.scenario.world import Events

__all__ = ["event_lines", "events_frame", "write_events_jsonl", "write_parquet"]

_CHUNK = 200_000


def _iso_ms(ms: npt.NDArray[np.int64]) -> list[str]:
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [f"{t}Z" for t in text.tolist()]


def _event_ids(index: npt.NDArray[np.int64], prefix: str) -> list[str]:
    return [f"{prefix}{i:08d}" for i in index.tolist()]


def _prediction_lines(ev: Events, model: str, ids: list[str]) -> list[str]:
    ts = _iso_ms(ev.ts_ms)
    tenure = ["null" if t != t else str(int(t)) for t in ev.tenure_days.tolist()]
    premium = ["true" if p else "false" for p in ev.premium.tolist()]
    head = f'{{"kind":"prediction","model":"{model}","model_version":"'
    return [
        f'{head}{v}","event_id":"{i}","ts":"{t}","features":{{"device":"{d}","country":"{c}",'
        f'"tenure_days":{te},"hour_of_day":{h},"item_popularity":{p:.4f},"premium":{pr}}},'
        f'"prediction":{s:.6f}}}'
        for v, i, t, d, c, te, h, p, pr, s in zip(
            ev.model_version.tolist(), ids, ts, ev.device.tolist(), ev.country.tolist(), tenure,
            ev.hour_of_day.tolist(), ev.item_popularity.tolist(), premium, ev.prediction.tolist(),
            strict=True,
        )
    ]


def _outcome_lines(ev: Events, model: str, ids: list[str]) -> list[str]:
    ts = _iso_ms(ev.outcome_ts_ms)
    head = '{"kind":"outcome","event_id":"'
    lines = []
    for i, t, shown, played, sec, q in zip(
        ids, ts, ev.shown.tolist(), ev.played.tolist(), ev.play_seconds.tolist(), ev.quality_play.tolist(),
        strict=True,
    ):
        if shown:
            lines.append(
                f'{head}{i}","ts":"{t}","model":"{model}","label":{int(q)},"outcomes":{{"shown":true,'
                f'"played":{"true" if played else "false"},"play_seconds":{sec:.1f}}}}}'
            )
        else:
            lines.append(
                f'{head}{i}","ts":"{t}","model":"{model}","outcomes":{{"shown":false,"played":false,'
                f'"play_seconds":0.0}}}}'
            )
    return lines


def event_lines(ev: Events, *, model: str, id_prefix: str = "rec-") -> Iterator[list[str]]:
    """Chunks of JSON lines (no newlines) of every prediction and its outcome, merged in time order.

    A prediction comes before its outcome (an outcome is never earlier, and ties keep predictions first).
    Event ids are ``<id_prefix><row number, 8 digits>``.
    """
    n = len(ev)
    order = np.argsort(np.concatenate([ev.ts_ms, ev.outcome_ts_ms]), kind="stable")
    for lo in range(0, order.size, _CHUNK):
        k = order[lo : lo + _CHUNK]
        is_pred = k < n
        p_idx, o_idx = k[is_pred], k[~is_pred] - n
        chunk = np.empty(k.size, dtype=object)
        chunk[is_pred] = _prediction_lines(ev.take(p_idx), model, _event_ids(p_idx, id_prefix))
        chunk[~is_pred] = _outcome_lines(ev.take(o_idx), model, _event_ids(o_idx, id_prefix))
        yield chunk.tolist()


def write_events_jsonl(ev: Events, path: Path, *, model: str, id_prefix: str = "rec-") -> int:
    """Write :func:`event_lines` to ``path`` (one event a line); returns the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for chunk in event_lines(ev, model=model, id_prefix=id_prefix):
            out.write("\n".join(chunk) + "\n")
            count += len(chunk)
    return count


def events_frame(ev: Events, *, id_prefix: str = "ref-") -> pd.DataFrame:
    """One row per recommendation: features, ``prediction`` and the outcomes (training-reference layout)."""
    return pd.DataFrame(
        {
            "event_id": _event_ids(np.arange(len(ev), dtype=np.int64), id_prefix),
            "ts": pd.to_datetime(ev.ts_ms, unit="ms", utc=True),
            "model_version": ev.model_version.astype(str),
            "device": ev.device.astype(str),
            "country": ev.country.astype(str),
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


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)
