"""No single message stops the watcher: a property-based fuzz of the real intake and pipeline.

Each example runs the consumer loop (:class:`monitor.consumer.loop.Service`, with the real ``take``
and :class:`monitor.pipeline.Pipeline`) over a few messages: valid prediction and outcome events, structured
mutations of them (one field deleted or set to a wrong type, an empty, huge, nested or deeply nested value,
NaN/Infinity literals, integers beyond int64 and beyond double, lone surrogates, NUL characters, a duplicate
key, a size at and around the 1 MiB limit) and random bytes. Two source layouts: one topic of mixed events
(the straight lane: ``take`` then the pipeline) and a predictions and an outcomes topic (the merge lane:
``take`` then ``_apply``). The properties:

* no exception escapes the loop, which ends at the end of the source with every offset consumed;
* every message is either counted once by the pipeline or stored once as a dead letter (never both), and
  the valid ones are never dead letters;
* every dead letter has a non-empty reason, storable as PostgreSQL text (no NUL, no lone surrogate), and
  the reason names the mutated field where there is one.

Seeded (``derandomize=True``); 1,000 examples per layout (``FUZZ_EXAMPLES`` sets another number).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from detectors.profile import ReferenceProfile
from monitor.config import MonitorConfig, parse_config
from monitor.consumer import Service, ServiceOptions, partitions
from monitor.consumer.contracts import SaveItem, SaveResult
from monitor.consumer.deadletter import DeadLetterRecord
from monitor.consumer.pipelines import new_pipeline
from monitor.events import DEFAULT_MAX_BYTES
from monitor.ops import Health, Metrics
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.sources.base import AssignmentListener, MessageKind, RawMessage, TopicPartition

CONFIG = parse_config("""
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: binary}
    prediction: {kind: score, column: score}
    window: {type: count, size: 400}
    outcome_join_ttl: 2m
    alerts: {min_window_events: 50, volume: {enabled: false}}
    business_metrics:
      - name: take_rate
        kind: take_rate
        reference_value: 0.3
        min_denominator: 50
""")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 1000))  # per layout: two layouts, 2,000 examples in all
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _profile() -> ReferenceProfile:
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"tenure": rng.normal(10, 2, n), "genre": rng.choice(list("abc"), n),
                          "premium": rng.choice([True, False], n), "score": rng.uniform(size=n)})
    return ReferenceProfile.build(frame, {"tenure": "numeric", "genre": "categorical", "premium": "binary",
                                          "score": "numeric"}).with_version(1)


PROFILE = _profile()


# -- the watcher's surroundings: a list of messages as the source, memory as the database --------------------

class ListSource:
    """One partition of one topic (kind ``any``: a mixed file) or of two (predictions / outcomes), all of it
    in the first poll after the assignment."""

    def __init__(self, messages: list[tuple[MessageKind, bytes]], split: bool) -> None:
        self.predictions_topic, self.outcomes_topic = ("preds", "outs") if split else ("events", "events")
        self._msgs: dict[TopicPartition, list[RawMessage]] = {(self.predictions_topic, 0): [],
                                                              (self.outcomes_topic, 0): []}
        self.order: list[tuple[TopicPartition, int]] = []  # (stream, offset) of each message, in input order
        for kind, raw in messages:
            topic = self.outcomes_topic if split and kind == "outcome" else self.predictions_topic
            stream = self._msgs[(topic, 0)]
            self.order.append(((topic, 0), len(stream)))
            stream.append(RawMessage(topic, 0, len(stream), None, raw, kind if split else "any"))
        self._next = dict.fromkeys(self._msgs, 0)
        self._listener: AssignmentListener | None = None

    def start(self, listener: AssignmentListener) -> None:
        self._listener = listener

    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.on_assigned(list(self._msgs))
            return []
        out: list[RawMessage] = []
        for tp, msgs in self._msgs.items():
            taken = msgs[self._next[tp]:self._next[tp] + max_records - len(out)]
            out.extend(taken)
            self._next[tp] += len(taken)
        return out

    def seek(self, tp: TopicPartition, offset: int | None) -> None:
        self._next[tp] = offset or 0

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        pass

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        pass

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        pass

    def lag(self) -> dict[TopicPartition, int]:
        return {tp: len(msgs) - self._next[tp] for tp, msgs in self._msgs.items()}

    def caught_up(self, tp: TopicPartition) -> bool:
        return self._next[tp] >= len(self._msgs[tp])

    @property
    def exhausted(self) -> bool:
        return all(self.caught_up(tp) for tp in self._msgs)

    def close(self) -> None:
        pass


class MemoryStore:
    """The database side in memory: every saved dead letter, closed window and offset, and the pipeline."""

    def __init__(self) -> None:
        self.dead: list[DeadLetterRecord] = []
        self.closed: list[ClosedWindow] = []
        self.offsets: dict[TopicPartition, int] = {}

    def load(self, key: str, tps: Sequence[TopicPartition]) -> tuple[bytes | None, dict[TopicPartition, int]]:
        return None, {}

    def stored_windows(self, key: str) -> set[tuple[str, str]]:
        return set()

    def profiles(self, config: MonitorConfig) -> dict[str, ReferenceProfile]:
        return {"rec": PROFILE}

    def find_profile(self, model: str, content_hash: str) -> ReferenceProfile | None:
        raise AssertionError("no restore expected")

    def performance(self, config: MonitorConfig) -> dict[str, PerformanceReference]:
        return {}

    def save(self, items: Sequence[SaveItem]) -> SaveResult:
        for item in items:
            self.dead.extend(item.dead_letters)
            self.closed.extend(c for c in item.closed if isinstance(c, ClosedWindow))  # not label updates
            self.offsets.update(item.offsets)
        return SaveResult()

    def apply_config(self, config: MonitorConfig) -> None:
        pass


# -- messages -----------------------------------------------------------------------------------------------

MUT = "\x02mutated\x02"  # a placeholder value, replaced by raw JSON text in the encoded event
DUP = "\x02duplicate\x02"  # a placeholder key, replaced by the duplicated key


@dataclass(frozen=True)
class Message:
    kind: MessageKind
    raw: bytes
    valid: bool  # an unmutated event: must be counted, never a dead letter
    field: str | None = None  # the mutated field: a dead letter's reason must name it
    note: str = ""


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


# Raw JSON text for a mutated value: (text, note). Wrong types, empty, huge, nested, non-finite literals,
# integers beyond int64 and beyond double, lone surrogates, NUL characters (escaped: valid JSON; raw: not).
TOKENS = st.one_of(
    st.sampled_from([
        ("null", "null"), ("true", "bool"), ("0", "zero"), ("-1", "int"), ("1.5e300", "big float"),
        ('""', "empty string"), ("[]", "empty list"), ("{}", "empty object"), ("[1, 2]", "list"),
        ('{"a": 1}', "object"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
        (str(2**63), "beyond int64"), (str(-(2**63) - 1), "below int64"), (str(2**64), "beyond uint64"),
        ("1" + "0" * 309, "beyond double"), ("-1" + "0" * 400, "below -double"), ("1" + "0" * 5000, "5001 digits"),
        ("1e400", "1e400"), ('"\\ud800"', "lone high surrogate"), ('"x\\udfff"', "lone low surrogate"),
        ('"\\u0000"', "escaped NUL"), ('"a\x00b"', "raw NUL byte"), ('"2026-11-01T12:00:00"', "naive time"),
        ('"2026-13-01T00:00:00Z"', "bad month"), ('"0001-01-01T00:00:00+23:59"', "min time"),
        ('"9999-12-31T23:59:59-23:59"', "max time"), ('{"": 1}', "empty key"),
        ('{"\\ud800": 1}', "surrogate key"),
    ]),
    st.integers(min_value=0, max_value=12).map(lambda k: ('"' + "x" * (2**k * 50) + '"', f"string {2**k * 50}")),
    st.tuples(st.sampled_from([2, 3, 10, 100, 900, 998, 999, 1000, 1001, 5000, 100_000]),
              st.sampled_from(["[", "{"])).map(
        lambda d: ("[" * d[0] + "]" * d[0] if d[1] == "[" else '{"a": ' * d[0] + "1" + "}" * d[0],
                   f"nested {d[0]}")),
    st.builds(lambda v: (_json(v), "json"), st.one_of(
        st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))),
)


@st.composite
def valid_events(draw: st.DrawFn, i: int) -> tuple[MessageKind, dict[str, Any]]:
    ts = (T0 + timedelta(seconds=draw(st.integers(0, 600)))).isoformat().replace("+00:00", "Z")
    if draw(st.booleans()):
        return "prediction", {
            "kind": "prediction", "model": "rec", "model_version": draw(st.sampled_from(["1", "2"])),
            "event_id": f"e{i}", "ts": ts,
            "features": {"tenure": draw(st.one_of(st.none(), st.floats(0, 40))),
                         "genre": draw(st.one_of(st.none(), st.sampled_from("abc"))),
                         "premium": draw(st.one_of(st.none(), st.booleans()))},
            "prediction": draw(st.floats(0, 1)),
            **({"segments": {"region": "eu"}} if draw(st.booleans()) else {}),
        }
    event: dict[str, Any] = {"kind": "outcome", "event_id": f"e{i}", "ts": ts}
    if draw(st.booleans()):
        event["model"] = "rec"
    if draw(st.booleans()):
        event["label"] = draw(st.sampled_from([0, 1, True, "yes"]))
    if "label" not in event or draw(st.booleans()):
        event["outcomes"] = {"shown": True, "taken": draw(st.booleans())}
    return "outcome", event


def _paths(event: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field of ``event`` (nested ones as paths), and an unknown field at the top and in each object."""
    out: list[tuple[str, ...]] = [("extra",)]
    for key, value in event.items():
        out.append((key,))
        if isinstance(value, dict):
            out.extend((key, inner) for inner in [*value, "extra"])
    return out


@st.composite
def mutated(draw: st.DrawFn, i: int) -> Message:
    kind, event = draw(valid_events(i))
    path = draw(st.sampled_from(_paths(event)))
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["delete", "set", "set", "set", "duplicate"]))
    field = ".".join(path)
    if how == "delete":
        if path[-1] not in parent:
            return Message(kind, _json(event).encode(), valid=True, note="deleted nothing")
        del parent[path[-1]]
        return Message(kind, _json(event).encode(), valid=False, field=field, note="deleted")
    token, note = draw(TOKENS)
    if how == "duplicate":
        parent[DUP] = MUT
        text = _json(event).replace(f"{_json(DUP)}: {_json(MUT)}", f"{_json(path[-1])}: {token}")
    else:
        parent[path[-1]] = MUT
        text = _json(event).replace(_json(MUT), token)
    if note.startswith("nested") or note == "raw NUL byte":
        field = path[0]  # a reason names the top-level field of a too deep value; invalid JSON: none
    return Message(kind, text.encode("utf-8", "surrogatepass"), valid=False,
                   field=None if note == "raw NUL byte" else field, note=f"{how} {note}")


@st.composite
def near_limit(draw: st.DrawFn, i: int) -> Message:
    """An event padded (in an unknown field) to the 1 MiB limit, one byte under or over it."""
    kind, event = draw(valid_events(i))
    event["pad"] = ""
    size = len(_json(event).encode())
    target = DEFAULT_MAX_BYTES + draw(st.sampled_from([-1, 0, 1]))
    event["pad"] = "p" * (target - size)
    raw = _json(event).encode()
    assert len(raw) == target
    return Message(kind, raw, valid=target <= DEFAULT_MAX_BYTES, note=f"{target} bytes")


@st.composite
def message(draw: st.DrawFn, i: int) -> Message:
    what = draw(st.sampled_from(["valid", "mutated", "mutated", "mutated", "random", "truncated", "limit"]))
    if what == "valid":
        kind, event = draw(valid_events(i))
        return Message(kind, _json(event).encode(), valid=True)
    if what == "mutated":
        return draw(mutated(i))
    if what == "limit":
        return draw(near_limit(i))
    kind = draw(st.sampled_from(["prediction", "outcome"]))
    if what == "random":
        return Message(kind, draw(st.binary(max_size=64)), valid=False, note="random bytes")
    _, event = draw(valid_events(i))
    raw = _json(event).encode()
    return Message(kind, raw[:draw(st.integers(0, len(raw) - 1))], valid=False, note="truncated")


@st.composite
def batches(draw: st.DrawFn) -> list[Message]:
    """1-4 messages; a valid event before and after them, so the loop must go on past the bad ones."""
    n = draw(st.integers(1, 4))
    first = draw(valid_events(0))
    last = draw(valid_events(n + 1))
    return [Message(first[0], _json(first[1]).encode(), valid=True),
            *(draw(message(i + 1)) for i in range(n)),
            Message(last[0], _json(last[1]).encode(), valid=True)]


# -- the property -------------------------------------------------------------------------------------------

def counted(pipeline: Pipeline) -> int:
    """Events the pipeline took in (each prediction and outcome once, whatever became of it after)."""
    c = pipeline.counters
    return (c["outcomes"] + c["unrouted_outcomes"] + c["bad_timestamp"] + c["unknown_model"]
            + sum(s.counters["predictions"] + s.counters["bad_timestamp"] for s in pipeline.models.values()))


def check(messages: list[Message], split: bool) -> None:
    source = ListSource([(m.kind, m.raw) for m in messages], split)
    store = MemoryStore()
    service = Service(CONFIG, source, store,
                      ServiceOptions(group_id="g", checkpoint_interval=0.0, gc_young_threshold=None),
                      metrics=Metrics(CollectorRegistry()), health=Health(), sleep=lambda _: None)
    made: list[Pipeline] = []

    def recorded(store: MemoryStore, config: MonitorConfig) -> Pipeline:
        made.append(new_pipeline(store, config))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(partitions, "new_pipeline", recorded)
        result = service.run(timeout=60)  # no exception may escape

    assert result.stopped_by == "end_of_source" and result.clean
    assert result.messages == len(messages)
    assert store.offsets == {tp: len(msgs) for tp, msgs in source._msgs.items() if msgs}
    dead = {((d.source, d.partition), d.offset): d for d in store.dead}
    assert len(dead) == len(store.dead) == result.dead_letters  # at most one dead letter per message
    [pipeline] = made
    assert counted(pipeline) + len(dead) == len(messages)  # each message counted once or dead once
    for msg, position in zip(messages, source.order, strict=True):
        letter = dead.get(position)
        if msg.valid:
            assert letter is None, (msg.note, letter)
            continue
        if letter is None:
            continue  # a mutation that is still a valid event (e.g. an unknown field)
        assert letter.reason.strip() and letter.category, letter
        for text in (letter.reason, letter.model or ""):  # what PostgreSQL text and UTF-8 take
            assert "\x00" not in text, letter
            text.encode("utf-8")  # (raises for a lone surrogate)
        if msg.field is not None and letter.category not in {"unknown_model", "oversized"}:
            assert repr(msg.field) in letter.reason or f"'{msg.field}" in letter.reason, (
                msg.note, msg.field, letter.reason)
    windows_events = sum(w.n_events for w in store.closed)
    assert windows_events <= sum(s.counters["predictions"] for s in pipeline.models.values())


SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("split", [False, True], ids=["mixed-topic", "two-topics"])
def test_no_message_escapes_the_watcher(split: bool) -> None:
    @SETTINGS
    @given(batches())
    def run(messages: list[Message]) -> None:
        check(messages, split)

    run()


def _prediction(i: int, **fields: Any) -> bytes:
    event = {"kind": "prediction", "model": "rec", "model_version": "1", "event_id": f"e{i}",
             "ts": "2026-11-01T00:00:00Z", "features": {"tenure": 3.0}, "prediction": 0.5}
    return _json({**event, **fields}).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000
POISON = [  # the message, and deep nesting in each known field and in unknown ones
    pytest.param(b'{"model": "rec", "a": ' + DEEP + b"}", "a", id="issue-100k-brackets"),
    pytest.param(_prediction(1, features="\x02").replace(b'"\\u0002"', DEEP), "features", id="deep-features"),
    pytest.param(_prediction(1, prediction="\x02").replace(b'"\\u0002"', b'{"a": ' * 3000 + b"1" + b"}" * 3000),
                 "prediction", id="deep-prediction-objects"),
    pytest.param(_prediction(1, extra="\x02").replace(b'"\\u0002"', b"[" * 1000 + b"]" * 1000), "extra",
                 id="deep-unknown-1000"),
    pytest.param(b"[" * 100_000, None, id="unclosed-brackets"),
    pytest.param(_prediction(1, extra="\x02").replace(b'"\\u0002"', b'"\\ud800"'), "extra", id="lone-surrogate"),
    pytest.param(_prediction(1, model="re\x00c"), None, id="nul-in-model"),
]


@pytest.mark.parametrize("split", [False, True], ids=["mixed-topic", "two-topics"])
@pytest.mark.parametrize(("raw", "field"), POISON)
def test_poison_messages_are_dead_letters(raw: bytes, field: str | None, split: bool) -> None:
    kind: MessageKind = "prediction"
    check([Message(kind, _prediction(0), valid=True), Message(kind, raw, valid=False, field=field),
           Message(kind, _prediction(2), valid=True)], split)
