"""Generate the whole scenario into a folder: events, training reference, ground truth and config.

>>> import tempfile
>>> files = generate_scenario(tempfile.mkdtemp(), seed=3, days=2, events_per_hour=50, reference_rows=2000,
...                           validation_rows=1000)
>>> sorted(p.name for p in files.out_dir.iterdir())
['events.jsonl', 'ground_truth.json', 'recommender.yaml', 'reference.parquet', 'validation.parquet']
>>> files.n_predictions == files.n_outcomes, files.n_reference, files.n_validation
(True, 2000, 1000)
>>> 0.3 < files.n_labels / files.n_outcomes < 0.74  # shown (82%), not lost (90%), arrived before the end
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from scenario.config import WINDOW_SECONDS, write_config
from scenario.encode import events_frame, n_events, validation_frame, write_events_jsonl, write_parquet
from scenario.errors import ScenarioError
from scenario.timeline import DEFAULT_DAYS, MODEL_NAME, build_ground_truth
from scenario.truth import GroundTruth
from scenario.world import Events, World, simulate

__all__ = [
    "DEFAULT_START",
    "ScenarioFiles",
    "generate_scenario",
    "reference_events",
    "scenario_events",
    "validation_events",
]

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)
"""A Monday, midnight UTC: the scenario's first day-long window starts here."""

REFERENCE_DAYS = 7
"""The training reference covers the week before the scenario (whole days, so the daily mix is complete)."""

LABEL_HORIZON_SECONDS = 2 * 86_400
"""How long after a window closes an alert computed from labels may still count as in time (the ground
truth's ``label_horizon_seconds``): with the world's label delays (median 20 h), most of a window's labels
have arrived two days after it closed."""


@dataclass(frozen=True)
class ScenarioFiles:
    """What :func:`generate_scenario` wrote, and how much."""

    out_dir: Path
    events: Path
    reference: Path
    validation: Path
    ground_truth: Path
    config: Path
    n_predictions: int
    n_outcomes: int
    n_labels: int
    n_reference: int
    n_validation: int
    truth: GroundTruth

    @property
    def n_events(self) -> int:
        """Lines of the event file: predictions, business outcomes and label events."""
        return self.n_predictions + self.n_outcomes + self.n_labels


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
    return _quiet_week(start, seed, rows, stream=1, world=world, what="reference_rows")


def validation_events(
    start: datetime, seed: int, rows: int, *, world: World | None = None
) -> Events:
    """``rows`` *shown* recommendations of the week before ``start`` held out from training: the labelled
    validation reference (label = quality play), drawn apart from :func:`reference_events` (another stream
    of the same seed) and trimmed the same way."""
    world = world or World()
    return _quiet_week(start, seed, rows, stream=2, world=world, what="validation_rows",
                       share=world.shown_probability)


def _quiet_week(start: datetime, seed: int, rows: int, *, stream: int, world: World | None, what: str,
                share: float = 1.0) -> Events:
    if rows < 100:
        raise ScenarioError(what, f"must be >= 100, got {rows}")
    hours = REFERENCE_DAYS * 24
    rng = np.random.default_rng([seed, stream])
    ev = simulate(start - timedelta(days=REFERENCE_DAYS), hours, rows * 1.05 / share / hours, rng, world=world)
    if share < 1.0:
        ev = ev.take(np.flatnonzero(ev.shown))
    if len(ev) < rows:
        raise ScenarioError(what, f"drew {len(ev)} rows, fewer than the {rows} asked")
    keep = np.round(np.linspace(0, len(ev) - 1, rows)).astype(np.intp)
    return ev.take(keep)


def generate_scenario(
    out_dir: str | Path,
    *,
    seed: int = 7,
    days: int = DEFAULT_DAYS,
    events_per_hour: float = 4000.0,
    reference_rows: int = 50_000,
    validation_rows: int = 20_000,
    start: datetime = DEFAULT_START,
    world: World | None = None,
) -> ScenarioFiles:
    """Write the scenario into ``out_dir`` (created if needed) and return what was written.

    Files: ``events.jsonl`` (predictions, outcomes and late labels of model ``recommender``, mixed, in time
    order), ``reference.parquet`` (the training reference: features, ``prediction`` and outcomes),
    ``validation.parquet`` (the labelled validation reference: shown recommendations' features,
    ``prediction`` and ``label``), ``ground_truth.json`` (:class:`~scenario.truth.GroundTruth`) and
    ``recommender.yaml`` (the watcher's config, pointing at both references). Same arguments, same bytes.
    """
    world = world or World()
    if start.tzinfo is None or start.timestamp() % 3600:
        raise ScenarioError("start", f"must be timezone-aware and on a whole hour, got {start.isoformat()}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth = _ground_truth(start, days, seed, world, events_per_hour=events_per_hour,
                          reference_rows=reference_rows, validation_rows=validation_rows)
    events = scenario_events(truth, events_per_hour, world=world)
    reference = reference_events(start, seed, reference_rows, world=world)
    validation = validation_events(start, seed, validation_rows, world=world)
    n_pred, n_out, n_lab = n_events(events)

    files = ScenarioFiles(
        out_dir=out,
        events=out / "events.jsonl",
        reference=out / "reference.parquet",
        validation=out / "validation.parquet",
        ground_truth=out / "ground_truth.json",
        config=out / f"{MODEL_NAME}.yaml",
        n_predictions=n_pred,
        n_outcomes=n_out,
        n_labels=n_lab,
        n_reference=len(reference),
        n_validation=len(validation),
        truth=truth,
    )
    _write_files(files, events, reference, validation)
    return files


def _ground_truth(start: datetime, days: int, seed: int, world: World, *, events_per_hour: float,
                  reference_rows: int, validation_rows: int) -> GroundTruth:
    """The scenario's timeline of incidents, recording the generation parameters the evaluation needs."""
    return build_ground_truth(
        start,
        days=days,
        seed=seed,
        parameters={
            "events_per_hour": events_per_hour,
            "reference_rows": reference_rows,
            "validation_rows": validation_rows,
            "quality_play_seconds": world.quality_play_seconds,
            "window_seconds": WINDOW_SECONDS,
            "label_horizon_seconds": LABEL_HORIZON_SECONDS,
        },
    )


def _write_files(files: ScenarioFiles, events: Events, reference: Events, validation: Events) -> None:
    """Write the event file, both references, the watcher's config (with the reference take-rate) and the
    ground truth to the paths of ``files``."""
    write_events_jsonl(events, files.events, model=MODEL_NAME)
    frame = events_frame(reference)
    write_parquet(frame, files.reference)
    write_parquet(validation_frame(validation), files.validation)
    take_rate = float(frame["quality_play"].sum() / max(int(frame["shown"].sum()), 1))
    write_config(files.config, files.reference.name, reference_take_rate=take_rate,
                 validation_path=files.validation.name)
    files.truth.save(files.ground_truth)
