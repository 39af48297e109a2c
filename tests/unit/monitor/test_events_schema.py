"""The JSON Schema files and the msgspec decoder describe the same contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from monitor.events import EventDecodeError, decode_outcome, decode_prediction

SCHEMAS = Path(__file__).resolve().parents[3] / "monitor" / "schemas"
PRED_SCHEMA = json.loads((SCHEMAS / "prediction_event.schema.json").read_text())
OUT_SCHEMA = json.loads((SCHEMAS / "outcome_event.schema.json").read_text())

BASE: dict[str, Any] = {"model": "m", "model_version": "1", "event_id": "e", "ts": "2026-11-01T12:00:00Z",
                        "features": {"a": 1, "b": "x", "c": None, "d": False}, "prediction": 0.5}


def with_(**changes: Any) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not ...}


PREDICTIONS: list[tuple[dict[str, Any], bool]] = [
    (BASE, True),
    (with_(prediction="cls"), True),
    (with_(prediction={"a": 0.3, "b": 0.7}), True),
    (with_(segments={"country": "FR"}), True),
    (with_(kind="prediction"), True),
    (with_(ts="2026-11-01T12:00:00.250+01:00"), True),
    (with_(ts="2026-11-01 12:00:00+0100"), True),
    (with_(extra={"x": 1}), True),
    (with_(ts="2026-11-01T12:00:00"), False),
    (with_(ts="2026-11-01T12:00Z"), False),
    (with_(ts="yesterday"), False),
    (with_(model=""), False),
    (with_(model=3), False),
    (with_(model=...), False),
    (with_(features=...), False),
    (with_(prediction=...), False),
    (with_(features={"a": [1]}), False),
    (with_(features={"a": {"b": 1}}), False),
    (with_(features={"": 1}), False),
    (with_(prediction=[0.1]), False),
    (with_(prediction={"a": 1.5}), False),
    (with_(prediction={"a": -0.1}), False),
    (with_(prediction=None), False),
    (with_(segments={"country": 1}), False),
    (with_(kind="outcome"), False),
    (with_(event_id="x" * 201), False),
]

OUT_BASE: dict[str, Any] = {"event_id": "e", "ts": "2026-11-01T12:00:00Z"}
OUTCOMES: list[tuple[dict[str, Any], bool]] = [
    ({**OUT_BASE, "label": 1}, True),
    ({**OUT_BASE, "label": "churn"}, True),
    ({**OUT_BASE, "label": True, "model": "m"}, True),
    ({**OUT_BASE, "outcomes": {"shown": True, "played": False, "play_seconds": 3.5}}, True),
    ({**OUT_BASE, "label": 0, "outcomes": {}}, True),
    ({**OUT_BASE, "kind": "outcome", "label": 0, "model": None}, True),
    (OUT_BASE, False),
    ({**OUT_BASE, "label": None}, False),
    ({**OUT_BASE, "outcomes": {}}, False),
    ({**OUT_BASE, "outcomes": {"shown": None}}, False),
    ({**OUT_BASE, "outcomes": {"shown": [1]}}, False),
    ({**OUT_BASE, "label": [1]}, False),
    ({"ts": "2026-11-01T12:00:00Z", "label": 1}, False),
    ({**OUT_BASE, "ts": "2026-11-01", "label": 1}, False),
    ({**OUT_BASE, "label": 1, "model": ""}, False),
    ({**OUT_BASE, "label": 1, "kind": "prediction"}, False),
]


def _schema_ok(schema: dict[str, Any], doc: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(doc)


def _decoder_ok(decode: Any, doc: dict[str, Any]) -> bool:
    try:
        decode(json.dumps(doc).encode())
    except EventDecodeError:
        return False
    return True


def test_schemas_are_valid_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(PRED_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(OUT_SCHEMA)


@pytest.mark.parametrize(("doc", "valid"), PREDICTIONS)
def test_prediction_schema_agrees_with_decoder(doc: dict[str, Any], valid: bool) -> None:
    assert _schema_ok(PRED_SCHEMA, doc) is valid
    assert _decoder_ok(decode_prediction, doc) is valid


@pytest.mark.parametrize(("doc", "valid"), OUTCOMES)
def test_outcome_schema_agrees_with_decoder(doc: dict[str, Any], valid: bool) -> None:
    assert _schema_ok(OUT_SCHEMA, doc) is valid
    assert _decoder_ok(decode_outcome, doc) is valid


@pytest.mark.parametrize(("schema", "decode"), [(PRED_SCHEMA, decode_prediction), (OUT_SCHEMA, decode_outcome)])
def test_schema_examples_decode(schema: dict[str, Any], decode: Any) -> None:
    assert schema["examples"]
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)
        decode(json.dumps(example).encode())


def test_readme_examples_decode() -> None:
    """Every ```json block of docs/events.md marked as a prediction/outcome decodes and validates."""
    doc = (SCHEMAS.parents[1] / "docs" / "events.md").read_text()
    blocks = doc.split("```json")[1:]
    assert len(blocks) >= 2
    for block in blocks:
        body = json.loads(block.split("```")[0])
        if "features" in body:
            jsonschema.Draft202012Validator(PRED_SCHEMA).validate(body)
            decode_prediction(json.dumps(body).encode())
        else:
            jsonschema.Draft202012Validator(OUT_SCHEMA).validate(body)
            decode_outcome(json.dumps(body).encode())
