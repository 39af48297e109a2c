"""``driftwarden demo [--db URL] [--no-serve] [--kafka]``: the scenario through the watcher, then the dashboard.

1. generates the recommender's scenario (:mod:`scenario`: 21 days, eight incidents, labels arriving hours to
   days late) into ``--workdir``;
2. migrates the database (unless ``--no-migrate``) and builds the reference (``driftwarden reference build``);
3. runs the watcher on the events (``driftwarden run --source <events file>``) with a progress bar; with
   ``--kafka`` it first replays them to fresh topics of the real broker (``driftwarden replay``) and consumes
   them from there into the configured database (``DRIFTWARDEN_DATABASE_URL``, PostgreSQL);
4. prints how each scripted incident was caught, then serves the dashboard (``streamlit run
   dashboard/app.py``) on the demo's database and prints its URL, unless ``--no-serve``.

The default database is a fresh SQLite file in the work dir; a database given with ``--db`` (or, with
``--kafka``, by ``DRIFTWARDEN_DATABASE_URL``) must not hold windows of the demo's model yet.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from monitor.commands.support import AppState, fail, migrate_option, prepare_database, safe_url
from monitor.config.settings import Settings
from monitor.errors import MonitorError
from scenario.timeline import DEFAULT_DAYS

if TYPE_CHECKING:
    from scenario.generate import ScenarioFiles

__all__ = ["DemoOptions", "DemoResult", "register", "run_demo", "serve_dashboard"]

DEFAULT_WORKDIR = Path(".local/demo")
DEFAULT_EVENTS_PER_HOUR = 1000.0
KAFKA_TIMEOUT = 1800.0
"""With ``--kafka``: give up consuming after this many seconds (a broker that stalls)."""
Echo = Callable[[str], None]


class DemoError(MonitorError, RuntimeError):
    """A demo step that cannot run (database not empty, broker unreachable, dashboard not found)."""


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = DEFAULT_WORKDIR
    db: str | None = None
    kafka: bool = False
    seed: int = 7
    days: int = DEFAULT_DAYS
    events_per_hour: float = DEFAULT_EVENTS_PER_HOUR
    progress: bool = True
    kafka_rate: float | None = None
    kafka_timeout: float = KAFKA_TIMEOUT
    migrate: bool = True


@dataclass
class DemoResult:
    database_url: str
    events: int = 0
    windows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    ok: bool = False


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) and len(url) > len(prefix) else None


def _check_empty(url: str, model: str) -> None:
    from sqlalchemy import func, select

    from monitor.db.models import ModelRow, WindowResult
    from monitor.store.sessions import in_session

    n = in_session(url, lambda session: session.scalar(
        select(func.count()).select_from(WindowResult).join(ModelRow).where(ModelRow.name == model)) or 0)
    if n:
        raise DemoError(f"database {safe_url(url)} already holds {n} windows of model {model!r}: "
                        "give the demo a fresh database (--db) or drop that one")


def _demo_database(options: DemoOptions, settings: Settings, workdir: Path) -> str:
    """``--db``, else the settings' database with ``--kafka``, else a fresh SQLite file in ``workdir``."""
    if options.db:
        return options.db
    if options.kafka:
        return settings.database_url
    url = f"sqlite:///{workdir / 'driftwarden.db'}"
    db_file = _sqlite_file(url)
    for suffix in ("", "-wal", "-shm"):
        if db_file is not None:
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    return url


def _start_replay(events: Path, run_settings: Settings, options: DemoOptions, result: DemoResult, total: int,
                  echo: Echo) -> _Replayer:
    """Start replaying the events to the topics of ``run_settings``; without ``--kafka-rate``, wait for it."""
    replayer = _Replayer(events, run_settings, options.kafka_rate)
    echo(f"replaying the events to Kafka at {run_settings.kafka_bootstrap_servers} "
         f"(topics {run_settings.kafka_predictions_topic}, {run_settings.kafka_outcomes_topic})"
         + ("" if options.kafka_rate is None else
            f" at {options.kafka_rate:g} events/s while the watcher consumes them"))
    t = time.monotonic()
    replayer.start()
    if options.kafka_rate is None:
        replayer.join()
        result.seconds["replay"] = time.monotonic() - t
        echo(f"  replayed {total:,} events ({result.seconds['replay']:.1f} s)")
    return replayer


def _generate(options: DemoOptions, workdir: Path, result: DemoResult, echo: Echo) -> ScenarioFiles:
    """Step 1: the scenario's files in ``workdir``."""
    from scenario import generate_scenario

    t = time.monotonic()
    echo(f"generating the scenario ({options.days} days, ~{options.events_per_hour:g} recommendations/hour, "
         f"seed {options.seed}) in {workdir}")
    files = generate_scenario(workdir, seed=options.seed, days=options.days,
                              events_per_hour=options.events_per_hour)
    result.seconds["generate"] = time.monotonic() - t
    echo(f"  {files.n_predictions:,} recommendations + {files.n_outcomes:,} outcomes + {files.n_labels:,} late "
         f"labels, {files.n_validation:,} labelled validation rows, "
         f"{files.n_reference:,} reference rows ({result.seconds['generate']:.1f} s)")
    return files


def _build_reference(files: ScenarioFiles, url: str, options: DemoOptions, result: DemoResult,
                     echo: Echo) -> None:
    """Step 2: the database migrated (unless ``--no-migrate``), checked empty, and the reference built."""
    from scenario.runner import build_scenario_reference

    t = time.monotonic()
    prepare_database(url, options.migrate)
    _check_empty(url, files.truth.model)
    version = build_scenario_reference(files, url)
    result.seconds["reference"] = time.monotonic() - t
    echo(f"reference profile v{version} of {files.truth.model!r} built ({result.seconds['reference']:.1f} s)")


def _watch(files: ScenarioFiles, url: str, settings: Settings, options: DemoOptions, result: DemoResult,
           echo: Echo) -> None:
    """Step 3: the watcher over the events file, or with ``--kafka`` over fresh topics they are replayed to."""
    from tqdm import tqdm

    from scenario.runner import watch_scenario

    total = files.n_events
    run_settings = settings.model_copy(update={"database_url": url})
    source: str | None = None
    replayer: _Replayer | None = None
    if options.kafka:
        run_settings = _fresh_topics(run_settings)
        replayer = _start_replay(files.events, run_settings, options, result, total, echo)
        source = "kafka"
    t = time.monotonic()
    bar = tqdm(total=total, unit="ev", unit_scale=True, desc="watching", disable=not options.progress,
               smoothing=0.05)
    try:
        watched = watch_scenario(files, url, run_settings, source=source, on_batch=bar.update,
                                 max_messages=total if options.kafka else None,
                                 timeout=options.kafka_timeout if options.kafka else None)
    finally:
        bar.close()
        if replayer is not None:
            replayer.join()
    if replayer is not None and replayer.error is not None:
        raise DemoError(replayer.error)
    result.seconds["watch"] = time.monotonic() - t
    result.events, result.windows = watched.messages, watched.windows
    echo(f"watched {watched.messages:,} events: {watched.windows} windows closed, "
         f"{watched.dead_letters} dead letters, stopped by {watched.stopped_by} ({result.seconds['watch']:.1f} s)")
    if not watched.clean:
        raise DemoError("the watcher could not write its last results (see the log above)")


def _score(files: ScenarioFiles, url: str, result: DemoResult) -> None:
    """How each scripted incident was caught, against the ground truth, into ``result``."""
    from scenario import format_evaluation
    from scenario.runner import score_run

    evaluation = score_run(files, url)
    result.summary = format_evaluation(evaluation)
    result.ok = evaluation.ok


def run_demo(options: DemoOptions, settings: Settings, echo: Echo = print) -> DemoResult:
    """Steps 1-3 of the module docstring; returns the database URL, timings and the detection summary."""
    workdir = options.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    url = _demo_database(options, settings, workdir)
    result = DemoResult(database_url=url)
    total_start = time.monotonic()
    files = _generate(options, workdir, result, echo)
    _build_reference(files, url, options, result, echo)
    _watch(files, url, settings, options, result, echo)
    _score(files, url, result)
    result.seconds["total"] = time.monotonic() - total_start
    echo("what the watcher caught (ground truth: " + str(files.ground_truth) + "):")
    for line in result.summary:
        echo(line)
    return result


def _fresh_topics(settings: Settings) -> Settings:
    """Fresh topics and consumer group, so a rerun never reads an older demo's events."""
    run_id = uuid.uuid4().hex[:8]
    return settings.model_copy(update={
        "kafka_predictions_topic": f"driftwarden.demo-{run_id}.predictions",
        "kafka_outcomes_topic": f"driftwarden.demo-{run_id}.outcomes",
        "kafka_consumer_group": f"driftwarden-demo-{run_id}",
    })


class _Replayer(threading.Thread):
    """``driftwarden replay`` in a thread: all at once (``rate=None``, the demo waits for it), or paced at
    ``rate`` events/s while the watcher consumes, like a live stream."""

    def __init__(self, events: Path, settings: Settings, rate: float | None) -> None:
        super().__init__(name="driftwarden-demo-replay", daemon=True)
        self.events, self.settings, self.rate = events, settings, rate
        self.error: str | None = None
        self.seconds = 0.0
        self._producer: Any = None
        from kafka.errors import KafkaError

        from monitor.sources.kafka_clients import make_producer

        try:
            _create_topics(settings)
            self._producer = make_producer(settings, linger_ms=5, batch_size=256 * 1024,
                                           max_request_size=8 * 1024 * 1024,
                                           client_id="driftwarden-demo")
        except KafkaError as exc:
            raise DemoError(f"no Kafka broker reachable at {settings.kafka_bootstrap_servers!r} "
                            f"(DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS): {type(exc).__name__}: {exc}") from None

    def run(self) -> None:
        from monitor.commands.replay import replay_file

        try:
            done = replay_file(self.events, self._producer, self.settings.kafka_predictions_topic,
                               self.settings.kafka_outcomes_topic, rate=self.rate, progress=False)
            self.seconds = done.seconds
        except Exception as exc:  # reported by the main thread
            self.error = f"replaying {self.events} to Kafka failed: {type(exc).__name__}: {exc}"
        finally:
            self._producer.close()


def _create_topics(settings: Settings, partitions: int = 1) -> None:
    """The two co-partitioned topics (same partition count), created up front."""
    from kafka.admin import NewTopic

    from monitor.sources.kafka_clients import make_admin

    admin = make_admin(settings, client_id="driftwarden-demo")
    try:
        admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1)
                             for t in (settings.kafka_predictions_topic, settings.kafka_outcomes_topic)])
    finally:
        admin.close()


def dashboard_app() -> Path:
    """``dashboard/app.py`` of the installed ``dashboard`` package."""
    import importlib.util

    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise DemoError("the dashboard package is not installed (expected dashboard/app.py)")
    app = Path(next(iter(spec.submodule_search_locations))) / "app.py"
    if not app.is_file():
        raise DemoError(f"dashboard entry point {str(app)!r} does not exist")
    return app


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DemoError("no free TCP port for the dashboard")


def serve_dashboard(database_url: str, port: int = 8501, *, wait: float = 60.0,
                    env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``streamlit run dashboard/app.py`` on ``database_url``; returns the process and the URL once
    the server answers its health check (raises :class:`DemoError` if it does not within ``wait`` s)."""
    app = dashboard_app()
    port = _free_port(port)
    child_env = {**os.environ, **(env or {}), "DRIFTWARDEN_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + wait
    health = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise DemoError(f"the dashboard exited with code {proc.returncode}: {err.splitlines()[-1:] or ''}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return proc, f"http://localhost:{port}"
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise DemoError(f"the dashboard did not answer on port {port} within {wait:.0f} s")


# Not support.DB_OPTION: the demo's default database is a fresh SQLite file in --workdir (a second demo
# would otherwise append to the first one's windows), DRIFTWARDEN_DATABASE_URL only with --kafka.
_DEMO_DB_OPTION = typer.Option(None, "--db", help="Database URL (default: a fresh SQLite file in the work dir; "
                                                  "with --kafka: DRIFTWARDEN_DATABASE_URL).")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        db: str | None = _DEMO_DB_OPTION,
        no_serve: bool = typer.Option(False, "--no-serve", help="Do not serve the dashboard afterwards."),
        kafka: bool = typer.Option(False, "--kafka", help="Go through the real broker "
                                                          "(DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS) and database."),
        workdir: str = typer.Option(str(DEFAULT_WORKDIR), "--workdir", help="Where the scenario's files go."),
        events_per_hour: float = typer.Option(DEFAULT_EVENTS_PER_HOUR, "--events-per-hour", min=1.0,
                                              help="Mean recommendations per hour of the scenario."),
        days: int = typer.Option(DEFAULT_DAYS, "--days", min=1, help="Length of the scenario in days."),
        seed: int = typer.Option(7, "--seed", help="Seed of the scenario (same seed, same events)."),
        port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port of the dashboard (next free one "
                                                                          "if taken)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Generate the demo scenario, run it through the watcher, then serve the dashboard."""
        from scenario import ScenarioError

        settings = AppState.of(ctx).settings
        options = DemoOptions(workdir=Path(workdir), db=db, kafka=kafka, seed=seed, days=days,
                              events_per_hour=events_per_hour, migrate=migrate)
        try:
            result = run_demo(options, settings, echo=lambda line: typer.echo(line, err=True))
        except (DemoError, ScenarioError) as exc:
            fail(str(exc))
        typer.echo(f"done in {result.seconds['total']:.0f} s; database: {result.database_url}", err=True)
        if no_serve:
            return
        try:
            proc, url = serve_dashboard(result.database_url, port)
        except DemoError as exc:
            fail(str(exc))
        typer.echo(f"dashboard: {url}   (Ctrl-C to stop)")
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
