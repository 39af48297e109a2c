"""Column kinds (numeric, categorical, binary): inference from a pandas column and label conversion.

Inference rules (overridable per column with ``ReferenceProfile.build(kinds=...)``):

- ``bool`` → binary;
- integer or float with at most 2 distinct non-null values → binary;
- integer with at most 10 distinct values → categorical (codes, not quantities; the same cut as
  Evidently 0.7's ``INTEGER_CARDINALITY_LIMIT``);
- other integers and floats → numeric;
- strings, objects and pandas ``category`` → categorical (binary when at most 2 distinct values);
  an object column whose values are all numbers is treated as numeric data.

Categories are stored as strings (labels): ``True``/``False`` for booleans, integral numbers without a
decimal point (``1.0`` → ``"1"``, so a reference of ints and a current of floats with nulls agree), other
floats with ``repr``, everything else with ``str``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.errors import IncompatibleTypeError, UnknownNameError

__all__ = ["KINDS", "infer_kind", "to_labels", "to_numeric", "to_numeric_lenient"]

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
BINARY: Final = "binary"
KINDS: Final[tuple[str, ...]] = (NUMERIC, CATEGORICAL, BINARY)
INTEGER_CARDINALITY_LIMIT: Final = 10
_HEAD: Final = 1024


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownNameError("kind", kind, KINDS)
    return kind


def infer_kind(series: pd.Series) -> str:
    """The kind of a column (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> infer_kind(pd.Series([0.5, 1.5, 2.5])), infer_kind(pd.Series(["a", "b", "c"]))
    ('numeric', 'categorical')
    >>> infer_kind(pd.Series([1, 0, 1])), infer_kind(pd.Series(range(20)))
    ('binary', 'numeric')
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BINARY
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return NUMERIC
    values = _non_null(series)
    if isinstance(dtype, pd.CategoricalDtype):
        return BINARY if _few_distinct(values, 2) is not None else CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        if _few_distinct(values, 2) is not None:
            return BINARY
        if pd.api.types.is_integer_dtype(dtype) and _few_distinct(values, INTEGER_CARDINALITY_LIMIT) is not None:
            return CATEGORICAL
        return NUMERIC
    if values.size and pd.api.types.is_object_dtype(dtype) and all(isinstance(v, int | float) for v in values[:1000]):
        numeric = pd.to_numeric(values, errors="coerce")
        if not pd.isna(numeric).any():
            return infer_kind(pd.Series(numeric))
    return BINARY if _few_distinct(values, 2) is not None else CATEGORICAL


def _non_null(series: pd.Series) -> npt.NDArray[Any]:
    """``series.dropna().to_numpy()``; for a numpy dtype, without building a Series."""
    if not isinstance(series.dtype, np.dtype):
        return series.dropna().to_numpy()
    values = series.to_numpy()
    null = pd.isna(values)
    return values[~null] if null.any() else values


def _few_distinct(values: npt.NDArray[Any], limit: int) -> int | None:
    """The number of distinct values of ``values`` (no nulls) if it is at most ``limit``, else ``None``.

    ``limit`` vectorised passes of comparisons instead of hashing every value (a column with many
    distinct values is rejected after ``limit + 1`` passes over a shrinking remainder), on the first
    ``_HEAD`` values first: more than ``limit`` distinct values there are more than ``limit`` in all.
    """
    if values.size > _HEAD and _few_distinct(values[:_HEAD], limit) is None:
        return None
    rest = values
    count = 0
    while rest.size:
        count += 1
        if count > limit:
            return None
        rest = rest[rest != rest[0]]
    return count


def to_numeric(values: pd.Series | npt.ArrayLike, *, column: str, source: str) -> npt.NDArray[np.float64]:
    """Float64 values of a column for a numeric kind (nulls → NaN; datetimes → ns since epoch)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":  # no pandas round trip
        return values if values.dtype == np.float64 else values.astype(np.float64)
    ser = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    dtype = ser.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return ser.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        ints = ser.to_numpy(dtype="int64", na_value=np.iinfo(np.int64).min)
        out = ints.astype(np.float64)
        out[ints == np.iinfo(np.int64).min] = np.nan
        return out
    try:
        return pd.to_numeric(ser, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise IncompatibleTypeError(column, source, NUMERIC, str(dtype)) from exc


def to_numeric_lenient(values: pd.Series | npt.ArrayLike) -> tuple[npt.NDArray[np.float64], int]:
    """Like :func:`to_numeric`, but values that are not numbers become NaN and are counted (second item).

    Examples
    --------
    >>> x, bad = to_numeric_lenient(pd.Series([1, "2.5", "oops", None], dtype=object))
    >>> x.tolist()[:2], bad
    ([1.0, 2.5], 1)
    """
    try:
        return to_numeric(values, column="", source=""), 0
    except IncompatibleTypeError:
        ser = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
        coerced = pd.to_numeric(ser, errors="coerce")
        invalid = int((coerced.isna() & ser.notna()).sum())
        return coerced.to_numpy(dtype=np.float64, na_value=np.nan), invalid


def to_labels(values: pd.Series | npt.ArrayLike) -> npt.NDArray[np.object_]:
    """String labels of a column for categorical/binary kinds, ``None`` for nulls.

    Examples
    --------
    >>> import pandas as pd
    >>> to_labels(pd.Series([1.0, None, 2.0])).tolist(), to_labels(pd.Series([True, False])).tolist()
    (['1', None, '2'], ['True', 'False'])
    """
    ser = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    if isinstance(ser.dtype, pd.CategoricalDtype):
        cats = to_labels(pd.Series(ser.cat.categories.to_numpy()))
        codes = ser.cat.codes.to_numpy()
        out = np.empty(len(ser), dtype=object)
        valid = codes >= 0
        out[valid] = cats[codes[valid]]
        out[~valid] = None
        return out
    dtype = ser.dtype
    mask = ser.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        out = np.where(ser.to_numpy(dtype=bool, na_value=False), "True", "False").astype(object)
    elif pd.api.types.is_integer_dtype(dtype):
        out = ser.astype("Int64").astype(str).to_numpy(dtype=object)
    elif pd.api.types.is_float_dtype(dtype):
        arr = ser.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(arr)
        if np.all(arr[finite] == np.round(arr[finite])) and np.all(np.abs(arr[finite]) < 2**53):
            out = np.empty(arr.size, dtype=object)
            out[finite] = arr[finite].astype(np.int64).astype(str)
            out[~finite] = [repr(float(v)) for v in arr[~finite]]
        else:
            out = np.array([repr(float(v)) for v in arr], dtype=object)
    elif pd.api.types.is_object_dtype(dtype) and (len(ser) == 0 or _all_str(ser, mask)):
        out = ser.to_numpy(dtype=object).copy()
    else:
        out = np.array([_label(v) for v in ser.to_numpy(dtype=object)], dtype=object)
    out[mask] = None
    return out


def _all_str(ser: pd.Series, mask: npt.NDArray[np.bool_]) -> bool:
    vals = ser.to_numpy(dtype=object)[~mask]
    return bool(pd.api.types.infer_dtype(vals, skipna=True) in ("string", "empty"))


def _label(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, float | np.floating) and float(value).is_integer() and abs(float(value)) < 2**53:
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)
