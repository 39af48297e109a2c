"""Coverage of the 95 % intervals on simulated data: 1,000 seeded draws each (binomial 95 % band of the
coverage over 1,000 draws is about 93.6-96.4 %, so the accepted range 93-97 % is wide enough to be stable and
narrow enough to catch a wrong standard error)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from detectors.performance import binary_metrics


def test_accuracy_wilson_and_auc_delong_cover_95_percent() -> None:
    rng = np.random.default_rng(11)
    n, draws, shift = 400, 1000, 1.0
    true_auc = float(norm.cdf(shift / np.sqrt(2)))  # binormal, unit variances
    p_correct = 0.5 * (norm.cdf(shift / 2) + norm.cdf(shift / 2))  # threshold at the midpoint shift/2
    covered_acc = covered_auc = 0
    for _ in range(draws):
        y = rng.integers(0, 2, n)
        s = rng.normal(shift * y, 1.0)
        r = binary_metrics(y, s, threshold=shift / 2, metrics=["accuracy", "roc_auc"])
        covered_acc += r["accuracy"].lower <= p_correct <= r["accuracy"].upper
        covered_auc += r["roc_auc"].lower <= true_auc <= r["roc_auc"].upper
    assert 0.93 <= covered_acc / draws <= 0.97, covered_acc
    assert 0.93 <= covered_auc / draws <= 0.97, covered_auc
