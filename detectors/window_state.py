"""The running state of one model window: :class:`WindowState`.

Format of ``to_bytes``: the ``.npz`` container of :mod:`detectors._container` with
``format = "driftwarden-window"``, ``format_version = 1``; the header holds ``profile_hash``, the bounds,
the generator state and per-column counters; the arrays are ``c<i>.values`` / ``c<i>.priorities`` /
``c<i>.bin_counts`` (numeric) and ``c<i>.counts`` (categorical). ``joint = [sum, rows]`` (optional, 0 when
absent) is the running multivariate score of :mod:`detectors.joint`, ``joint_columns`` (optional) its
per-column sums of squared residuals; ``multivariate`` (optional, true when absent) whether updates feed it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors._container import pack, unpack
from detectors.column_windows import CategoricalWindow, NumericWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.errors import InvalidParameterError, MissingColumnError, ProfileFormatError, ProfileMismatchError
from detectors.joint import JointScore, joint_matrix
from detectors.kinds import to_numeric
from detectors.multivariate import MultivariateResult
from detectors.profile import DEFAULT_MAX_VALUES, ReferenceProfile

__all__ = ["DEFAULT_MAX_UNSEEN", "WINDOW_FORMAT", "WindowState"]

WINDOW_FORMAT: Final = "driftwarden-window"
WINDOW_FORMAT_VERSION: Final = 1
DEFAULT_MAX_UNSEEN: Final = 1000


class WindowState:
    """Mergeable per-column state of the current data of one window.

    Nulls are counted, never dropped silently; memory per column is bounded (see
    :mod:`detectors.column_windows`): numeric columns keep all finite values up to ``max_values``, then a
    uniform sample of ``max_values``; categorical columns keep exact counts.

    Joint rows are not kept: when the profile has a multivariate detector and the state tracks all of its
    columns, every update adds its rows' reconstruction errors to a running sum (:attr:`joint`, exact over
    all rows, whatever ``max_values``); :meth:`multivariate` is the window's verdict.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ref = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    >>> profile = ReferenceProfile.build(ref)
    >>> a = WindowState.empty(profile, seed=0)
    >>> a.update({"x": np.array([1.0, np.nan]), "c": np.array(["a", "z"], dtype=object)})
    >>> b = WindowState.empty(profile, seed=1)
    >>> b.update(pd.DataFrame({"x": [3.0], "c": [None]}))
    >>> m = a.merge(b)
    >>> m.n_rows, m.numeric("x").n_null, m.categorical("c").unseen, m.categorical("c").n_null
    (3, 1, {'z': 1}, 1)
    """

    def __init__(
        self,
        profile: ReferenceProfile,
        *,
        max_values: int = DEFAULT_MAX_VALUES,
        max_unseen: int = DEFAULT_MAX_UNSEEN,
        seed: int | None = None,
        columns: Sequence[str] | None = None,
        multivariate: bool = True,
    ) -> None:
        if max_values < 1 or max_unseen < 0:
            raise InvalidParameterError(
                "max_values/max_unseen",
                (max_values, max_unseen),
                "max_values >= 1, max_unseen >= 0",
                where="WindowState",
            )
        self.profile_hash = profile.content_hash
        self.max_values = int(max_values)
        self.max_unseen = int(max_unseen)
        self._profile = profile
        self._rng = np.random.default_rng(seed)
        self._n_rows = 0
        self._columns: dict[str, NumericWindow | CategoricalWindow] = {}
        self.joint = JointScore()
        self.track_joint = bool(multivariate)
        """Whether updates feed :attr:`joint` (off: no multivariate verdict, and no PCA cost per batch)."""
        wanted = profile.names if columns is None else tuple(columns)
        for name in wanted:
            col = profile[name]
            if isinstance(col, NumericProfile):
                self._columns[col.name] = NumericWindow.empty(col, self.max_values)
            else:
                self._columns[col.name] = CategoricalWindow.empty(col, self.max_unseen)

    @classmethod
    def empty(
        cls,
        profile: ReferenceProfile,
        *,
        max_values: int = DEFAULT_MAX_VALUES,
        max_unseen: int = DEFAULT_MAX_UNSEEN,
        seed: int | None = None,
        columns: Sequence[str] | None = None,
        multivariate: bool = True,
    ) -> WindowState:
        """A state with no rows for ``profile``.

        ``seed`` makes the sampling above ``max_values`` repeatable; ``columns`` restricts the state to
        some profile columns (default: all); ``multivariate=False`` skips the joint score (a state whose
        multivariate verdict is not wanted, e.g. a segment's).
        """
        return cls(profile, max_values=max_values, max_unseen=max_unseen, seed=seed, columns=columns,
                   multivariate=multivariate)

    @classmethod
    def from_frame(
        cls,
        profile: ReferenceProfile,
        frame: pd.DataFrame | Mapping[str, Any],
        *,
        columns: Sequence[str] | None = None,
        source: str = "current data",
    ) -> WindowState:
        """An exact state of a whole in-memory frame (``max_values`` = its row count).

        ``source`` names the data in error messages (e.g. the file it came from).
        """
        n = len(frame) if isinstance(frame, pd.DataFrame) else max((len(v) for v in frame.values()), default=1)
        state = cls(profile, max_values=max(n, 1), seed=0, columns=columns)
        state.update(frame, source=source)
        return state

    # ------------------------------------------------------------------ access
    @property
    def n_rows(self) -> int:
        """Rows seen (nulls included)."""
        return self._n_rows

    @property
    def profile(self) -> ReferenceProfile:
        return self._profile

    @property
    def names(self) -> tuple[str, ...]:
        """The profile columns this state tracks."""
        return tuple(self._columns)

    def numeric(self, name: str) -> NumericWindow:
        col = self._column(name)
        if not isinstance(col, NumericWindow):
            raise InvalidParameterError("name", name, "a numeric column", where="WindowState.numeric")
        return col

    def categorical(self, name: str) -> CategoricalWindow:
        col = self._column(name)
        if not isinstance(col, CategoricalWindow):
            raise InvalidParameterError("name", name, "a categorical or binary column", where="WindowState.categorical")
        return col

    @property
    def _joint_on(self) -> bool:
        p = self._profile
        return (self.track_joint and p.multivariate is not None
                and all(n in self._columns for n in p.multivariate_columns))

    def multivariate(self) -> MultivariateResult | None:
        """The multivariate verdict of the rows seen, or ``None`` (no detector in the profile, a state
        restricted to fewer columns than the detector's, or no rows)."""
        detector = self._profile.multivariate
        if detector is None or not self._joint_on:
            return None
        return self.joint.result(detector, self._profile.multivariate_columns)

    def _column(self, name: str) -> NumericWindow | CategoricalWindow:
        try:
            return self._columns[name]
        except KeyError:
            raise MissingColumnError(name, "the window state") from None

    # ------------------------------------------------------------------ updates
    def update(
        self, batch: pd.DataFrame | Mapping[str, Any], *, source: str = "current data", strict: bool = True
    ) -> None:
        """Add a batch: a DataFrame or a mapping of column name → 1-D array (every profile column required).

        A value that is not a number in a numeric column raises :class:`IncompatibleTypeError` (naming
        ``source``); with ``strict=False`` it is counted (``numeric(name).n_invalid``, reported as a
        type-violation finding) instead, so one bad record cannot stop a stream.
        """
        lengths = set()
        for name in self._columns:
            if name not in batch:
                raise MissingColumnError(name, source)
            lengths.add(len(batch[name]))
        if len(lengths) > 1:
            raise InvalidParameterError("batch", sorted(lengths), "columns of equal length", where=source)
        values_by_name = {name: batch[name] for name in self._columns}
        if strict:  # convert first, so a bad column leaves the whole state untouched
            for name, col in self._columns.items():
                if isinstance(col, NumericWindow):
                    values_by_name[name] = to_numeric(values_by_name[name], column=name, source=source)
        # categorical values are looked up once, for the joint matrix and the counts
        codes = {name: col.lookup_codes(values_by_name[name])
                 for name, col in self._columns.items() if isinstance(col, CategoricalWindow)}
        matrix = None
        detector = self._profile.multivariate
        if detector is not None and self._joint_on:
            matrix = joint_matrix(self._profile.columns, self._profile.multivariate_columns, values_by_name, codes)
        for name, col in self._columns.items():
            values = values_by_name[name]
            if isinstance(col, NumericWindow):
                col.update(values, self._rng, source=source, strict=strict)
            else:
                col.update(values, source=source, codes=codes[name])
        if matrix is not None and detector is not None:
            self.joint.add(detector, matrix)
        self._n_rows += lengths.pop() if lengths else 0

    def merge(self, other: WindowState) -> WindowState:
        """A new state holding the rows of both (same reference profile only, else ProfileMismatchError)."""
        if other.profile_hash != self.profile_hash:
            raise ProfileMismatchError(self.profile_hash, other.profile_hash, "WindowState.merge")
        if other.names != self.names:
            raise InvalidParameterError(
                "other", list(other.names), f"a state of the columns {list(self.names)}", where="WindowState.merge"
            )
        out = copy.deepcopy(self)
        out._profile = self._profile
        for name, col in out._columns.items():
            theirs = other._columns[name]
            if isinstance(col, NumericWindow) and isinstance(theirs, NumericWindow):
                col.merge_from(theirs, out._rng)
            elif isinstance(col, CategoricalWindow) and isinstance(theirs, CategoricalWindow):
                col.merge_from(theirs)
        out._n_rows += other._n_rows
        out.joint = self.joint.merged(other.joint)
        return out

    def __deepcopy__(self, memo: dict[int, Any]) -> WindowState:
        new = WindowState.__new__(WindowState)
        for key, value in self.__dict__.items():
            setattr(new, key, value if key == "_profile" else copy.deepcopy(value, memo))
        return new

    # ------------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        """The state in the documented ``.npz`` format (for checkpointing open windows)."""
        header: dict[str, Any] = {
            "format": WINDOW_FORMAT,
            "format_version": WINDOW_FORMAT_VERSION,
            "profile_hash": self.profile_hash,
            "max_values": self.max_values,
            "max_unseen": self.max_unseen,
            "n_rows": self._n_rows,
            "rng": self._rng.bit_generator.state,
            "names": list(self._columns),
            "columns": [],
            "joint": [self.joint.total, self.joint.n],
            "multivariate": self.track_joint,
        }
        if self.joint.columns is not None:
            header["joint_columns"] = [float(v) for v in self.joint.columns]
        arrays: dict[str, npt.NDArray[Any]] = {}
        for i, col in enumerate(self._columns.values()):
            header["columns"].append(col.meta())
            for key, arr in col.arrays().items():
                arrays[f"c{i}.{key}"] = arr
        return pack(header, arrays)

    @classmethod
    def from_bytes(cls, data: bytes, profile: ReferenceProfile, *, source: str = "<bytes>") -> WindowState:
        """Inverse of :meth:`to_bytes` for the same ``profile`` (ProfileMismatchError for another one)."""
        header, arrays = unpack(data, source=source, expected_format=WINDOW_FORMAT, max_version=WINDOW_FORMAT_VERSION)
        if header.get("profile_hash") != profile.content_hash:
            raise ProfileMismatchError(profile.content_hash, str(header.get("profile_hash")), source)
        try:
            state = cls(
                profile,
                max_values=int(header["max_values"]),
                max_unseen=int(header["max_unseen"]),
                columns=[str(n) for n in header["names"]],
                multivariate=bool(header.get("multivariate", True)),
            )
            state._rng.bit_generator.state = header["rng"]
            state._n_rows = int(header["n_rows"])
            total, rows = header.get("joint", [0.0, 0])
            columns = header.get("joint_columns")
            state.joint = JointScore(float(total), int(rows),
                                     None if columns is None else np.asarray(columns, dtype=np.float64))
            for i, (meta, name) in enumerate(zip(header["columns"], state.names, strict=True)):
                col = profile[name]
                parts = {key.split(".", 1)[1]: arr for key, arr in arrays.items() if key.split(".", 1)[0] == f"c{i}"}
                if meta["name"] != col.name:
                    raise ValueError(f"column {i} is {meta['name']!r}, the profile says {col.name!r}")
                if isinstance(col, NumericProfile):
                    state._columns[col.name] = NumericWindow.from_parts(col, state.max_values, meta, parts)
                elif isinstance(col, CategoricalProfile):
                    state._columns[col.name] = CategoricalWindow.from_parts(col, state.max_unseen, meta, parts)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProfileFormatError(source, f"malformed window state ({type(exc).__name__}: {exc})") from exc
        return state
