"""``load_profiles`` with a cache: one decode per (model, version, hash); a new version replaces the old entry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.profile import ReferenceProfile
from monitor.db import make_engine, session_factory, upgrade
from monitor.store import references
from monitor.store.references import ProfileCache, load_profiles, register_reference


def _profile(shift: float) -> ReferenceProfile:
    rng = np.random.default_rng(3)
    return ReferenceProfile.build(pd.DataFrame({"x": rng.normal(shift, 1, 300)}), {"x": "numeric"})


def test_cached_profiles_are_decoded_once_and_follow_new_versions(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        register_reference(s, "m", _profile(0.0), source="test")
    decodes: list[str] = []
    decode = references._decode

    def counted(row, model):  # type: ignore[no-untyped-def]
        decodes.append(model)
        return decode(row, model)

    monkeypatch.setattr(references, "_decode", counted)
    cache: ProfileCache = {}
    with sessions() as s:
        first = load_profiles(s, ["m", "absent"], cache)
        again = load_profiles(s, ["m"], cache)
    assert list(first) == ["m"] and again["m"] is first["m"] and decodes == ["m"]
    with sessions.begin() as s:
        register_reference(s, "m", _profile(1.0), source="test")
    with sessions() as s:
        newer = load_profiles(s, ["m"], cache)
        uncached = load_profiles(s, ["m"])
    assert newer["m"].version == first["m"].version + 1 and decodes == ["m", "m", "m"]
    assert newer["m"].content_hash == uncached["m"].content_hash != first["m"].content_hash
    assert list(cache) == [("m", newer["m"].version, newer["m"].content_hash)]
    engine.dispose()
