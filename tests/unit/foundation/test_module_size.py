"""Size rule (issue #13): a module holds at most 400 lines and a function or method at most 60.

Why: when a file passes ~400 lines it holds two ideas, and a function longer than a screen does several
things at once; both are then hard to read, test and change. Split by idea (a module per idea, a helper per
step) rather than by line count. The rule covers the packages ``detectors``, ``monitor`` (its Alembic
migrations aside: generated, append-only history), ``dashboard`` and ``scenario``. Lengths are physical
lines: a module's line count, a function's ``end_lineno - lineno + 1`` (decorators excluded, docstring and
nested functions included).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("detectors", "monitor", "dashboard", "scenario")
EXCLUDED = ("monitor/migrations",)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """``(qualified name, length in lines)`` of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def size_offenders(root: Path, packages: Iterable[str], excluded: Iterable[str] = (),
                   max_module: int = MAX_MODULE_LINES, max_function: int = MAX_FUNCTION_LINES) -> list[str]:
    """One line per module over ``max_module`` lines and per function over ``max_function`` lines, in the
    ``.py`` files under ``root/<package>`` (paths relative to ``root``; those under ``excluded`` skipped)."""
    skip = tuple(Path(e) for e in excluded)
    offenders: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if any(rel.is_relative_to(e) for e in skip):
                continue
            text = path.read_text(encoding="utf-8")
            if (lines := len(text.splitlines())) > max_module:
                offenders.append(f"{rel.as_posix()}: module has {lines} lines (max {max_module})")
            offenders.extend(
                f"{rel.as_posix()}: {name} has {length} lines (max {max_function})"
                for name, length in _functions(ast.parse(text, filename=str(path)))
                if length > max_function
            )
    return offenders


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_and_functions_stay_small(package: str) -> None:
    assert (ROOT / package).is_dir(), f"no package {package}/"
    offenders = size_offenders(ROOT, [package], EXCLUDED)
    assert not offenders, "too long (issue #13; split by idea):\n" + "\n".join(offenders)


def _function(name: str, lines: int, indent: str = "") -> str:
    """Source of a function ``name`` of exactly ``lines`` lines."""
    body = [f"{indent}    x{i} = {i}" for i in range(lines - 2)]
    return "\n".join([f"{indent}def {name}() -> int:", *body, f"{indent}    return 0"]) + "\n"


def test_checker_names_a_function_of_61_lines(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(_function("fits", 60) + "\n\n" + _function("too_long", 61))
    assert size_offenders(tmp_path, ["pkg"]) == ["pkg/mod.py: too_long has 61 lines (max 60)"]


def test_checker_names_methods_and_nested_functions_by_qualified_name(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("class Service:\n" + _function("run", 61, indent="    "))
    assert size_offenders(tmp_path, ["pkg"]) == ["pkg/mod.py: Service.run has 61 lines (max 60)"]


def test_checker_names_a_module_of_401_lines_and_skips_excluded_folders(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "migrations").mkdir(parents=True)
    (tmp_path / "pkg" / "fits.py").write_text("x = 1\n" * 400)
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * 401)
    (tmp_path / "pkg" / "migrations" / "old.py").write_text("x = 1\n" * 500)
    assert size_offenders(tmp_path, ["pkg"], ["pkg/migrations"]) == [
        "pkg/big.py: module has 401 lines (max 400)"
    ]
