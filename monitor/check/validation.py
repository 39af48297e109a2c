"""The labelled validation data of a model (``performance.reference``) read into its quality reference.

``driftwarden reference build`` (and the scenario's reference step) call :func:`build_performance_reference`:
the model's realized metrics on that data are the reference values of ``performance_drop``, and CBPE is
fitted on its scores and labels. The file holds one row per validation prediction:

- ``label_column``: the true label (checked like a label event's: a bad one names the row);
- binary / regression: ``prediction_column`` holds the score / the predicted value;
- multiclass: one probability column per class, ``<prediction_column>_<class>`` in ``classes`` order, or
  ``prediction_column`` holding a ``{class: probability}`` mapping per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detectors.errors import DetectorError
from monitor.check.errors import CheckInputError
from monitor.check.readers import read_table
from monitor.config import ModelConfig
from monitor.pipeline.labels import BadLabelError, score_values
from monitor.pipeline.performance_reference import PerformanceReference

__all__ = ["build_performance_reference"]


def _scores(model: ModelConfig, frame: Any, where: str) -> list[Any]:
    perf = model.performance
    ref = perf.reference if perf is not None else None
    assert perf is not None and ref is not None
    column = ref.prediction_column
    if perf.task != "multiclass_classification":
        out = []
        for i, x in enumerate(frame[column].tolist()):
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise CheckInputError(f"{where}: row {i}: {column} = {x!r} is not a finite number")
            out.append(float(x))
        return out
    classes = list(perf.classes or ())
    per_class = [f"{column}_{c}" for c in classes]
    if all(c in frame.columns for c in per_class):
        rows: list[Any] = [dict(zip(classes, r, strict=True)) for r in frame[per_class].itertuples(index=False)]
    else:
        rows = frame[column].tolist()
    probabilities: list[list[float]] = []
    for i, row in enumerate(rows):
        if isinstance(row, list):  # a Parquet map column comes as [(key, value), ...]
            row = dict(row)
        values = score_values(perf.task, row, None, classes) if isinstance(row, Mapping) else None
        if values is None:
            raise CheckInputError(f"{where}: row {i}: {column} = {row!r} is not a {{class: probability}} mapping "
                                  f"over {classes} (or give the columns {', '.join(per_class)})")
        probabilities.append(list(values))
    return probabilities


def build_performance_reference(model: ModelConfig, *, progress: bool = False) -> PerformanceReference | None:
    """The quality reference of ``model`` from its ``performance.reference`` file (``None`` without one).

    Raises
    ------
    CheckInputError
        Naming the file (and the column or row): unreadable, a column absent, a score that is not a finite
        number (or probability row), a bad label, or data CBPE cannot be fitted on (e.g. a single class).
    """
    perf = model.performance
    if perf is None or perf.reference is None:
        return None
    ref = perf.reference
    where = str(ref.path)
    wanted = [ref.label_column, ref.prediction_column]
    if perf.task == "multiclass_classification":
        wanted += [f"{ref.prediction_column}_{c}" for c in perf.classes or ()]
    frame = read_table(ref.path, wanted, progress=progress)
    has_scores = ref.prediction_column in frame.columns or (
        perf.task == "multiclass_classification" and all(c in frame.columns for c in wanted[2:]))
    for column, present in ((ref.label_column, ref.label_column in frame.columns),
                            (ref.prediction_column, has_scores)):
        if not present:
            raise CheckInputError(f"{where}: column {column!r} (performance.reference of model {model.name!r}) "
                                  f"is absent")
    scores = _scores(model, frame, where)
    try:
        return PerformanceReference.build(perf, frame[ref.label_column].tolist(), scores, model=model.name)
    except BadLabelError as exc:
        raise CheckInputError(f"{where}: {exc}") from exc
    except (DetectorError, ValueError) as exc:
        raise CheckInputError(f"{where}: cannot build the performance reference of model {model.name!r}: "
                              f"{exc}") from exc
