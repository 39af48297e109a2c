"""check_column fed from core's ReferenceProfile columns (ColumnReference.from_profile) and kinds.to_labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors import ReferenceProfile
from detectors.kinds import to_labels
from detectors.quality import ColumnReference, check_column


def test_check_column_from_reference_profile() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {
            "x": rng.normal(size=2000),
            "c": rng.choice(["a", "b", "c"], 2000),
            "b": rng.choice([True, False], 2000),
        }
    )
    reference.loc[::50, "x"] = np.nan
    profile = ReferenceProfile.build(reference)
    refs = {col.name: ColumnReference.from_profile(col) for col in profile}
    assert refs["x"] == ColumnReference(
        kind="numeric",
        n_rows=2000,
        n_missing=40,
        n_distinct=1960,
        min=float(reference["x"].min()),
        max=float(reference["x"].max()),
        n_finite=1960,
        value_counts=(1,) * 1960,  # distinct normal values: each seen once
    )
    assert refs["c"].categories == frozenset({"a", "b", "c"})
    assert refs["b"].categories == frozenset({"True", "False"})

    current = pd.DataFrame(
        {
            "x": np.r_[rng.normal(size=900), [9.0] * 100],
            "c": ["a"] * 500 + ["zz"] * 500,
            "b": [True] * 1000,
        }
    )
    triggered = {}
    for name, ref in refs.items():
        labels = None if ref.kind == "numeric" else to_labels(current[name])
        results = check_column(name, current[name].to_numpy(dtype=object), ref, labels=labels)
        triggered[name] = sorted(r.check for r in results if r.triggered)
    assert triggered == {
        "x": ["missing_rate", "out_of_range"],  # 2% missing in the reference, none now; 100 values at 9.0
        "c": ["unseen_categories"],
        "b": ["constant"],
    }
