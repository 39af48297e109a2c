"""The pipeline snapshot's format: what :meth:`~monitor.pipeline.core.Pipeline.snapshot` writes and
:meth:`~monitor.pipeline.core.Pipeline.restore` reads back.

JSON bytes (msgspec): ``format``, ``version``, the pipeline's counters, its output counter ``seq`` and each
model's state (:meth:`~monitor.pipeline.model_state.ModelState.to_state`; window states as detectors' npz
bytes in base64).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from detectors.profile import ReferenceProfile
from monitor.errors import MonitorError
from monitor.pipeline.model_state import ModelState
from monitor.pipeline.updates import final_points

if TYPE_CHECKING:
    from monitor.pipeline.core import Pipeline

__all__ = ["SNAPSHOT_FORMAT", "SNAPSHOT_VERSION", "ProfileLoader", "SnapshotError", "decode_snapshot",
           "encode_snapshot", "restore_models"]

log = logging.getLogger("monitor.pipeline.core")  # the pipeline's logger, as before the split
SNAPSHOT_FORMAT = "driftwarden-pipeline"
SNAPSHOT_VERSION = 1

ProfileLoader = Callable[[str, str], ReferenceProfile | None]
"""``(model, content_hash) -> profile``: finds an older reference an open window was started with."""


class SnapshotError(MonitorError, ValueError):
    """A pipeline snapshot that cannot be restored (corrupt, foreign format, missing reference profile)."""


def encode_snapshot(pipeline: Pipeline) -> bytes:
    """The pipeline's counters, output counter and model states as the snapshot's JSON bytes."""
    payload = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "counters": dict(pipeline.counters),
        "seq": pipeline.seq,
        "models": {name: s.to_state() for name, s in pipeline.models.items()},
    }
    return msgspec.json.encode(payload)


def decode_snapshot(data: bytes) -> dict[str, Any]:
    """The snapshot's payload, once it is JSON of this format and version (:class:`SnapshotError` if not)."""
    try:
        payload = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"pipeline snapshot is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError("not a driftwarden pipeline snapshot")
    if payload.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(f"unsupported pipeline snapshot version {payload.get('version')!r}")
    return payload


def restore_models(pipeline: Pipeline, payload: dict[str, Any], profile_loader: ProfileLoader | None) -> None:
    """Put the payload's counters and the states of the models still configured into a new ``pipeline``;
    the windows of models no longer configured are dropped (and counted)."""
    pipeline.counters = Counter({k: int(v) for k, v in payload.get("counters", {}).items()})
    pipeline.seq = int(payload.get("seq", 0))
    by_hash = {p.content_hash: p for p in pipeline.profiles.values()}
    for name, data_model in payload.get("models", {}).items():
        cfg = pipeline.config.models.get(name)
        if cfg is None:
            log.warning("snapshot holds model %r which is no longer configured: its open windows are dropped",
                        name)
            pipeline.counters["dropped_unconfigured_windows"] += len(data_model.get("windows", []))
            continue
        _load_window_profiles(name, data_model, by_hash, profile_loader)
        try:
            pipeline.models[name] = ModelState.from_state(cfg, pipeline.profiles.get(name), data_model, by_hash,
                                                          pipeline.performance.get(name))
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"pipeline snapshot, model {name!r}: {exc}") from exc
        restored = pipeline.models[name]
        restored.due_at = min((w.span.end for w in restored.windows.values()), default=math.inf)
        restored.final_at = final_points(restored)


def _load_window_profiles(name: str, data_model: dict[str, Any], by_hash: dict[str, ReferenceProfile],
                          profile_loader: ProfileLoader | None) -> None:
    """Add to ``by_hash`` the older references the model's open windows were started with, by the loader."""
    for item in data_model.get("windows", []):
        ref_hash = item.get("profile_hash")
        if ref_hash and ref_hash not in by_hash and profile_loader is not None:
            found = profile_loader(name, str(ref_hash))
            if found is not None:
                by_hash[found.content_hash] = found
