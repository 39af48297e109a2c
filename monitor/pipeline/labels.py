"""Labels of one window's predictions, kept until the model's ``label_ttl`` has passed (pure).

A :class:`LabelBook` keeps, per prediction of a window: its row number (``index``: event id -> row; the
event id string is the one the outcome joiner keeps too), its score(s) in one ``array('d')`` (binary and
regression: 1 float; multiclass: one probability per class) and, once it arrived, its label (``labels``:
row -> label, labelled rows only). Measured cost per prediction (binary, ``bench/awaiting_labels.py``) is
in ``docs/architecture.md``.

:func:`check_label` turns an outcome's ``label`` into the value the metrics use, or raises
:class:`BadLabelError` (the consumer makes it a dead letter with that reason).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from monitor.errors import MonitorError

__all__ = ["BadLabelError", "LabelBook", "check_label", "score_values"]


class BadLabelError(MonitorError, ValueError):
    """A label of the wrong type or an unknown class (the message names the value, the model and why)."""


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def check_label(task: str, label: Any, *, model: str, positive_class: Any = 1,
                classes: Sequence[Any] | None = None) -> Any:
    """The label as the metrics take it; :class:`BadLabelError` when it cannot be one.

    - regression: a finite number (not a bool) -> ``float``;
    - binary: with ``classes``, one of them; without, ``positive_class``, or 0/1/``True``/``False`` when the
      positive class is 0 or 1 -> ``True`` when ``label == positive_class``, else ``False``;
    - multiclass: one of ``classes`` (compared by value, ``2.0 == 2``) -> that class.

    >>> check_label("binary_classification", 1.0, model="m"), check_label("binary_classification", False, model="m")
    (True, False)
    >>> check_label("regression", "x", model="m")
    Traceback (most recent call last):
    ...
    monitor.pipeline.labels.BadLabelError: label 'x' of model 'm': a regression label must be a finite number
    """
    if task == "regression":
        if not _is_number(label):
            raise BadLabelError(f"label {label!r} of model {model!r}: a regression label must be a finite number")
        return float(label)
    if task == "binary_classification":
        if classes:
            if not any(label == c for c in classes):
                raise BadLabelError(f"label {label!r} of model {model!r}: unknown class (classes: {list(classes)})")
            return bool(label == positive_class)
        if label == positive_class:
            return True
        if (isinstance(label, bool) or (_is_number(label) and label in (0, 1))) and positive_class in (0, 1):
            return False
        raise BadLabelError(f"label {label!r} of model {model!r}: unknown class (binary labels are 0/1, "
                            f"True/False or the positive class {positive_class!r}; name both in classes)")
    for cls in classes or ():
        if label == cls and isinstance(label, bool) == isinstance(cls, bool):
            return cls
    raise BadLabelError(f"label {label!r} of model {model!r}: unknown class (classes: {list(classes or ())})")


def score_values(task: str, prediction: Any, score: float | None, classes: Sequence[Any] | None
                 ) -> tuple[float, ...] | None:
    """What a book keeps of one prediction: ``(score,)`` (binary, regression) or the class probabilities in
    ``classes`` order (multiclass; a class missing from the mapping has 0); ``None`` if unusable."""
    if task != "multiclass_classification":
        return None if score is None or not math.isfinite(score) else (score,)
    if not isinstance(prediction, Mapping) or not classes:
        return None
    out = []
    for cls in classes:
        value = prediction.get(cls, prediction.get(str(cls), 0.0))
        if not _is_number(value):
            return None
        out.append(float(value))
    return tuple(out)


class LabelBook:
    """Scores and labels of one window's predictions (see the module docstring)."""

    __slots__ = ("index", "labels", "scores", "width")

    def __init__(self, width: int = 1) -> None:
        self.width = width
        self.index: dict[str, int] = {}
        self.scores = array("d")
        self.labels: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    @property
    def n_labelled(self) -> int:
        return len(self.labels)

    def add(self, event_id: str, values: tuple[float, ...]) -> bool:
        """Record a prediction (a repeated event id keeps its first scores); whether it is new."""
        if event_id in self.index:
            return False
        self.index[event_id] = len(self.index)
        self.scores.extend(values)
        return True

    def set_label(self, event_id: str, label: Any) -> bool:
        """Attach ``label`` to the prediction; whether anything changed (unknown id or same label: no)."""
        row = self.index.get(event_id)
        if row is None:
            return False
        old = self.labels.get(row, _MISSING)
        if old is not _MISSING and old == label and type(old) is type(label):
            return False
        self.labels[row] = label
        return True

    def all_scores(self) -> list[float] | list[list[float]]:
        """Every prediction's score (binary, regression) or probability row (multiclass), in row order."""
        if self.width == 1:
            return self.scores.tolist()
        s, w = self.scores, self.width
        return [s[i * w:(i + 1) * w].tolist() for i in range(len(self.index))]

    def labelled(self) -> tuple[list[Any], list[float] | list[list[float]]]:
        """``(labels, scores)`` of the labelled rows, in row order."""
        rows = sorted(self.labels)
        s, w = self.scores, self.width
        if w == 1:
            return [self.labels[r] for r in rows], [s[r] for r in rows]
        return [self.labels[r] for r in rows], [s[r * w:(r + 1) * w].tolist() for r in rows]

    def event_ids(self) -> Iterator[str]:
        return iter(self.index)

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"width": self.width, "ids": list(self.index), "scores": self.scores.tolist(),
                "labels": [[r, v] for r, v in sorted(self.labels.items())]}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> LabelBook:
        book = cls(int(data["width"]))
        book.index = {str(k): i for i, k in enumerate(data["ids"])}
        book.scores = array("d", (float(x) for x in data["scores"]))
        book.labels = {int(r): v for r, v in data["labels"]}
        return book


_MISSING = object()
