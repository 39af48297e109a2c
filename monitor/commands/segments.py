"""``driftwarden segments MODEL`` and ``driftwarden fairness MODEL`` (``[--db URL] [--json]``).

With ``--json``: one JSON object per line, with exactly the fields of
:data:`monitor.store.segments_store.SEGMENT_FIELDS` (per window and segment) or
:data:`~monitor.store.segments_store.FAIRNESS_FIELDS` (per window, attribute and metric). Without: a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from monitor.commands.support import DB_OPTION, database_url, in_session, migrate_option

__all__ = ["register"]


def _read(ctx: typer.Context, db: str | None, migrate: bool, what: str, model: str,
          query: Callable[[Any, str], list[Any]]) -> list[Any]:
    url = database_url(ctx, db)
    return in_session(url, lambda session: query(session, model), failing=f"cannot read {what} of {model!r} from",
                      migrate=migrate)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    @app.command("segments")
    def segments(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model name."),
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line (window + segment)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Drift and business metrics of MODEL per window and segment (key=value)."""
        from monitor.store.segments_store import segment_series

        rows = _read(ctx, db, migrate, "segments", model, segment_series)
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row.to_json()))
            return
        if not rows:
            typer.echo(f"no segment rows for {model}")
            return
        typer.echo(f"{'window_end':<25} {'segment':<24} {'events':>8} {'drift':>6}  {'alerted':<7} drifted / metrics")
        for r in rows:
            metrics = ", ".join(f"{k}={_num(v)}" for k, v in r.metrics.items())
            typer.echo(f"{r.window_end.isoformat():<25} {r.segment:<24} {r.n_events:>8} {_num(r.drift_share):>6}  "
                       f"{'yes' if r.alerted else 'no':<7} {','.join(r.drifted_columns) or '-'} {metrics}")

    @app.command("fairness")
    def fairness(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model name."),
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line (window + attribute + metric)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Fairness metrics of MODEL per window and sensitive attribute, with their intervals."""
        from monitor.store.segments_store import fairness_series

        rows = _read(ctx, db, migrate, "fairness", model, fairness_series)
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row.to_json()))
            return
        if not rows:
            typer.echo(f"no fairness rows for {model}")
            return
        typer.echo(f"{'window_end':<25} {'attribute':<12} {'metric':<32} {'value':>22} {'threshold':>9}  violated")
        for r in rows:
            value = "-" if r.value is None else f"{r.value:.3f} [{_num(r.lower)}, {_num(r.upper)}]"
            typer.echo(f"{r.window_end.isoformat():<25} {r.attribute:<12} {r.metric:<32} {value:>22} "
                       f"{_num(r.threshold):>9}  {'yes' if r.violated else 'no'}")
