"""Calibration studies: how often each test alarms on unchanged data, and what it catches when data change.

One entry point for the studies; each prints the Markdown tables quoted in ``docs/detectors.md``:

- ``columns`` (the default): the per-column drift tests of the ``default`` and ``evidently`` presets on
  50-column windows of 1k, 10k and 100k rows (``bench/calibration_columns.py``);
- ``multivariate``: the PCA reconstruction test next to NannyML's data reconstruction drift, on
  independent, correlated and mixed columns at 200 rows to 100k rows (``bench/calibration_multivariate.py``);
- ``highcard``: high-cardinality categorical columns (Zipf, 1k-100k levels) next to Evidently's verdicts
  (``bench/calibration_highcard.py``);
- ``signals``: the quality checks and the traffic-volume signal at window sizes from 30 rows up
  (``bench/calibration_signals.py``);
- ``early``: the early-warning block CUSUMs' run length to a false alarm on stationary streams at three
  traffic rates, next to the configured ERT (``bench/calibration_early.py``);
- ``segments``: windows with any alarm on stationary streams with 20 segments, joint BH next to BH per
  segment and to the population alone (``bench/calibration_segments.py``);
- ``all``: the studies in turn, each with its default settings.

Run: ``.venv/bin/python bench/calibration.py [STUDY|all] [study options]`` (STUDY: one of the above);
``.venv/bin/python bench/calibration.py STUDY --help`` lists a study's options.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

STUDIES = ("columns", "multivariate", "highcard", "signals", "early", "segments")


def run_study(name: str, argv: list[str]) -> None:
    """Run ``bench/calibration_<name>.py``'s ``main`` with ``argv`` as its command line."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    module = importlib.import_module(f"calibration_{name}")
    saved = sys.argv
    sys.argv = [f"bench/calibration.py {name}", *argv]
    try:
        module.main()
    finally:
        sys.argv = saved


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    study, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("columns", argv)
    if study == "all":
        if rest:
            print("bench/calibration.py: error: 'all' takes no options (run one study to pass options)",
                  file=sys.stderr)
            return 2
        for name in STUDIES:
            print(f"\n## {name}\n", flush=True)
            run_study(name, [])
        return 0
    if study not in STUDIES:
        print(f"bench/calibration.py: error: unknown study {study!r} (choose from {', '.join(STUDIES)}, all)",
              file=sys.stderr)
        return 2
    run_study(study, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
