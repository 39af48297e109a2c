"""Run length to the first false alarm of the early-warning CUSUMs on stationary streams.

Each early test (``monitor.pipeline.early``) turns a block of ``min_events`` events into one log-likelihood
ratio and alarms when its CUSUM passes ``h = log(ert)``. Here each test is fed blocks drawn from its own
null (the reference distribution), with the watcher's own functions (``bernoulli_llr``, ``variance_llr``,
``llr_cusum``); the CUSUM restarts after each alarm, so the measured ERT is ``blocks / alarms`` (a lower
bound ``> blocks`` when no alarm came). Three streams per test, one per traffic rate (events per hour): the
blocks are counted in events, so the rate only sets how many hours a block lasts; each stream is seeded apart.

Printed beside the measurement: the configured ERT (``early_warning.ert``, 100,000 blocks by default), a
reduced ERT (``--ert``, 500 by default) so that runs can end, and the two bounds the formulas give: the
guaranteed lower bound ``e^h = ert`` (Lorden 1971, exact LLRs) and the upper bound ``1 / P(one block's LLR >
h)`` (the CUSUM alarms at least whenever one block alone passes ``h``), computed exactly under the null
(binomial tail; chi-square for normal scores; not given for uniform scores). The ERT lies between the two;
when a severe alternative is far from the null, a false alarm needs one extreme block and the upper bound
is close.

Tests (block of 50 events, the default policy):

- ``near_constant`` scores: reference std ``sigma0``, ``sigma1 = 0.05 sigma0``; scores uniform on [0, 1] and
  normal;
- ``missing_rate``: ``p1 = 0.5`` against the reference rate ``p0`` (floored at 0.001): the stream's rate is
  ``p0`` (0.001, 0.02, 0.2);
- ``unseen_categories``: ``p1 = 0.25`` (5 x ``out_of_range_share``) against the Good-Turing bound ``p0``: the
  stream's unseen share is ``p0`` (0.001, 0.01), the worst case;
- ``business_metric``: a ratio metric with a ``reference_value`` of 0.3 and the default ``max_relative_drop``
  of 0.2: null ``p0 = 0.9 x 0.3 = 0.27``, ``p1 = 0.6 x 0.3 = 0.18``; the stream's rate is ``p0`` (the worst
  case of the null: a rate above it alarms less), Bernoulli trials per block of 50 joined predictions;
- ``traffic_volume``: the watcher's ``TrafficTest`` (``monitor.pipeline.early_traffic``: drop and spike
  CUSUMs, blocks of 900 s of event time against the mean of the 4 previous blocks) fed Poisson counts per
  block at a constant rate and along a daily cycle (0.3x to 1.7x of the mean rate, sinusoidal); here the
  traffic sets the counts, so the run length in blocks depends on it;
- ``bound check`` (not a watcher test): a near alternative (missing rate 0.2 against 0.3) whose block LLRs
  are small, where the bound ``e^h`` is nearly tight.

Run: ``.venv/bin/python bench/calibration.py early [--blocks 200000] [--seed 0] [--ert 500]``
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from detectors.sequential.early import bernoulli_llr, llr_cusum, variance_llr  # noqa: E402
from monitor.config import ModelConfig, parse_config  # noqa: E402
from monitor.pipeline.early_traffic import TrafficTest  # noqa: E402

MODEL = ModelConfig(name="m", features={"x": "numeric"})  # the default policy and early_warning settings
BLOCK = MODEL.early_warning.min_events
RATES = (200, 2_000, 20_000)  # events per hour; 200/h is the demo's traffic
Draw = Callable[[np.random.Generator, int], np.ndarray]  # (rng, blocks) -> one LLR per block


PARAMS: dict[str, tuple[float, float, float]] = {}  # Bernoulli stream label -> (p0, p1, true rate)


def bernoulli_stream(p: float, p0: float, p1: float) -> Draw:
    """Block LLRs of a Bernoulli test whose stream's true rate is ``p``."""
    table = np.array([bernoulli_llr(x, BLOCK, p0, p1) for x in range(BLOCK + 1)])

    def draw(rng: np.random.Generator, blocks: int) -> np.ndarray:
        return table[rng.binomial(BLOCK, p, size=blocks)]

    return draw


def variance_stream(kind: str) -> Draw:
    """Block LLRs of the near-constant test on scores uniform on [0, 1] or standard normal."""
    sigma0 = math.sqrt(1 / 12) if kind == "uniform" else 1.0
    sigma1 = MODEL.prediction.near_constant_std_ratio * sigma0

    def draw(rng: np.random.Generator, blocks: int) -> np.ndarray:
        x = rng.uniform(size=(blocks, BLOCK)) if kind == "uniform" else rng.normal(size=(blocks, BLOCK))
        ss = np.sum((x - x.mean(axis=1, keepdims=True)) ** 2, axis=1)
        return np.array([variance_llr(BLOCK, float(s), sigma0, sigma1) for s in ss])

    return draw


def tests() -> list[tuple[str, str, Draw]]:
    q1 = min(0.99, 5 * MODEL.alerts.out_of_range_share)
    out: list[tuple[str, str, Draw]] = [("near_constant", "uniform scores", variance_stream("uniform")),
                                        ("near_constant", "normal scores", variance_stream("normal"))]
    bernoulli = [("missing_rate", p, max(p, 0.001), 0.5) for p in (0.001, 0.02, 0.2)]
    bernoulli += [("unseen_categories", p, p, q1) for p in (0.001, 0.01)]
    bernoulli += [("business_metric", 0.3 * (1 - 0.2 / 2), 0.3 * (1 - 0.2 / 2), 0.3 * (1 - 2 * 0.2))]
    bernoulli += [("bound check", 0.2, 0.2, 0.3)]
    for name, p, p0, p1 in bernoulli:
        label = f"p0 = {p0}, p1 = {p1}"
        PARAMS[label] = (p0, p1, p)
        out.append((name, label, bernoulli_stream(p, p0, p1)))
    return out


def traffic_alarms(rng: np.random.Generator, blocks: int, rate: float, daily: bool, ert: float) -> int:
    """Alarms of the watcher's traffic CUSUMs over ``blocks`` blocks of Poisson counts at ``rate`` per hour."""
    config = parse_config(f"models: {{m: {{features: {{x: numeric}}, early_warning: {{ert: {ert}}}}}}}").models["m"]
    test = TrafficTest(config)
    hours = test.seconds / 3600
    t = np.arange(blocks) * hours
    mean = rate * hours * (1 + 0.7 * np.sin(2 * np.pi * t / 24) if daily else np.ones(blocks))
    test.partial = False
    return sum(len(test.close_block(int(c))) for c in rng.poisson(mean))


def alarms(llrs: np.ndarray, ert: float) -> int:
    """Alarms of the watcher's LLR CUSUM (restarting after each) over the blocks ``llrs``."""
    cusum = llr_cusum(ert)
    return sum(cusum.update(float(v)) for v in llrs)


def upper_bound(name: str, stream: str, h: float) -> float:
    """``1 / P(block LLR > h)`` under the test's null, exactly (``nan`` when not available)."""
    if name == "near_constant":
        if not stream.startswith("normal"):
            return math.nan
        # variance_llr > h  <=>  ss / sigma0^2 < ((n - 1) log(1 / r) - h) / ((1 / r^2 - 1) / 2), ss ~ chi2(n - 1)
        r = MODEL.prediction.near_constant_std_ratio
        limit = ((BLOCK - 1) * math.log(1 / r) - h) / (0.5 * (1 / r**2 - 1))
        p = float(stats.chi2.cdf(limit, BLOCK - 1)) if limit > 0 else 0.0
    else:
        p0, p1, p = PARAMS[stream]
        llr = np.array([bernoulli_llr(x, BLOCK, p0, p1) for x in range(BLOCK + 1)])
        p = float(stats.binom.pmf(np.flatnonzero(llr > h), BLOCK, p).sum())
    return math.inf if p <= 0 else 1 / p


def fmt(blocks: float) -> str:
    if math.isnan(blocks):
        return "-"
    return "inf" if math.isinf(blocks) else f"{blocks:.3g}"


def measured(count: int, blocks: int) -> str:
    return f"> {blocks:,}" if count == 0 else f"{blocks / count:.3g} ({count} alarms)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--blocks", type=int, default=200_000, help="blocks per stream (one stream per rate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ert", type=float, default=500.0, help="the reduced ERT (blocks) so that runs end")
    args = parser.parse_args()
    configured = MODEL.early_warning.ert
    print(f"Block = {BLOCK} events; configured ERT = {configured:,.0f} blocks (h = {math.log(configured):.2f}); "
          f"reduced ERT = {args.ert:,.0f} blocks (h = {math.log(args.ert):.2f}); {args.blocks:,} blocks per stream.\n")
    print("| test | stream | events/h | configured ERT: blocks (hours) | measured | upper bound "
          "| reduced ERT | measured | upper bound |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for t_index, (name, stream, draw) in enumerate(tests()):
        for r_index, rate in enumerate(RATES):
            rng = np.random.default_rng([args.seed, t_index, r_index])
            llrs = draw(rng, args.blocks)
            at_conf, at_reduced = alarms(llrs, configured), alarms(llrs, args.ert)
            hours = configured * BLOCK / rate
            print(f"| {name} | {stream} | {rate:,} | {configured:,.0f} ({hours:,.0f} h) "
                  f"| {measured(at_conf, args.blocks)} | {fmt(upper_bound(name, stream, math.log(configured)))} "
                  f"| {args.ert:,.0f} | {measured(at_reduced, args.blocks)} "
                  f"| {fmt(upper_bound(name, stream, math.log(args.ert)))} |", flush=True)
    for t_index, daily in enumerate((False, True)):
        stream = "daily cycle" if daily else "constant rate"
        for r_index, rate in enumerate(RATES):
            seed = [args.seed, 100 + t_index, r_index]
            at_conf = traffic_alarms(np.random.default_rng(seed), args.blocks, rate, daily, configured)
            at_reduced = traffic_alarms(np.random.default_rng(seed), args.blocks, rate, daily, args.ert)
            hours = configured * 900 / 3600
            print(f"| traffic_volume | {stream} | {rate:,} | {configured:,.0f} ({hours:,.0f} h) "
                  f"| {measured(at_conf, args.blocks)} | - | {args.ert:,.0f} "
                  f"| {measured(at_reduced, args.blocks)} | - |", flush=True)

if __name__ == "__main__":
    main()
