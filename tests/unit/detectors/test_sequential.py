"""Contract of every sequential detector, and CUSUM against an independent formulation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detectors.errors import DetectorError, InvalidParameterError, ProfileFormatError
from detectors.sequential import (
    ADWIN,
    CUSUM,
    DETECTORS,
    PageHinkley,
    SequentialDetector,
)
from detectors.sequential._base import DetectorStateError, NonFiniteValueError

FACTORIES = {
    "page_hinkley": lambda: PageHinkley(threshold=10.0),
    "cusum": lambda: CUSUM(warmup=40),
    "cusum_fixed": lambda: CUSUM(target=0.0, sigma=1.0, h=6.0),
    "adwin": lambda: ADWIN(clock=4),
}


def _stream(seed: int = 3) -> np.ndarray:
    g = np.random.default_rng(seed)
    return np.concatenate([g.normal(0, 1, 600), g.normal(2.0, 1, 600), g.normal(-1.0, 1, 600)])


def test_registry_covers_the_classes() -> None:
    assert {"adwin": ADWIN, "cusum": CUSUM, "page_hinkley": PageHinkley} == DETECTORS


@pytest.mark.parametrize("name", FACTORIES)
def test_update_flag_and_counters(name: str) -> None:
    det = FACTORIES[name]()
    hits = []
    for i, x in enumerate(_stream()):
        detected = det.update(x)
        assert detected is det.drift_detected
        if detected:
            hits.append(i)
    assert len(hits) >= 2  # both shifts (at 600 and 1200) are caught
    assert det.n_detections == len(hits)
    assert det.n == len(_stream()) - 1 - hits[-1]  # n restarts at 1 on the update after a detection


@pytest.mark.parametrize("name", FACTORIES)
def test_checkpoint_mid_stream_continues_identically(name: str) -> None:
    stream = _stream()
    whole = FACTORIES[name]()
    expected = [whole.update(x) for x in stream]
    for cut in (0, 1, 599, 610, 1300):
        first = FACTORIES[name]()
        got = [first.update(x) for x in stream[:cut]]
        payload = json.loads(json.dumps(first.to_dict(), allow_nan=False))
        restored = type(first).from_dict(payload)
        assert restored.to_dict() == first.to_dict()
        got += [restored.update(x) for x in stream[cut:]]
        assert got == expected, cut
        assert restored.to_dict() == whole.to_dict()


@pytest.mark.parametrize("name", FACTORIES)
def test_reset_returns_to_the_constructed_state(name: str) -> None:
    det = FACTORIES[name]()
    fresh = det.to_dict()
    for x in _stream():
        det.update(x)
    assert det.to_dict() != fresh
    det.reset()
    assert det.to_dict() == fresh


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1.0", None, True])
def test_non_finite_input_is_rejected_without_changing_state(name: str, bad: object) -> None:
    det = FACTORIES[name]()
    for x in _stream()[:50]:
        det.update(x)
    before = det.to_dict()
    with pytest.raises(NonFiniteValueError) as info:
        det.update(bad)  # type: ignore[arg-type]
    assert info.value.index == 50
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, DetectorError)
    assert det.to_dict() == before


@pytest.mark.parametrize("name", FACTORIES)
def test_from_dict_rejects_foreign_payloads(name: str) -> None:
    det = FACTORIES[name]()
    payload = det.to_dict()
    other = "adwin" if payload["kind"] != "adwin" else "cusum"
    with pytest.raises(DetectorStateError, match="kind"):
        type(det).from_dict({**payload, "kind": other})
    with pytest.raises(DetectorStateError, match="version"):
        type(det).from_dict({**payload, "version": 99})
    state = dict(payload["state"])
    state.pop("n")
    with pytest.raises(DetectorStateError, match=r"state\.n") as info:
        type(det).from_dict({**payload, "state": state})
    assert isinstance(info.value, ProfileFormatError)


def test_adwin_from_dict_checks_window_consistency() -> None:
    det = ADWIN()
    for x in _stream()[:100]:
        det.update(x)
    payload = det.to_dict()
    payload["state"]["width"] = 99.0
    with pytest.raises(DetectorStateError, match="width"):
        ADWIN.from_dict(payload)


@pytest.mark.parametrize(
    ("cls", "kwargs", "parameter"),
    [
        (PageHinkley, {"threshold": 0}, "threshold"),
        (PageHinkley, {"alpha": 1.5}, "alpha"),
        (PageHinkley, {"mode": "sideways"}, "mode"),
        (CUSUM, {"sigma": 0.0}, "sigma"),
        (CUSUM, {"warmup": 1}, "warmup"),
        (CUSUM, {"k": -1}, "k"),
        (ADWIN, {"delta": 1.0}, "delta"),
        (ADWIN, {"clock": 0}, "clock"),
    ],
)
def test_invalid_parameters(cls: type[SequentialDetector], kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        cls(**kwargs)
    assert info.value.parameter == parameter
    assert info.value.where == cls.__name__


# -- CUSUM against the closed form -------------------------------------------------------------------
def _lindley_closed_form(x: np.ndarray, target: float, slack: float) -> tuple[np.ndarray, np.ndarray]:
    """C_t = S_t - min(0, min_{s<=t} S_s), with S the partial sums of the increments (Page 1954)."""
    s_up = np.cumsum(x - target - slack)
    s_dn = np.cumsum(target - slack - x)
    c_up = s_up - np.minimum(0.0, np.minimum.accumulate(s_up))
    c_dn = s_dn - np.minimum(0.0, np.minimum.accumulate(s_dn))
    return c_up, c_dn


def test_cusum_sums_equal_the_closed_form_until_the_first_alarm() -> None:
    x = _stream(11)
    target, sigma, k, h = 0.1, 1.2, 0.5, 5.0
    c_up, c_dn = _lindley_closed_form(x, target, k * sigma)
    first = int(np.argmax((c_up > h * sigma) | (c_dn > h * sigma)))
    assert 600 <= first < 700  # the closed form alarms shortly after the shift at 600
    det = CUSUM(target=target, sigma=sigma, k=k, h=h)
    for t in range(first + 1):
        detected = det.update(x[t])
        assert det.sum_increase == pytest.approx(c_up[t], rel=1e-9, abs=1e-9)
        assert det.sum_decrease == pytest.approx(c_dn[t], rel=1e-9, abs=1e-9)
        assert detected == (t == first)


def test_cusum_warmup_estimates_match_numpy() -> None:
    x = _stream(5)
    det = CUSUM(warmup=60)
    for v in x[:60]:
        assert det.update(v) is False
        assert det.mean is None or det.n == 60
    assert det.mean == pytest.approx(float(np.mean(x[:60])), rel=1e-12)
    assert det.scale == pytest.approx(float(np.std(x[:60], ddof=1)), rel=1e-12)
    assert det.sum_increase == 0.0  # the warm-up values do not enter the sums


def test_cusum_constant_warmup_alarms_on_the_first_different_value() -> None:
    det = CUSUM(warmup=5)
    assert [det.update(v) for v in [3.0] * 8 + [3.5]] == [False] * 8 + [True]


def test_adwin_reports_one_alarm_per_change() -> None:
    """Three level changes, far apart: exactly one alarm each (river issue #574)."""
    g = np.random.default_rng(0)
    levels = [0.0, 1.0, 0.0, 1.5]
    x = np.concatenate([g.normal(m, 0.5, 2000) for m in levels])
    det = ADWIN()
    hits = [i for i, v in enumerate(x) if det.update(v)]
    segments = [h // 2000 for h in hits]
    assert segments == [1, 2, 3], hits


def test_public_api_is_pinned() -> None:
    import detectors.sequential as sequential

    assert set(sequential.__all__) == {
        "ADWIN", "CUSUM", "DETECTORS", "DetectorStateError", "InvalidParameterError", "NonFiniteValueError",
        "PageHinkley", "SequentialDetector", "SequentialDetectorError",
    }  # fmt: skip
    assert all(hasattr(sequential, name) for name in sequential.__all__)
