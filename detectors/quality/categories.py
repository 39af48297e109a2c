"""Categories of the current data that the reference never had."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Final

import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)
from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, format_examples, null_mask

__all__ = [
    "DEFAULT_MIN_EXCESS",
    "DEFAULT_UNSEEN_ALPHA",
    "expected_unseen_share",
    "unseen_categories_check",
    "unseen_categories_from_counts",
]

#: Level of each one-sided bound of the unseen-share test.
DEFAULT_UNSEEN_ALPHA: Final = 0.001
#: Material excess of the unseen share over the expected one (absolute; relative 100% when smaller).
DEFAULT_MIN_EXCESS: Final = 0.05
_WHERE: Final = "unseen_categories_check"


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
    current values). The defaults alert on any unseen value, like NannyML. For a long-tailed reference,
    pass its counts to :func:`unseen_categories_from_counts` (what ``evaluate`` does), which compares the
    share with the reference's own missing mass.

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
    column: str, unseen: Mapping[str, int], n: int, *, min_count: int = 1, max_share: float = 0.0,
    max_examples: int = 5, reference_count: int = 0, reference_singletons: int = 0, reference_doubletons: int = 0,
    reference_unhashed: int = 0, alpha: float = DEFAULT_UNSEEN_ALPHA, min_excess: float = DEFAULT_MIN_EXCESS,
) -> QualityResult:
    """The rule of :func:`unseen_categories_check` on counts, against the unseen share that unchanged data
    would show. ``unseen`` maps each unseen label to its count among the ``n`` non-missing current values
    (a window state's tally; a catch-all label such as ``"<other unseen>"`` is reported like any other).

    A reference with a long tail (ids, search terms) gives every new sample values it never saw. The
    expected unseen share of unchanged data is the reference's missing mass, estimated by Good–Turing
    from the ``N = reference_count`` non-missing reference values, ``n1 = reference_singletons`` levels
    seen once and ``n2 = reference_doubletons`` levels seen twice (plus the reference values of levels
    whose label the profile did not keep, ``reference_unhashed``, which a window cannot recognise)::

        p0     = (n1 + reference_unhashed) / N
        se     = sqrt(n1 * (1 - n1 / N) + 2 * n2) / N           (Esty's standard error of n1 / N)
        p_hi   = min(1, p0 + z * se),  z = Φ⁻¹(1 - alpha)       (upper confidence bound of p0)
        p      = P(Binomial(n, p_hi) >= count)                   (p_value of the result; 1 if count = 0)
        triggered = count >= min_count and share > max_share and p < alpha
                    and share - p0 >= min(min_excess, p0)

    with ``count`` the unseen values and ``share = count / n``. Two one-sided bounds at ``alpha`` each:
    at most about ``2 * alpha`` of the windows of unchanged data trigger. The excess floor
    ``min(min_excess, p0)`` asks a long-tailed column for a material excess (0.05 absolute, or a
    doubling of a smaller expected share) so that large windows do not trigger on a tiny excess.
    Without singletons and doubletons (``p0 = se = 0``: every reference level seen at least three times,
    e.g. a device type) the rule is the plain one: any unseen value triggers with the defaults (like
    NannyML); ``reference_count = 0`` (no reference facts given) means the same.

    Result: ``value = share``, ``threshold = max_share``, ``p_value = p``, ``reference_value = p0``,
    ``examples`` = unseen labels with counts.

    >>> unseen_categories_from_counts("c", {"zz": 1}, 500, min_count=5).triggered
    False
    >>> r = unseen_categories_from_counts("item", {"<other unseen>": 440}, 5000, reference_count=20_000,
    ...                                   reference_singletons=1800, reference_doubletons=500)
    >>> r.triggered, round(r.reference_value, 3)
    (False, 0.09)
    >>> unseen_categories_from_counts("item", {"<other unseen>": 900}, 5000, reference_count=20_000,
    ...                               reference_singletons=1800, reference_doubletons=500).triggered
    True
    """
    count = int(sum(unseen.values()))
    _check_parameters(count, n, min_count=min_count, max_share=max_share, alpha=alpha, min_excess=min_excess)
    share = count / n if n else 0.0
    p0, p_hi = expected_unseen_share(reference_count, reference_singletons, reference_doubletons,
                                     reference_unhashed, alpha=alpha)
    p_value = float(scipy.stats.binom.sf(count - 1, n, p_hi)) if count else 1.0
    ranked = tuple(sorted(((str(k), int(v)) for k, v in unseen.items() if v > 0), key=lambda kv: (-kv[1], kv[0])))
    examples = ranked[:max_examples]
    triggered = (count >= min_count and share > max_share and p_value < alpha
                 and share - p0 >= min(min_excess, p0))
    message = _message(column, count, n, share, p0, examples, len(ranked))
    return QualityResult(
        "unseen_categories", column, share, max_share, bool(triggered), message, count, n, p_value, p0, examples
    )


def _check_parameters(count: int, n: int, *, min_count: int, max_share: float, alpha: float,
                      min_excess: float) -> None:
    """The domains of :func:`unseen_categories_from_counts`' parameters, and at most ``n`` unseen values in
    all (``count``): InvalidParameterError otherwise."""
    if min_count < 1:
        raise InvalidParameterError("min_count", min_count, "an integer >= 1", where=_WHERE)
    if not 0 <= max_share < 1:
        raise InvalidParameterError("max_share", max_share, "in [0, 1)", where=_WHERE)
    if not 0 < alpha < 1:
        raise InvalidParameterError("alpha", alpha, "in (0, 1)", where=_WHERE)
    if min_excess < 0:
        raise InvalidParameterError("min_excess", min_excess, ">= 0", where=_WHERE)
    if count > n:
        raise InvalidParameterError("unseen", count, f"a total <= n={n}", where=_WHERE)


def _message(column: str, count: int, n: int, share: float, p0: float, examples: tuple[tuple[str, int], ...],
             n_labels: int) -> str:
    """The result's message: the unseen values, the expected share when above 0, the top unseen labels (of
    ``n_labels``)."""
    message = f"{column}: {count} of {n} values ({share:.2%}) are categories unseen in the reference"
    if p0 > 0:
        message += f" (expected {p0:.2%} from the reference's rare levels)"
    if examples:
        message += ": " + format_examples(tuple((repr(label), c) for label, c in examples), n_labels)
    return message

def expected_unseen_share(
    reference_count: int,
    singletons: int,
    doubletons: int,
    unhashed: int = 0,
    *,
    alpha: float = DEFAULT_UNSEEN_ALPHA,
) -> tuple[float, float]:
    """``(p0, p_hi)`` of :func:`unseen_categories_from_counts`: the Good–Turing unseen share of unchanged
    data and its upper ``1 - alpha`` confidence bound (``(0.0, 0.0)`` without reference values).

    >>> p0, hi = expected_unseen_share(1000, 100, 20)
    >>> round(p0, 3), round(hi, 3)
    (0.1, 0.135)
    """
    if reference_count <= 0:
        return 0.0, 0.0
    big_n = float(reference_count)
    p0 = min(1.0, (singletons + unhashed) / big_n)
    se = math.sqrt(max(singletons * (1 - singletons / big_n) + 2 * doubletons, 0.0)) / big_n
    z = -float(scipy.special.ndtri(alpha))  # norm.isf(alpha), as scipy.stats computes it
    return p0, min(1.0, p0 + z * se)
