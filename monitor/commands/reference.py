"""``driftwarden reference build|list``: build a reference profile from training data and register it.

``reference build MODEL --from training.parquet [--config FILE]`` reads the training data (Parquet batch by
batch with a progress bar, CSV or JSON Lines; :func:`monitor.check.read_table`), profiles the model's
columns (with ``--config``: its features with their kinds and its prediction columns; without: every
column, kinds inferred) and stores the profile in
``reference_profiles`` with its content hash and the next version number. Building the same data twice
registers nothing new. With ``--config`` and the model's ``performance.reference`` (labelled validation data),
its quality reference (realized metric values and the fitted CBPE) is registered in the same transaction
(``performance_references``). With ``--out FILE`` the profile is saved to that file instead (no database), for
``driftwarden check FILE today.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from monitor.commands.support import DB_OPTION, database_url, fail, in_session, migrate_option

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.pipeline.performance_reference import PerformanceReference

__all__ = ["build_profile", "build_quality", "build_reference", "register"]


def build_profile(model: str, data: Path, config_path: Path | None, progress: bool = True) -> Any:
    """The reference profile of ``model`` from training ``data`` (Parquet, CSV or JSON Lines); exits 2 on bad
    input with one line naming the file (and the column).

    With ``config_path``: the model's columns with their configured kinds, multivariate detector on the
    features (:func:`monitor.check.profile_for_model`, the same as ``check --config``); without: every
    column, kinds inferred.
    """
    from detectors import ColumnError, DetectorError, ReferenceProfile
    from monitor.check import CheckInputError, load_model, profile_for_model, read_table

    try:
        if config_path is None:
            frame = read_table(data, progress=progress)
            try:
                return ReferenceProfile.build(frame, progress=progress)
            except ColumnError as exc:
                raise CheckInputError(f"{data}: column {exc.column!r}: {exc.problem}") from exc
            except DetectorError as exc:
                raise CheckInputError(f"{data}: {exc}") from exc
        model_cfg = load_model(config_path, model)
        frame = read_table(data, list(model_cfg.columns), progress=progress)
        return profile_for_model(frame, model_cfg, source=str(data), progress=progress)
    except CheckInputError as exc:
        fail(str(exc))


def build_reference(model: str, data: Path, config_path: Path | None, database_url: str,
                    progress: bool = True, migrate: bool | None = None) -> tuple[int, str, int, list[str], bool]:
    """Build and register; ``(version, content_hash, n_rows, columns, created)``. Exits 2 on bad input.

    The config and the training data are read and profiled (:func:`build_profile`) before the database is
    opened, so bad input leaves the database untouched. Then, with ``migrate=True`` the schema is upgraded
    to the newest revision, with ``migrate=False`` a schema not at the newest revision is refused
    (:func:`~monitor.commands.support.prepare_database`); ``None`` uses the database as it is.
    """
    from monitor.store.references import register_reference

    profile = build_profile(model, data, config_path, progress)
    quality = build_quality(model, config_path, progress)

    def register_all(session: Session) -> tuple[int, str, bool]:
        row, created = register_reference(session, model, profile, source=str(data))
        if quality is not None:
            _register_quality(session, model, *quality)
        return row.version, row.content_hash, created

    version, content_hash, created = in_session(
        database_url, register_all, failing="cannot register the reference in", migrate=migrate, write=True,
        hint=" (did you run `driftwarden db upgrade`?)")
    return version, content_hash, profile.n_rows, list(profile.names), created


def build_quality(model: str, config_path: Path | None, progress: bool = True
                  ) -> tuple[PerformanceReference, str] | None:
    """With ``config_path`` and the model's ``performance.reference``: its quality reference (metric values
    and fitted CBPE, :func:`monitor.check.validation.build_performance_reference`) and the file's name;
    else ``None``. Exits 2 on bad input with one line naming the file."""
    if config_path is None:
        return None
    from monitor.check import CheckInputError, load_model
    from monitor.check.validation import build_performance_reference

    try:
        model_cfg = load_model(config_path, model)
        quality = build_performance_reference(model_cfg, progress=progress)
    except CheckInputError as exc:
        fail(str(exc))
    if quality is None:
        return None
    assert model_cfg.performance is not None and model_cfg.performance.reference is not None
    return quality, str(model_cfg.performance.reference.path)


def _register_quality(session: Session, model: str, quality: PerformanceReference, source: str) -> None:
    from monitor.store.references import register_performance_reference

    row, created = register_performance_reference(session, model, quality, source=source)
    values = ", ".join(f"{m} {v:.4g}" for m in quality.values if (v := quality.value(m)) is not None)
    state = "registered" if created else "unchanged, already registered as"
    typer.echo(f"performance reference of {model} {state} version {row.version}: {quality.n_rows} labelled rows "
               f"({values}){'' if quality.cbpe is not None else '; no CBPE estimate for this task'}")


_FROM_OPTION = typer.Option(None, "--from", help="Training data (Parquet, CSV or JSON Lines). Default: the config's "
                                                  "reference.path.")
_OUT_OPTION = typer.Option(None, "--out", help="Save the profile to this file instead of registering it in the "
                                               "database (a reference for `driftwarden check`).")
_CONFIG_OPTION = typer.Option(None, "--config", help="Config file: profile the model's columns with their kinds.")


def _configured_path(model: str, config: Path) -> Path | None:
    """``reference.path`` of ``model`` in the configuration file ``config`` (exit 2 if it does not load or
    has no such model)."""
    from monitor.config import ConfigError, load_config

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail(str(exc))
    model_cfg = loaded.model(model)
    if model_cfg is None:
        fail(f"model {model!r} is not in {config} (models: {', '.join(loaded.models)})")
    return model_cfg.reference.path


def _build(
    ctx: typer.Context,
    model: str | None = typer.Argument(None, help="Model name (as in the config file)."),
    data: Path | None = _FROM_OPTION,
    config: Path | None = _CONFIG_OPTION,
    db: str | None = DB_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    out: Path | None = _OUT_OPTION,
    migrate: bool = migrate_option(),
    all_models: bool = typer.Option(False, "--all", help="Every model of --config (its reference.path), in "
                                                         "one process; exit 2 if any failed."),
) -> None:
    """Build MODEL's reference profile from training data and register it (hash + version), or save it
    to a file with --out."""
    url = database_url(ctx, db)
    if all_models:
        if model is not None or config is None or data is not None or out is not None:
            fail("--all builds every model of --config: pass --config FILE, and no MODEL, --from or --out")
        from monitor.commands.reference_all import build_all, exit_code

        raise typer.Exit(exit_code(build_all(config, url, progress=not quiet, migrate=migrate)))
    if model is None:
        fail("pass MODEL (or --all with --config)")
    source = data if data is not None or config is None else _configured_path(model, config)
    if source is None:
        fail("no training data: pass --from FILE (or --config with reference.path for the model)")
    if out is not None:
        profile = build_profile(model, source, config, not quiet)
        try:
            profile.save(out)
        except OSError as exc:
            fail(f"{out}: cannot write the profile: {exc.strerror or exc}")
        typer.echo(f"profile of {model} saved to {out}: hash {profile.content_hash[:16]}, {profile.n_rows} rows, "
                   f"{len(profile.names)} columns ({', '.join(profile.names)})")
        return
    version, content_hash, n_rows, columns, created = build_reference(model, source, config, url, not quiet,
                                                                     migrate=migrate)
    state = "registered" if created else "unchanged, already registered as"
    typer.echo(f"reference of {model} {state} version {version}: hash {content_hash[:16]}, "
               f"{n_rows} rows, {len(columns)} columns ({', '.join(columns)})")

def _list(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model name."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """List MODEL's registered reference versions."""
    from monitor.store.references import reference_versions

    url = database_url(ctx, db)
    rows = in_session(url, lambda session: reference_versions(session, model),
                      failing="cannot read references from", migrate=migrate)
    if not rows:
        typer.echo(f"no reference registered for {model}")
    for version, content_hash, n_rows in rows:
        typer.echo(f"v{version}  {content_hash[:16]}  {n_rows} rows")


def register(app: typer.Typer) -> None:
    ref_app = typer.Typer(help="Reference profiles (what windows are tested against).", no_args_is_help=True)
    ref_app.command("build")(_build)
    ref_app.command("list")(_list)
    app.add_typer(ref_app, name="reference")
