"""Window assignment (count/time, tumbling/sliding, lateness), outcome join and business metrics: pure."""

from __future__ import annotations

import math

import pytest

from monitor.config import Condition, MetricConfig, WindowConfig
from monitor.pipeline.business_metrics import compute_metric, condition_holds
from monitor.pipeline.outcome_join import LABEL_FIELD, OutcomeJoiner, merge_outcome
from monitor.pipeline.windower import Span, Windower, to_epoch


def keys(w: Windower, ts: float) -> list[str]:
    return [s.key for s in w.assign(ts).spans]


def test_count_tumbling_every_event_in_exactly_one_window() -> None:
    w = Windower(WindowConfig(type="count", size=4))
    got = [keys(w, 0.0) for _ in range(10)]
    assert got == [["count:0"]] * 4 + [["count:4"]] * 4 + [["count:8"]] * 2
    spans = [Span("count:0", 0, 4), Span("count:4", 4, 8), Span("count:8", 8, 12)]
    assert [s.key for s in w.due(spans)] == ["count:0", "count:4"]
    assert [s.key for s in w.due(spans, flush=True)] == ["count:0", "count:4", "count:8"]


@pytest.mark.parametrize(("size", "slide"), [(6, 2), (6, 3), (5, 5), (7, 3)])
def test_count_sliding_membership_matches_definition(size: int, slide: int) -> None:
    w = Windower(WindowConfig(type="count", size=size, slide=slide))
    for i in range(40):
        got = {int(k.split(":")[1]) for k in keys(w, 0.0)}
        want = {s for s in range(0, i + 1, slide) if s <= i < s + size}
        assert got == want, i


def test_time_tumbling_with_lateness_and_late_events() -> None:
    w = Windower(WindowConfig(type="time", size=60, allowed_lateness=30))
    assert keys(w, 10) == ["time:1970-01-01T00:00:00Z"]
    assert keys(w, 70) == ["time:1970-01-01T00:01:00Z"]
    spans = [Span("time:1970-01-01T00:00:00Z", 0, 60), Span("time:1970-01-01T00:01:00Z", 60, 120)]
    assert w.due(spans) == []  # watermark 40 < 60
    assert keys(w, 50) == ["time:1970-01-01T00:00:00Z"]  # late but within the allowed lateness
    keys(w, 95)  # watermark 65
    assert [s.key for s in w.due(spans)] == ["time:1970-01-01T00:00:00Z"]
    a = w.assign(59.0)  # its only window is closed: late, counted by the caller, not used
    assert a.late and a.spans == []
    assert w.due(spans[1:], idle_seconds=100)[0].key == "time:1970-01-01T00:01:00Z"


def test_time_sliding_and_state_round_trip() -> None:
    w = Windower(WindowConfig(type="time", size=3600, slide=900))
    assert len(w.assign(4000).spans) == 4
    again = Windower(w.config, w.state())
    assert again.state() == w.state() and again.watermark == w.watermark
    assert Windower(WindowConfig(type="count", size=3)).state() == {
        "seq": 0, "max_ts": None, "closed_until": None, "origin": 0, "size": 3.0, "step": 3.0}


def test_to_epoch() -> None:
    assert to_epoch(1_700_000_000) == 1_700_000_000.0
    assert to_epoch(1_700_000_000_500) == pytest.approx(1_700_000_000.5)
    for bad in ("2026", math.nan, True, None):
        with pytest.raises(ValueError):
            to_epoch(bad)


def test_join_ttl_both_orders_and_idempotent_merge() -> None:
    j = OutcomeJoiner(ttl=100)
    assert j.add_prediction("a", 1000, ["w1"]) == []
    assert j.add_outcome("a", 1050, {"shown": True}) == ["w1"]
    assert j.add_outcome("a", 1050, {"shown": True}) == ["w1"]  # redelivery: the window merge is idempotent
    assert j.add_outcome("b", 1060, {"played": True}) == []  # waits for its prediction
    assert j.add_prediction("b", 1040, ["w1", "w2"]) == [{"played": True}]
    assert j.add_outcome("a", 1200, {"played": True}) == []  # its prediction expired: the outcome waits in vain
    assert j.pending == (0, 1)
    j.add_prediction("c", 1400, ["w3"])
    assert j.pending == (1, 0) and j.stats == {"matched": 3, "late_or_unmatched": 1, "expired_labels": 0,
                                       "outcomes_spilled": 0}
    restored = OutcomeJoiner.from_state(j.state())
    assert restored.state() == j.state()
    rec: dict[str, object] = {}
    for _ in range(2):
        merge_outcome(rec, {"shown": True, "play_seconds": 31.0})
    assert rec == {"shown": True, "play_seconds": 31.0}


def test_join_expires_old_entries_even_if_one_side_stops() -> None:
    j = OutcomeJoiner(ttl=10)
    for i in range(100):
        j.add_prediction(f"p{i}", float(i), ["w"])
    assert j.pending[0] <= 32  # ttl + lag allowance (2 x ttl) of predictions, no outcome stream at all
    for i in range(100):
        j.add_outcome(f"o{i}", float(200 + i), {"shown": True})
    assert j.pending == (0, 31)


def test_join_survives_an_outcome_stream_read_later() -> None:
    """All outcomes arrive after their predictions' TTL in *reading order* (a backlog replayed), still join."""
    j = OutcomeJoiner(ttl=10)
    for i in range(15):
        j.add_prediction(f"p{i}", float(i), ["w"])
    got = [j.add_outcome(f"p{i}", float(i + 5), {"shown": True}) for i in range(15)]
    assert got == [["w"]] * 15
    assert j.stats == {"matched": 15, "late_or_unmatched": 0, "expired_labels": 0, "outcomes_spilled": 0}
    assert not j.horizon_passed(14.0) and j.horizon_passed(9.0)


def test_take_rate_and_ctr_and_conditions() -> None:
    take = MetricConfig(name="take_rate", kind="take_rate", quality_play_seconds=30)
    ctr = MetricConfig(name="ctr", kind="ctr")
    records = [
        {"shown": True, "played": True, "play_seconds": 30, "clicked": True},
        {"shown": True, "played": True, "play_seconds": 29.9},
        {"shown": True, "clicked": False},
        {"shown": False, "played": True, "play_seconds": 300, "clicked": True},
        {"played": True, "play_seconds": 300},
    ]
    t = compute_metric(take, records)
    assert (t.numerator, t.denominator) == (1, 3) and t.value == pytest.approx(1 / 3)
    c = compute_metric(ctr, records)
    assert (c.numerator, c.denominator) == (1, 3)
    assert compute_metric(take, []).value is None
    assert not condition_holds(Condition(field="x", op=">", value=1), {"x": math.nan})
    assert condition_holds(Condition(field="x", op="==", value="a"), {"x": "a"})
    assert not condition_holds(Condition(field="x", op="truthy"), {"x": math.nan})


def test_count_windows_closed_early_never_reuse_a_key() -> None:
    w = Windower(WindowConfig(type="count", size=10, slide=5))
    spans = {s.key: s for _ in range(7) for s in w.assign(0.0).spans}
    assert sorted(spans) == ["count:0", "count:5"]
    assert [s.key for s in w.due(spans.values(), idle_seconds=60)] == ["count:0", "count:5"]  # idle: partial
    assert keys(w, 0.0) == ["count:10", "count:15"]  # the next event opens windows with new keys only
    flushed = w.due([Span("count:10", 10, 20), Span("count:15", 15, 25)], flush=True)
    assert [s.key for s in flushed] == ["count:10", "count:15"]
    assert keys(w, 0.0) == ["count:20", "count:25"]


@pytest.mark.parametrize("via", ["reload", "restore"])
def test_count_windows_of_a_new_size_never_reuse_a_key(via: str) -> None:
    """483 events into tumbling windows of 300 (count:0 closed, count:300 open), the size becomes 500: the
    new grid starts at event 483, so count:0 (which the old grid already used) never comes back, and every
    later event is in exactly one window."""
    w = Windower(WindowConfig(type="count", size=300))
    for _ in range(483):
        w.assign(0.0)
    new = WindowConfig(type="count", size=500)
    w = w.with_config(new) if via == "reload" else Windower(new, w.state())
    assert keys(w, 0.0) == ["count:483"]
    for _ in range(498):
        w.assign(0.0)
    assert keys(w, 0.0) == ["count:483"] and keys(w, 0.0) == ["count:983"]
    assert [s.key for s in w.due([Span("count:300", 300, 600), Span("count:483", 483, 983)])] == [
        "count:300", "count:483"]
    again = Windower(new, w.state())  # the same size: the grid stays
    assert keys(again, 0.0) == ["count:983"]


def test_a_prediction_in_no_window_is_not_kept_and_its_waiting_label_is_counted() -> None:
    """A late prediction (its windows closed) joins nothing: the join does not keep it (so only live
    windows' predictions are kept, within max_awaiting_labels), and a label that waited for it counts as
    unmatched instead of vanishing as 'matched'."""
    j = OutcomeJoiner(ttl=100)
    assert j.add_outcome("a", 50, {LABEL_FIELD: True}) == []
    assert j.add_prediction("a", 40, []) == []
    for i in range(1000):
        j.add_prediction(f"late{i}", 45, [])
    assert j.pending == (0, 0)
    assert j.stats == {"matched": 0, "late_or_unmatched": 1, "expired_labels": 1, "outcomes_spilled": 0}
