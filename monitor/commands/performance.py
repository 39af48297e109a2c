"""``driftwarden performance MODEL [--db URL] [--json]``: a model's quality per window and metric.

With ``--json``: one JSON object per line and window + metric, with exactly the fields of
:data:`monitor.store.queries.PERFORMANCE_FIELDS` (``null`` where not available). Without: a table, which
also shows the estimator's error (``est-real``: estimated - realized, stored per window) and marks an
estimate the reliability guard found unreliable.
"""

from __future__ import annotations

import json

import typer

from monitor.commands.support import DB_OPTION, database_url, in_session, migrate_option

__all__ = ["register"]


def _fmt(value: float | None, lower: float | None = None, upper: float | None = None) -> str:
    if value is None:
        return "-"
    if lower is None or upper is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{lower:.3f}, {upper:.3f}]"


def register(app: typer.Typer) -> None:
    @app.command("performance")
    def performance(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model name."),
        db: str | None = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line (window + metric)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Realized and estimated performance of MODEL per window (provisional until label_ttl passes)."""
        from monitor.store.queries import performance_series

        url = database_url(ctx, db)
        rows = in_session(url, lambda session: performance_series(session, model),
                          failing=f"cannot read performance of {model!r} from", migrate=migrate)
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row.to_json()))
            return
        if not rows:
            typer.echo(f"no performance rows for {model}")
            return
        width = max(10, *(len(row.metric) for row in rows))
        typer.echo(f"{'window_end':<25} {'metric':<{width}} {'labelled':>13} {'realized':>26} {'estimated':>26} "
                   f"{'est-real':>8} {'reference':>9}  status")
        for row in rows:
            labelled = f"{row.n_labelled}/{row.n_predictions}"
            status = "provisional" if row.provisional else "final"
            if row.estimate_reliable is False:
                status += ", estimate unreliable"
            error = "-" if row.error is None else f"{row.error:+.3f}"
            typer.echo(f"{row.window_end.isoformat():<25} {row.metric:<{width}} {labelled:>13} "
                       f"{_fmt(row.realized, row.realized_lower, row.realized_upper):>26} "
                       f"{_fmt(row.estimated, row.estimated_lower, row.estimated_upper):>26} "
                       f"{error:>8} {_fmt(row.reference):>9}  {status}")
