"""The consumer's intake and the per-event path of the pipeline give what the contract's decoders and the
dict rows give.

The event decoder (through take) against decode_prediction / decode_outcome / decode_any, tuple rows against
event_row, the lazily built bottom-k sample against a plain sort, the flush of tuple buffers against the
dict-row flush, the count-window assignment against a restored windower's, and old checkpoints (dict rows).
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
from collections import Counter
from collections.abc import Collection
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from monitor.config import MonitorConfig, WindowConfig, parse_config
from monitor.consumer.intake import take
from monitor.events import (
    EventDecodeError,
    EventDecoder,
    OutcomeEvent,
    PredictionEvent,
    decode_any,
    decode_outcome,
    decode_prediction,
)
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


def test_typed_decode_gives_the_contract_values_and_rows() -> None:
    cfg = config()
    decoder = EventDecoder({name: m.features for name, m in cfg.models.items()})
    typed = 0
    for raw in messages(1500):
        try:
            event = decoder.decode(raw)
        except EventDecodeError as exc:
            if exc.kind == "unknown_model":
                assert decode_prediction(raw).model not in cfg.models
            else:
                with pytest.raises(EventDecodeError) as contract:
                    decode_prediction(raw)
                assert contract.value.reason == exc.reason
            continue
        assert isinstance(event, PredictionEvent)
        read = decode_prediction(raw)  # the contract's reading: features as sent
        assert (event.model, event.model_version, event.event_id, event.ts, event.prediction) == (
            read.model, read.model_version, read.event_id, read.ts, read.prediction)
        assert (read.segments or {}) == (event.segments or {})
        model = cfg.models[event.model]
        seen_event: Counter[str] = Counter()
        seen_read: Counter[str] = Counter()
        assert event_row(model, event.feature_dict, event.prediction, seen_event) == event_row(
            model, read.feature_dict, read.prediction, seen_read)
        assert seen_event == seen_read
        if type(event.features).typed:
            typed += 1
            assert not seen_event  # typed values: nothing to coerce
    assert typed > 1000


def test_a_model_is_required_and_must_be_configured() -> None:
    decoder = EventDecoder({"churn": {"tenure": "numeric"}})
    body = b'"model_version": "3", "event_id": "e1", "ts": "2026-11-01T12:00:00Z", "features": {"tenure": 1}, ' \
           b'"prediction": 0.8'
    for raw, kind in [(b"{" + body + b"}", "missing_field"), (b'{"model": "other", ' + body + b"}", "unknown_model"),
                      (b'{"model": "", ' + body + b"}", "invalid_value")]:
        with pytest.raises(EventDecodeError) as exc:
            decoder.decode(raw)
        assert exc.value.kind == kind
    event = decoder.decode(b'{"model": "churn", ' + body.replace(b"1}", b'"1"}') + b"}")
    assert isinstance(event, PredictionEvent) and event.feature_dict == {"tenure": "1"}  # as sent: coerced later
    event = decoder.decode(b'{"model": "churn", ' + body + b"}")
    assert isinstance(event, PredictionEvent) and event.feature_dict == {"tenure": 1.0}


_CONTRACT_DECODE = {"prediction": decode_prediction, "outcome": decode_outcome, "any": decode_any}


def contract_take(msg: RawMessage, models: Collection[str]) -> tuple[PredictionEvent | OutcomeEvent | None,
                                                                      tuple[str, str] | None]:
    """The reference intake: the contract's decoders and the model check, no typed decode."""
    try:
        assert msg.value is not None
        event = _CONTRACT_DECODE[msg.kind](msg.value)
    except EventDecodeError as exc:
        return None, (exc.reason, exc.kind)
    if event.model is not None and event.model not in models:
        return None, (f"unknown model {event.model!r}: not in the configuration (known: {sorted(models)})",
                      "unknown_model")
    return event, None


def run(msgs: list[bytes], kind: str, typed: bool, restore_every: int | None = None) -> dict[str, Any]:
    """The pipeline fed by the consumer's intake (``typed``) or by the reference intake; snapshots restored on
    the way."""
    cfg = config()
    profs = profiles()
    decoder = EventDecoder({name: m.features for name, m in cfg.models.items()})
    p = Pipeline(cfg, profs)
    closed: list[ClosedWindow] = []
    dead = []
    for offset, raw in enumerate(msgs):
        msg = RawMessage("t", 0, offset, None, raw, kind)  # type: ignore[arg-type]
        if typed:
            taken = take(msg, decoder)
            event = taken.event
            bad = None if taken.dead is None else (taken.dead.reason, taken.dead.category)
        else:
            event, bad = contract_take(msg, cfg.models)
        if bad is not None:
            dead.append((offset, *bad))
        elif isinstance(event, OutcomeEvent):
            p.on_outcome(event)
        elif event is not None:
            p.on_prediction(event)
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
    return {"windows": windows, "dead": dead, "stats": p.stats()}


@pytest.mark.parametrize("kind", ["any", "prediction"])
def test_the_intake_gives_what_the_contract_decoders_give(kind: str) -> None:
    msgs = messages(2500, seed=4)
    reference = run(msgs, kind, typed=False)
    assert reference["stats"]["models"]["ma"]["coerced"]  # the stream has values to coerce
    assert len(reference["windows"]) > 20 and len(reference["dead"]) > 50
    assert run(msgs, kind, typed=True) == reference
    assert run(msgs, kind, typed=True, restore_every=333) == reference


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
def test_count_assignment_equals_a_restored_windowers(size: int, slide: int | None) -> None:
    config = WindowConfig(type="count", size=size, slide=slide)
    windower = Windower(config)
    rng = random.Random(size)
    for _ in range(300):
        restored = Windower(config, windower.state())  # no assignment cached
        got = windower.assign(0.0)
        assert got == restored.assign(0.0)
        if rng.random() < 0.05:  # an idle close moves the counter to the windows' end
            assert windower.due(got.spans, idle_seconds=1.0) == restored.due(got.spans, idle_seconds=1.0)
