"""Turn a closed :class:`OpenWindow` into a :class:`ClosedWindow`: drift test, metrics, signals, sample."""

from __future__ import annotations

import io
import logging
import math
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from detectors.profile import ReferenceProfile
from monitor.pipeline.alert_signals import Signal, drift_signals, metric_signal, near_constant_signal, volume_signal
from monitor.pipeline.awaiting import PerformanceRecord
from monitor.pipeline.business_metrics import MetricResult, compute_metrics
from monitor.pipeline.closed import ClosedWindow, epoch_to_datetime
from monitor.pipeline.fairness_state import fairness_signals
from monitor.pipeline.model_state import ModelState
from monitor.pipeline.open_window import OpenWindow

__all__ = ["business_final", "finish_window", "sample_parquet"]

log = logging.getLogger(__name__)
METRIC_HISTORY = 50


def _run_evaluate(state: ModelState, window: OpenWindow) -> tuple[Any, dict[str, Any]]:
    """``detectors.evaluate`` on the window state; never raises (a failure is recorded in the report)."""
    cfg = state.config
    if window.state is None or window.profile is None:
        return None, {"skipped": f"no reference profile registered for model {cfg.name!r}"}
    try:
        window.flush_buffer()
        if window.state.n_rows == 0:
            return None, {"skipped": "window has no rows"}
        import detectors

        report = detectors.evaluate(window.profile, window.state, preset=cfg.preset,
                                    overrides=usable_overrides(cfg.overrides(), window.profile))
        return report, report.to_dict()
    except Exception as exc:  # a bad window must never stop the watcher
        log.warning("drift test of %s window %s failed: %s: %s", cfg.name, window.span.key, type(exc).__name__, exc)
        return None, {"error": f"{type(exc).__name__}: {exc}"}


def usable_overrides(overrides: dict[str, Any], profile: ReferenceProfile) -> dict[str, Any]:
    """``overrides`` without per-column tests for columns the profile lacks or whose kind the test cannot
    take (those columns fall back to the preset's test rather than failing the whole window)."""
    import detectors

    per_column = overrides.get("per_column")
    if not per_column:
        return overrides
    kept = {}
    for name, spec in per_column.items():
        if name not in profile.names:
            continue
        test = detectors.TESTS.get(str(spec.get("test")))
        if test is None or profile[name].kind not in test.kinds:
            continue
        kept[name] = spec
    out = {k: v for k, v in overrides.items() if k != "per_column"}
    if kept:
        out["per_column"] = kept
    return out


def sample_parquet(window: OpenWindow, columns: list[str]) -> tuple[bytes | None, int]:
    """The window's sample (its ``sample_rows``, in that order) as Parquet bytes, and its row count.

    The table rows are taken straight from the sample's entries (:func:`_sample_tuples`); the pandas
    path, which needs the rows as dicts, makes them only when the fast one declines."""
    if window.sample_size <= 0:
        return None, 0
    window._trim_sample()  # what sample_rows() does first: the sample_size rows of lowest priority
    entries = [item for _, item in window.sample]
    if not entries:
        return None, 0
    names = ("event_id", "ts", *columns)
    fast = None
    if len(set(names)) == len(names):
        fast = _parquet_from_tuples(_sample_tuples(entries, names), names)
    if fast is None:
        fast = _sample_parquet_pandas([OpenWindow._sample_row(item) for item in entries], columns)
    return fast, len(entries)


def _sample_tuples(entries: list[Any], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each sample entry as the tuple of its values of ``names`` (``event_id``, ``ts``, the columns):
    the values that ``OpenWindow._sample_row(entry)[name]`` gives, None where that dict lacks the name.

    An entry ``(event_id, ts, row, row_columns)`` is read by position: the dict would map each of
    ``row_columns`` to its value of ``row`` (the last one of a repeated name), after ``event_id`` and
    ``ts`` (which a column of that name would replace). Entries already dicts, or whose ``row`` is not
    as long as ``row_columns`` (the dict would raise), go through ``_sample_row``."""
    take = itemgetter(*names)
    layouts: dict[int, tuple[tuple[str, ...], Any]] = {}  # id(row_columns) -> (row_columns, reader)
    out: list[tuple[Any, ...]] = []
    for item in entries:
        if not isinstance(item, dict):
            event_id, ts, row, row_columns = item
            hit = layouts.get(id(row_columns))
            if hit is None or hit[0] is not row_columns:
                hit = layouts[id(row_columns)] = (row_columns, _row_reader(row_columns, names))
            reader = hit[1]
            if reader is not None and len(row) == len(row_columns):
                out.append((event_id, ts, *reader(row)))
                continue
        row_dict = OpenWindow._sample_row(item)
        try:
            out.append(take(row_dict))
        except KeyError:  # a row without some column: that value is missing (None)
            out.append(tuple(row_dict.get(name) for name in names))
    return out


def _row_reader(row_columns: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """A function from a row of ``row_columns`` to its values of ``names[2:]`` (None for a column the
    row lacks; the last position of a repeated name), or None when ``row_columns`` names ``event_id``
    or ``ts`` (the row's dict would take those from the row)."""
    if "event_id" in row_columns or "ts" in row_columns:
        return None
    where = {name: i for i, name in enumerate(row_columns)}  # a repeated name: its last position
    index = [where.get(name, -1) for name in names[2:]]
    if list(range(len(row_columns))) == index:
        return lambda row: row
    if index and min(index) >= 0:
        get = itemgetter(*index)
        return (lambda row: (get(row),)) if len(index) == 1 else get
    return lambda row: tuple(None if i < 0 else row[i] for i in index)


def _sample_parquet_pandas(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """The sample as Parquet through pandas (any values: pandas infers each column's dtype)."""
    frame = pd.DataFrame(rows, columns=["event_id", "ts", *columns])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


_FLOAT, _STR = "f", "s"
_SCHEMAS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _parquet_from_tuples(table_rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> bytes | None:
    """The same Parquet bytes as :func:`_sample_parquet_pandas` of the rows given as tuples of their values of
    ``names`` (``event_id``, ``ts``, the columns; all distinct) when every ``ts`` is a float and every other
    column holds only floats and None (at least one float: pandas makes it float64, NaN/None -> null) or
    only strings and None (at least one string: pandas keeps object, pyarrow makes it string); else None.

    The Arrow table is built from the columns directly with the schema (and pandas metadata) that
    ``pa.Table.from_pandas`` gives such a frame, made once per column layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values: list[tuple[Any, ...]] = list(zip(*table_rows, strict=True))
    kinds: list[str] = []
    for name, col in zip(names, values, strict=True):
        types = set(map(type, col))
        if name == "ts":
            if types != {float}:
                return None
            kinds.append(_FLOAT)
            continue
        types.discard(type(None))
        if types == {float}:
            kinds.append(_FLOAT)
        elif types == {str}:
            kinds.append(_STR)
        else:
            return None
    key = (names, tuple(kinds))
    schema = _SCHEMAS.get(key)
    if schema is None:
        schema = _SCHEMAS[key] = _sample_schema(names, kinds)
    floats = _float_columns(values, kinds)
    arrays: list[Any] = []
    for i, (name, kind, col) in enumerate(zip(names, kinds, values, strict=True)):
        if name == "ts":
            stamps = pd.to_datetime(pd.Series(col, dtype="float64"), unit="s", utc=True)
            arrays.append(pa.Array.from_pandas(stamps, type=schema.field(name).type))
        elif kind == _FLOAT:
            arrays.append(pa.array(floats[i], type=pa.float64(), from_pandas=True))
        else:
            arrays.append(pa.array(col, type=pa.string(), from_pandas=True))
    table = pa.Table.from_arrays(arrays, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def _float_columns(values: list[tuple[Any, ...]], kinds: list[str]) -> dict[int, Any]:
    """The float columns (position -> float64 array; None -> NaN), converted in one ``np.array`` call:
    ``pa.array(..., from_pandas=True)`` makes the same values and nulls (NaN or None -> null) of it as
    of the Python floats."""
    at = [i for i, kind in enumerate(kinds) if kind == _FLOAT]
    if not at:
        return {}
    block = np.array([values[i] for i in at], dtype=np.float64)
    return {i: block[k] for k, i in enumerate(at)}


def _sample_schema(names: tuple[str, ...], kinds: list[str]) -> Any:
    """The Arrow schema (with pandas metadata) that pandas gives a sample frame of these column kinds."""
    import pyarrow as pa

    one = {name: [0.0 if kind == _FLOAT else "x"] for name, kind in zip(names, kinds, strict=True)}
    frame = pd.DataFrame(one, columns=list(names))
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    return pa.Table.from_pandas(frame, preserve_index=False).schema


def _bounds(state: ModelState, window: OpenWindow) -> tuple[float, float]:
    if window.span.key.startswith("time:"):
        return window.span.start, window.span.end
    return window.first_ts, window.last_ts


def finish_window(state: ModelState, window: OpenWindow) -> ClosedWindow:
    """Test and measure one window as it closes (business metrics and performance provisional, judged later
    through :func:`business_final` and the label updates; CBPE estimates kept in ``window.estimates``)."""
    cfg = state.config
    report, report_dict = _run_evaluate(state, window)
    signals: list[Signal] = drift_signals(cfg, report, window.n_events)

    flat = _near_constant(state, window)
    if flat is not None:
        signals.append(flat)

    metrics = compute_metrics(cfg.business_metrics, window.joined.values())  # provisional: judged when final
    performance, estimated = _performance(state, window)
    signals.extend(estimated)

    start, end, rate, vol = _volume(state, window)
    if vol is not None:
        signals.append(vol)

    seg_rows, seg_signals, slices = _segments(state, window, signals, report)
    signals.extend(seg_signals)
    fairness = window.fair.results(window.book) if window.fair is not None else []
    signals.extend(s for s in fairness_signals(fairness) if s.signal not in cfg.alerts.disabled_signals)
    sample, sample_rows = sample_parquet(window, list(cfg.columns))
    report_dict = _full_report(report_dict, window, slices, signals)
    columns = [c if isinstance(c, dict) else {} for c in report_dict.get("columns", []) or []]
    extra: dict[str, float | None] = {
        "n_events": float(window.n_events),
        "events_per_second": rate,
        "joined_outcomes": float(len(window.joined)),
        "score_std": window.score_std,
    }
    return ClosedWindow(
        model=cfg.name,
        window_key=window.span.key,
        window_start=epoch_to_datetime(start),
        window_end=epoch_to_datetime(end),
        n_events=window.n_events,
        reference_version=window.profile.version if window.profile is not None else 0,
        preset=cfg.preset,
        dataset_drift=bool(getattr(report, "dataset_drift", False)),
        drift_share=float(getattr(report, "drift_share", 0.0) or 0.0),
        multivariate_statistic=_multivariate(report),
        report=report_dict,
        metrics=metrics,
        extra_metrics=extra,
        signals=signals,
        columns=columns,
        sample=sample,
        sample_rows=sample_rows,
        auto_resolve_after=cfg.alerts.auto_resolve_after,
        performance=performance,
        segments=seg_rows,
        fairness=fairness,
    )


def _performance(state: ModelState, window: OpenWindow) -> tuple[list[PerformanceRecord], list[Signal]]:
    """The window's provisional performance records and the signals of its CBPE estimates (none without a
    quality model); the estimates are kept in ``window.estimates``."""
    quality = state.quality
    if quality is None:
        return [], []
    estimates = quality.estimate(window.book)
    realized, why = quality.realized(window.book)
    performance = quality.records(window.n_events, window.book, estimates, realized, why, provisional=True)
    signals = quality.estimated_signals(estimates, window.n_events)
    window.estimates = estimates
    return performance, signals


def _near_constant(state: ModelState, window: OpenWindow) -> Signal | None:
    """The near-constant prediction signal of the window's score column (if the model has one)."""
    cfg = state.config
    score_col = next((c for c, k in cfg.prediction_columns.items() if k == "numeric"), None)
    if score_col is None:
        return None
    ref_std = None
    if window.profile is not None and score_col in window.profile.names:
        ref_std = getattr(window.profile[score_col], "std", None)
    return near_constant_signal(cfg, score_col, window.score_std, ref_std, window.score_n)


def _volume(state: ModelState, window: OpenWindow) -> tuple[float, float, float | None, Signal | None]:
    """The window's bounds, its rate (events a second) and volume signal; the rate joins ``state.rates``."""
    cfg = state.config
    start, end = _bounds(state, window)
    duration = end - start
    rate = window.n_events / duration if duration > 0 else None
    vol = volume_signal(cfg, window.n_events, duration, state.rates)
    if rate is not None:
        state.rates.append(rate)
        del state.rates[: -cfg.alerts.volume.history]
    return start, end, rate, vol


def _full_report(report_dict: dict[str, Any], window: OpenWindow, slices: Any,
                 signals: list[Signal]) -> dict[str, Any]:
    """The drift report with the window's versions, segments and signals."""
    seg = window.seg
    return {
        **report_dict,
        "model_versions": dict(window.versions),
        "rows_rejected_by_drift_state": window.dropped_rows,
        "segments": dict(seg.counts.most_common(50)) if seg is not None else {},
        **({"worst_slices": slices, "segments_capped": seg.capped, "segments_non_string": seg.non_string,
            "segments_partial": seg.partial, "segments_evicted": seg.evicted}
           if seg is not None else {}),
        "signals": [s.to_dict() for s in signals],
    }


def _segments(state: ModelState, window: OpenWindow, population: list[Signal],
              report: Any) -> tuple[Any, Any, Any]:
    """:func:`~monitor.pipeline.segment_finish.segment_results` of the window against the population's
    ``signals`` and drift ``report`` (``None`` when it was not tested); never raises. Counts the
    window's pooled segment values (``segments_capped``, ``segments_non_string``, with the fairness
    groups' own) in the model's counters."""
    from monitor.pipeline.segment_finish import segment_results

    cfg = state.config
    for book in (window.seg, window.fair):
        if book is not None:
            state.counters["segments_capped"] += book.capped
            state.counters["segments_non_string"] += book.non_string
    if window.seg is None:
        return [], [], []
    try:
        overrides = usable_overrides(cfg.overrides(), window.profile) if window.profile is not None else {}
        return segment_results(cfg, window.seg, window.joined, overrides, population,
                               getattr(report, "drift_share", None), getattr(report, "drifted_columns", None) or ())
    except Exception as exc:  # a bad segment must never stop the watcher
        log.warning("segments of %s window %s failed: %s: %s", cfg.name, window.span.key, type(exc).__name__, exc)
        return [], [], []


def business_final(state: ModelState, joined: dict[str, dict[str, Any]]
                   ) -> tuple[list[MetricResult], list[Signal], list[tuple[str, str | None]]]:
    """The business metrics of a window whose ``outcome_join_ttl`` has passed, their
    ``business_metric_drop`` signals (threshold rule and sequential detector, which this feeds) and the
    ``(signal, feature)`` pairs judged (every configured metric: a window without the signal is clean).

    The metrics end with ``joined_outcomes`` = ``len(joined)`` (numerator and denominator the same count):
    the predictions of the window joined to an outcome within the TTL. It replaces the count written when
    the window closed, which depends on where the source's batches fall (outcomes read in the batch that
    fills a count window join it before it closes), so the stored figure is the same for any batching,
    stop and resume."""
    cfg = state.config
    signals: list[Signal] = []
    metrics = compute_metrics(cfg.business_metrics, joined.values())
    for result in metrics:
        seq_drop = False
        history = state.metric_history.setdefault(result.name, [])
        detector = state.detectors.get(result.name)
        if result.value is not None and math.isfinite(result.value):
            if detector is not None and detector.update(result.value):
                past = sum(history) / len(history) if history else math.inf
                seq_drop = result.value < past
            history.append(result.value)
            del history[:-METRIC_HISTORY]
        sig = metric_signal(cfg, result.name, result.value, result.denominator, seq_drop)
        if sig is not None:
            signals.append(sig)
    n_joined = len(joined)
    metrics.append(MetricResult("joined_outcomes", float(n_joined), n_joined, n_joined))
    return metrics, signals, [("business_metric_drop", m.name) for m in cfg.business_metrics]


def _multivariate(report: Any) -> float | None:
    value = getattr(report, "multivariate_statistic", None)
    if value is None:
        multi = getattr(report, "multivariate", None)
        value = getattr(multi, "statistic", None) if multi is not None else None
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None
