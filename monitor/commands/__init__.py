"""CLI commands: one module per command (group), each exposing ``register(app)``.

To add a command, write ``monitor/commands/<name>.py`` with ``register(app: typer.Typer) -> None`` and add
its module name to :data:`COMMAND_MODULES` (the explicit registry; nothing registers itself on import).
"""

from __future__ import annotations

COMMAND_MODULES: tuple[str, ...] = (
    "monitor.commands.db",
    "monitor.commands.reference",
    "monitor.commands.alerts",
    "monitor.commands.incidents",
    "monitor.commands.run",
    "monitor.commands.replay",
    "monitor.commands.demo",
    "monitor.commands.check",
    "monitor.commands.scenario",
    "monitor.commands.performance",
    "monitor.commands.segments",
    "monitor.commands.deadletters",
    "monitor.commands.notify",
    "monitor.commands.prune",
)
