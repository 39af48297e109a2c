"""The ``evidently`` preset against Evidently 0.7's own ``DataDriftPreset`` report, column by column.

Each frame exercises one branch of Evidently's selection (reference <= 1000 or > 1000 rows; numeric with
> 5, 3..5 or <= 2 distinct values over reference ∪ current; categorical with 2 or many levels; unseen
categories; nulls and infinities). The score (p-value or distance) must agree to 1e-9 relative, and the
test name and verdict exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile, evaluate

METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare_gof",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def evidently_verdicts(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, tuple[str, float, bool]], bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import Report
        from evidently.presets import DataDriftPreset

        snap = Report([DataDriftPreset()], include_tests=True).run(current_data=cur, reference_data=ref)
    d = snap.dict()
    scores = {
        m["config"]["column"]: (METHODS[m["config"]["method"]], float(m["value"]))
        for m in d["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    out: dict[str, tuple[str, float, bool]] = {}
    dataset = False
    for t in d["tests"]:
        status = str(getattr(t["status"], "value", t["status"]))
        if t["name"].startswith("Value Drift for column "):
            col = t["name"].removeprefix("Value Drift for column ")
            out[col] = (*scores[col], status == "FAIL")
        elif t["name"].startswith("Share of Drifted Columns"):
            dataset = status == "FAIL"
    return out, dataset


def frames(n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def make(n: int, shift: float) -> pd.DataFrame:
        cont = rng.normal(shift, 1, size=n)
        cont[: n // 50] = np.nan
        cont[n // 50] = np.inf
        return pd.DataFrame({
            "cont": cont,
            "cont_same": rng.normal(size=n),
            "three_values": rng.choice([1.5, 2.5, 3.5], size=n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.4, 0.3, 0.3]),
            "two_values": rng.choice([0.0, 1.0], size=n, p=[0.7, 0.3] if shift == 0 else [0.6, 0.4]),
            "cat_many": rng.choice([f"k{i}" for i in range(12)], size=n),
            "cat_two": rng.choice(["yes", "no"], size=n, p=[0.5, 0.5] if shift == 0 else [0.45, 0.55]),
        })

    ref, cur = make(n_ref, 0.0), make(n_cur, 0.15)
    cur.loc[cur.index[:3], "cat_many"] = "brand_new"
    return ref, cur


@pytest.mark.parametrize(("n_ref", "n_cur", "seed"), [(300, 200, 0), (1000, 1500, 1), (1001, 400, 2), (4000, 4000, 3)])
def test_evidently_preset_reproduces_evidently(n_ref: int, n_cur: int, seed: int) -> None:
    ref, cur = frames(n_ref, n_cur, seed)
    expected, dataset = evidently_verdicts(ref, cur)
    report = evaluate(ReferenceProfile.build(ref), cur, preset="evidently")
    assert set(expected) == {c.name for c in report.columns}
    for col in report.columns:
        test, score, drifted = expected[col.name]
        ours = col.p_value if col.p_value is not None else col.statistic
        assert (col.name, col.test, col.drifted) == (col.name, test, drifted)
        assert ours == pytest.approx(score, rel=1e-9, abs=1e-300), col.name
    assert report.dataset_drift == dataset


def test_small_reference_selection_branches_are_all_exercised() -> None:
    ref, cur = frames(300, 200, 0)
    tests = {c.name: c.test for c in evaluate(ReferenceProfile.build(ref), cur, preset="evidently").columns}
    assert tests == {"cont": "ks", "cont_same": "ks", "three_values": "chisquare_gof", "two_values": "z",
                     "cat_many": "chisquare_gof", "cat_two": "z"}
    ref, cur = frames(4000, 4000, 3)
    tests = {c.name: c.test for c in evaluate(ReferenceProfile.build(ref), cur, preset="evidently").columns}
    assert tests == {"cont": "wasserstein", "cont_same": "wasserstein", "three_values": "jensenshannon",
                     "two_values": "jensenshannon", "cat_many": "jensenshannon", "cat_two": "jensenshannon"}
