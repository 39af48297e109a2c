"""The typed decoders: valid events round-trip, every kind of bad input raises EventDecodeError naming the
field and the value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.events import (
    EventDecodeError,
    OutcomeEvent,
    PredictionEvent,
    decode_any,
    decode_outcome,
    decode_prediction,
)

HEAD = b'"model":"churn","model_version":"3","event_id":"e1","ts":"2026-11-01T12:00:00Z"'


def pred(body: bytes) -> bytes:
    return b"{" + HEAD + b"," + body + b"}"


def test_valid_prediction_kinds() -> None:
    score = decode_prediction(pred(b'"features":{"a":1,"b":"x","c":true,"d":null},"prediction":0.5'))
    assert score.feature_dict == {"a": 1.0, "b": "x", "c": True, "d": None}
    assert score.ts == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert not score.segments
    klass = decode_prediction(pred(b'"features":{},"prediction":"churn","segments":{"country":"FR"}'))
    assert klass.prediction == "churn" and klass.segments == {"country": "FR"}
    probs = decode_prediction(pred(b'"features":{"a":1},"prediction":{"stay":0.6,"churn":0.4}'))
    assert probs.prediction == {"stay": 0.6, "churn": 0.4}


def test_unknown_top_level_fields_are_ignored() -> None:
    event = decode_prediction(pred(b'"features":{"a":1},"prediction":1,"trace_id":"x"'))
    assert event.event_id == "e1"


def test_outcome_needs_label_or_outcomes() -> None:
    ok = decode_outcome(b'{"event_id":"e1","ts":"2026-11-01T12:00:00Z","outcomes":{"shown":true,"s":9.5}}')
    assert ok.outcomes == {"shown": True, "s": 9.5} and ok.label is None
    with pytest.raises(EventDecodeError, match="neither a label nor any business outcome") as info:
        decode_outcome(b'{"event_id":"e1","ts":"2026-11-01T12:00:00Z"}')
    assert info.value.kind == "no_outcome"


@pytest.mark.parametrize(
    ("raw", "kind", "field", "value"),
    [
        (pred(b'"features":{"a":1,"tenure":NaN},"prediction":1'), "not_finite", "features.tenure", "nan"),
        (pred(b'"features":{"a":1e999},"prediction":1'), "not_finite", "features.a", "inf"),
        (pred(b'"features":{"a":1},"prediction":-Infinity'), "not_finite", "prediction", "-inf"),
        (pred(b'"features":{"a":[1]},"prediction":1'), "wrong_type", "features.a", "[1]"),
        (pred(b'"features":{"a":1}'), "missing_field", "prediction", None),
        (pred(b'"features":{"a":1},"prediction":{"x":1.5}'), "invalid_value", "prediction.x", "1.5"),
        (pred(b'"features":{"a":1},"prediction":[0.1]'), "wrong_type", "prediction", "[0.1]"),
        (pred(b'"features":{"":1},"prediction":1'), "invalid_value", "features", "''"),
        (pred(b'"features":{},"prediction":1,"segments":{"c":3}'), "wrong_type", "segments.c", "3"),
        (pred(b'"features":{},"prediction":1,"kind":"outcome"'), "invalid_value", "kind", "'outcome'"),
        (b'{"model":5,"model_version":"1","event_id":"e","ts":"2026-01-01T00:00:00Z","features":{},'
         b'"prediction":1}', "wrong_type", "model", "5"),
        (b'{"model":"m","model_version":"1","event_id":"e","ts":"2026-01-01T00:00:00","features":{},'
         b'"prediction":1}', "invalid_value", "ts", "'2026-01-01T00:00:00'"),
        (b'{"model":"","model_version":"1","event_id":"e","ts":"2026-01-01T00:00:00Z","features":{},'
         b'"prediction":1}', "invalid_value", "model", "''"),
        (b"\xff\xfe{", "malformed", None, None),
        (b'{"model": "m",', "malformed", None, None),
        (b"[]", "wrong_type", None, None),
        (b"", "malformed", None, None),
    ],
)
def test_bad_predictions_name_field_and_value(raw: bytes, kind: str, field: str | None, value: str | None) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode_prediction(raw)
    err = info.value
    assert (err.kind, err.field) == (kind, field), str(err)
    if value is not None:
        assert err.value == value
        assert value in str(err)
    if field is not None:
        assert repr(field) in str(err)


def test_oversized_is_rejected_before_decoding() -> None:
    raw = pred(b'"features":{"a":1},"prediction":1')
    with pytest.raises(EventDecodeError, match=f"{len(raw)} bytes exceeds the limit of 10 bytes") as info:
        decode_prediction(raw, max_bytes=10)
    assert info.value.kind == "oversized"
    assert decode_prediction(raw, max_bytes=len(raw)).model == "churn"


def test_decode_any_by_kind_or_shape() -> None:
    p = decode_any(pred(b'"features":{"a":1},"prediction":1'))
    assert isinstance(p, PredictionEvent)
    o = decode_any(b'{"event_id":"e1","ts":"2026-11-01T12:00:00Z","label":1}')
    assert isinstance(o, OutcomeEvent)
    tagged = decode_any(b'{"kind":"outcome","event_id":"e1","ts":"2026-11-01T12:00:00Z","label":"yes"}')
    assert isinstance(tagged, OutcomeEvent) and tagged.label == "yes"
    with pytest.raises(EventDecodeError):
        decode_any(b'{"kind":"other","event_id":"e1","ts":"2026-11-01T12:00:00Z","label":1}')
    with pytest.raises(EventDecodeError, match="neither a label"):
        decode_any(b'{"kind":"outcome","event_id":"e1","ts":"2026-11-01T12:00:00Z"}')
