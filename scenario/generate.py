"""Generate the whole scenario into a folder: events, training reference, ground truth and config.

>>> import tempfile
>>> files = generate_scenario(tempfile.mkdtemp(), seed=3, days=2, events_per_hour=50, reference_rows=2000)
>>> sorted(p.name for p in files.out_dir.iterdir())
['events.jsonl', 'ground_truth.json', 'recommender.yaml', 'reference.parquet']
>>> files.n_predictions == files.n_outcomes, files.n_reference
(True, 2000)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from scenario.config import WINDOW_SECONDS, write_config
from scenario.encode import events_frame, write_events_jsonl, write_parquet
from scenario.errors import ScenarioError
from scenario.timeline import MODEL_NAME, GroundTruth, build_ground_truth
from scenario.world import Events, World, simulate

__all__ = [
    "DEFAULT_START",
    "ScenarioFiles",
    "generate_scenario",
    "reference_events",
    "scenario_events",
]

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)
"""A Monday, midnight UTC: the scenario's first day-long window starts here."""

REFERENCE_DAYS = 7
"""The training reference covers the week before the scenario (whole days, so the daily mix is complete)."""


@dataclass(frozen=True)
class ScenarioFiles:
    """What :func:`generate_scenario` wrote, and how much."""

    out_dir: Path
    events: Path
    reference: Path
    ground_truth: Path
    config: Path
    n_predictions: int
    n_outcomes: int
    n_reference: int
    truth: GroundTruth


def scenario_events(
    truth: GroundTruth, events_per_hour: float, *, world: World | None = None
) -> Events:
    """The scenario's recommendations (with the incidents of ``truth``), drawn from seed ``truth.seed``."""
    hours = int((truth.end - truth.start).total_seconds() // 3600)
    rng = np.random.default_rng([truth.seed, 0])
    return simulate(truth.start, hours, events_per_hour, rng, phases=truth.phases, world=world)


def reference_events(
    start: datetime, seed: int, rows: int, *, world: World | None = None
) -> Events:
    """``rows`` recommendations of the week before ``start``, with no incident (the training reference).

    The week is drawn at a rate that gives about ``rows`` events, then trimmed by an evenly spaced
    selection (so every hour of the week keeps its share) to exactly ``rows``.
    """
    if rows < 100:
        raise ScenarioError("reference_rows", f"must be >= 100, got {rows}")
    hours = REFERENCE_DAYS * 24
    rng = np.random.default_rng([seed, 1])
    ev = simulate(start - timedelta(days=REFERENCE_DAYS), hours, rows * 1.05 / hours, rng, world=world)
    if len(ev) < rows:
        raise ScenarioError("reference_rows", f"drew {len(ev)} rows, fewer than the {rows} asked")
    keep = np.round(np.linspace(0, len(ev) - 1, rows)).astype(np.intp)
    return ev.take(keep)


def generate_scenario(
    out_dir: str | Path,
    *,
    seed: int = 7,
    days: int = 14,
    events_per_hour: float = 4000.0,
    reference_rows: int = 50_000,
    start: datetime = DEFAULT_START,
    world: World | None = None,
) -> ScenarioFiles:
    """Write the scenario into ``out_dir`` (created if needed) and return what was written.

    Files: ``events.jsonl`` (predictions and outcomes of model ``recommender``, mixed, in time order),
    ``reference.parquet`` (the training reference: features, ``prediction`` and outcomes),
    ``ground_truth.json`` (:class:`~scenario.timeline.GroundTruth`) and ``recommender.yaml`` (the
    watcher's config, pointing at the reference). Same arguments, same bytes.
    """
    world = world or World()
    if start.tzinfo is None or start.timestamp() % 3600:
        raise ScenarioError("start", f"must be timezone-aware and on a whole hour, got {start.isoformat()}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth = build_ground_truth(
        start,
        days=days,
        seed=seed,
        parameters={
            "events_per_hour": events_per_hour,
            "reference_rows": reference_rows,
            "quality_play_seconds": world.quality_play_seconds,
            "window_seconds": WINDOW_SECONDS,
        },
    )
    events = scenario_events(truth, events_per_hour, world=world)
    reference = reference_events(start, seed, reference_rows, world=world)

    files = ScenarioFiles(
        out_dir=out,
        events=out / "events.jsonl",
        reference=out / "reference.parquet",
        ground_truth=out / "ground_truth.json",
        config=out / f"{MODEL_NAME}.yaml",
        n_predictions=len(events),
        n_outcomes=len(events),
        n_reference=len(reference),
        truth=truth,
    )
    write_events_jsonl(events, files.events, model=MODEL_NAME)
    frame = events_frame(reference)
    write_parquet(frame, files.reference)
    take_rate = float(frame["quality_play"].sum() / max(int(frame["shown"].sum()), 1))
    write_config(files.config, files.reference.name, reference_take_rate=take_rate)
    truth.save(files.ground_truth)
    return files
