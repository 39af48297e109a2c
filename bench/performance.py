"""Per-window cost of the performance core beside scikit-learn's metric functions and NannyML's CBPE.

Run: ``.venv/bin/python bench/performance.py`` (about a minute). For each window size (1k, 10k, 100k rows,
binary classifier, seeded data) it prints the median of ``--repeats`` timings, in milliseconds:

- ``realized``: :func:`detectors.performance.binary_metrics` for the default metrics (roc_auc, accuracy,
  precision, recall, f1) *with* their confidence intervals;
- ``sklearn``: scikit-learn's ``roc_auc_score``, ``accuracy_score``, ``precision_score``, ``recall_score``
  and ``f1_score`` on the same window (values only, no interval);
- ``cbpe``: :meth:`detectors.performance.CBPE.estimate` of one window (6 metrics and their bands);
- ``nannyml``: NannyML 0.13 ``CBPE.estimate`` of the same window as one chunk, same 6 metrics.

A second table times a 3-class classifier: ``cbpe`` estimates accuracy and macro precision, recall, f1
and one-vs-rest ROC AUC; ``nannyml`` the same 5 metrics of the same window as one chunk.

Targets: realized <= sklearn, and nannyml / cbpe >= 10 (binary and multiclass).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML would otherwise post usage analytics
# bench/detectors.py would shadow the package when this script runs from bench/
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

from detectors.performance import CBPE, binary_metrics  # noqa: E402

METRICS = ["roc_auc", "f1", "precision", "recall", "specificity", "accuracy"]
MC_METRICS = {
    "roc_auc": "roc_auc_macro",
    "f1": "f1_macro",
    "precision": "precision_macro",
    "recall": "recall_macro",
    "accuracy": "accuracy",
}  # NannyML's name: ours
CLASSES = ["a", "b", "c"]


def _time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1000.0


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0.0, 1.0, n)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-1.5 * x))).astype(int)
    return 1.0 / (1.0 + np.exp(-(1.2 * x + 0.3))), y


def _sklearn(y: np.ndarray, s: np.ndarray) -> None:
    pred = s >= 0.5
    skm.roc_auc_score(y, s)
    skm.accuracy_score(y, pred)
    skm.precision_score(y, pred)
    skm.recall_score(y, pred)
    skm.f1_score(y, pred)


def _multiclass_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.choice(3, n, p=[0.3, 0.4, 0.3])
    logits = rng.normal(size=(n, 3)) * 1.3
    logits[np.arange(n), y] += 1.2
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), np.array(CLASSES)[y]


def _multiclass_frame(p: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({f"p_{c}": p[:, j] for j, c in enumerate(CLASSES)})
    frame["yp"] = np.array(CLASSES)[p.argmax(axis=1)]
    return frame


def _multiclass_table(rng: np.random.Generator, reference: int, repeats: int) -> None:
    import nannyml as nml

    p_ref, y_ref = _multiclass_data(rng, reference)
    ours = CBPE("multiclass_classification", classes=CLASSES, metrics=MC_METRICS.values()).fit(p_ref, y_ref)
    ref_frame = _multiclass_frame(p_ref).assign(y=y_ref)
    print(f"\nmulticlass (3 classes), ms per window\n{'rows':>7} {'cbpe':>8} {'nannyml':>9} {'speedup':>8}")
    for n in (1_000, 10_000, 100_000):
        p, _ = _multiclass_data(rng, n)
        theirs = nml.CBPE(
            y_pred_proba={c: f"p_{c}" for c in CLASSES},
            y_pred="yp",
            y_true="y",
            problem_type="classification_multiclass",
            metrics=list(MC_METRICS),
            chunk_size=n,
        ).fit(ref_frame)
        window = _multiclass_frame(p)
        t_cbpe = _time(lambda p=p: ours.estimate(p), repeats)
        t_nml = _time(lambda t=theirs, w=window: t.estimate(w), max(3, repeats // 2))
        print(f"{n:>7} {t_cbpe:>8.2f} {t_nml:>9.1f} {t_nml / t_cbpe:>7.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reference", type=int, default=20_000, help="labelled reference rows for CBPE")
    args = parser.parse_args()
    import nannyml as nml

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    s_ref, y_ref = _data(rng, args.reference)
    ours = CBPE("binary_classification", metrics=METRICS).fit(s_ref, y_ref)
    print(f"reference rows: {args.reference}; median of {args.repeats} runs, ms per window")
    print(f"{'rows':>7} {'realized':>9} {'sklearn':>9} {'ratio':>6} {'cbpe':>8} {'nannyml':>9} {'speedup':>8}")
    for n in (1_000, 10_000, 100_000):
        s, y = _data(rng, n)
        theirs = nml.CBPE(
            y_pred_proba="p",
            y_pred="yp",
            y_true="y",
            problem_type="classification_binary",
            metrics=METRICS,
            chunk_size=n,
        )
        theirs.fit(pd.DataFrame({"p": s_ref, "yp": (s_ref >= 0.5).astype(int), "y": y_ref}))
        window = pd.DataFrame({"p": s, "yp": (s >= 0.5).astype(int)})
        t_real = _time(lambda s=s, y=y: binary_metrics(y, s), args.repeats)
        t_sk = _time(lambda s=s, y=y: _sklearn(y, s), args.repeats)
        t_cbpe = _time(lambda s=s: ours.estimate(s), args.repeats)
        t_nml = _time(lambda t=theirs, w=window: t.estimate(w), max(3, args.repeats // 2))
        print(
            f"{n:>7} {t_real:>9.2f} {t_sk:>9.2f} {t_real / t_sk:>6.2f} {t_cbpe:>8.2f} {t_nml:>9.1f}"
            f" {t_nml / t_cbpe:>7.0f}x"
        )
    _multiclass_table(rng, args.reference, args.repeats)


if __name__ == "__main__":
    main()
