"""Segment admission by volume (frequent-items sketch), bounded memory, partial segments, pairs and drift
worst slices, and the Prometheus counter of pooled values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from monitor.config import parse_config
from monitor.events import OutcomeEvent, prediction_event
from monitor.ops import Metrics
from monitor.pipeline import Pipeline
from monitor.pipeline.segments import SegmentBook, sketch_size
from tests.unit.monitor.test_segments_pipeline import PROFILE

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def book(max_segments: int = 3) -> SegmentBook:
    return SegmentBook(("country",), max_segments, 1000, 0, None)


def test_the_largest_values_are_kept_even_when_they_come_late() -> None:
    rng = np.random.default_rng(0)
    b = book(3)
    heavy = rng.choice(["h0", "h1", "h2", "s0", "s1", "s2"], p=[0.3, 0.3, 0.3, 0.04, 0.03, 0.03], size=3000)
    stream = ["s0", "s1", "s2", *heavy]
    for value in stream:
        b.labels({"country": str(value)})
    assert set(b.admitted["country"]) == {"h0", "h1", "h2"}
    assert set(b.partial) == {"country=h0", "country=h1", "country=h2"} and all(v > 0 for v in b.partial.values())
    assert b.evicted == 3 and sum(b.counts.values()) == len(stream)
    pooled = sum(1 for v in stream if v.startswith("s"))
    # every s-event is pooled, and so are the first h-events of each heavy value (its `before`)
    assert b.counts["country=other"] == pooled + sum(b.partial.values())


def test_memory_is_bounded_whatever_the_number_of_values() -> None:
    b = book(5)
    for i in range(20_000):
        b.labels({"country": f"v{i}"})
    assert len(b.admitted["country"]) == 5 and len(b.counts) == 6
    assert b.sketches["country"].num_active_items <= 2 ** sketch_size(5)
    assert b.capped == 20_000 - 5 and sum(b.counts.values()) == 20_000


def test_equal_values_do_not_swap_back_and_forth() -> None:
    b = book(2)
    for i in range(6000):
        b.labels({"country": "abc"[i % 3]})
    assert b.evicted <= 1


def test_checkpoint_keeps_the_sketch() -> None:
    stream = ["a", "b"] + ["c"] * 5 + ["d"] * 30 + ["c"] * 30
    straight = book(2)
    for v in stream:
        straight.labels({"country": v})
    half = book(2)
    for v in stream[:20]:
        half.labels({"country": v})
    again = SegmentBook.from_state(half.to_state(), None)
    for v in stream[20:]:
        again.labels({"country": v})
    assert again.admitted == straight.admitted and again.counts == straight.counts
    assert again.partial == straight.partial and again.evicted == straight.evicted == 2


CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, gender: categorical}
    prediction: {kind: score, column: score}
    window: {type: count, size: 4000}
    outcome_join_ttl: 1h
    alerts: {min_window_events: 50, volume: {enabled: false}}
    segments: {keys: [country, platform], min_events: 100, max_segments: MAXSEG, top_slices: 5}
    business_metrics:
      - {name: take_rate, kind: take_rate, reference_value: 0.3, min_denominator: 50}
"""


def run(max_segments: int, countries: list[Any], n: int = 4000, seed: int = 0,
        shift: str | None = None) -> tuple[Pipeline, Any]:
    rng = np.random.default_rng(seed)
    pipe = Pipeline(parse_config(CONFIG.replace("MAXSEG", str(max_segments))), {"rec": PROFILE})
    for i in range(n):
        country, platform = countries[i % len(countries)], ["ios", "web"][int(rng.integers(2))]
        ts = T0 + timedelta(seconds=i)
        pipe.on_prediction(prediction_event(
            model="rec", model_version="1", event_id=f"e{i}", ts=ts,
            features={"tenure": float(rng.normal(13 if country == shift else 10, 2)),
                      "genre": str(rng.choice(list("abc"))), "gender": str(rng.choice(["f", "m"]))},
            prediction=float(rng.uniform()), segments={"country": country, "platform": platform}))
        rate = 0.05 if platform == "ios" and country in ("FR", "DE") else 0.3
        played = bool(rng.uniform() < rate)
        pipe.on_outcome(OutcomeEvent(event_id=f"e{i}", ts=ts, model="rec",
                                     outcomes={"shown": True, "played": played, "play_seconds": 60.0 * played}))
    [window] = pipe.flush()
    return pipe, window


def test_worst_slices_hold_pairs_of_kept_values_and_drift() -> None:
    _, window = run(10, ["FR", "ES", "IT"] * 6 + ["DE"], shift="DE")  # DE: 1 event in 19
    slices = window.report["worst_slices"]
    assert len(slices) == 5
    top = next(s for s in slices if s["metric"] == "take_rate")
    assert top["name"] in ("country=FR&platform=ios", "country=DE&platform=ios") and top["significant"]
    assert top["difference"] < 0
    drift = [s for s in slices if s["metric"] == "drift"]
    assert drift and drift[0]["name"] == "country=DE" and drift[0]["significant"]
    assert drift[0]["q_value"] < 0.05 and drift[0]["rate"] > drift[0]["rest_rate"]
    # with 3 kept values DE is pooled: its low take rate shows in country=other, never in a pair with other
    _, window = run(3, ["FR", "ES", "IT"] * 6 + ["DE"], shift="DE")
    names = [s["name"] for s in window.report["worst_slices"]]
    assert "country=FR&platform=ios" in names and "country=other" in names
    assert not any("other" in name and "&" in name for name in names)


def test_a_late_value_is_partial_and_tested_on_its_own_rows_only() -> None:
    # a, b fill the two places; c arrives later and replaces one of them on its 12th event
    countries = ["a", "b"] + ["c"] * 60
    _, window = run(2, countries, n=62)
    assert window.report["segments_partial"] == {"country=c": 11}
    assert window.report["segments_evicted"] == 1
    assert not [r for r in window.segments if r.segment == "country=c"]  # 49 rows < min_events 100
    _, window = run(2, ["a", "b"] + ["c"] * 400, n=402)
    [c] = [r for r in window.segments if r.segment == "country=c"]
    assert c.n_events == 389 and c.drift_share is not None


def test_pooled_values_are_counted_for_prometheus() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    pipe = Pipeline(parse_config(CONFIG.replace("MAXSEG", "2")), {"rec": PROFILE})
    metrics.observe_pipelines({0: pipe.stats()})
    for i, value in enumerate(["a", "b", "c", 7, "d", 8.5] * 50):
        pipe.on_prediction(prediction_event(
            model="rec", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
            features={"tenure": 10.0, "genre": "a", "gender": "f"}, prediction=0.5,
            segments={"country": value}))
    pipe.flush()
    metrics.observe_pipelines({0: pipe.stats()})

    def sample(reason: str) -> float | None:
        return registry.get_sample_value("driftwarden_segment_values_pooled_total",
                                         {"model": "rec", "reason": reason})

    assert sample("non_string") == 100.0 and sample("capped") == 100.0
