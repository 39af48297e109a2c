"""Categories of the current data that the reference never had."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, format_examples, null_mask

__all__ = ["unseen_categories_check", "unseen_categories_from_counts"]


def unseen_categories_check(
    column: str,
    current_labels: ArrayLike,
    *,
    reference_categories: Collection[str],
    min_count: int = 1,
    max_share: float = 0.0,
    max_examples: int = 5,
) -> QualityResult:
    """Which current categories are absent from the reference, and how often do they occur?

    ``current_labels`` must use the reference's labelling (for driftwarden's profiles: the output of
    ``detectors.kinds.to_labels``, strings with ``None`` for nulls); labels are compared with ``==``
    after ``str()``. Missing values are never unseen categories (the missing-rate check owns them).
    ``reference_categories`` must be the complete set of reference categories: a truncated top-k list
    turns every rare reference category into a false alarm.

    Rule: ``triggered = count >= min_count and share > max_share``, with ``count`` the current non-missing
    values whose label is not a reference category and ``share = count / n`` (``n`` = non-missing
    current values). The defaults alert on any unseen value, like NannyML.

    Result: ``value = share``, ``threshold = max_share``, ``examples`` = unseen labels (as given, not
    ``repr``) with counts.

    >>> r = unseen_categories_check("country", ["FR", "DE", "XX", None, "XX", "YY"],
    ...                             reference_categories={"FR", "DE"})
    >>> r.triggered, r.count, r.examples
    (True, 3, (('XX', 2), ('YY', 1)))
    >>> r.message
    "country: 3 of 5 values (60.00%) are categories unseen in the reference: 'XX' x2, 'YY' x1"
    """
    values = as_values(current_labels)
    present = values[~null_mask(values)]
    known = {str(c) for c in reference_categories}
    unseen = Counter(label for label in map(str, present) if label not in known)
    return unseen_categories_from_counts(
        column, unseen, int(present.size), min_count=min_count, max_share=max_share, max_examples=max_examples
    )


def unseen_categories_from_counts(
    column: str,
    unseen: Mapping[str, int],
    n: int,
    *,
    min_count: int = 1,
    max_share: float = 0.0,
    max_examples: int = 5,
) -> QualityResult:
    """The rule of :func:`unseen_categories_check` on counts: ``unseen`` maps each unseen label to its
    count among the ``n`` non-missing current values (a window state's tally; a catch-all label such as
    ``"<other unseen>"`` is reported like any other).

    >>> unseen_categories_from_counts("c", {"zz": 1}, 500, min_count=5).triggered
    False
    """
    where = "unseen_categories_check"
    if min_count < 1:
        raise InvalidParameterError("min_count", min_count, "an integer >= 1", where=where)
    if not 0 <= max_share < 1:
        raise InvalidParameterError("max_share", max_share, "in [0, 1)", where=where)
    count = int(sum(unseen.values()))
    if count > n:
        raise InvalidParameterError("unseen", count, f"a total <= n={n}", where=where)
    share = count / n if n else 0.0
    ranked = tuple(sorted(((str(k), int(v)) for k, v in unseen.items() if v > 0), key=lambda kv: (-kv[1], kv[0])))
    examples = ranked[:max_examples]
    triggered = count >= min_count and share > max_share
    message = f"{column}: {count} of {n} values ({share:.2%}) are categories unseen in the reference"
    if examples:
        message += ": " + format_examples(tuple((repr(label), c) for label, c in examples), len(ranked))
    return QualityResult(
        "unseen_categories", column, share, max_share, triggered, message, count, n, None, None, examples
    )
