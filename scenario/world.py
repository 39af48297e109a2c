"""The simulated recommender world: who uses the app when, what the model scores, what users then play.

Everything is drawn at once with a numpy ``Generator`` (vectorised, seeded, deterministic). Traffic is a
Poisson process per (UTC hour, country) whose intensity follows the users' *local* hour, so a full day of
traffic has the same mix of countries and local hours every day (use day-long windows).

The generative story of one recommendation:

* user features: ``device``, ``country``, ``tenure_days`` (log-normal), ``hour_of_day`` (local), ``premium``,
  and the recommended item's ``item_popularity`` (Beta);
* the user's ``age_band`` (drawn from ``age_band_weights``, independent of everything else): not a model
  feature, sent as a segment value (``segments: {country, age_band}``) for per-segment detection and
  fairness;
* a latent user-item match ``u``; the true propensity ``t = lin(features) + u``;
* the model sees the logged features and part of ``u``: ``score = sigmoid(lin(logged) + 0.8 u + e)``;
* cold start: an item with (logged) ``item_popularity < cold_popularity`` has no play history, so the
  model has no embedding for it and falls back to a popularity prior, ``score = sigmoid(intercept +
  1.2 (popularity - 0.29))``: nearly the same low score for every such item (about 2.5% of the
  reference's recommendations);
* outcomes: ``shown`` with probability ``shown_probability``; ``played`` with ``sigmoid(t + play_bias)``;
  a played item is a quality play (``play_seconds >= quality_play_seconds``) with ``sigmoid(t +
  quality_bias)``, else a skip of a few seconds;
* the label (``label = quality play``, shown recommendations only) comes from the nightly reconciliation of
  the clients' playback reports: it arrives ``label_delay`` after the outcome (log-normal, median
  ``label_delay_median_hours``), and a share ``label_lost_share`` never arrives (reports lost). Labels
  that would arrive after the simulated stretch ends are not written either.

Incidents (:data:`scenario.effects.EFFECTS`) only transform these draws; every random number is drawn for
every event whether an incident touches it or not, so the quiet stretches are exactly the reference's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from scenario.effects import State, apply_incidents
from scenario.errors import ScenarioError
from scenario.truth import Phase

__all__ = ["FEATURES", "Draws", "Events", "World", "simulate"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]

FEATURES: dict[str, str] = {
    "device": "categorical",
    "country": "categorical",
    "tenure_days": "numeric",
    "hour_of_day": "numeric",
    "item_popularity": "numeric",
    "premium": "binary",
}
"""The model's features and their kinds (the watcher's config uses the same)."""

_MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class World:
    """The constants of the simulation (defaults give a take-rate of about 0.27)."""

    devices: tuple[str, ...] = ("android", "ios", "web", "tv")
    device_weights: tuple[float, ...] = (0.46, 0.34, 0.12, 0.08)
    device_effects: tuple[float, ...] = (0.0, 0.15, -0.25, 0.10)
    age_bands: tuple[str, ...] = ("18-24", "25-34", "35-49", "50+")
    age_band_weights: tuple[float, ...] = (0.22, 0.31, 0.27, 0.20)
    countries: tuple[str, ...] = ("US", "BR", "GB", "DE", "FR", "IN", "JP", "MX")
    country_weights: tuple[float, ...] = (0.30, 0.14, 0.10, 0.10, 0.08, 0.12, 0.08, 0.08)
    country_utc_offsets: tuple[int, ...] = (-5, -3, 0, 1, 1, 5, 9, -6)
    # relative traffic by local hour 0..23: low at night, peak in the evening
    diurnal: tuple[float, ...] = (
        0.55, 0.35, 0.22, 0.15, 0.12, 0.15, 0.30, 0.55, 0.75, 0.80, 0.85, 0.90,
        1.00, 1.00, 0.95, 0.95, 1.05, 1.20, 1.45, 1.70, 1.90, 1.85, 1.45, 0.95,
    )  # fmt: skip
    tenure_log_mean: float = float(np.log(150.0))
    tenure_log_sigma: float = 1.1
    popularity_beta: tuple[float, float] = (1.6, 4.0)
    premium_share: float = 0.3
    intercept: float = -1.3
    match_sigma: float = 0.9
    score_noise: float = 0.5
    shown_probability: float = 0.82
    play_bias: float = 0.9
    quality_bias: float = 1.1
    quality_play_seconds: float = 30.0
    model_version: str = "1.4.0"
    # incidents
    new_device: str = "car"
    new_device_share: float = 0.15
    constant_popularity: float = 0.5
    broken_pipeline_penalty: float = 0.25
    degenerate_version: str = "1.5.0"
    degenerate_score: float = 0.3
    degenerate_score_sd: float = 0.002
    degenerate_penalty: float = 0.45
    concept_shift: float = 0.55
    new_release_share: float = 0.65
    new_release_popularity: tuple[float, float] = (0.003, 0.03)
    outage_country: str = "BR"
    outage_penalty: float = 0.9
    favoured_band: str = "18-24"
    disfavoured_band: str = "50+"
    band_score_shift: float = 0.5
    # cold start and labels
    cold_popularity: float = 0.03
    label_delay_median_hours: float = 20.0
    label_delay_sigma: float = 0.8
    label_lost_share: float = 0.1


@dataclass
class Events:
    """One row per recommendation (prediction + its outcome), sorted by ``ts_ms``."""

    ts_ms: IntArray
    outcome_ts_ms: IntArray
    model_version: StrArray
    device: StrArray
    country: StrArray
    age_band: StrArray  # a segment value, not a feature
    tenure_days: FloatArray  # NaN = null
    hour_of_day: IntArray
    item_popularity: FloatArray
    premium: BoolArray
    prediction: FloatArray
    shown: BoolArray
    played: BoolArray
    play_seconds: FloatArray
    quality_play: BoolArray
    label_ts_ms: IntArray  # -1: no label (not shown, lost, or after the end)

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    def take(self, index: npt.NDArray[np.intp]) -> Events:
        return Events(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})


@dataclass
class Draws:
    """Everything random about one event (drawn for all events), plus the derived quantities."""

    ts_ms: IntArray
    country_idx: IntArray
    u_device: FloatArray
    u_new_device: FloatArray
    tenure: FloatArray
    popularity: FloatArray
    premium: BoolArray
    match: FloatArray
    score_noise: FloatArray
    degenerate_noise: FloatArray
    u_shown: FloatArray
    u_played: FloatArray
    u_quality: FloatArray
    quality_seconds: FloatArray
    skip_seconds: FloatArray
    delay_ms: IntArray
    u_new_release: FloatArray
    new_release_popularity: FloatArray
    match_new: FloatArray
    label_delay_ms: IntArray
    u_label_lost: FloatArray
    u_age_band: FloatArray


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _draw(world: World, rng: np.random.Generator, start_ms: int, hours: int, events_per_hour: float) -> Draws:
    offsets = np.asarray(world.country_utc_offsets, dtype=np.int64)
    weights = np.asarray(world.country_weights) / np.sum(world.country_weights)
    diurnal = np.asarray(world.diurnal)
    utc_hour0 = (start_ms // _MS_PER_HOUR) % 24
    utc_hours = (utc_hour0 + np.arange(hours)) % 24
    shape = weights[None, :] * diurnal[(utc_hours[:, None] + offsets[None, :]) % 24]  # (hours, countries)
    per_day = weights[None, :] * diurnal[(np.arange(24)[:, None] + offsets[None, :]) % 24]
    counts = rng.poisson(shape * (events_per_hour / per_day.sum(axis=1).mean()))
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    n = cell.size
    ts_ms = start_ms + (cell // len(weights)) * _MS_PER_HOUR + rng.integers(0, _MS_PER_HOUR, size=n)
    order = np.argsort(ts_ms, kind="stable")
    a, b = world.popularity_beta
    return Draws(
        ts_ms=ts_ms[order],
        country_idx=(cell % len(weights))[order],
        u_device=rng.random(n),
        u_new_device=rng.random(n),
        tenure=np.floor(rng.lognormal(world.tenure_log_mean, world.tenure_log_sigma, size=n)),
        popularity=np.round(rng.beta(a, b, size=n), 4),
        premium=rng.random(n) < world.premium_share,
        match=rng.normal(0.0, world.match_sigma, size=n),
        score_noise=rng.normal(0.0, world.score_noise, size=n),
        degenerate_noise=rng.normal(0.0, world.degenerate_score_sd, size=n),
        u_shown=rng.random(n),
        u_played=rng.random(n),
        u_quality=rng.random(n),
        quality_seconds=np.minimum(
            world.quality_play_seconds + rng.lognormal(np.log(150.0), 0.7, size=n), 3000.0
        ),
        skip_seconds=rng.uniform(1.0, world.quality_play_seconds - 0.5, size=n),
        delay_ms=rng.integers(500, 5000, size=n),
        # drawn last, so the draws above are those of the scenario before these were added
        u_new_release=rng.random(n),
        new_release_popularity=np.round(rng.uniform(*world.new_release_popularity, size=n), 4),
        match_new=rng.normal(0.0, world.match_sigma, size=n),
        label_delay_ms=(rng.lognormal(np.log(world.label_delay_median_hours), world.label_delay_sigma, size=n)
                        * _MS_PER_HOUR).astype(np.int64),
        u_label_lost=rng.random(n),
        u_age_band=rng.random(n),
    )


def _linear(world: World, device: StrArray, tenure: FloatArray, popularity: FloatArray,
            premium: BoolArray, local_hour: IntArray) -> FloatArray:
    effects = dict(zip(world.devices, world.device_effects, strict=True))
    device_effect = np.zeros(device.shape[0])
    for name, value in effects.items():
        device_effect[device == name] = value
    tenure_z = (np.log1p(np.nan_to_num(tenure, nan=0.0)) - world.tenure_log_mean) / world.tenure_log_sigma
    evening = ((local_hour >= 18) & (local_hour <= 23)).astype(np.float64)
    return np.asarray(
        world.intercept + device_effect + 0.35 * tenure_z + 1.2 * (popularity - 0.29)
        + 0.3 * premium.astype(np.float64) + 0.2 * evening,
        dtype=np.float64,
    )


def simulate(
    start: datetime,
    hours: int,
    events_per_hour: float,
    rng: np.random.Generator,
    *,
    phases: tuple[Phase, ...] = (),
    world: World | None = None,
) -> Events:
    """Draw ``hours`` hours of recommendations from ``start`` (about ``events_per_hour`` an hour on average).

    ``phases`` with ``kind == "incident"`` apply their :data:`~scenario.effects.EFFECTS` to the events inside
    ``[start, end)``.

    >>> from datetime import datetime, UTC
    >>> ev = simulate(datetime(2026, 11, 2, tzinfo=UTC), 24, 500, np.random.default_rng(1))
    >>> len(ev), bool(np.all(np.diff(ev.ts_ms) >= 0)), sorted(set(ev.device))
    (11929, True, ['android', 'ios', 'tv', 'web'])
    """
    world = world or World()
    start_ms = _start_ms(start, hours, events_per_hour)
    draws = _draw(world, rng, start_ms, hours, events_per_hour)
    state = _initial_state(world, draws)
    apply_incidents(world, draws, state, phases)
    offsets = np.asarray(world.country_utc_offsets, dtype=np.int64)[draws.country_idx]
    local_hour = ((draws.ts_ms // _MS_PER_HOUR) + offsets) % 24
    out = _outcomes(world, draws, state, local_hour, start_ms + hours * _MS_PER_HOUR)
    return Events(
        ts_ms=draws.ts_ms,
        outcome_ts_ms=out.outcome_ts_ms,
        model_version=np.where(state.degenerate, world.degenerate_version, world.model_version).astype(object),
        device=state.device,
        country=np.asarray(world.countries, dtype=object)[draws.country_idx],
        age_band=state.age_band,
        tenure_days=state.tenure_logged,
        hour_of_day=local_hour.astype(np.int64),
        item_popularity=state.popularity_logged,
        premium=draws.premium,
        prediction=_model_score(world, draws, state, local_hour),
        shown=out.shown,
        played=out.played,
        play_seconds=out.play_seconds,
        quality_play=out.quality_play,
        label_ts_ms=out.label_ts_ms,
    )


def _start_ms(start: datetime, hours: int, events_per_hour: float) -> int:
    """``start`` in epoch milliseconds, once the arguments of :func:`simulate` are checked."""
    if hours < 1:
        raise ScenarioError("hours", f"must be >= 1, got {hours}")
    if not events_per_hour > 0:
        raise ScenarioError("events_per_hour", f"must be > 0, got {events_per_hour}")
    start_ms = int(start.timestamp() * 1000)
    if start_ms % _MS_PER_HOUR:
        raise ScenarioError("start", f"must be on a whole hour, got {start.isoformat()}")
    return start_ms


def _initial_state(world: World, draws: Draws) -> State:
    """The state before any incident: devices from their weights, logged features equal to the true ones."""
    n = draws.ts_ms.shape[0]
    cum = np.cumsum(world.device_weights) / np.sum(world.device_weights)
    device_idx = np.minimum(np.searchsorted(cum, draws.u_device, side="right"), len(world.devices) - 1)
    cum_age = np.cumsum(world.age_band_weights) / np.sum(world.age_band_weights)
    age_idx = np.minimum(np.searchsorted(cum_age, draws.u_age_band, side="right"), len(world.age_bands) - 1)
    return State(
        device=np.asarray(world.devices, dtype=object)[device_idx],
        tenure_logged=draws.tenure.copy(),
        popularity_logged=draws.popularity.copy(),
        popularity_true=draws.popularity.copy(),
        match_true=draws.match.copy(),
        age_band=np.asarray(world.age_bands, dtype=object)[age_idx],
        degenerate=np.zeros(n, dtype=bool),
        penalty=np.zeros(n),
        score_shift=np.zeros(n),
    )


def _model_score(world: World, draws: Draws, state: State, local_hour: IntArray) -> FloatArray:
    """What the model predicts from the logged features (cold-start prior, degenerate model), rounded."""
    logged = _linear(world, state.device, state.tenure_logged, state.popularity_logged, draws.premium, local_hour)
    score = _sigmoid(logged + 0.8 * draws.match + draws.score_noise + state.score_shift)
    cold = state.popularity_logged < world.cold_popularity
    score = np.where(cold, _sigmoid(world.intercept + 1.2 * (state.popularity_logged - 0.29)), score)
    score = np.where(state.degenerate, world.degenerate_score + draws.degenerate_noise, score)
    return np.round(np.clip(score, 1e-6, 1 - 1e-6), 6).astype(np.float64)


@dataclass
class _Outcomes:
    """What users did with the recommendations, and when the outcome and its label were reported."""

    shown: BoolArray
    played: BoolArray
    quality_play: BoolArray
    play_seconds: FloatArray
    outcome_ts_ms: IntArray
    label_ts_ms: IntArray  # -1: no label (not shown, lost, or arriving at or after the end)


def _outcomes(world: World, draws: Draws, state: State, local_hour: IntArray, end_ms: int) -> _Outcomes:
    """Shown, played and quality plays from the true propensity (true features, match, incident penalty)."""
    truth = _linear(world, state.device, draws.tenure, state.popularity_true, draws.premium, local_hour)
    propensity = truth + state.match_true - state.penalty
    shown = draws.u_shown < world.shown_probability
    played = shown & (draws.u_played < _sigmoid(propensity + world.play_bias))
    quality = played & (draws.u_quality < _sigmoid(propensity + world.quality_bias))
    seconds = np.round(
        np.where(quality, draws.quality_seconds, np.where(played, draws.skip_seconds, 0.0)), 1
    ).astype(np.float64)
    outcome_ts = draws.ts_ms + draws.delay_ms + (seconds * 1000).astype(np.int64)
    label_ts = outcome_ts + draws.label_delay_ms
    labelled = shown & (draws.u_label_lost >= world.label_lost_share) & (label_ts < end_ms)
    return _Outcomes(shown=shown, played=played, quality_play=quality, play_seconds=seconds,
                     outcome_ts_ms=outcome_ts, label_ts_ms=np.where(labelled, label_ts, -1).astype(np.int64))
