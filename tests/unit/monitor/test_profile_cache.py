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


def _registered(tmp_path, profiles: dict[str, ReferenceProfile]):  # type: ignore[no-untyped-def]
    """A fresh SQLite database with ``profiles`` registered: (engine, session factory)."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        for model, profile in profiles.items():
            register_reference(s, model, profile, source="test")
    return engine, sessions


def _counted_decodes(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The models whose profile blob ``references._decode`` decodes from now on, in order."""
    decodes: list[str] = []
    decode = references._decode
    monkeypatch.setattr(references, "_decode", lambda row, model: decodes.append(model) or decode(row, model))
    return decodes


def test_cached_profiles_are_decoded_once_and_follow_new_versions(tmp_path, monkeypatch) -> None:
    engine, sessions = _registered(tmp_path, {"m": _profile(0.0)})
    decodes = _counted_decodes(monkeypatch)
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


def test_models_with_the_same_profile_bytes_share_one_decode(tmp_path, monkeypatch) -> None:
    engine, sessions = _registered(tmp_path, {"a": _profile(0.0), "b": _profile(0.0), "c": _profile(2.0)})
    decodes = _counted_decodes(monkeypatch)
    cache: ProfileCache = {}
    with sessions() as s:
        got = load_profiles(s, ["a", "b", "c"], cache)
    assert decodes == ["a", "c"] and got["a"] is got["b"] and got["c"] is not got["a"]
    assert sorted(k[0] for k in cache) == ["a", "b", "c"]
    with sessions.begin() as s:  # a new version of a's profile: b keeps the old one, a gets the new one
        register_reference(s, "a", _profile(1.0), source="test")
    with sessions() as s:
        after = load_profiles(s, ["a", "b"], cache)
    assert after["b"] is got["b"] and after["a"].content_hash != got["a"].content_hash
    assert decodes == ["a", "c", "a"]
    engine.dispose()


def test_warm_up_decodes_before_the_first_assignment_and_never_raises(tmp_path, monkeypatch) -> None:
    from monitor.config import parse_config
    from monitor.consumer.pipelines import new_pipeline
    from monitor.store.partition_store import SqlPartitionStore

    engine, _ = _registered(tmp_path, {"m": _profile(0.0)})
    config = parse_config("version: 1\nmodels:\n  m:\n    features: {x: numeric}\n")
    store = SqlPartitionStore(engine, "g")
    store.warm_up(config)
    assert [k[0] for k in store._profile_cache] == ["m"]
    decodes: list[str] = []
    monkeypatch.setattr(references, "_decode", lambda row, model: decodes.append(model))
    assert new_pipeline(store, config).profiles["m"].content_hash == _profile(0.0).content_hash and decodes == []
    engine.dispose()
    down = SqlPartitionStore(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"), "g")
    down.warm_up(config)  # an unreachable database: logged, not raised
    assert down._profile_cache == {}
