"""The sequential detectors against River, an independent implementation of the same algorithms.

Tolerance: none. PageHinkley and ADWIN perform River's floating-point operations in River's order, so the
detection indices must be identical and the running estimates bit-for-bit equal (``==`` on floats).
That equality holds on every machine: both sides are scalar CPython float operations (IEEE 754, correctly
rounded), with no numpy reduction or BLAS call whose summation order could depend on the build or the CPU.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from river import drift as river_drift  # in the dev extra of pyproject: a missing one must fail, not skip

from detectors.sequential import ADWIN, PageHinkley


def _series(kind: str, seed: int) -> list[float]:
    g = np.random.default_rng(seed)
    if kind == "gauss_shifts":
        s = np.concatenate([g.normal(0, 1, 2500), g.normal(0.6, 1, 2500), g.normal(-0.4, 2, 2500)])
    elif kind == "stationary":
        s = g.normal(5, 1, 6000)
    elif kind == "bernoulli":
        s = np.concatenate([g.binomial(1, 0.3, 3000), g.binomial(1, 0.45, 3000)]).astype(float)
    else:  # random walk: drifts everywhere, many detections
        s = np.cumsum(g.normal(0, 0.05, 5000))
    return [float(v) for v in s]


KINDS = ["gauss_shifts", "stationary", "bernoulli", "random_walk"]


def _river_run(det: object, stream: list[float], probe: str) -> tuple[list[int], list[float]]:
    hits, probes = [], []
    for i, x in enumerate(stream):
        det.update(x)  # type: ignore[attr-defined]
        if det.drift_detected:  # type: ignore[attr-defined]
            hits.append(i)
        probes.append(det._x_mean.get() if probe == "ph" else det.estimation)  # type: ignore[attr-defined]
    return hits, probes


def test_docstring_example_matches_river() -> None:
    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    ph, adwin = PageHinkley(), ADWIN()
    assert [i for i, x in enumerate(stream) if ph.update(x)] == [1006]
    assert [i for i, x in enumerate(stream) if adwin.update(x)] == [1023]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "params",
    [{}, {"threshold": 10.0, "mode": "up"}, {"delta": 0.1, "alpha": 0.99, "threshold": 5.0, "mode": "down"}],
)
def test_page_hinkley_identical_to_river(kind: str, seed: int, params: dict[str, object]) -> None:
    stream = _series(kind, seed)
    ours = PageHinkley(**params)  # type: ignore[arg-type]
    hits, means = [], []
    for i, x in enumerate(stream):
        if ours.update(x):
            hits.append(i)
        means.append(ours.mean)
    ref_hits, ref_means = _river_run(river_drift.PageHinkley(**params), stream, "ph")
    assert hits == ref_hits
    assert means == ref_means


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "params",
    [{}, {"clock": 1}, {"delta": 0.05, "max_buckets": 3, "min_window_length": 2, "grace_period": 20}],
)
def test_adwin_identical_to_river(kind: str, seed: int, params: dict[str, object]) -> None:
    stream = _series(kind, seed)
    ours = ADWIN(**params)  # type: ignore[arg-type]
    river = river_drift.ADWIN(**params)
    hits, ref_hits = [], []
    for i, x in enumerate(stream):
        if ours.update(x):
            hits.append(i)
        river.update(x)
        if river.drift_detected:
            ref_hits.append(i)
        assert ours.width == river.width
        assert ours.mean == river.estimation
        assert ours.variance * ours.width == pytest.approx(river.variance, rel=1e-12, abs=1e-12)
    assert hits == ref_hits


def _count(detector: PageHinkley | ADWIN, stream: list[float]) -> int:
    return sum(detector.update(x) for x in stream)


def test_the_comparison_is_not_vacuous() -> None:
    """Detections do happen on these series, so the equalities above compare real alarms."""
    stream = _series("gauss_shifts", 0)
    assert _count(PageHinkley(threshold=10.0, mode="up"), stream) >= 1
    assert _count(ADWIN(), stream) >= 2
    assert _count(ADWIN(clock=1), _series("random_walk", 0)) >= 10
