"""``driftwarden reference build|list``: build a reference profile from training data and register it.

``reference build MODEL --from training.parquet [--config FILE]`` reads the Parquet file batch by batch
(progress bar), profiles the model's columns (with ``--config``: its features with their kinds and its
prediction columns; without: every column, kinds inferred) and stores the profile in
``reference_profiles`` with its content hash and the next version number. Building the same data twice
registers nothing new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from monitor.cli_support import AppState, fail, migrate_option, prepare_database, safe_url

__all__ = ["build_reference", "register"]


def _read_parquet(path: Path, columns: list[str] | None, progress: bool) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    try:
        parquet = pq.ParquetFile(path)
    except FileNotFoundError:
        fail(f"training data {str(path)!r} does not exist")
    except (OSError, pa.ArrowInvalid) as exc:
        fail(f"training data {str(path)!r} is not a readable Parquet file: {exc}")
    available = parquet.schema_arrow.names
    if columns is not None:
        columns = [c for c in columns if c in available]
    batches = []
    bar = tqdm(total=parquet.metadata.num_rows, unit="row", desc=f"reading {path.name}", disable=not progress)
    try:
        for batch in parquet.iter_batches(batch_size=65_536, columns=columns):
            batches.append(batch)
            bar.update(batch.num_rows)
    except (OSError, pa.ArrowInvalid) as exc:
        fail(f"training data {str(path)!r} could not be read: {exc}")
    finally:
        bar.close()
    schema = parquet.schema_arrow if columns is None else pa.schema([parquet.schema_arrow.field(c) for c in columns])
    return pa.Table.from_batches(batches, schema=schema).to_pandas()


def build_reference(model: str, data: Path, config_path: Path | None, database_url: str,
                    progress: bool = True, migrate: bool | None = None) -> tuple[int, str, int, list[str], bool]:
    """Build and register; ``(version, content_hash, n_rows, columns, created)``. Exits 2 on bad input.

    The config and the training data are read and profiled before the database is opened, so bad input
    leaves the database untouched. Then, with ``migrate=True`` the schema is upgraded to the newest
    revision, with ``migrate=False`` a schema not at the newest revision is refused
    (:func:`~monitor.cli_support.prepare_database`); ``None`` uses the database as it is.
    """
    from detectors import DetectorError, ReferenceProfile
    from monitor.config import ConfigError, load_config
    from monitor.db import make_engine, session_factory
    from monitor.store.references import register_reference

    kinds: dict[str, str] | None = None
    wanted: list[str] | None = None
    features: set[str] = set()
    if config_path is not None:
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            fail(str(exc))
        model_cfg = config.model(model)
        if model_cfg is None:
            fail(f"model {model!r} is not in {config_path} (models: {', '.join(config.models)})")
        kinds = dict(model_cfg.columns)
        features = set(model_cfg.features)
        wanted = list(kinds)
    frame = _read_parquet(data, wanted, progress)
    if kinds is not None:
        missing_features = [c for c in (wanted or []) if c not in frame.columns and c in features]
        if missing_features:
            fail(f"training data {str(data)!r} lacks feature column(s) {missing_features} of model {model!r}")
        kinds = {c: k for c, k in kinds.items() if c in frame.columns}
    if len(frame) == 0:
        fail(f"training data {str(data)!r} has no rows")
    try:
        joint = [c for c in kinds if c in features] if kinds else None  # multivariate test on features only
        profile = ReferenceProfile.build(frame, kinds, columns=list(kinds) if kinds else None, progress=progress,
                                         multivariate_columns=joint)
    except DetectorError as exc:
        fail(f"cannot profile {str(data)!r}: {exc}")
    if migrate is not None:
        prepare_database(database_url, migrate)
    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as session:
            row, created = register_reference(session, model, profile, source=str(data))
            version, content_hash = row.version, row.content_hash
    except Exception as exc:
        fail(f"cannot register the reference in {safe_url(database_url)} (did you run `driftwarden db upgrade`?): "
             f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    return version, content_hash, profile.n_rows, list(profile.names), created


_FROM_OPTION = typer.Option(None, "--from", help="Training data (Parquet). Default: the config's reference.path.")
_CONFIG_OPTION = typer.Option(None, "--config", help="Config file: profile the model's columns with their kinds.")


def register(app: typer.Typer) -> None:
    ref_app = typer.Typer(help="Reference profiles (what windows are tested against).", no_args_is_help=True)

    @ref_app.command("build")
    def build(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model name (as in the config file)."),
        data: Path | None = _FROM_OPTION,
        config: Path | None = _CONFIG_OPTION,
        db: str | None = typer.Option(None, "--db", help="Database URL (default: DRIFTWARDEN_DATABASE_URL)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Build MODEL's reference profile from training data and register it (hash + version)."""
        url = db or AppState.of(ctx).settings.database_url
        source = data
        if source is None and config is not None:
            from monitor.config import ConfigError, load_config

            try:
                loaded = load_config(config)
            except ConfigError as exc:
                fail(str(exc))
            model_cfg = loaded.model(model)
            if model_cfg is None:
                fail(f"model {model!r} is not in {config} (models: {', '.join(loaded.models)})")
            source = model_cfg.reference.path
        if source is None:
            fail("no training data: pass --from FILE (or --config with reference.path for the model)")
        version, content_hash, n_rows, columns, created = build_reference(model, source, config, url, not quiet,
                                                                         migrate=migrate)
        state = "registered" if created else "unchanged, already registered as"
        typer.echo(f"reference of {model} {state} version {version}: hash {content_hash[:16]}, "
                   f"{n_rows} rows, {len(columns)} columns ({', '.join(columns)})")

    @ref_app.command("list")
    def list_(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model name."),
        db: str | None = typer.Option(None, "--db", help="Database URL (default: DRIFTWARDEN_DATABASE_URL)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """List MODEL's registered reference versions."""
        from monitor.db import make_engine, session_factory
        from monitor.store.references import reference_versions

        url = db or AppState.of(ctx).settings.database_url
        prepare_database(url, migrate)
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                rows = reference_versions(session, model)
        except Exception as exc:
            fail(f"cannot read references from {safe_url(url)}: {type(exc).__name__}: {exc}")
        finally:
            engine.dispose()
        if not rows:
            typer.echo(f"no reference registered for {model}")
        for version, content_hash, n_rows in rows:
            typer.echo(f"v{version}  {content_hash[:16]}  {n_rows} rows")

    app.add_typer(ref_app, name="reference")
