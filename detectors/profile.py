"""The reference profile: everything the drift tests need from the training data, built once.

File format (``save`` / ``to_bytes``): the ``.npz`` container of :mod:`detectors._container` with
``format = "driftwarden-profile"`` and ``format_version = 3``. The JSON header holds ``content_hash``,
``version``, ``n_rows``, ``columns`` (a list of per-column metadata: name, kind, dtype, counts, range,
mean, std, categories) and ``multivariate`` (``null``, or ``{"columns": [...], "detector":
PCAReconstruction.to_dict()}``: the joint detector of :mod:`detectors.joint`); the arrays are named
``c<i>.<field>`` (``values``, ``quantiles``, ``bin_edges``,
``bin_counts`` for numeric columns; ``counts`` for categorical and binary ones, plus ``hashes`` for a
categorical column with more than ``max_levels`` levels). ``content_hash`` is the
BLAKE2b-256 of the header (without ``content_hash`` and ``version``) and the arrays; loading recomputes it, so
a file altered after writing is rejected.

Versions: 3 caps the categories kept per categorical column (``n_levels``, ``n_singletons``,
``n_doubletons``, ``n_other``, ``n_unhashed`` in each categorical column's metadata, ``hashes`` array);
2 added ``multivariate`` (and 1 files written after the switch from SHA-256 to BLAKE2b carry a
different hash than older ones); only version 3 loads, anything else raises :class:`ProfileFormatError`
asking to rebuild the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors._container import digest, pack, unpack
from detectors.columns import DEFAULT_MAX_HASHED, DEFAULT_MAX_LEVELS, CategoricalProfile, ColumnProfile, NumericProfile
from detectors.errors import InvalidParameterError, MissingColumnError, ProfileFormatError
from detectors.joint import fit_joint
from detectors.kinds import NUMERIC, check_kind, infer_kind
from detectors.multivariate import PCAReconstruction
from detectors.stattests.cvm_grid import DEFAULT_GRID_SIZE

__all__ = ["DEFAULT_MAX_LEVELS", "DEFAULT_MAX_VALUES", "FORMAT", "FORMAT_VERSION", "ReferenceProfile"]

FORMAT: Final = "driftwarden-profile"
FORMAT_VERSION: Final = 3
#: Reference values kept per numeric column (8 bytes each); above it, a seeded uniform sample.
DEFAULT_MAX_VALUES: Final = 200_000


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Per-column summaries of a reference (training) data set.

    Build it once with :meth:`build`, store it with :meth:`save` / :meth:`to_bytes`; a running watcher
    only ever loads it. ``version`` is 0 until the registry that stores the profile assigns one
    (:meth:`with_version`); it is not part of ``content_hash``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "c"], size=1000)})
    >>> p = ReferenceProfile.build(ref)
    >>> p.kinds
    {'x': 'numeric', 'c': 'categorical'}
    >>> ReferenceProfile.from_bytes(p.to_bytes()).content_hash == p.content_hash
    True
    """

    columns: Mapping[str, ColumnProfile]
    n_rows: int
    content_hash: str
    version: int = 0
    _order: tuple[str, ...] = field(default=(), repr=False)
    multivariate: PCAReconstruction | None = field(default=None, repr=False)
    multivariate_columns: tuple[str, ...] = ()

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        frame: Any,
        kinds: Mapping[str, str] | None = None,
        *,
        progress: bool = False,
        columns: list[str] | None = None,
        max_values: int = DEFAULT_MAX_VALUES,
        seed: int = 0,
        multivariate: bool = True,
        multivariate_columns: Sequence[str] | None = None,
        max_levels: int = DEFAULT_MAX_LEVELS,
        max_hashed: int = DEFAULT_MAX_HASHED,
    ) -> ReferenceProfile:
        """Profile every column of ``frame`` (a pandas DataFrame or a pyarrow Table).

        ``kinds`` overrides the inferred kind of named columns (``numeric``, ``categorical`` or
        ``binary``); ``columns`` restricts the profile to those columns; ``max_values`` caps the sorted
        reference values kept per numeric column (a uniform sample drawn with ``seed`` above it);
        ``max_levels`` caps the categories kept with their counts per categorical column (the most
        frequent; the rest is counted together) and ``max_hashed`` the label hashes kept to recognise the
        other reference levels (see :class:`~detectors.columns.CategoricalProfile`).
        ``multivariate`` fits the joint PCA detector (:mod:`detectors.joint`: at least two usable columns
        and 500 reference rows; its band is set for each window's own row count) on the profiled
        columns, or on ``multivariate_columns`` only (e.g. the model's features, without its predictions);
        ``False`` skips it.
        """
        frame = _as_frame(frame)
        _check_caps(max_values, max_levels, max_hashed)
        names = [str(c) for c in frame.columns] if columns is None else list(columns)
        kinds = dict(kinds or {})
        for name in list(kinds) + names:
            if name not in frame.columns:
                raise MissingColumnError(name, "reference data")
        rng = np.random.default_rng(seed)
        built: dict[str, ColumnProfile] = {}
        codes: dict[str, npt.NDArray[np.intp]] = {}  # per categorical column, its labels' category positions
        for name in _with_progress(names) if progress else names:
            series = frame[name]
            kind = check_kind(kinds[name]) if name in kinds else infer_kind(series)
            if kind == NUMERIC:
                built[name] = NumericProfile.build(name, series, max_values=max_values, rng=rng)
            else:
                built[name], codes[name] = CategoricalProfile.build_with_codes(
                    name, series, kind, max_levels=max_levels, max_hashed=max_hashed)
        candidates = built if multivariate_columns is None else _joint_candidates(built, multivariate_columns)
        detector, joint = fit_joint(frame, candidates, codes=codes) if multivariate else (None, ())
        return cls._assemble(built, len(frame), version=0, multivariate=detector, multivariate_columns=joint)

    @classmethod
    def _assemble(
        cls,
        built: dict[str, ColumnProfile],
        n_rows: int,
        *,
        version: int,
        multivariate: PCAReconstruction | None = None,
        multivariate_columns: tuple[str, ...] = (),
    ) -> ReferenceProfile:
        header, arrays = _parts(built, n_rows, multivariate, multivariate_columns)
        return cls(
            columns=built,
            n_rows=n_rows,
            content_hash=digest(header, arrays),
            version=version,
            _order=tuple(built),
            multivariate=multivariate,
            multivariate_columns=tuple(multivariate_columns) if multivariate is not None else (),
        )

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> tuple[str, ...]:
        """Column names in profile order."""
        return self._order

    @property
    def kinds(self) -> dict[str, str]:
        """``{column: kind}`` in profile order."""
        return {name: self.columns[name].kind for name in self._order}

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise MissingColumnError(name, "the reference profile") from None

    def __iter__(self) -> Iterator[ColumnProfile]:
        return (self.columns[name] for name in self._order)

    def __len__(self) -> int:
        return len(self._order)

    @property
    def compact(self) -> bool:
        """Whether some numeric column keeps a quantile grid instead of its values (:meth:`compacted`)."""
        return any(isinstance(c, NumericProfile) and c.compact for c in self.columns.values())

    def compacted(self, columns: Iterable[str] | None = None, *, size: int = DEFAULT_GRID_SIZE) -> ReferenceProfile:
        """A copy whose numeric ``columns`` (default: all) keep a :class:`~detectors.stattests.cvm_grid.ReferenceGrid`
        of ``size`` atoms instead of their reference values: 16 bytes per atom instead of 8 per value, for a
        watcher of many models. The default preset's Cramér–von Mises test then runs on the grid (exact up to
        ``size`` distinct values; the error bound of :mod:`detectors.stattests.cvm_grid` above); anything
        else that needs the values of such a column (the ``evidently`` preset, a per-column test override,
        :meth:`to_bytes`) raises :class:`~detectors.errors.CompactProfileError`. ``content_hash`` and
        ``version`` stay those of the full profile.
        """
        names = set(self._order if columns is None else columns)
        built: dict[str, ColumnProfile] = {}
        for name in self._order:
            col = self.columns[name]
            built[name] = col.compacted(size) if name in names and isinstance(col, NumericProfile) else col
        return replace(self, columns=built)

    def with_version(self, version: int) -> ReferenceProfile:
        """A copy carrying ``version`` (assigned by the registry that stores profiles)."""
        if not isinstance(version, int) or version < 0:
            raise InvalidParameterError("version", version, "an int >= 0", where="ReferenceProfile")
        return replace(self, version=version)

    # ------------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        """The profile in the documented ``.npz`` format (see the module docstring)."""
        header, arrays = _parts(dict(self.columns), self.n_rows, self.multivariate, self.multivariate_columns)
        header["content_hash"] = self.content_hash
        header["version"] = self.version
        return pack(header, arrays)

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "<bytes>") -> ReferenceProfile:
        """Inverse of :meth:`to_bytes`; :class:`ProfileFormatError` (naming ``source``) if corrupt or foreign."""
        header, arrays = unpack(data, source=source, expected_format=FORMAT, max_version=FORMAT_VERSION)
        if header.get("format_version") != FORMAT_VERSION:
            raise ProfileFormatError(
                source,
                f"{FORMAT} format_version {header.get('format_version')!r} is no longer supported "
                f"(this build reads {FORMAT_VERSION}): rebuild the profile from the reference data",
            )
        try:
            stored_hash = header.pop("content_hash")
            version = int(header.pop("version"))
            built: dict[str, ColumnProfile] = {}
            grouped: dict[str, dict[str, Any]] = {}  # "c<i>" -> its arrays (one pass over the members)
            undotted = set()
            for key, arr in arrays.items():
                prefix, dot, rest = key.partition(".")
                if dot:
                    grouped.setdefault(prefix, {})[rest] = arr
                else:
                    undotted.add(key)
            for i, meta in enumerate(header["columns"]):
                if f"c{i}" in undotted:
                    raise IndexError("list index out of range")  # a member "c<i>" without a part name
                parts = grouped.get(f"c{i}", {})
                col: ColumnProfile = (
                    NumericProfile.from_parts(meta, parts)
                    if meta["kind"] == NUMERIC
                    else CategoricalProfile.from_parts(meta, parts)
                )
                built[col.name] = col
            joint = header["multivariate"]
            detector = None if joint is None else PCAReconstruction.from_dict(joint["detector"])
            names = () if joint is None else tuple(str(n) for n in joint["columns"])
            if detector is not None and (len(names) != detector.n_features or any(n not in built for n in names)):
                raise ValueError(f"multivariate columns {list(names)} do not fit the detector or the profile")
            profile = cls._assemble(
                built, int(header["n_rows"]), version=version, multivariate=detector, multivariate_columns=names
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProfileFormatError(source, f"malformed profile content ({type(exc).__name__}: {exc})") from exc
        if profile.content_hash != stored_hash:
            raise ProfileFormatError(source, "content hash mismatch: the file was altered or damaged")
        return profile

    def save(self, path: str | PathLike[str]) -> None:
        """Write :meth:`to_bytes` to ``path`` (atomically: a temporary file, then a rename)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(self.to_bytes())
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> ReferenceProfile:
        """Read a file written by :meth:`save`; :class:`ProfileFormatError` names the file if it is unusable."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ProfileFormatError(str(path), f"cannot read: {exc.strerror or exc}") from exc
        return cls.from_bytes(data, source=str(path))


def _as_frame(frame: Any) -> pd.DataFrame:
    """``frame`` as a pandas DataFrame (a pyarrow Table, or anything with ``to_pandas``, is converted)."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):
        return frame.to_pandas()
    raise InvalidParameterError("frame", type(frame).__name__, "a pandas DataFrame or pyarrow Table")


def _check_caps(max_values: int, max_levels: int, max_hashed: int) -> None:
    """The caps of :meth:`ReferenceProfile.build`: positive, and ``max_hashed >= max_levels``."""
    for key, bound in (("max_values", max_values), ("max_levels", max_levels), ("max_hashed", max_hashed)):
        if bound < 1:
            raise InvalidParameterError(key, bound, "a positive int", where="ReferenceProfile.build")
    if max_hashed < max_levels:
        raise InvalidParameterError("max_hashed", max_hashed, f">= max_levels ({max_levels})",
                                    where="ReferenceProfile.build")


def _with_progress(names: list[str]) -> Iterable[str]:
    """``names`` behind a tqdm progress bar (tqdm is imported only then)."""
    from tqdm import tqdm

    return tqdm(names, desc="profiling reference", unit="col")


def _joint_candidates(built: dict[str, ColumnProfile], names: Sequence[str]) -> dict[str, ColumnProfile]:
    """The profiled columns named for the multivariate detector, each checked to be one of ``built``."""
    for name in names:
        if name not in built:
            raise InvalidParameterError(
                "multivariate_columns", name, f"one of the profiled columns {list(built)}",
                where="ReferenceProfile.build",
            )
    return {n: built[n] for n in names}


def _parts(
    built: Mapping[str, ColumnProfile],
    n_rows: int,
    multivariate: PCAReconstruction | None = None,
    multivariate_columns: tuple[str, ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    joint = (
        None
        if multivariate is None
        else {"columns": list(multivariate_columns), "detector": multivariate.to_dict()}
    )
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "n_rows": n_rows,
        "columns": [],
        "multivariate": joint,
    }
    arrays: dict[str, Any] = {}
    for i, col in enumerate(built.values()):
        header["columns"].append(col.meta())
        for key, arr in col.arrays().items():
            arrays[f"c{i}.{key}"] = arr
    return header, arrays
