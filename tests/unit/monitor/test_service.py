"""The consumer loop end to end on embedded SQLite with the real Pipeline, store and file sources.

Bad input is dead-lettered with its position (and counted), offsets cover every line, a re-run of the same
file adds nothing, runs stopped after N messages and resumed give exactly the results of one run, and a
configuration reload keeps the open windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from monitor.alerts.service import AlertService
from monitor.commands.reference import build_reference
from monitor.config import ConfigWatcher, load_config
from monitor.consumer import Service, ServiceOptions
from monitor.db import make_engine, upgrade
from monitor.ops import Health, Metrics
from monitor.sources import JsonlSource, file_topic
from monitor.store.partition_store import SqlPartitionStore
from scenario import generate_scenario

BAD = [
    b"\xff\xfe garbage",
    b'{"kind": "prediction", "model": "recommender", "model_version": "1", "event_id": "bad-1", '
    b'"ts": "2026-11-02T01:00:00Z", "features": {"tenure_days": NaN}, "prediction": 0.5}',
    b'{"kind": "prediction", "model": "nope", "model_version": "1", "event_id": "bad-2", '
    b'"ts": "2026-11-02T01:00:00Z", "features": {}, "prediction": 0.5}',
    b'{"kind": "outcome", "event_id": "bad-3", "ts": "2026-11-02T01:00:00Z"}',
    b'{"kind": "prediction", "model": "recommender", "event_id": "bad-4", "ts": "2026-11-02T01:00:00Z", '
    b'"features": {}, "prediction": 1}',
]
BAD_CATEGORIES = ["malformed", "not_finite", "unknown_model", "no_outcome", "missing_field"]


@dataclass(frozen=True)
class Scenario:
    events: Path
    config: Path
    reference: Path
    n_lines: int
    bad_offsets: list[int]
    predictions: int
    """Valid prediction lines (the file also holds business outcomes and late label events)."""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    out = tmp_path_factory.mktemp("scenario")
    files = generate_scenario(out / "gen", seed=5, days=2, events_per_hour=60, reference_rows=1500)
    mixed: list[bytes] = []
    bad_offsets: list[int] = []
    for i, line in enumerate(files.events.read_bytes().splitlines()):
        if i % 700 == 350 and len(bad_offsets) < len(BAD):
            bad_offsets.append(len(mixed))
            mixed.append(BAD[len(bad_offsets) - 1])
        mixed.append(line)
    events = out / "events.jsonl"
    events.write_bytes(b"\n".join(mixed) + b"\n")
    raw = yaml.safe_load(files.config.read_text())
    model = raw["models"]["recommender"]
    model["reference"]["path"] = str(files.reference)
    model["performance"]["reference"]["path"] = str(files.validation)
    model["window"] = {"type": "count", "size": 300}
    config = out / "watch.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return Scenario(events, config, files.reference, len(mixed), bad_offsets, files.n_predictions)


def _db(tmp_path: Path, scenario: Scenario, name: str = "dw") -> str:
    url = f"sqlite:///{tmp_path}/{name}.db"
    upgrade(url)
    build_reference("recommender", scenario.reference, scenario.config, url, progress=False)
    return url


def _service(url: str, config_path: Path, events: Path, registry: CollectorRegistry | None = None,
             watch: bool = False, checkpoint_interval: float = 0.0) -> Service:
    config = load_config(config_path)
    store = SqlPartitionStore(make_engine(url), "g", AlertService())
    return Service(config, JsonlSource(events), store,
                   ServiceOptions(group_id="g", checkpoint_interval=checkpoint_interval),
                   metrics=Metrics(registry or CollectorRegistry()), health=Health(),
                   config_source=ConfigWatcher(config_path, current=config) if watch else None)


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "windows": "SELECT window_key, n_events, dataset_drift, drift_share, report FROM window_results "
                   "ORDER BY window_key",
        "features": "SELECT w.window_key, f.feature, f.statistic, f.p_value, f.drifted FROM feature_results f "
                    "JOIN window_results w ON w.id = f.window_id ORDER BY 1, 2",
        "metrics": "SELECT w.window_key, m.name, m.value FROM metric_values m JOIN window_results w "
                   "ON w.id = m.window_id ORDER BY 1, 2",
        "alerts": "SELECT dedup_key, status, severity, first_seen, last_seen, windows_count FROM alerts "
                  "ORDER BY 1, 4",
        "dead": "SELECT source, partition, \"offset\", reason, raw, raw_size FROM dead_letters ORDER BY 3",
        "offsets": "SELECT topic, partition, next_offset FROM consumer_offsets",
    }
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}
    engine.dispose()
    return out


def test_file_run_persists_windows_offsets_and_dead_letters(tmp_path: Path, scenario: Scenario) -> None:
    url = _db(tmp_path, scenario)
    registry = CollectorRegistry()
    result = _service(url, scenario.config, scenario.events, registry).run()
    assert result.stopped_by == "end_of_source" and result.clean
    n_lines = scenario.n_lines
    assert result.messages == n_lines and result.dead_letters == len(BAD)
    got = _dump(url)
    topic = file_topic(scenario.events)
    assert got["offsets"] == [(topic, 0, n_lines)]
    bad_offsets = scenario.bad_offsets
    assert [row[2] for row in got["dead"]] == bad_offsets
    assert all(row[0] == topic and row[1] == 0 for row in got["dead"])
    assert got["dead"][0][4] == BAD[0] and "not UTF-8" in got["dead"][0][3]
    assert "features.tenure_days" in got["dead"][1][3] and "nan" in got["dead"][1][3]
    assert "'nope'" in got["dead"][2][3]
    predictions = scenario.predictions
    assert sum(row[1] for row in got["windows"]) == predictions  # every prediction in exactly one window
    assert len(got["windows"]) == -(-predictions // 300)  # the last, partial window is flushed at the end
    for category in BAD_CATEGORIES:
        assert registry.get_sample_value("driftwarden_dead_letters_total", {"reason": category}) == 1.0
    assert registry.get_sample_value("driftwarden_events_consumed_total", {"kind": "any"}) == n_lines
    assert registry.get_sample_value("driftwarden_windows_evaluated_total", {"model": "recommender"}) == len(
        got["windows"])


def test_rerun_of_the_same_file_adds_nothing(tmp_path: Path, scenario: Scenario) -> None:
    url = _db(tmp_path, scenario)
    _service(url, scenario.config, scenario.events).run()
    first = _dump(url)
    again = _service(url, scenario.config, scenario.events).run()
    assert again.messages == 0 and again.clean and again.windows == 0
    assert _dump(url) == first


@pytest.mark.parametrize("step", [137, 1000])
def test_stopped_and_resumed_runs_equal_one_run(tmp_path: Path, scenario: Scenario, step: int) -> None:
    whole = _db(tmp_path, scenario, "whole")
    _service(whole, scenario.config, scenario.events).run()
    pieces = _db(tmp_path, scenario, "pieces")
    runs = 0
    while True:
        result = _service(pieces, scenario.config, scenario.events).run(max_messages=step)
        runs += 1
        assert result.clean
        if result.stopped_by == "end_of_source":
            break
        assert result.stopped_by == "max_messages" and result.messages == step
    assert runs > 2
    assert _dump(pieces) == _dump(whole)


class ReloadAfter:
    """A file source that rewrites the config file and asks for a reload (like SIGHUP) after N polls."""

    def __init__(self, inner: JsonlSource, service_ref: list[Service], config: Path, new_text: str, after: int):
        self._inner, self._ref, self._config, self._text, self._after = inner, service_ref, config, new_text, after
        self._polls = 0

    def poll(self, timeout: float, max_records: int) -> Any:
        self._polls += 1
        if self._polls == self._after:
            self._config.write_text(self._text)
            self._ref[0].request_reload()
        return self._inner.poll(timeout, 50)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_reload_keeps_open_windows_and_bad_config_keeps_the_old(tmp_path: Path, scenario: Scenario) -> None:
    config = tmp_path / "watch.yaml"
    original = scenario.config.read_text()
    config.write_text(original)
    url = _db(tmp_path, scenario)
    registry = CollectorRegistry()
    service = _service(url, config, scenario.events, registry, watch=True)
    ref = [service]
    changed = original.replace("size: 300", "size: 500")
    assert changed != original
    service.source = ReloadAfter(service.source, ref, config, changed, after=20)  # type: ignore[assignment]
    result = service.run()
    assert result.clean and service.config.models["recommender"].window.size == 500
    assert registry.get_sample_value("driftwarden_config_reloads_total", {"result": "ok"}) == 1.0
    got = _dump(url)
    predictions = scenario.predictions
    assert sum(row[1] for row in got["windows"]) == predictions  # nothing lost across the reload
    sizes = {row[1] for row in got["windows"]}
    assert {300, 500} <= sizes  # windows before the reload kept their size, later ones have the new one

    config.write_text(original)
    url2 = _db(tmp_path, scenario, "bad")
    registry = CollectorRegistry()
    service = _service(url2, config, scenario.events, registry, watch=True)
    service.source = ReloadAfter(service.source, [service], config, "models: {oops", after=5)  # type: ignore[assignment]
    result = service.run()
    assert result.clean and service.config.models["recommender"].window.size == 300
    assert registry.get_sample_value("driftwarden_config_reloads_total", {"result": "error"}) == 1.0
    assert sum(row[1] for row in _dump(url2)["windows"]) == predictions


class OffsetsAfterReload(ReloadAfter):
    """:class:`ReloadAfter` that, at the poll after the reload, reads the offsets stored by then."""

    def __init__(self, *args: Any, url: str) -> None:
        super().__init__(*args)
        self.url, self.handed_out, self.at_reload, self.stored = url, 0, -1, -1

    def poll(self, timeout: float, max_records: int) -> Any:
        if self._polls == self._after:  # the loop applied the reload before this poll
            engine = create_engine(self.url)
            with engine.connect() as conn:
                self.stored = int(conn.execute(text("SELECT next_offset FROM consumer_offsets")).scalar() or 0)
            engine.dispose()
            self.at_reload = self.handed_out
        batch = super().poll(timeout, max_records)
        self.handed_out += len(batch)
        return batch


def test_a_reload_is_a_persist_point(tmp_path: Path, scenario: Scenario) -> None:
    """With checkpoints only at window closes, the reload stores the snapshot and offsets at once: a restart
    after it resumes under the new configuration from the event where the running watcher took it."""
    config = tmp_path / "watch.yaml"
    original = scenario.config.read_text()
    config.write_text(original)
    url = _db(tmp_path, scenario)
    service = _service(url, config, scenario.events, watch=True, checkpoint_interval=3600.0)
    source = OffsetsAfterReload(service.source, [service], config, original.replace("size: 300", "size: 500"), 7,
                                url=url)
    service.source = source  # type: ignore[assignment]
    assert service.run().clean and service.config.models["recommender"].window.size == 500
    assert source.at_reload == 7 * 50 and source.stored == source.at_reload


def test_runs_leave_the_interpreter_as_they_found_it(tmp_path: Path, scenario: Scenario) -> None:
    """A run may tune the garbage collector while it runs; after it (and after two runs at once) the
    interpreter's collector settings are the ones before."""
    import gc
    import threading

    before = gc.get_threshold()
    assert _service(_db(tmp_path, scenario), scenario.config, scenario.events).run().stopped_by == "end_of_source"
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0

    runs = [_service(_db(tmp_path, scenario, name), scenario.config, scenario.events) for name in "ab"]
    threads = [threading.Thread(target=service.run) for service in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


class CountingStore(SqlPartitionStore):
    """Counts the persist points that wrote outputs without a snapshot."""

    light = 0

    def save(self, items: Any) -> Any:
        CountingStore.light += sum(1 for item in items if item.snapshot is None and item.closed)
        return super().save(items)


class Crashing(Service):
    """A watcher killed at the end of its run: nothing after its last persist point is written."""

    def _shutdown(self) -> bool:
        self.source.close()
        return False


class PollClock:
    """A file source whose polls are the clock: one tick per poll (``monotonic`` of the service)."""

    def __init__(self, inner: JsonlSource) -> None:
        self._inner, self.now = inner, 0.0

    def poll(self, timeout: float, max_records: int) -> Any:
        self.now += 1.0
        return self._inner.poll(timeout, max_records)

    def clock(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("step", [1300, 1700])
def test_outputs_written_between_snapshots_are_stored_once_after_a_crash(
        tmp_path: Path, scenario: Scenario, step: int) -> None:
    """Windows closed between two snapshots are written at once, without the snapshot; runs killed at any
    point and restarted from the last snapshot (reading those events again) end with the results of one run."""
    config_path = tmp_path / "watch.yaml"
    config_path.write_text(scenario.config.read_text().replace("size: 300", "size: 60"))
    whole = _db(tmp_path, scenario, "whole")
    _service(whole, config_path, scenario.events).run()
    crashed = _db(tmp_path, scenario, "crashed")
    config = load_config(config_path)
    # a snapshot every 20 polls of 50 messages (about 420 predictions); windows of 60 predictions
    options = ServiceOptions(group_id="g", checkpoint_interval=20.0, max_batch=50, write_at_close=True)
    CountingStore.light = 0
    offsets: list[int] = []
    for _ in range(40):
        store = CountingStore(make_engine(crashed), "g", AlertService())
        source = PollClock(JsonlSource(scenario.events))
        service = Crashing(config, source, store, options, metrics=Metrics(CollectorRegistry()),  # type: ignore[arg-type]
                           health=Health(), monotonic=source.clock)
        if service.run(max_messages=step).stopped_by == "end_of_source":
            break
        offsets.append(_dump(crashed)["offsets"][0][2] if _dump(crashed)["offsets"] else 0)
    assert len(offsets) > 2 and offsets[-1] > offsets[0]  # killed several times, each time further on
    assert CountingStore.light > 0
    final = _service(crashed, config_path, scenario.events).run()
    assert final.clean and final.stopped_by == "end_of_source"
    assert _dump(crashed) == _dump(whole)
