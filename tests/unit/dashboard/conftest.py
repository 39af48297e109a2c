"""Fixtures of the dashboard tests: a SQLite database seeded once per session, copied for each test."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.db import make_engine, upgrade


def _load_seed() -> Any:
    """tests/ is not a package (pytest runs with --import-mode=importlib): load seed.py by path."""
    name = "driftwarden_tests_dashboard_seed"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("seed.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


seed_module = _load_seed()
Seeded = seed_module.Seeded
seed = seed_module.seed


@pytest.fixture(scope="session")
def seeded_db_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    path = tmp_path_factory.mktemp("dashboard-seed") / "seeded.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    try:
        seeded = seed(engine)
    finally:
        engine.dispose()
    return path, seeded


@pytest.fixture
def seeded(seeded_db_file: tuple[Path, Seeded], tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    """``(url, what was seeded)`` of a private copy of the seeded database."""
    source, info = seeded_db_file
    target = tmp_path / "dashboard.db"
    shutil.copy(source, target)
    yield f"sqlite:///{target}", info


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/empty.db"
    upgrade(url)
    return url
