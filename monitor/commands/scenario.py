"""``driftwarden scenario generate OUT_DIR``: write the demo's three weeks of files without running anything.

What ``driftwarden demo`` generates as its first step, for setups that run the steps as separate processes
(the Docker Compose stack: one service generates, the producer replays the events to Kafka, the watcher
consumes them): ``events.jsonl``, ``reference.parquet``, ``ground_truth.json`` and ``recommender.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.commands.support import fail

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The demo scenario: a recommender's three weeks with scripted incidents.",
                        no_args_is_help=True)

    @group.command("generate")
    def generate(
        out_dir: Annotated[Path, typer.Argument(help="Directory to write the files into (created if needed).",
                                                show_default=False)],
        events_per_hour: Annotated[float, typer.Option("--events-per-hour", min=1.0,
                                                       help="Mean recommendations per hour.")] = 1000.0,
        days: Annotated[int, typer.Option("--days", min=1,
                                          help="Length of the scenario in days (its incidents need 21).")] = 21,
        seed: Annotated[int, typer.Option("--seed", help="Seed (same seed, same bytes).")] = 7,
    ) -> None:
        """Write events.jsonl, reference.parquet, validation.parquet, ground_truth.json and recommender.yaml into
        OUT_DIR."""
        from scenario import generate_scenario
        from scenario.errors import ScenarioError

        try:
            files = generate_scenario(out_dir, seed=seed, days=days, events_per_hour=events_per_hour)
        except (ScenarioError, OSError) as exc:
            fail(f"scenario generate {out_dir}: {exc}")
        typer.echo(f"{files.n_predictions} predictions, {files.n_outcomes} outcomes and {files.n_labels} labels in "
                   f"{files.events}; reference ({files.n_reference} rows) in {files.reference}; labelled validation "
                   f"({files.n_validation} rows) in {files.validation}; config {files.config}")

    app.add_typer(group, name="scenario")
