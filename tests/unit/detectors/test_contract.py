"""One contract for every registered test (river-style): the same checks, run over ``detectors.TESTS``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors import TESTS, InsufficientDataError, TestResult, TestSpec, UnknownNameError, get_test
from detectors.kinds import BINARY, CATEGORICAL, NUMERIC


def samples(kind: str, seed: int, *, drift: bool, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == NUMERIC:
        return rng.normal(size=n), rng.normal(1.5 if drift else 0.0, 1.0, size=n)
    if kind == BINARY:
        return rng.binomial(1, 0.3, size=n), rng.binomial(1, 0.8 if drift else 0.3, size=n)
    cats = np.array(list("abcde"), dtype=object)
    p = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    q = p[::-1] if drift else p
    return rng.choice(cats, size=n, p=p), rng.choice(cats, size=n, p=q)


def cases() -> list[tuple[TestSpec, str]]:
    return [(spec, kind) for spec in TESTS.values() for kind in (NUMERIC, CATEGORICAL, BINARY) if kind in spec.kinds]


def rule(spec: TestSpec, res: TestResult) -> bool:
    if spec.parameter == "alpha":
        assert res.p_value is not None
        return res.p_value <= res.threshold if spec.rule == "p_value <= alpha" else res.p_value < res.threshold
    assert spec.rule == "statistic >= threshold"
    return res.statistic >= res.threshold


@pytest.mark.parametrize(("spec", "kind"), cases(), ids=lambda v: v.name if isinstance(v, TestSpec) else v)
class TestContract:
    def test_result_shape_and_rule(self, spec: TestSpec, kind: str) -> None:
        for drift in (False, True):
            res = spec.run(*samples(kind, 1, drift=drift), kind=kind)
            assert isinstance(res, TestResult) and res.test == spec.name
            assert math.isfinite(res.statistic)
            assert (res.p_value is None) == (spec.parameter == "threshold")
            if res.p_value is not None:
                assert 0.0 <= res.p_value <= 1.0
            assert res.threshold == spec.default
            assert res.drifted == rule(spec, res)
            assert "Rule:" in (spec.function.__doc__ or "") and spec.rule.split()[1] in (spec.function.__doc__ or "")

    def test_identical_is_quiet_and_shifted_is_flagged(self, spec: TestSpec, kind: str) -> None:
        ref, _ = samples(kind, 2, drift=False)
        assert not spec.run(ref, ref.copy(), kind=kind).drifted
        assert spec.run(*samples(kind, 3, drift=True), kind=kind).drifted

    def test_deterministic_and_to_dict(self, spec: TestSpec, kind: str) -> None:
        ref, cur = samples(kind, 4, drift=True)
        a, b = spec.run(ref, cur, kind=kind), spec.run(ref, cur, kind=kind)
        assert a == b
        assert set(a.to_dict()) == {"test", "statistic", "p_value", "threshold", "drifted"}

    def test_threshold_is_respected(self, spec: TestSpec, kind: str) -> None:
        ref, cur = samples(kind, 5, drift=True)
        res = spec.run(ref, cur, kind=kind)
        if spec.parameter == "alpha":
            assert res.p_value is not None
            strict = spec.run(ref, cur, kind=kind, value=min(max(res.p_value / 2, 1e-300), 0.5))
            assert not strict.drifted or res.p_value == 0.0
        else:
            loose = spec.run(ref, cur, kind=kind, value=res.statistic * 2 + 1)
            assert not loose.drifted

    def test_nulls_are_ignored_and_empty_input_is_an_error(self, spec: TestSpec, kind: str) -> None:
        ref, cur = samples(kind, 6, drift=False, n=120)
        base = spec.run(ref, cur, kind=kind)
        if kind == NUMERIC:
            with_nan = np.concatenate([cur.astype(float), [np.nan, np.inf, -np.inf]])
        else:
            with_nan = np.concatenate([cur.astype(object), np.array([None, np.nan], dtype=object)])
        assert spec.run(ref, with_nan, kind=kind) == base
        with pytest.raises(InsufficientDataError):
            spec.run(ref, cur[:0], kind=kind)


def test_unknown_test_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown test 'kolmogorov'; valid: anderson, chisquare"):
        get_test("kolmogorov")
