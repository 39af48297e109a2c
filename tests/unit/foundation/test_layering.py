"""Architecture rules the code must keep: a pure core, I/O at the edges, no raw SQL in the dashboard."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _py_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return files


def test_detectors_import_nothing_from_monitor_or_dashboard() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _py_files("detectors")
        for name in _imports(path)
        if name.split(".")[0] in {"monitor", "dashboard"}
    ]
    assert not offenders, offenders


def test_detectors_do_no_network_or_database_io() -> None:
    forbidden = {"kafka", "sqlalchemy", "psycopg", "requests", "urllib", "socket", "http", "streamlit"}
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _py_files("detectors")
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert not offenders, offenders


SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)


TYPE_ONLY = {"Engine", "Session", "sessionmaker"}


def test_dashboard_writes_no_sql_strings_and_no_raw_sqlalchemy() -> None:
    """Pages may name the engine/session types; queries (select, text, ...) live in monitor.store.queries."""
    offenders = []
    for path in _py_files("dashboard"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} SQL string")
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {"sqlalchemy", "psycopg"}:
                for alias in node.names:
                    if alias.name not in TYPE_ONLY:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
            drivers = {"sqlalchemy", "psycopg"}
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] in drivers for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports a database driver module")
    assert not offenders, offenders


def test_dashboard_never_writes_alert_rows_itself() -> None:
    """Alert state changes go through monitor's alert service: the dashboard never touches the ORM classes."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _py_files("dashboard")
        for name in _imports(path)
        if name.startswith("monitor.db.models")
    ]
    assert not offenders, offenders


def test_every_module_uses_postponed_annotations() -> None:
    missing = []
    for package in ("detectors", "monitor", "dashboard"):
        for path in _py_files(package):
            text = path.read_text()
            body = ast.parse(text).body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            if "migrations/versions" in str(path) or not body:
                continue
            if "from __future__ import annotations" not in text:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, missing


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _py_files(package)
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_library_code_never_imports_the_cli() -> None:
    """monitor's library (everything but monitor/commands, monitor/cli.py) and the scenario package call
    monitor's library, never its commands."""
    cli = ("monitor.commands", "monitor.cli", "typer")
    offenders = [
        o for o in _offenders("monitor", cli)
        if not o.startswith(("monitor/commands/", "monitor/cli.py"))
    ] + _offenders("scenario", cli)
    assert not offenders, offenders


def test_commands_and_the_scenario_open_the_database_through_one_helper() -> None:
    """An engine made for one piece of work and disposed after it is monitor/store/sessions.py's job: the
    commands (by monitor/commands/support.py) and the scenario runner never build engines or sessions."""
    engine_names = re.compile(r"\b(make_engine|session_factory|create_engine|sessionmaker)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("monitor/commands", "scenario")
        for path in _py_files(package)
        if engine_names.search(path.read_text())
    ]
    assert not offenders, offenders


def test_pipelines_are_built_without_the_database_and_retry_stands_alone() -> None:
    """monitor/consumer/pipelines.py builds pipelines from what the store contract reads (no SQL, no store);
    monitor/retry.py depends on nothing of driftwarden."""
    builder = [n for n in _imports(ROOT / "monitor/consumer/pipelines.py")
               if n.split(".")[0] == "sqlalchemy" or n.startswith(("monitor.store", "monitor.db"))]
    retry = [n for n in _imports(ROOT / "monitor/retry.py") if n.split(".")[0] in {"monitor", "detectors", "dashboard"}]
    assert builder == [] and retry == [], (builder, retry)


def test_the_consumer_never_imports_the_dashboard() -> None:
    offenders = _offenders("monitor/consumer", ("dashboard", "streamlit")) + _offenders("monitor/pipeline", (
        "dashboard", "streamlit", "sqlalchemy", "kafka", "monitor.consumer", "monitor.store", "monitor.db"))
    assert not offenders, offenders


def test_every_monitor_error_derives_from_the_root() -> None:
    """Every exception class defined in monitor's library is in the tree of monitor.errors.MonitorError."""
    import importlib
    import inspect

    from monitor.errors import MonitorError

    outside = []
    for path in _py_files("monitor"):
        rel = path.relative_to(ROOT)
        if rel.parts[1] in {"commands", "migrations"} or rel.name == "cli.py":
            continue
        module = importlib.import_module(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                    and not issubclass(obj, MonitorError)):
                outside.append(f"{module.__name__}.{name}")
    assert outside == []
    from monitor.commands.demo import DemoError  # the one error of the command-line layer: in the tree too

    assert issubclass(DemoError, MonitorError)


def test_the_consumer_is_composed_not_split_by_inheritance() -> None:
    """No class of monitor/consumer derives from another class of the package (errors and protocols aside):
    the loop holds its partition table, it does not inherit its state."""
    import importlib
    import inspect

    derived = []
    for path in _py_files("monitor/consumer"):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(
            ".__init__"))
        for name, cls in vars(module).items():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            derived += [f"{module.__name__}.{name}({base.__name__})" for base in cls.__mro__[1:]
                        if base.__module__.startswith("monitor.") and not issubclass(base, BaseException)
                        and not getattr(base, "_is_protocol", False)]
    assert derived == []
