"""``driftwarden deadletters list|show|export|requeue``: read, export and re-produce rejected input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.commands.support import (
    DB_OPTION,
    AppState,
    database_url,
    fail,
    in_session,
    migrate_option,
    safe_url,
    with_sessions,
)

__all__ = ["parse_since", "register"]


def parse_since(value: str) -> datetime:
    """``--since``: a duration back from now (``2d``, ``6h``) or an ISO time (UTC when it has no zone).

    >>> parse_since("2026-12-01").isoformat()
    '2026-12-01T00:00:00+00:00'
    """
    from monitor.config.durations import parse_duration

    try:
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except Exception:
        fail(f"--since {value!r} is neither a duration (2d, 6h) nor an ISO time")


def _line(item: Any) -> str:
    where = f"{item.source}[{item.partition}]@{item.offset}"
    requeued = f" requeued x{item.requeue_count}" if item.requeue_count else ""
    return (f"#{item.id:<6} {item.created_at:%Y-%m-%d %H:%M:%S} {item.model or '-'} {where} "
            f"{item.raw_size}B{requeued}: {item.reason}")


_REASON = typer.Option(None, "--reason", help="Only reasons containing this text (any case).")
_MODEL = typer.Option(None, "--model", help="Only this model.")
_SINCE = typer.Option(None, "--since", help="Only dead letters stored since: 2d, 6h or an ISO time.")


def _which(reason: str | None, model: str | None, since: str | None, limit: int | None,
           ids: list[int] | None = None) -> Any:
    """The dead-letter filter of the options (``--since`` read by :func:`parse_since`)."""
    from monitor.store.dead_letters import DeadLetterFilter

    return DeadLetterFilter(reason=reason, model=model, since=parse_since(since) if since else None,
                            ids=tuple(ids) if ids else None, limit=limit)


def _list(
    ctx: typer.Context, reason: str | None = _REASON, model: str | None = _MODEL,
    since: str | None = _SINCE,
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line (without the raw bytes)."),
    db: str | None = DB_OPTION, migrate: bool = migrate_option(),
) -> None:
    """List dead letters, newest first."""
    from monitor.store.dead_letters import find

    selected = _which(reason, model, since, limit)
    url = database_url(ctx, db)
    items = in_session(url, lambda session: find(session, selected), failing="database", migrate=migrate)
    for item in items:
        typer.echo(json.dumps(item.to_json(with_raw=False)) if as_json else _line(item))
    if not items and not as_json:
        typer.echo("no dead letters")

def _show(
    ctx: typer.Context, dead_letter_id: int = typer.Argument(..., help="Dead letter id (see `list`)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, raw bytes as base64."),
    db: str | None = DB_OPTION, migrate: bool = migrate_option(),
) -> None:
    """One dead letter with its reason and raw bytes."""
    from monitor.store.dead_letters import get

    url = database_url(ctx, db)
    item = in_session(url, lambda session: get(session, dead_letter_id), failing="database",
                      migrate=migrate)
    if item is None:
        fail(f"dead letter {dead_letter_id} does not exist in {safe_url(url)}")
    if as_json:
        typer.echo(json.dumps(item.to_json(with_raw=True)))
        return
    typer.echo(_line(item))
    typer.echo(f"error class: {item.error_class}; key: {item.key!r}; "
               f"{'truncated: ' if item.truncated else ''}{len(item.raw)} of {item.raw_size} bytes kept")
    typer.echo(item.raw.decode("utf-8", "backslashreplace"))

def _export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="JSON Lines file to write ('-': stdout).")],
    reason: str | None = _REASON, model: str | None = _MODEL, since: str | None = _SINCE,
    db: str | None = DB_OPTION, migrate: bool = migrate_option(),
) -> None:
    """Write the selected dead letters as JSON Lines, each with its raw bytes and key in base64."""
    from monitor.store.dead_letters import find

    selected = _which(reason, model, since, None)
    url = database_url(ctx, db)
    items = in_session(url, lambda session: find(session, selected), failing="database", migrate=migrate)
    lines = "".join(json.dumps(item.to_json(with_raw=True)) + "\n" for item in items)
    if str(out) == "-":
        typer.echo(lines, nl=False)
        return
    try:
        out.write_text(lines, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"{len(items)} dead letters written to {out}", err=True)

def _requeue(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(
        help="Dead letter ids (default: every one the filters select).")] = None,
    reason: str | None = _REASON, model: str | None = _MODEL, since: str | None = _SINCE,
    topic: str | None = typer.Option(None, "--topic", help="Produce here instead of each one's source topic."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be produced; produce nothing."),
    as_json: bool = typer.Option(False, "--json", help="The result as one JSON object."),
    db: str | None = DB_OPTION, migrate: bool = migrate_option(),
) -> None:
    """Produce dead letters back to their topic (raw bytes and key) and record it (requeued_at, count)."""
    from monitor.requeue import requeue

    if not ids and not (reason or model or since):
        fail("requeue needs dead letter ids or at least one of --reason, --model, --since")
    selected = _which(reason, model, since, None, ids)
    settings = AppState.of(ctx).settings
    url = database_url(ctx, db)
    producer = None if dry_run else _producer(settings)
    try:
        result = with_sessions(url, lambda s: requeue(s, selected, producer, topic=topic, dry_run=dry_run),
                               failing="database", migrate=migrate)
    finally:
        if producer is not None:
            producer.close(timeout=10)
    if as_json:
        typer.echo(json.dumps({"requeued": result.requeued, "topics": result.topics, "dry_run": dry_run,
                               "skipped": {str(k): v for k, v in result.skipped.items()}}))
        return
    verb = "would produce" if dry_run else "produced"
    typer.echo(f"{verb} {len(result.requeued)} dead letters"
               + "".join(f"; {n} to {t}" for t, n in sorted(result.topics.items())))
    for dead_id, why in sorted(result.skipped.items()):
        typer.echo(f"skipped #{dead_id}: {why}")


def register(app: typer.Typer) -> None:
    dl_app = typer.Typer(help="Dead letters: list, show, export, requeue.", no_args_is_help=True)
    dl_app.command("list")(_list)
    dl_app.command("show")(_show)
    dl_app.command("export")(_export)
    dl_app.command("requeue")(_requeue)
    app.add_typer(dl_app, name="deadletters")


def _producer(settings: Any) -> Any:
    from monitor.sources.kafka_clients import make_producer

    try:
        return make_producer(settings, client_id="driftwarden-requeue", acks="all")
    except Exception as exc:
        fail(f"Kafka {settings.kafka_bootstrap_servers}: {type(exc).__name__}: {exc}")
