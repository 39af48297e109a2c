"""Shared pieces of the CLI: the per-invocation state (settings), the one-line error exit, the ``--db``
option of the commands that open the database and its resolution (:data:`DB_OPTION`, :func:`database_url`),
the database preparation every such command goes through (:func:`prepare_database`), and the
open-run-close of one session (:func:`in_session`) or of a session factory (:func:`with_sessions`), with the
one-line exit on any error (the open-run-close itself is :mod:`monitor.store.sessions`').

The migration policy is the same for every such command (``run``, ``demo``, ``reference build|list``,
``alerts list|ack|resolve``): the schema is upgraded to the newest revision first; with ``--no-migrate``
the command refuses a database that is not at the newest revision instead of touching its schema.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from monitor.config.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

EXIT_BAD_INPUT = 2
DB_HELP = "Database URL (default: DRIFTWARDEN_DATABASE_URL)."
MIGRATE_HELP = ("Upgrade the database schema to the newest revision first (default). With --no-migrate the "
                "command refuses a database whose schema is not at the newest revision.")

log = logging.getLogger("monitor.db")


@dataclass
class AppState:
    settings: Settings

    @staticmethod
    def of(ctx: typer.Context) -> AppState:
        root = ctx.find_root()
        if not isinstance(root.obj, AppState):
            root.obj = AppState(settings=Settings())
        return root.obj


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``driftwarden: error: <message>`` on one line to stderr and exit with ``code``."""
    typer.echo(f"driftwarden: error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


DB_OPTION: Any = typer.Option(None, "--db", help=DB_HELP)
"""The ``--db URL`` option of every command that opens the database; read it with :func:`database_url`.
(``demo`` has its own: its default is a fresh SQLite file.)"""


def database_url(ctx: typer.Context, db: str | None) -> str:
    """The database of this invocation: ``--db`` when given, else ``DRIFTWARDEN_DATABASE_URL`` (the settings')."""
    return db or AppState.of(ctx).settings.database_url


def migrate_option() -> Any:
    """The ``--migrate/--no-migrate`` option of every command that opens the database (default: migrate)."""
    return typer.Option(True, "--migrate/--no-migrate", help=MIGRATE_HELP)


def safe_url(url: str) -> str:
    """``url`` quoted, its password masked (for messages)."""
    from sqlalchemy.engine import make_url

    try:
        return repr(make_url(url).render_as_string(hide_password=True))
    except Exception:  # only for a message: an unparsable URL is shown as given
        return repr(url)


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL when it does not exist (connecting would create it), else None."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    name = parsed.database
    if not parsed.drivername.startswith("sqlite") or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return None if Path(name).exists() else Path(name)


def first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip()
    return f"{type(inner).__name__}: {text.splitlines()[0] if text else ''}"


def prepare_database(url: str, migrate: bool, *, wait: float = 0.0) -> None:
    """Make the database at ``url`` usable by this version, or exit 2 with one line naming it.

    With ``migrate`` the schema is upgraded to the newest revision; a database that refuses connections is
    retried with backoff (0.5 s doubling to 10 s) for up to ``wait`` seconds. One INFO line
    (``database schema upgraded``, with ``from``/``to`` revisions) is logged when the revision changed,
    nothing otherwise. Without ``migrate`` nothing is written: the command exits 2 unless the schema is
    at the newest revision (a SQLite file that does not exist is reported without being created).
    """
    from sqlalchemy import exc as sa_exc

    from monitor.db.migrate import current_revision, head_revision, upgrade
    from monitor.retry import retry_with_backoff

    head = head_revision()
    if not migrate:
        missing = _missing_sqlite_file(url)
        if missing is not None:
            fail(f"database {safe_url(url)}: file {str(missing)!r} does not exist (--no-migrate): create it with "
                 "`driftwarden db upgrade --db URL` or drop --no-migrate")
        try:
            current = current_revision(url)
        except Exception as exc:
            fail(f"database {safe_url(url)} cannot be read: {first_line(exc)}")
        if current != head:
            fail(f"database {safe_url(url)} is at schema revision {current or 'none (empty)'}, this driftwarden "
                 f"needs {head} (--no-migrate): run `driftwarden db upgrade` or drop --no-migrate")
        return
    deadline = time.monotonic() + wait

    def migrate_now() -> None:
        before = current_revision(url)
        if before != head:
            upgrade(url)
            log.info("database schema upgraded", extra={"from": before, "to": head})

    def unreachable(exc: BaseException, backoff: float) -> None:
        if time.monotonic() + backoff > deadline:
            fail(f"database {safe_url(url)} is not reachable: {first_line(exc)}")
        log.warning("database not reachable yet, retrying", extra={"retry_in_s": backoff})

    try:
        retry_with_backoff(migrate_now, retry_on=sa_exc.OperationalError, initial=0.5, maximum=10.0,
                           on_failure=unreachable)
    except typer.Exit:
        raise
    except Exception as exc:
        fail(f"database {safe_url(url)}: schema upgrade failed: {first_line(exc)}")


def in_session(url: str, work: Callable[[Session], T], *, failing: str, migrate: bool | None,
               write: bool = False, hint: str = "", plain: tuple[type[Exception], ...] = ()) -> T:
    """Run ``work`` in one session of the database at ``url`` and close it; the open-read-close of a command.

    The database is first prepared (:func:`prepare_database`; ``migrate=None`` uses it as it is). With
    ``write`` the session is one transaction, committed when ``work`` returns
    (:func:`monitor.store.sessions.in_session`). Any error exits 2 with one line:
    ``"{failing} {url}{hint}: {error type}: {error}"`` (the URL without its password); an error of a
    ``plain`` type with its own message only (one that already names what and where).
    """
    from monitor.store.sessions import in_session as run_in_session

    return _guarded(url, lambda: run_in_session(url, work, write=write), failing=failing, migrate=migrate,
                    hint=hint, plain=plain)


def with_sessions(url: str, work: Callable[[sessionmaker[Session]], T], *, failing: str,
                  migrate: bool | None) -> T:
    """Like :func:`in_session` for work made of several transactions: ``work`` gets the session factory
    (:func:`monitor.store.sessions.database_sessions`)."""
    from monitor.store.sessions import database_sessions

    def run() -> T:
        with database_sessions(url) as sessions:
            return work(sessions)

    return _guarded(url, run, failing=failing, migrate=migrate, hint="", plain=())


def _guarded(url: str, run: Callable[[], T], *, failing: str, migrate: bool | None, hint: str,
             plain: tuple[type[Exception], ...]) -> T:
    if migrate is not None:
        prepare_database(url, migrate)
    try:
        return run()
    except typer.Exit:
        raise
    except plain as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"{failing} {safe_url(url)}{hint}: {type(exc).__name__}: {exc}")
