"""Joint (multivariate) view of a profile: which columns the PCA detector uses and how rows become a matrix.

Per-column summaries (the profile, :class:`~detectors.window_state.WindowState`) lose how columns move together,
so the multivariate detector (:class:`~detectors.multivariate.PCAReconstruction`) works on whole rows:

* **Columns** (:func:`usable_columns`): the profile's numeric columns whose finite reference values are
  not constant, and its categorical/binary columns with at least two categories, in profile order.
* **Fitting rule** (:func:`fit_joint`): a detector is fitted when there are at least
  :data:`MIN_COLUMNS` usable columns and at least :data:`MIN_REFERENCE_ROWS` reference rows. Otherwise
  there is no multivariate detector (``None``).
* **Encoding** (:func:`joint_matrix`): numeric values as floats (nulls and values that are not numbers
  become NaN, imputed by the detector); a categorical value becomes the index of its label in the
  reference categories (sorted), an unseen label ``-1`` (frequency 0 for the detector), a null NaN.
* **Window statistic**: the mean per-row reconstruction error is a sum over rows, so a window keeps only
  ``(sum of errors, rows)`` (:class:`JointScore`), exact over every row, mergeable, two numbers to
  checkpoint; beside them, per column, the sum of its squared residuals, from which each column's share of
  the window's squared error (:meth:`~detectors.multivariate.PCAReconstruction.column_shares`) says which
  columns the drift is in. ``drifted = statistic < lower(n) or statistic > upper(n)`` (strict), the band of the
  detector for the window's row count ``n`` (count windows of any size, time windows whose counts vary);
  no verdict (``drifted = None``) below the detector's ``min_rows`` (200 by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.columns import CategoricalProfile, ColumnProfile, NumericProfile
from detectors.errors import InvalidParameterError
from detectors.kinds import to_labels, to_numeric_lenient
from detectors.multivariate import MultivariateResult, PCAReconstruction

__all__ = ["MIN_COLUMNS", "MIN_REFERENCE_ROWS", "JointScore", "fit_joint", "joint_matrix", "usable_columns"]

MIN_COLUMNS: Final = 2
#: Fewest reference rows for a detector (five cross-fit folds of 100 rows).
MIN_REFERENCE_ROWS: Final = 500


def usable_columns(columns: Mapping[str, ColumnProfile]) -> tuple[str, ...]:
    """Profile columns that carry joint information (see the module docstring), in order."""
    out = []
    for name, col in columns.items():
        if isinstance(col, NumericProfile):
            if col.n_finite > 0 and col.max > col.min:
                out.append(name)
        elif isinstance(col, CategoricalProfile) and len(col.categories) >= 2:
            out.append(name)
    return tuple(out)


def joint_matrix(
    columns: Mapping[str, ColumnProfile],
    names: Sequence[str],
    batch: pd.DataFrame | Mapping[str, Any],
    codes: Mapping[str, npt.NDArray[np.intp] | None] | None = None,
) -> npt.NDArray[np.float64]:
    """``(rows, len(names))`` float matrix of ``batch`` in the detector's encoding (module docstring).

    ``codes`` may hold, per categorical column of object values, the positions of its values (or of their
    labels) among the reference categories (-1 for a value not found, which is converted and looked up
    again; e.g. :meth:`~detectors.column_windows.CategoricalWindow.lookup_codes`), so a lookup already
    made is reused.
    """
    parts = []
    for name in names:
        col = columns[name]
        raw = batch[name]
        if isinstance(col, CategoricalProfile):
            known = codes.get(name) if codes is not None else None
            parts.append(_category_codes(_index(col.categories), raw, known))
        elif isinstance(raw, np.ndarray) and raw.dtype.kind == "f":
            parts.append(raw.astype(np.float64, copy=False))
        else:
            parts.append(to_numeric_lenient(raw)[0])
    if not parts:
        return np.empty((0, 0))
    return np.stack(parts).T  # column-major: each column written in one piece, read so by the encoding fit


@lru_cache(maxsize=256)
def _index(categories: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(categories), dtype=object)


def _category_codes(index: pd.Index, raw: Any, known: npt.NDArray[np.intp] | None = None) -> npt.NDArray[np.float64]:
    """Index of each label in ``index`` (-1 unseen, NaN null); raw strings are looked up before converting
    (``known``: that lookup, already done; a value it missed is converted, then looked up again)."""
    arr = raw.to_numpy() if isinstance(raw, pd.Series) and raw.dtype == object else raw
    if isinstance(arr, np.ndarray) and arr.dtype == object:
        codes = (index.get_indexer(arr) if known is None else known).astype(np.float64)
        miss = codes < 0
        if not miss.any():
            return codes
        labels = to_labels(pd.Series(arr[miss], dtype=object))
        found = index.get_indexer(labels).astype(np.float64)
        found[pd.isna(labels)] = np.nan
        codes[miss] = found
        return codes
    labels = to_labels(raw)
    codes = index.get_indexer(labels).astype(np.float64)
    codes[pd.isna(labels)] = np.nan
    return codes


def fit_joint(
    frame: pd.DataFrame,
    columns: Mapping[str, ColumnProfile],
    *,
    chunk_size: int | None = None,
    codes: Mapping[str, npt.NDArray[np.intp] | None] | None = None,
) -> tuple[PCAReconstruction | None, tuple[str, ...]]:
    """The fitted detector and its columns, or ``(None, ())`` when the rule of the module docstring says no.

    ``codes`` are passed to :func:`joint_matrix` (e.g. the profile build's own positions of the labels,
    :meth:`~detectors.columns.CategoricalProfile.build_with_codes`). ``chunk_size`` is no longer used
    (the band is set for each window's own size) and must be ``None``.
    """
    if chunk_size is not None:
        raise InvalidParameterError(
            "chunk_size", chunk_size, "None: the multivariate band is set for each window's own row count",
            where="fit_joint",
        )
    names = usable_columns(columns)
    if len(names) < MIN_COLUMNS or len(frame) < MIN_REFERENCE_ROWS:
        return None, ()
    matrix = joint_matrix(columns, names, frame, codes)
    cats = [i for i, name in enumerate(names) if isinstance(columns[name], CategoricalProfile)]
    return PCAReconstruction.fit(matrix, categorical_columns=cats), names


@dataclass
class JointScore:
    """Running ``(sum of reconstruction errors, rows)`` of a window for a profile's detector.

    A finite value too large to square (about 1e154 and beyond, standardized) makes the sum infinite; the
    window is then drifted with an infinite statistic (stored as ``None`` in JSON).
    """

    total: float = 0.0
    n: int = 0
    columns: npt.NDArray[np.float64] | None = None
    """Per detector column, the squared residuals of the rows (mean over the fold models), summed."""

    def add(self, detector: PCAReconstruction, matrix: npt.NDArray[np.float64]) -> None:
        if matrix.shape[0]:
            with np.errstate(over="ignore", invalid="ignore"):  # a value near 1e308 gives an infinite error
                errors, squares = detector.reconstruction_parts(matrix)
                self.total += float(errors.sum())
                self.columns = squares if self.columns is None else self.columns + squares
            self.n += int(matrix.shape[0])

    def merged(self, other: JointScore) -> JointScore:
        """The score of both windows' rows."""
        columns = self.columns if other.columns is None else other.columns if self.columns is None \
            else self.columns + other.columns
        return JointScore(self.total + other.total, self.n + other.n, columns)

    def result(self, detector: PCAReconstruction, names: Sequence[str] | None = None) -> MultivariateResult | None:
        """The window's verdict for its row count (``None`` without rows); with ``names`` (the detector's
        columns), each column's share of the squared error too (largest first)."""
        if self.n == 0:
            return None
        result = detector.result(self.total / self.n, self.n)
        if names is None or self.columns is None:
            return result
        shares = detector.column_shares(self.columns)
        order = sorted(range(len(names)), key=lambda i: (-shares[i], i))
        return replace(result, contributions={names[i]: float(shares[i]) for i in order})
