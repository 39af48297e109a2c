"""The explicit registries: every two-sample test by name (:data:`TESTS`) and the presets (:data:`PRESETS`).

Nothing registers itself on import: adding a test means adding a line here (and the contract test in
``tests/unit/detectors/test_contract.py`` then runs it through the common checks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from detectors.errors import UnknownNameError
from detectors.kinds import BINARY, CATEGORICAL, NUMERIC
from detectors.result import TestResult
from detectors.stattests.anderson_darling import anderson_darling
from detectors.stattests.chisquare import chisquare, chisquare_gof
from detectors.stattests.cramer_von_mises import cramer_von_mises
from detectors.stattests.energy import energy_distance
from detectors.stattests.fisher_exact import fisher_exact
from detectors.stattests.hellinger import hellinger
from detectors.stattests.jensen_shannon import jensen_shannon
from detectors.stattests.kl_divergence import kl_divergence
from detectors.stattests.ks import ks
from detectors.stattests.psi import psi
from detectors.stattests.wasserstein import wasserstein
from detectors.stattests.ztest import ztest

__all__ = ["PRESETS", "TESTS", "TestSpec", "get_test"]


@dataclass(frozen=True)
class TestSpec:
    """A registered test: its function, the kinds it accepts, and its threshold parameter.

    ``parameter`` is ``"alpha"`` (p-value rule) or ``"threshold"`` (distance rule); ``default`` its default
    value; ``rule`` the exact drift rule; ``categorical_kwargs`` the extra arguments used on categorical
    data (one bucket per category for the distances).
    """

    __test__ = False

    name: str
    function: Callable[..., TestResult]
    kinds: frozenset[str]
    parameter: str
    default: float
    rule: str
    categorical_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def run(self, reference: Any, current: Any, *, kind: str, value: float | None = None) -> TestResult:
        kwargs: dict[str, Any] = dict(self.categorical_kwargs) if kind != NUMERIC else {}
        kwargs[self.parameter] = self.default if value is None else value
        return self.function(reference, current, **kwargs)


_ALL = frozenset({NUMERIC, CATEGORICAL, BINARY})
_NUM = frozenset({NUMERIC})
_CAT = frozenset({CATEGORICAL, BINARY})
_BIN = frozenset({BINARY})
_BUCKETS = MappingProxyType({"bins": "categories"})

TESTS: Final[Mapping[str, TestSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            TestSpec("ks", ks, _NUM, "alpha", 0.05, "p_value <= alpha"),
            TestSpec("wasserstein", wasserstein, _NUM, "threshold", 0.1, "statistic >= threshold"),
            TestSpec("jensenshannon", jensen_shannon, _ALL, "threshold", 0.1, "statistic >= threshold", _BUCKETS),
            TestSpec("psi", psi, _ALL, "threshold", 0.1, "statistic >= threshold", _BUCKETS),
            TestSpec("chisquare", chisquare, _CAT, "alpha", 0.05, "p_value < alpha"),
            TestSpec("chisquare_gof", chisquare_gof, _CAT, "alpha", 0.05, "p_value < alpha"),
            TestSpec("z", ztest, _BIN, "alpha", 0.05, "p_value < alpha"),
            TestSpec("anderson", anderson_darling, _NUM, "alpha", 0.1, "p_value < alpha"),
            TestSpec("cramer_von_mises", cramer_von_mises, _NUM, "alpha", 0.1, "p_value <= alpha"),
            TestSpec("hellinger", hellinger, _ALL, "threshold", 0.1, "statistic >= threshold", _BUCKETS),
            TestSpec("kl_div", kl_divergence, _ALL, "threshold", 0.1, "statistic >= threshold", _BUCKETS),
            TestSpec("ed", energy_distance, _NUM, "threshold", 0.1, "statistic >= threshold"),
            TestSpec("fisher_exact", fisher_exact, _BIN, "alpha", 0.1, "p_value < alpha"),
        )
    }
)

#: Preset names accepted by :func:`detectors.evaluate`.
PRESETS: Final[tuple[str, ...]] = ("default", "evidently")


def get_test(name: str) -> TestSpec:
    """The registered test ``name``; :class:`UnknownNameError` lists the valid names otherwise."""
    try:
        return TESTS[name]
    except KeyError:
        raise UnknownNameError("test", name, TESTS) from None
