"""``evaluate``: run a preset over a window (or a frame) against a reference profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from detectors.column_windows import CategoricalWindow, NumericWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.errors import InsufficientDataError, InvalidParameterError, ProfileMismatchError, UnknownNameError
from detectors.presets._shared import aligned_counts, aligned_labels, all_null_result, column_result, unseen_items
from detectors.presets.default import DefaultParams, adjust, default_column
from detectors.presets.evidently import evidently_column
from detectors.profile import ReferenceProfile
from detectors.quality_hook import quality_findings
from detectors.registry import PRESETS, get_test
from detectors.report import ColumnResult, DriftReport
from detectors.window_state import WindowState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OVERRIDE_KEYS", "evaluate"]

#: Keys accepted in ``overrides``.
OVERRIDE_KEYS: Final = ("alpha", "drift_share", "min_effect", "per_column", "top_k")
PER_COLUMN_KEYS: Final = ("test", "threshold")
DEFAULT_DRIFT_SHARE: Final = 0.5


def evaluate(
    profile: ReferenceProfile,
    current: WindowState | pd.DataFrame,
    *,
    preset: str = "default",
    overrides: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    quality: bool = True,
) -> DriftReport:
    """Test every (or each named) profile column of ``current`` and decide dataset drift.

    ``preset`` is ``"default"`` (driftwarden's: see :mod:`detectors.presets.default`) or ``"evidently"``
    (Evidently 0.7's selection, see :mod:`detectors.presets.evidently`). ``overrides`` may hold
    ``drift_share`` (dataset rule ``drift_share >= value``, default 0.5), ``alpha``, ``min_effect`` and
    ``top_k`` (preset ``default``: the categories of a high-cardinality column tested one by one), and
    ``per_column``: ``{column: {"test": name, "threshold": value}}`` to run a registered test
    (``detectors.TESTS``) with its own rule on that column. Unknown presets, keys or test names raise
    :class:`UnknownNameError` listing the valid ones. ``quality=False`` skips the data-quality checks
    (``report.quality`` stays empty), e.g. to time the drift tests alone.

``report.multivariate`` is the joint verdict of the profile's PCA detector (:mod:`detectors.joint`) over
the window's rows, when the profile has one and ``columns`` (if given) includes all of its columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> ref = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), size=5000)})
    >>> cur = pd.DataFrame({"x": rng.normal(0.5, 1, size=2000), "c": rng.choice(list("abc"), size=2000)})
    >>> report = evaluate(ReferenceProfile.build(ref), cur)
    >>> [(c.name, c.test, c.drifted) for c in report.columns], report.drift_share
    ([('x', 'cramer_von_mises', True), ('c', 'chisquare', False)], 0.5)
    >>> evaluate(ReferenceProfile.build(ref), cur, preset="evidently").column("x").test
    'wasserstein'
    """
    share_threshold, params, per_column_raw = _options(preset, overrides)
    names = _checked_names(profile, columns)
    per_column = _per_column(per_column_raw, names, profile)

    state = _as_state(profile, current, names)
    if state.n_rows == 0:
        raise InsufficientDataError("evaluate (current window)", 1, 0)

    results = _column_results(profile, state, names, preset, params, per_column)
    drift_share = sum(r.drifted for r in results) / len(results) if results else 0.0
    return DriftReport(
        preset=preset,
        dataset_drift=bool(results) and drift_share >= share_threshold,
        drift_share=drift_share,
        drift_share_threshold=share_threshold,
        columns=results,
        quality=quality_findings(profile, state, names) if quality else [],
        n_current=state.n_rows,
        profile_hash=profile.content_hash,
        profile_version=profile.version,
        multivariate=state.multivariate(),
    )


def _options(preset: str, overrides: Mapping[str, Any] | None) -> tuple[float, DefaultParams, Any]:
    """``(drift_share threshold, the default preset's parameters, the raw per_column overrides)``, once the
    preset name and the override keys and values are checked."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    opts = dict(overrides or {})
    for key in opts:
        if key not in OVERRIDE_KEYS:
            raise UnknownNameError("override", key, OVERRIDE_KEYS)
    share_threshold = float(opts.get("drift_share", DEFAULT_DRIFT_SHARE))
    if not 0.0 <= share_threshold <= 1.0:
        raise InvalidParameterError("drift_share", share_threshold, "a share in [0, 1]", where="evaluate overrides")
    params = DefaultParams(
        alpha=float(opts.get("alpha", DefaultParams.alpha)),
        min_effect=float(opts.get("min_effect", DefaultParams.min_effect)),
        top_k=int(opts.get("top_k", DefaultParams.top_k)),
    )
    if params.top_k < 1:
        raise InvalidParameterError("top_k", params.top_k, "an int >= 1", where="evaluate overrides")
    if not 0.0 < params.alpha < 1.0:
        raise InvalidParameterError("alpha", params.alpha, "a number in (0, 1)", where="evaluate overrides")
    return share_threshold, params, opts.get("per_column", {})


def _checked_names(profile: ReferenceProfile, columns: Sequence[str] | None) -> list[str]:
    """The columns to test (default: all, in profile order); a name not in the profile raises
    :class:`~detectors.errors.MissingColumnError`."""
    names = list(profile.names if columns is None else columns)
    for name in names:
        profile[name]
    return names


def _column_results(
    profile: ReferenceProfile,
    state: WindowState,
    names: list[str],
    preset: str,
    params: DefaultParams,
    per_column: Mapping[str, tuple[str, float | None]],
) -> list[ColumnResult]:
    """One result per column of ``names``: its ``per_column`` override's test, else the preset's (the default
    preset's results, overridden columns aside, adjusted across the window by :func:`adjust`)."""
    results: list[ColumnResult] = []
    for name in names:
        col = profile[name]
        win = state._column(name)
        if name in per_column:
            results.append(_override_column(col, win, *per_column[name]))
        elif preset == "evidently":
            results.append(evidently_column(col, win))
        else:
            results.append(default_column(col, win, params))
    if preset == "default":
        auto = [r for r in results if r.name not in per_column]
        adjusted = {r.name: r for r in adjust(auto, params)}
        results = [adjusted.get(r.name, r) for r in results]
    return results

def _as_state(profile: ReferenceProfile, current: WindowState | pd.DataFrame, names: list[str]) -> WindowState:
    if isinstance(current, WindowState):
        if current.profile_hash != profile.content_hash:
            raise ProfileMismatchError(profile.content_hash, current.profile_hash, "evaluate(current=WindowState)")
        missing = [n for n in names if n not in current.names]
        if missing:
            current._column(missing[0])
        return current
    import pandas as pd  # a frame's path only: a watcher's window states never load pandas here

    if isinstance(current, pd.DataFrame) or hasattr(current, "to_pandas"):
        frame = current if isinstance(current, pd.DataFrame) else current.to_pandas()
        return WindowState.from_frame(profile, frame, columns=names)
    raise InvalidParameterError(
        "current", type(current).__name__, "a WindowState or a pandas DataFrame", where="evaluate"
    )


def _per_column(raw: Any, names: list[str], profile: ReferenceProfile) -> dict[str, tuple[str, float | None]]:
    if not isinstance(raw, Mapping):
        raise InvalidParameterError(
            "per_column", raw, "a mapping {column: {'test': ..., 'threshold': ...}}", where="evaluate overrides"
        )
    out: dict[str, tuple[str, float | None]] = {}
    for name, spec in raw.items():
        if name not in names:
            raise UnknownNameError("column in per_column overrides", name, names)
        for key in spec:
            if key not in PER_COLUMN_KEYS:
                raise UnknownNameError(f"per_column key for {name!r}", key, PER_COLUMN_KEYS)
        test = get_test(str(spec.get("test", "")))
        kind = profile[name].kind
        if kind not in test.kinds:
            raise InvalidParameterError("test", test.name, f"a test for {kind} columns", where=f"per_column[{name!r}]")
        threshold = spec.get("threshold")
        out[name] = (test.name, None if threshold is None else float(threshold))
    return out


def _override_column(
    col: NumericProfile | CategoricalProfile,
    win: NumericWindow | CategoricalWindow,
    test_name: str,
    threshold: float | None,
) -> ColumnResult:
    spec = get_test(test_name)
    unseen: tuple[tuple[str, int], ...] = ()
    if isinstance(col, NumericProfile) and isinstance(win, NumericWindow):
        if win.n_finite == 0:
            return all_null_result(col, win)
        ref: Any = col.reference_values(f"the {test_name} test")
        cur: Any = win.sorted_values()
        n_ref, n_cur = col.n_finite, win.n_finite
    elif isinstance(col, CategoricalProfile) and isinstance(win, CategoricalWindow):
        if win.n_valid == 0:
            return all_null_result(col, win)
        unseen = unseen_items(win)
        labels = np.array(aligned_labels(col, win), dtype=object)
        ref_counts, cur_counts = aligned_counts(col, win)
        ref = np.repeat(labels, ref_counts.astype(np.int64))
        cur = np.repeat(labels, cur_counts.astype(np.int64))
        n_ref, n_cur = col.n_valid, win.n_valid
    else:  # pragma: no cover
        raise TypeError(f"column {col.name!r}: profile and window kinds differ")
    res = spec.run(ref, cur, kind=col.kind, value=threshold)
    return column_result(col, win, res, n_ref, n_cur, unseen,
                         alpha=res.threshold if spec.parameter == "alpha" else None)
