"""Run every data-quality check that applies to a column of a given kind."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, null_mask, real_numbers
from detectors.quality.categories import unseen_categories_check
from detectors.quality.constant import constant_column_check
from detectors.quality.missing import missing_rate_check
from detectors.quality.range import out_of_range_check
from detectors.quality.typecheck import type_violation_check

__all__ = ["ColumnReference", "QualityConfig", "check_column", "default_labels"]


@dataclass(frozen=True, slots=True)
class ColumnReference:
    """What the checks need to know about a column of the reference data.

    Attributes
    ----------
    kind
        ``"numeric"``, ``"categorical"`` or ``"binary"``.
    n_rows, n_missing
        Reference rows and missing values among them.
    n_distinct
        Distinct non-missing reference values.
    min, max, n_finite
        Numeric kind: range of the finite reference values and how many there were.
    categories
        Categorical/binary kinds: the complete set of reference labels.
    value_counts, n_other
        Counts of the distinct non-missing reference values (any order) and the count of values of levels
        whose counts are not kept, for the constant check's chance (see
        :func:`~detectors.quality.constant.single_value_chance`). Empty ``value_counts``: the constant
        check is not run.
    """

    kind: str
    n_rows: int
    n_missing: int
    n_distinct: int
    min: float | None = None
    max: float | None = None
    n_finite: int | None = None
    categories: frozenset[str] | None = None
    value_counts: tuple[int, ...] = ()
    n_other: int = 0

    @classmethod
    def from_profile(cls, profile: Any) -> ColumnReference:
        """Build from a column profile exposing ``kind, n_rows, n_null`` and either
        ``n_distinct, n_finite, min, max`` (numeric) or ``categories`` (categorical/binary); the reference
        value counts come from its ``values`` (numeric) or ``counts`` and ``n_other`` (categorical) when
        it has them (:class:`~detectors.columns.NumericProfile`, :class:`~detectors.columns.CategoricalProfile`)."""
        if profile.kind == "numeric":
            return cls(
                kind="numeric",
                n_rows=int(profile.n_rows),
                n_missing=int(profile.n_null),
                n_distinct=int(profile.n_distinct),
                min=float(profile.min),
                max=float(profile.max),
                n_finite=int(profile.n_finite),
                value_counts=_value_counts(getattr(profile, "values", ())),
            )
        categories = frozenset(str(c) for c in profile.categories)
        return cls(
            kind=str(profile.kind),
            n_rows=int(profile.n_rows),
            n_missing=int(profile.n_null),
            n_distinct=len(categories),
            categories=categories,
            value_counts=tuple(int(c) for c in getattr(profile, "counts", ())),
            n_other=int(getattr(profile, "n_other", 0)),
        )


def _value_counts(values: ArrayLike) -> tuple[int, ...]:
    arr = np.asarray(values, dtype=np.float64)
    return tuple(int(c) for c in np.unique(arr[np.isfinite(arr)], return_counts=True)[1])


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """Parameters of the checks run by :func:`check_column` (see each check for its rule)."""

    missing_alpha: float = 0.001
    missing_min_abs_change: float = 0.01
    range_alpha: float = 0.001
    range_max_share: float = 0.0
    unseen_min_count: int = 1
    unseen_max_share: float = 0.0
    constant_min_rows: int = 2
    constant_alpha: float = 0.001
    allow_inf: bool = False
    max_examples: int = 5


def _label(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "True" if v else "False"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if math.isfinite(f) and f.is_integer() and abs(f) < 2**53 else repr(f)
    return str(v)


def default_labels(values: ArrayLike) -> NDArray[np.object_]:
    """Labels for categorical/binary checks, ``None`` for missing values.

    The labelling rule of ``detectors.kinds.to_labels``: ``"True"``/``"False"`` for booleans, integral
    numbers without a decimal point (``1.0`` -> ``"1"``), other floats with ``repr``, everything else
    with ``str``. Pass the profile's own labels to :func:`check_column` when you have them.

    >>> default_labels([1.0, None, "a", True, 2.5]).tolist()
    ['1', None, 'a', 'True', '2.5']
    """
    arr = as_values(values)
    missing = null_mask(arr)
    out = np.empty(arr.size, dtype=object)
    for i, v in enumerate(arr):
        out[i] = None if missing[i] else _label(v)
    return out


def check_column(
    column: str,
    values: ArrayLike,
    reference: ColumnReference,
    *,
    labels: ArrayLike | None = None,
    config: QualityConfig | None = None,
    reference_categories: Collection[str] | None = None,
) -> tuple[QualityResult, ...]:
    """All applicable checks for one column, in a fixed order.

    ``values`` are the raw current values (so type violations can be seen). For every kind: missing
    rate, type violations. Numeric: out-of-range (on the real numbers; ``±inf`` counts only when
    ``allow_inf``, otherwise it is a type violation) and constant column. Categorical/binary: unseen
    categories and constant column, on ``labels`` (default: :func:`default_labels` of ``values``).
    A check whose reference information is absent (no range, no categories, no value counts) is skipped.

    >>> ref = ColumnReference(kind="numeric", n_rows=1000, n_missing=0, n_distinct=900,
    ...                       min=0.0, max=10.0, n_finite=1000, value_counts=(1,) * 900)
    >>> results = check_column("x", [1.0, 2.0, "oops", None] * 50, ref)
    >>> [(r.check, r.triggered) for r in results]
    [('missing_rate', True), ('type_violations', True), ('out_of_range', False), ('constant', False)]
    """
    cfg = config or QualityConfig()
    if reference.kind not in ("numeric", "categorical", "binary"):
        raise InvalidParameterError(
            "reference.kind", reference.kind, "numeric, categorical or binary", where=f"check_column({column!r})"
        )
    raw = as_values(values)
    results = _every_kind(column, raw, reference, cfg)
    if reference.kind == "numeric":
        return tuple(results + _numeric(column, raw, reference, cfg))
    current_labels = default_labels(raw) if labels is None else as_values(labels)
    categories = reference_categories if reference_categories is not None else reference.categories
    return tuple(results + _categorical(column, current_labels, categories, reference, cfg))


def _every_kind(column: str, raw: NDArray[Any], reference: ColumnReference, cfg: QualityConfig) -> list[QualityResult]:
    """The checks of every kind: missing rate, type violations."""
    return [
        missing_rate_check(
            column,
            raw,
            reference_missing=reference.n_missing,
            reference_rows=reference.n_rows,
            alpha=cfg.missing_alpha,
            min_abs_change=cfg.missing_min_abs_change,
        ),
        type_violation_check(column, raw, kind=reference.kind, allow_inf=cfg.allow_inf, max_examples=cfg.max_examples),
    ]


def _numeric(column: str, raw: NDArray[Any], reference: ColumnReference, cfg: QualityConfig) -> list[QualityResult]:
    """The numeric checks, on the real numbers (``±inf`` only when ``allow_inf``): out-of-range (when the
    reference range is known), constant column."""
    numbers = real_numbers(raw)
    if not cfg.allow_inf:
        numbers[np.isinf(numbers)] = np.nan
    results = []
    if reference.min is not None and reference.max is not None:
        results.append(
            out_of_range_check(
                column,
                numbers,
                reference_min=reference.min,
                reference_max=reference.max,
                reference_count=reference.n_finite or (reference.n_rows - reference.n_missing),
                alpha=cfg.range_alpha,
                max_share=cfg.range_max_share,
                max_examples=cfg.max_examples,
            )
        )
    return results + _constant(column, numbers, reference, cfg)


def _categorical(
    column: str,
    current_labels: NDArray[Any],
    categories: Collection[str] | None,
    reference: ColumnReference,
    cfg: QualityConfig,
) -> list[QualityResult]:
    """The categorical/binary checks, on the labels: unseen categories (when the reference categories are
    known), constant column."""
    results = []
    if categories is not None:
        results.append(
            unseen_categories_check(
                column,
                current_labels,
                reference_categories=categories,
                min_count=cfg.unseen_min_count,
                max_share=cfg.unseen_max_share,
                max_examples=cfg.max_examples,
            )
        )
    return results + _constant(column, current_labels, reference, cfg)

def _constant(column: str, values: ArrayLike, reference: ColumnReference, cfg: QualityConfig) -> list[QualityResult]:
    """The constant check, when the reference's value counts are known."""
    if not reference.value_counts:
        return []
    return [constant_column_check(
        column, values, reference_counts=reference.value_counts, reference_distinct=reference.n_distinct,
        reference_other=reference.n_other, alpha=cfg.constant_alpha, min_rows=cfg.constant_min_rows,
    )]  # fmt: skip
