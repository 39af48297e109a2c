"""Why bytes are not a valid event: the field-and-value diagnosis (slow path, only for bad input).

A decoder calls :func:`diagnose` with the msgspec error of a failed decode; it re-reads the bytes to name the
bad field and its value. A message that nests deeper than the decoder can read (msgspec raises
``RecursionError`` at about Python's recursion limit) gets :func:`too_deep`, which measures the nesting
without recursion.
"""

from __future__ import annotations

import json
import math
import re
import sys
from decimal import Decimal
from typing import Annotated, Any, Final

import msgspec
import numpy as np

from monitor.events.contract import EventDecodeError, FeatureValue, OutcomeValue, Probability

__all__ = ["diagnose", "nesting", "oversized", "too_deep"]

_AT_PATH = re.compile(r" - at `(?P<path>[^`]+)`")
_KEY_IN = re.compile(r" - at `key` in `(?P<path>[^`]+)`")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")
_ITEM = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\.\.\.)\]")

_VALUE_TYPES: Final[dict[str, Any]] = {
    "features": FeatureValue,
    "prediction": Probability,
    "segments": Annotated[str, msgspec.Meta(max_length=200)],
    "outcomes": OutcomeValue,
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def oversized(raw: bytes, max_bytes: int) -> EventDecodeError:
    return EventDecodeError(
        f"message of {len(raw)} bytes exceeds the limit of {max_bytes} bytes",
        kind="oversized",
        value=str(len(raw)),
    )


_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEY_END: Final = re.compile(rb"\s*:")
_OPENS, _CLOSES = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def nesting(raw: bytes) -> tuple[int, str | None]:
    """The deepest nesting of ``raw`` and the top-level key it is under (``None``: not under a key).

    Depth counts the brackets ``[``/``{`` open at a byte, outside strings: ``{"a": [1]}`` nests 2 levels deep
    under ``a``. Vectorised (a few milliseconds for 1 MiB), for messages that failed to decode.

    >>> nesting(b'{"model": "m", "a": {"b": [[1]], "c": "[[[["}}')
    (4, 'a')
    """
    masked = _STRING.sub(lambda m: b" " * len(m[0]), raw)
    chars = np.frombuffer(masked, np.uint8)
    if not len(chars):
        return 0, None
    depth = np.cumsum(np.isin(chars, _OPENS), dtype=np.int64) - np.cumsum(np.isin(chars, _CLOSES), dtype=np.int64)
    deepest = int(np.argmax(depth))
    field = None
    if masked.lstrip()[:1] == b"{":  # an object: the last top-level key before the deepest byte
        for m in _STRING.finditer(raw, 0, deepest):
            if depth[m.start()] == 1 and _KEY_END.match(raw, m.end()):
                field = m[0]
    name = None
    if field is not None:
        try:
            name = str(json.loads(field))
        except ValueError:
            name = field[1:-1].decode("utf-8", "replace")
    return int(depth[deepest]), name


def too_deep(raw: bytes, label: str) -> EventDecodeError:
    """The error of a message that nests deeper than the decoder reads (``RecursionError`` in a decode)."""
    depth, field = nesting(raw)
    where = f" in field {field!r}" if field is not None else ""
    return EventDecodeError(
        f"{label} nests {depth} levels deep{where}: deeper than the decoder reads (about Python's "
        f"recursion limit, {sys.getrecursionlimit()} levels)",
        kind="too_deep",
        field=field,
        value=str(depth),
    )


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _unreadable(obj: Any, path: str = "") -> tuple[str, Any] | None:
    """The first value (or key) that JSON allows but msgspec does not: a non-finite number or a string with a
    lone surrogate; as (dotted field, value)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path, obj)
    if isinstance(obj, str):
        return (path, obj) if not obj.isascii() and _SURROGATE.search(obj) else None
    if isinstance(obj, dict):
        for key, value in obj.items():
            where = f"{path}.{key}" if path else str(key)
            found = _unreadable(key, where) if not key.isascii() else None
            found = found or _unreadable(value, where)
            if found:
                return found
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            found = _unreadable(value, f"{path}[{i}]")
            if found:
                return found
    return None


def _parse_int(text: str) -> int | Decimal:
    """``int(text)``, but a :class:`~decimal.Decimal` beyond the 4300 digits ``int`` reads from text."""
    return int(text) if len(text) < 4300 else Decimal(text)


def _walk(obj: Any, path: str) -> tuple[str, Any]:
    """Follow a msgspec path like ``$.features[...]`` in ``obj``; returns (dotted field, value)."""
    parts: list[str] = []
    for match in _ITEM.finditer(path.removeprefix("$")):
        name, index = match.group(1), match.group(2)
        if name is not None:
            parts.append(name)
            obj = obj.get(name) if isinstance(obj, dict) else None
        elif index == "...":
            # A dict value failed: find the first entry that does not convert to the expected type.
            expected = _VALUE_TYPES.get(parts[0]) if parts else None
            if isinstance(obj, dict) and expected is not None:
                for key, value in obj.items():
                    try:
                        msgspec.convert(value, expected)
                    except msgspec.ValidationError:
                        parts.append(str(key))
                        obj = value
                        break
        elif isinstance(obj, list) and index is not None and int(index) < len(obj):
            parts.append(index)
            obj = obj[int(index)]
    return ".".join(parts), obj


def diagnose(raw: bytes, exc: Exception, label: str) -> EventDecodeError:
    """Turn a msgspec error into an :class:`EventDecodeError` naming the bad field and value (``label``: what
    was decoded, e.g. ``"prediction event"``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return EventDecodeError(
            f"{label} is not UTF-8 text: byte {raw[bad.start:bad.start + 1]!r} at position {bad.start}",
            kind="malformed",
            value=_short(raw[:40]),
        )
    try:
        generic = json.loads(text, parse_int=_parse_int)  # accepts NaN/Infinity, so we can name them
        found = _unreadable(generic)
    except ValueError as bad:
        return EventDecodeError(f"{label} is not valid JSON: {bad}", kind="malformed", value=_short(text[:40]))
    except RecursionError:
        return too_deep(raw, label)
    if found is not None and isinstance(found[1], float):
        field, number = found
        return EventDecodeError(
            f"{label} field {field!r} is {number!r}, but only finite numbers are allowed",
            kind="not_finite",
            field=field,
            value=repr(number),
        )
    if found is not None:
        field, string = found
        return EventDecodeError(
            f"{label} field {field!r} has a lone UTF-16 surrogate (not valid Unicode): {_short(string)}",
            kind="malformed",
            field=field,
            value=_short(string),
        )
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return EventDecodeError(f"{label} is not valid JSON: {message}", kind="malformed", value=_short(text[:40]))
    return _invalid(label, message, generic, text)


def _invalid(label: str, message: str, generic: Any, text: str) -> EventDecodeError:
    """The error of a msgspec validation ``message`` about the JSON ``text`` (parsed: ``generic``)."""
    missing = _MISSING.search(message)
    if missing:
        where = ""
        at = _AT_PATH.search(message)
        if at:
            where = f" in {_walk(generic, at.group('path'))[0]!r}"
        field = missing.group("field")
        return EventDecodeError(
            f"{label} is missing the required field {field!r}{where}", kind="missing_field", field=field
        )
    key_in = _KEY_IN.search(message)
    if key_in:
        field, container = _walk(generic, key_in.group("path"))
        bad_keys = [k for k in container if not k or len(k) > 200] if isinstance(container, dict) else []
        value = _short(bad_keys[0]) if bad_keys else None
        problem = message.split(" - at ")[0]
        return EventDecodeError(
            f"{label} field {field!r} has an invalid key {value}: {problem}",
            kind="invalid_value",
            field=field,
            value=value,
        )
    at = _AT_PATH.search(message)
    if at:
        field, value = _walk(generic, at.group("path"))
        problem = message.split(" - at ")[0]
        kind = "wrong_type" if problem.startswith("Expected `") and ", got `" in problem else "invalid_value"
        return EventDecodeError(
            f"{label} field {field!r} has value {_short(value)}: {problem}",
            kind=kind,
            field=field,
            value=_short(value),
        )
    return EventDecodeError(
        f"{label} is invalid: {message} (value {_short(text[:40])})", kind="wrong_type", value=_short(text[:40])
    )
