"""Memory and checkpoint size of predictions waiting for their labels.

Fills one pipeline with N binary predictions of a model with a ``performance`` block (count windows of
1000, ``label_ttl`` long enough that nothing is final), closes the windows, so every prediction waits in an
awaiting window's label book and in the outcome join; then reports per waiting prediction:

- ``tracemalloc`` bytes (Python heap growth while filling, minus the same run's open-window share
  measured without ``performance``: the label lifecycle's own cost is reported separately);
- the pipeline snapshot bytes (the checkpoint written at each persist point);
- the same fill with ``max_awaiting_labels`` at a quarter of N: the predictions kept (label books and the
  outcome join) stay at the bound, and the heap with them; the spilled ones are counted;
- and with ``max_waiting_outcomes`` at the same bound: the labels of spilled predictions, which wait in the
  join like labels that came before their prediction, stay at that bound too (the others dropped, counted).

Run: ``.venv/bin/python bench/awaiting_labels.py [--n 200000] [--labelled 0.5]``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

# bench/detectors.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config  # noqa: E402
from monitor.events import OutcomeEvent, prediction_event  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402

CONFIG = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 1000, max_values: 100}
    sample: {enabled: false}
    label_ttl: 30d
    max_awaiting_labels: 10000000
    performance: {task: binary_classification}
"""
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def fill(config: str, n: int, labelled: float) -> tuple[Pipeline, int, int]:
    """Pipeline after ``n`` predictions (``labelled`` share labelled); ``(pipeline, heap bytes, snapshot bytes)``."""
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=n)
    events = [prediction_event(model="m", model_version="1", event_id=f"ev-{i:012d}", ts=T0 + timedelta(seconds=i),
                              features={"x": float(s)}, prediction=float(s)) for i, s in enumerate(scores)]
    outcomes = [OutcomeEvent(event_id=f"ev-{i:012d}", ts=T0 + timedelta(seconds=n + i), model="m",
                             label=int(rng.uniform() < scores[i])) for i in range(int(n * labelled))]
    pipeline = Pipeline(parse_config(config))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i, event in enumerate(events):
        pipeline.on_prediction(event)
        if i % 1000 == 999:
            pipeline.advance()
    for outcome in outcomes:
        pipeline.on_outcome(outcome)
    pipeline.advance()
    pipeline.take_updates()
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return pipeline, heap, len(pipeline.snapshot())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="predictions (default 200000)")
    parser.add_argument("--labelled", type=float, default=0.5, help="share of them labelled (default 0.5)")
    args = parser.parse_args()
    pipeline, heap, snap = fill(CONFIG, args.n, args.labelled)
    stats = pipeline.stats()["models"]["m"]
    assert stats["awaiting_labels"] == args.n, stats
    base_config = CONFIG.replace("    label_ttl: 30d\n    max_awaiting_labels: 10000000\n"
                                 "    performance: {task: binary_classification}\n", "")
    _, base_heap, base_snap = fill(base_config, args.n, 0.0)
    n = args.n
    print(f"{n} predictions waiting for labels ({args.labelled:.0%} labelled), binary scores")
    print(f"  heap     {heap / n:7.1f} B/prediction  (without performance: {base_heap / n:6.1f}; "
          f"label lifecycle {(heap - base_heap) / n:6.1f})")
    print(f"  snapshot {snap / n:7.1f} B/prediction  (without performance: {base_snap / n:6.1f}; "
          f"label lifecycle {(snap - base_snap) / n:6.1f})")
    bound = n // 4
    logging.getLogger("monitor").setLevel(logging.ERROR)  # one spill warning per window otherwise
    spilled, spill_heap, _ = fill(CONFIG.replace("max_awaiting_labels: 10000000", f"max_awaiting_labels: {bound}"),
                                  n, args.labelled)
    s = spilled.stats()["models"]["m"]
    print(f"with max_awaiting_labels {bound}: kept {s['awaiting_labels']} in label books, "
          f"{s['join_pending'][0]} in the outcome join; spilled {s['labels_spilled']}; "
          f"heap {spill_heap / bound:7.1f} B per bound slot, including {s['join_pending'][1]} labels of spilled "
          f"predictions waiting in the join (until label_ttl, or max_waiting_outcomes)")
    both = CONFIG.replace("max_awaiting_labels: 10000000",
                          f"max_awaiting_labels: {bound}\n    max_waiting_outcomes: {bound}")
    capped, capped_heap, _ = fill(both, n, args.labelled)
    c = capped.stats()["models"]["m"]
    print(f"with max_waiting_outcomes {bound} too: {c['join_pending'][1]} labels waiting, "
          f"{c['outcomes_spilled']} dropped (counted); heap {capped_heap / bound:7.1f} B per bound slot")

if __name__ == "__main__":
    main()
