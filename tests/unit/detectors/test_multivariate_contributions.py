"""Which columns a multivariate drift is in: each column's share of the window's squared reconstruction error.

Checked against an independent computation (each fold model's projection by least squares, numpy only), on
seeded data whose only change is a correlation that breaks between two columns: those two hold most of the
error; the shares survive batching, merging and a checkpoint round trip, and reach the alert's message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile, WindowState, evaluate

N_REF = 4000


def _frame(n: int, rho: float, seed: int) -> pd.DataFrame:
    """a and b correlated by ``rho``; c, d independent; e categorical."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=n), "d": rng.normal(size=n),
                         "e": rng.choice(list("xyz"), size=n, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return ReferenceProfile.build(_frame(N_REF, 0.9, seed=1))


def _independent_shares(profile: ReferenceProfile, current: pd.DataFrame) -> dict[str, float]:
    """Per column: squared residual of each row off each fold model's subspace (projection by least squares
    on the fold's components), averaged over the folds and summed over the rows, as a share of the total."""
    from detectors.joint import joint_matrix

    detector = profile.multivariate
    assert detector is not None
    names = profile.multivariate_columns
    z = detector.transform(joint_matrix(profile.columns, names, current))
    squares = np.zeros(len(names))
    for components in detector.fold_components:
        coef, *_ = np.linalg.lstsq(components.T, z.T, rcond=None)
        residual = z - (components.T @ coef).T
        squares += (residual**2).sum(axis=0) / len(detector.fold_components)
    return dict(zip(names, squares / squares.sum(), strict=True))


def test_shares_match_an_independent_computation_and_point_at_the_broken_pair(profile: ReferenceProfile) -> None:
    current = _frame(3000, -0.9, seed=2)  # every marginal unchanged; a and b now move against each other
    state = WindowState(profile)
    for lo in range(0, len(current), 700):  # in batches, as the watcher feeds it
        state.update(current.iloc[lo:lo + 700])
    result = state.multivariate()
    assert result is not None and result.drifted and result.contributions is not None
    expected = _independent_shares(profile, current)
    assert set(result.contributions) == set(expected)
    for name, share in result.contributions.items():
        assert share == pytest.approx(expected[name], rel=1e-9, abs=1e-12)
    assert sum(result.contributions.values()) == pytest.approx(1.0, rel=1e-12)
    assert list(result.contributions)[:2] in (["a", "b"], ["b", "a"])  # largest first: the broken pair
    assert result.contributions["a"] + result.contributions["b"] > 0.6


def test_shares_survive_merging_and_a_checkpoint(profile: ReferenceProfile) -> None:
    current = _frame(2000, -0.9, seed=3)
    whole = WindowState(profile)
    whole.update(current)
    first, second = WindowState(profile), WindowState(profile)
    first.update(current.iloc[:900])
    second.update(current.iloc[900:])
    restored = WindowState.from_bytes(first.to_bytes(), profile)
    restored.update(current.iloc[900:])
    want = whole.multivariate().contributions  # type: ignore[union-attr]
    for got in (first.merge(second).multivariate(), restored.multivariate()):
        assert got is not None and got.contributions is not None
        assert list(got.contributions) == list(want)  # type: ignore[arg-type]
        for name, share in got.contributions.items():
            assert share == pytest.approx(want[name], rel=1e-9)  # type: ignore[index]


def test_the_alert_names_the_columns(profile: ReferenceProfile) -> None:
    from monitor.config import parse_config
    from monitor.pipeline.alert_signals import drift_signals

    model = parse_config("models:\n  m:\n    features: {a: numeric, b: numeric, c: numeric, d: numeric, "
                         "e: categorical}\n").models["m"]
    report = evaluate(profile, _frame(3000, -0.9, seed=4))
    [signal] = [s for s in drift_signals(model, report.to_dict(), 3000) if s.signal == "multivariate_drift"]
    shares = report.multivariate.contributions  # type: ignore[union-attr]
    top = list(shares)[:3]  # type: ignore[arg-type]
    assert signal.message.endswith("; most of it from " + ", ".join(f"{k} ({shares[k]:.0%})" for k in top))  # type: ignore[index]
    assert top[:2] in (["a", "b"], ["b", "a"])
