"""Turn a decoded event into one clean row of a window frame (pure, never raises on bad values).

A value that does not fit its column's kind becomes missing (``None``) and is counted in
``RowStats.coerced`` per column, so one bad feature never crashes the watcher or poisons a window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from monitor.config import ModelConfig
from monitor.events import OutcomeEvent, PredictionEvent

if TYPE_CHECKING:
    from monitor.pipeline.model_state import ModelState

__all__ = ["binary_labels", "event_outcome_fields", "event_row", "prediction_columns", "prediction_values",
           "state_row"]

Row = dict[str, Any]


def _numeric(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return float(value) if isinstance(value, bool) else None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            x = float(value)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    return None


def _binary(value: Any) -> str | None:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return "True"
        if low in ("false", "0", "no"):
            return "False"
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float) and value in (0, 1):
        return "True" if value == 1 else "False"
    return None


_CONVERT = {"numeric": _numeric, "categorical": _label, "binary": _binary}


def coerce(kind: str, value: Any) -> Any:
    """``value`` converted to column ``kind`` (numbers -> float, labels -> str), or ``None``.

    >>> coerce("numeric", "3.5"), coerce("numeric", "abc"), coerce("categorical", 2.0), coerce("binary", 1)
    (3.5, None, '2', 'True')
    """
    return _CONVERT.get(kind, _label)(value)


def prediction_columns(model: ModelConfig, prediction: Any) -> Row:
    """The prediction as frame columns (see :class:`monitor.config.PredictionConfig`).

    >>> from monitor.config import ModelConfig, PredictionConfig
    >>> m = ModelConfig(name="m", features={"x": "numeric"}, prediction=PredictionConfig(kind="probabilities"))
    >>> prediction_columns(m, {"a": 0.2, "b": 0.8})
    {'prediction': 'b', 'prediction_score': 0.8}
    """
    col = model.prediction.column
    kind = model.prediction.kind
    if isinstance(prediction, Mapping):
        probs = {str(k): _numeric(v) for k, v in prediction.items()}
        valid = {k: v for k, v in probs.items() if v is not None}
        top = max(valid, key=lambda k: valid[k]) if valid else None
        if kind == "score":
            return {col: valid[top] if top is not None else None}
        if kind == "class":
            return {col: top}
        return {col: top, f"{col}_score": valid[top] if top is not None else None}
    if kind == "score":
        return {col: _numeric(prediction)}
    if kind == "class":
        return {col: _label(prediction)}
    return {col: _label(prediction), f"{col}_score": None}


def prediction_values(model: ModelConfig, prediction: Any) -> tuple[Any, ...]:
    """The values of :func:`prediction_columns` (in their order).

    >>> from monitor.config import ModelConfig
    >>> prediction_values(ModelConfig(name="m", features={"x": "numeric"}), 0.25)
    (0.25,)
    """
    if type(prediction) is float and model.prediction.kind == "score" and prediction - prediction == 0.0:
        return (prediction,)
    return tuple(prediction_columns(model, prediction).values())


def binary_labels(values: tuple[Any, ...], index: tuple[int, ...]) -> tuple[Any, ...]:
    """``values`` with the bools/``None`` at ``index`` as binary labels (what :func:`event_row` makes of them).

    >>> binary_labels((1.0, True, None, False), (1, 2, 3))
    (1.0, 'True', None, 'False')
    """
    out = list(values)
    for i in index:
        v = out[i]
        if v is not None:
            out[i] = "True" if v else "False"
    return tuple(out)


def event_row(model: ModelConfig, features: Mapping[str, Any], prediction: Any, coerced: Counter[str]) -> Row:
    """One frame row: every configured feature (missing -> ``None``) plus the prediction columns.

    The common cases (a finite float or an int for a numeric column, a string for a categorical one) skip
    :func:`coerce`; everything else goes through it, with the same result.

    >>> from monitor.config import ModelConfig
    >>> m = ModelConfig(name="m", features={"x": "numeric", "c": "categorical", "b": "binary"})
    >>> seen = Counter()
    >>> event_row(m, {"x": 3, "c": "tv", "b": "yes"}, 0.5, seen), event_row(m, {"x": "?", "c": 2.0}, 0.1, seen)
    ({'x': 3.0, 'c': 'tv', 'b': 'True', 'prediction': 0.5}, {'x': None, 'c': '2', 'b': None, 'prediction': 0.1})
    >>> dict(seen)
    {'x': 1}
    """
    row: Row = {}
    get = features.get
    for name, kind in model.features.items():
        raw = get(name)
        if raw is None:
            row[name] = None
            continue
        t = type(raw)
        if kind == "numeric":
            if t is float:
                if raw - raw == 0.0:  # finite (inf - inf and nan - nan are nan)
                    row[name] = raw
                    continue
            elif t is int:
                row[name] = float(raw)
                continue
        elif t is str and kind == "categorical":
            row[name] = raw
            continue
        value = coerce(kind, raw)
        if value is None:
            coerced[name] += 1
        row[name] = value
    row.update(prediction_columns(model, prediction))
    return row


def event_outcome_fields(event: OutcomeEvent) -> dict[str, Any]:
    """The joinable fields of an outcome event: its ``outcomes`` mapping plus ``label`` when present."""
    fields: dict[str, Any] = dict(event.outcomes)
    if event.label is not None:
        fields.setdefault("label", event.label)
    return fields


_astuple = msgspec.structs.astuple


def state_row(state: ModelState, event: PredictionEvent) -> tuple[Any, ...]:
    """The event's row: values in ``state.columns`` order, as :func:`event_row` makes them."""
    features = event.features
    kind = type(features)
    if kind is not state.typed_features and kind.typed and state.plain_rows and kind.names == tuple(
            name for name, _ in state.feature_spec) and kind.kinds == tuple(k for _, k in state.feature_spec):
        state.typed_features = kind
    if kind is state.typed_features:  # decoded with this configuration's features: typed, nothing to coerce
        values = _astuple(features)
        if state.binary_index:
            values = binary_labels(values, state.binary_index)
        prediction = event.prediction
        if type(prediction) is float and state.score_prediction:  # (finite: a FiniteFloat)
            return (*values, prediction)
        return values + prediction_values(state.config, prediction)
    return tuple(event_row(state.config, event.feature_dict, event.prediction, state.coerced).values())
