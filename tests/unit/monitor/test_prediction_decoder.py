"""The prediction decoder and the per-event path of the pipeline give what the lenient decoders and the
dict rows give.

Typed decode (FastPredictionDecoder, through take) against decode_prediction / decode_any, tuple rows against
event_row, the lazily built bottom-k sample against a plain sort, the flush of tuple buffers against the
dict-row flush, the cached count-window assignment against a fresh one, and old checkpoints (dict rows).
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
from collections import Counter
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from monitor.config import MonitorConfig, WindowConfig, parse_config
from monitor.consumer.intake import take
from monitor.events import EventDecodeError, FastPrediction, FastPredictionDecoder, OutcomeEvent, decode_prediction
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.pipeline.open_window import BATCH_ROWS, OpenWindow, sample_priority
from monitor.pipeline.rows import coerce, event_row
from monitor.pipeline.windower import Span, Windower
from monitor.sources.base import RawMessage

CONFIG = """
models:
  ma:
    features: {x0: numeric, x1: numeric, x2: numeric, c0: categorical, c1: categorical, b0: binary}
    prediction: {kind: score, column: score}
    window: {type: count, size: 120, slide: 60}
    sample: {enabled: true, size: 15}
    segments: [region]
  mb:
    features: {y0: numeric, k0: categorical}
    prediction: {kind: probabilities, column: label}
    window: {type: time, size: 60, allowed_lateness: 5}
    sample: {enabled: true, size: 10}
"""


def config() -> MonitorConfig:
    return parse_config(CONFIG)


def profiles() -> dict[str, ReferenceProfile]:
    rng = np.random.default_rng(3)
    n = 2000
    # ma's profile: another column order, c1 numeric (config: categorical), an extra column "zz"
    a = ReferenceProfile.build(pd.DataFrame({
        "c0": rng.choice(list("abc"), n), "x1": rng.normal(0, 1, n), "x0": rng.normal(0, 1, n),
        "x2": rng.normal(0, 1, n), "c1": rng.normal(0, 1, n), "b0": rng.choice([True, False], n),
        "score": rng.uniform(size=n), "zz": rng.normal(0, 1, n)}),
        {"c0": "categorical", "x1": "numeric", "x0": "numeric", "x2": "numeric", "c1": "numeric",
         "b0": "binary", "score": "numeric", "zz": "numeric"}).with_version(1)
    b = ReferenceProfile.build(pd.DataFrame({
        "y0": rng.normal(0, 1, n), "k0": rng.choice(list("pq"), n), "label": rng.choice(list("uv"), n),
        "label_score": rng.uniform(size=n)}),
        {"y0": "numeric", "k0": "categorical", "label": "categorical", "label_score": "numeric"}).with_version(1)
    return {"ma": a, "mb": b}


def messages(n: int, seed: int = 1) -> list[bytes]:
    """Mostly good prediction events, with bad values, extra/missing features, unknown models, odd kinds,
    escapes and broken JSON mixed in (and outcome events)."""
    rng = random.Random(seed)
    bad_values: list[Any] = ["3.5", "abc", 7, True, None, [1], {"a": 1}, -0.0, 2, 2.5, "yes", 1, 0, "NaN", "1e400"]
    out = []
    for i in range(n):
        model = rng.choice(["ma", "ma", "mb"])
        ts = pd.Timestamp(1_760_000_000 + i * 0.7 + rng.uniform(-6, 1), unit="s", tz="UTC")
        if model == "ma":
            f: dict[str, Any] = {"x0": round(rng.gauss(0, 1), 3), "x1": rng.randint(-3, 3), "x2": rng.gauss(0, 1),
                                 "c0": rng.choice("abc"), "c1": rng.choice("abcd"), "b0": rng.choice([True, False])}
            pred: Any = rng.random() if rng.random() > 0.05 else rng.choice(["0.3", {"a": 0.2}, "x"])
        else:
            f = {"y0": rng.gauss(0, 1), "k0": rng.choice("pq")}
            p = rng.random()
            pred = {"u": p, "v": 1 - p} if rng.random() > 0.05 else rng.choice(["u", 0.4])
        if rng.random() < 0.1:
            f[rng.choice([*f, "extra"])] = rng.choice(bad_values)
        if rng.random() < 0.05:
            f.pop(rng.choice(list(f)))
        if rng.random() < 0.05:
            f[rng.choice(list(f))] = None
        event: dict[str, Any] = {"model": model, "model_version": rng.choice("12"), "event_id": f"e{i}",
                                 "ts": ts.isoformat().replace("+00:00", "Z"), "features": f, "prediction": pred}
        r = rng.random()
        if r < 0.02:
            event["model"] = "unknown"
        elif r < 0.03:
            del event["model"]
        elif r < 0.06:
            event["kind"] = "prediction"
        elif r < 0.07:
            event["kind"] = "outcome"
        elif r < 0.08:
            event["segments"] = {"region": "kind"}
        elif r < 0.12:
            event["segments"] = {"region": rng.choice(["eu", "us"]), "other": "x"}
        elif r < 0.13:
            event["event_id"] = "a\\b"
        raw = json.dumps(event).encode().replace(b'"NaN"', b"NaN").replace(b'"1e400"', b"1e400")
        if rng.random() < 0.01:
            raw = raw[:-3]
        if rng.random() < 0.01:
            raw = raw[:-1] + b', "model": "mb"}'
        if rng.random() < 0.01:
            raw = raw.replace(b'"features"', b'"feat\\u0075res"')
        out.append(raw)
        if model == "mb" and rng.random() < 0.3:
            out.append(json.dumps({"kind": "outcome", "event_id": f"e{i}", "ts": event["ts"], "label": 1}).encode())
    return out


def test_typed_decode_is_a_subset_of_the_lenient_decode_with_the_same_rows() -> None:
    cfg = config()
    fast = FastPredictionDecoder({name: m.features for name, m in cfg.models.items()})
    taken = 0
    for raw in messages(1500):
        event = fast.decode(raw)
        if event is None:
            continue
        taken += 1
        lenient = decode_prediction(raw)  # never raises for what the fast decode takes
        assert isinstance(event, FastPrediction)
        assert (event.model, event.model_version, event.event_id, event.ts, event.prediction) == (
            lenient.model, lenient.model_version, lenient.event_id, lenient.ts, lenient.prediction)
        assert dict(lenient.segments) == (event.segments or {})
        model = cfg.models[event.model]
        seen_fast: Counter[str] = Counter()
        seen_lenient: Counter[str] = Counter()
        assert event_row(model, event.feature_dict, event.prediction, seen_fast) == event_row(
            model, lenient.features, lenient.prediction, seen_lenient)
        assert not seen_fast and not seen_lenient  # typed values: nothing to coerce
    assert taken > 1000


@pytest.mark.parametrize("kind", ["any", "prediction"])
def test_take_with_and_without_the_typed_decoder_agree(kind: str) -> None:
    cfg = config()
    fast = FastPredictionDecoder({name: m.features for name, m in cfg.models.items()})
    n_fast = 0
    for offset, raw in enumerate(messages(1500, seed=2)):
        msg = RawMessage("t", 0, offset, None, raw, kind)  # type: ignore[arg-type]
        plain = take(msg, cfg.models)
        with_fast = take(msg, cfg.models, fast=fast)
        event = with_fast.event if isinstance(with_fast.event, FastPrediction) else None
        if event is None:
            assert with_fast == plain
            continue
        n_fast += 1
        assert with_fast.event is event or isinstance(with_fast.event, FastPrediction)
        assert plain.dead is None and plain.event is not None and not isinstance(plain.event, OutcomeEvent)
        assert with_fast.key == plain.key and with_fast.dead is None
        assert event.event_id == plain.event.event_id and event.feature_dict == {
            k: plain.event.features.get(k) for k in event.feature_names}
    assert n_fast > 1000


def test_unknown_model_missing_model_and_lone_model_are_left_to_the_lenient_path() -> None:
    fast = FastPredictionDecoder({"churn": {"tenure": "numeric"}})
    body = b'"model_version": "3", "event_id": "e1", "ts": "2026-11-01T12:00:00Z", "features": {"tenure": 1}, ' \
           b'"prediction": 0.8'
    assert fast.decode(b"{" + body + b"}") is None  # no model: a lone tagged struct would not require one
    assert fast.decode(b'{"model": "other", ' + body + b"}") is None
    assert fast.decode(b'{"model": "", ' + body + b"}") is None
    assert fast.decode(b'{"model": "churn", ' + body.replace(b"1}", b'"1"}') + b"}") is None
    event = fast.decode(b'{"model": "churn", ' + body + b"}")
    assert event is not None and event.feature_dict == {"tenure": 1.0}
    with pytest.raises(EventDecodeError):
        decode_prediction(b"{" + body + b"}")


def run(msgs: list[bytes], kind: str, use_fast: bool, restore_every: int | None = None) -> dict[str, Any]:
    """Like Service._process/_apply: the fast lane when ``use_fast``; snapshots restored on the way."""
    cfg = config()
    profs = profiles()
    fast = FastPredictionDecoder({name: m.features for name, m in cfg.models.items()}) if use_fast else None
    p = Pipeline(cfg, profs)
    closed: list[ClosedWindow] = []
    dead = []
    for offset, raw in enumerate(msgs):
        msg = RawMessage("t", 0, offset, None, raw, kind)  # type: ignore[arg-type]
        taken = take(msg, cfg.models, fast=fast)
        if taken.dead is not None:
            dead.append((offset, taken.dead.reason, taken.dead.category))
        elif isinstance(taken.event, OutcomeEvent):
            p.on_outcome(taken.event, msg.position)
        elif taken.event is not None and use_fast:
            p.on_prediction(taken.event, msg, taken.key)
        elif taken.event is not None:
            p.on_prediction(taken.event, msg.position)
        if offset % 50 == 49:
            closed += p.advance()
        if restore_every and offset % restore_every == restore_every - 1:
            closed += p.take_closed()  # (a persist point writes them with the snapshot)
            p = Pipeline.restore(p.snapshot(), cfg, profs)
    closed += p.flush()
    windows = []
    for w in closed:
        item = dataclasses.asdict(w)
        item["sample"] = None if w.sample is None else pd.read_parquet(io.BytesIO(w.sample)).to_dict("records")
        windows.append(repr(item))
    return {"windows": windows, "dead": dead, "stats": p.stats(), "positions": p.positions()}


@pytest.mark.parametrize("kind", ["any", "prediction"])
def test_typed_and_lenient_intake_give_identical_results(kind: str) -> None:
    msgs = messages(2500, seed=4)
    lenient = run(msgs, kind, use_fast=False)
    assert lenient["stats"]["models"]["ma"]["coerced"]  # the stream has values to coerce
    assert len(lenient["windows"]) > 20 and len(lenient["dead"]) > 50
    assert run(msgs, kind, use_fast=True) == lenient
    assert run(msgs, kind, use_fast=True, restore_every=333) == lenient


@pytest.mark.parametrize("size", [1, 2, 5, 25])
def test_sample_is_the_bottom_k_of_all_rows(size: int) -> None:
    window = OpenWindow(Span("count:0", 0, 5000), None, 0, size)
    columns = ("x", "c")
    rows = []
    for i in range(3000):
        event_id = f"id-{i % 2500}"  # repeated ids: equal priorities, first come first
        row = (float(i), f"c{i}")
        window.add(row, columns, 100.0 + i, event_id, "1", None, {})
        expected_row = {"event_id": event_id, "ts": 100.0 + i, "x": float(i), "c": f"c{i}"}
        rows.append((sample_priority(event_id), i, expected_row))
        if i == 1700:  # a checkpoint on the way restores to the same sample
            window = OpenWindow.from_state(window.to_state(), None)
    expected = [row for _, _, row in sorted(rows, key=itemgetter(0, 1))[:size]]
    assert window.sample_rows() == expected


def old_flush_columns(rows: list[dict[str, Any]], profile: ReferenceProfile) -> dict[str, np.ndarray]:
    """The column arrays the dict-row flush made (before tuple rows)."""
    out = {}
    for col in profile:
        raw = [row.get(col.name) for row in rows]
        if col.kind == "numeric":
            try:
                out[col.name] = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
            except (TypeError, ValueError):
                values = [coerce(col.kind, v) for v in raw]
                out[col.name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        else:
            if not all(v is None or type(v) is str for v in raw):
                raw = [coerce(col.kind, v) for v in raw]
            out[col.name] = np.array(raw, dtype=object)
    return out


def test_flush_of_tuple_rows_equals_the_dict_row_flush_and_old_checkpoints_restore() -> None:
    profile = profiles()["ma"]
    rng = random.Random(5)
    columns = ("x0", "x1", "x2", "c0", "c1", "b0", "score", "unused")
    values: list[Any] = [None, 1.5, -2.0, "3.25", "abc", "a", "True", True, 7, "", "nan"]
    dict_rows = [{c: rng.choice(values) for c in columns} for _ in range(BATCH_ROWS - 1)]
    window = OpenWindow(Span("count:0", 0, 10_000), profile, 1, 0)
    for row in dict_rows:
        window.add(tuple(row[c] for c in columns), columns, 1.0, "e", "1", None, {})
    state = window.to_state()
    assert state["buffer"][0] == {c.name: dict_rows[0].get(c.name) for c in profile}
    old_state = {**state, "buffer": dict_rows}  # an older checkpoint: rows of every configured column
    captured: list[dict[str, np.ndarray]] = []
    for restored in (OpenWindow.from_state(state, profile), OpenWindow.from_state(old_state, profile), window):
        assert restored.state is not None
        restored.state.update = lambda batch: captured.append(batch)  # type: ignore[method-assign]
        restored.flush_buffer()
    expected = old_flush_columns(dict_rows, profile)
    for batch in captured:
        assert list(batch) == list(expected)
        for name, array in expected.items():
            assert batch[name].dtype == array.dtype
            np.testing.assert_array_equal(batch[name], array)


@pytest.mark.parametrize(("size", "slide"), [(3, 2), (5, None), (6, 3), (7, 1), (10, 3), (1, None)])
def test_cached_count_assignment_equals_a_fresh_one(size: int, slide: int | None) -> None:
    cached = Windower(WindowConfig(type="count", size=size, slide=slide))
    fresh = Windower(WindowConfig(type="count", size=size, slide=slide))
    rng = random.Random(size)
    for _ in range(300):
        got = cached.assign(0.0)
        fresh._cached = None
        assert got == fresh.assign(0.0)
        if rng.random() < 0.05:  # an idle close moves the counter to the windows' end
            assert cached.due(got.spans, idle_seconds=1.0) == fresh.due(got.spans, idle_seconds=1.0)
