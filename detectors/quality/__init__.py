"""Data-quality checks that drift tests miss: pure functions on arrays, explicit reference arguments.

Each check returns a frozen :class:`QualityResult` (check, column, value, threshold, triggered,
message, ...) and states its exact rule in its docstring:

- :func:`missing_rate_check`: nulls are counted; two-proportion z-test plus an absolute-change floor;
- :func:`out_of_range_check`: values outside the reference [min, max], exact exchangeability test;
- :func:`unseen_categories_check`: categories absent from the reference, which ones and how often;
- :func:`constant_column_check`: a column that varied in the reference and is constant now;
- :func:`type_violation_check`: text in a numeric column, infinity, non-integral floats as categories;
- :func:`check_column`: all of the above that apply to a column kind, given a :class:`ColumnReference`.

Every check has a ``*_from_counts`` twin taking the tallies a streaming window state keeps (missing
count, unseen-label counts, ...) instead of raw values; the array version counts, then calls it, so the
rule and the message live in one place.
"""

from __future__ import annotations

from detectors.quality._result import QualityResult
from detectors.quality.categories import unseen_categories_check, unseen_categories_from_counts
from detectors.quality.column import ColumnReference, QualityConfig, check_column, default_labels
from detectors.quality.constant import constant_column_check, constant_from_counts
from detectors.quality.missing import missing_rate_check, missing_rate_from_counts, two_proportion_p_value
from detectors.quality.range import out_of_range_check, out_of_range_from_counts, outside_range_p_value
from detectors.quality.typecheck import type_violation_check, type_violations_from_counts

__all__ = [
    "ColumnReference",
    "QualityConfig",
    "QualityResult",
    "check_column",
    "constant_column_check",
    "constant_from_counts",
    "default_labels",
    "missing_rate_check",
    "missing_rate_from_counts",
    "out_of_range_check",
    "out_of_range_from_counts",
    "outside_range_p_value",
    "two_proportion_p_value",
    "type_violation_check",
    "type_violations_from_counts",
    "unseen_categories_check",
    "unseen_categories_from_counts",
]
