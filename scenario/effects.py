"""What each incident of the scenario does to the world's draws (:mod:`scenario.world`).

An incident changes one thing: an :data:`Effect` gets the world's parameters, the draws of every event, the
mutable :class:`State` (logged features, model behaviour, true propensity) and the mask of the events inside
the incident's ``[start, end)``, and changes the state of those events only. :func:`apply_incidents` applies
the effect of every incident phase, by name (:data:`EFFECTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from scenario.errors import ScenarioError
from scenario.truth import Phase

if TYPE_CHECKING:
    from scenario.world import Draws, World

__all__ = ["EFFECTS", "Effect", "State", "apply_incidents"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]


@dataclass
class State:
    """The mutable per-event quantities incidents act on (logged features, model behaviour, true propensity)."""

    device: StrArray
    tenure_logged: FloatArray
    popularity_logged: FloatArray
    popularity_true: FloatArray
    match_true: FloatArray  # the user-item match that drives plays (the model saw part of draws.match)
    age_band: StrArray
    degenerate: BoolArray
    penalty: FloatArray  # subtracted from the true propensity
    score_shift: FloatArray  # added to the model's logit (not to the true propensity)


Effect = Callable[["World", "Draws", State, BoolArray], None]


def _new_device(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.device[mask & (draws.u_new_device < world.new_device_share)] = world.new_device


def _pipeline_break(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.tenure_logged[mask] = np.nan
    state.popularity_logged[mask] = world.constant_popularity
    state.penalty[mask] += world.broken_pipeline_penalty


def _degenerate(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.degenerate |= mask
    state.penalty[mask] += world.degenerate_penalty


def _concept(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.penalty[mask] += world.concept_shift


def _new_releases(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    new = mask & (draws.u_new_release < world.new_release_share)
    state.popularity_true[new] = draws.new_release_popularity[new]
    state.popularity_logged[new] = draws.new_release_popularity[new]


def _tastes_change(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.match_true[mask] = draws.match_new[mask]


def _playback_outage(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    country = world.countries.index(world.outage_country)
    state.penalty[mask & (draws.country_idx == country)] += world.outage_penalty


def _age_bias(world: World, draws: Draws, state: State, mask: BoolArray) -> None:
    state.score_shift[mask & (state.age_band == world.favoured_band)] += world.band_score_shift
    state.score_shift[mask & (state.age_band == world.disfavoured_band)] -= world.band_score_shift


EFFECTS: dict[str, Effect] = {
    "new_device_category": _new_device,
    "feature_pipeline_break": _pipeline_break,
    "model_degenerates": _degenerate,
    "covariate_shift_quality": _new_releases,
    "quality_decay_no_drift": _tastes_change,
    "concept_drift": _concept,
    "playback_outage_one_country": _playback_outage,
    "fairness_drift_age": _age_bias,
}
"""What each incident of :mod:`scenario.timeline` does to the draws (by incident name)."""


def apply_incidents(world: World, draws: Draws, state: State, phases: tuple[Phase, ...]) -> None:
    """Apply the :data:`EFFECTS` of each incident phase to the events inside its ``[start, end)``."""
    for phase in phases:
        if phase.kind != "incident":
            continue
        if phase.name not in EFFECTS:
            raise ScenarioError("phases", f"no effect for incident {phase.name!r}; known: {sorted(EFFECTS)}")
        lo, hi = int(phase.start.timestamp() * 1000), int(phase.end.timestamp() * 1000)
        EFFECTS[phase.name](world, draws, state, (draws.ts_ms >= lo) & (draws.ts_ms < hi))
