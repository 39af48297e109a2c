"""Write the two files of the README's CI-gate example: ``ref.parquet`` (training extract) and ``today.parquet``.

5,000 rows each of ``age`` (normal, sd 10), ``income`` (log-normal) and ``city`` (three labels), seeded;
in ``today.parquet`` ``age`` is shifted by 0.3 standard deviations and 4% of ``income`` is null.

    python examples/check_data.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(out: Path) -> None:
    rng = np.random.default_rng(18)
    n = 5000

    def frame(age_mean: float) -> pd.DataFrame:
        return pd.DataFrame({"age": rng.normal(age_mean, 10, n), "income": rng.lognormal(10, 0.5, n),
                             "city": rng.choice(["paris", "rome", "oslo"], n)})

    ref, today = frame(40.0), frame(43.0)
    today.loc[rng.choice(n, int(0.04 * n), replace=False), "income"] = np.nan
    out.mkdir(parents=True, exist_ok=True)
    ref.to_parquet(out / "ref.parquet", index=False)
    today.to_parquet(out / "today.parquet", index=False)
    print(f"wrote {out / 'ref.parquet'} and {out / 'today.parquet'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
