"""Each package's exception tree, drawn in the docstring of its ``errors`` module, names every exception class
of the package under its parent class."""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import detectors
import monitor
import scenario
from detectors.errors import DetectorError
from monitor.errors import MonitorError

_DRAWN = re.compile(r"(?P<lead>[ │]*)[├└]── (?P<name>[A-Za-z]+)")


def drawn_parents(doc: str, root: str) -> dict[str, str]:
    """``{class name: parent name}`` as the tree in ``doc`` draws them (four columns a level, from the column
    of the line that names ``root``)."""
    lines = doc.splitlines()
    base = next(len(line) - len(line.lstrip()) for line in lines if line.strip().startswith(root))
    parents: dict[str, str] = {}
    stack = [root]
    for line in lines:
        match = _DRAWN.match(line)
        if match is None:
            continue
        depth = (len(match["lead"]) - base) // 4 + 1
        del stack[depth:]
        parents[match["name"]] = stack[-1]
        stack.append(match["name"])
    return parents


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _import_all(package: ModuleType) -> None:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)


@pytest.mark.parametrize(("package", "root"), [(detectors, DetectorError), (monitor, MonitorError)])
def test_every_exception_class_is_drawn_under_its_parent(package: ModuleType, root: type) -> None:
    _import_all(package)
    _import_all(scenario)  # (a package of its own root: its classes are not in monitor's tree)
    doc = importlib.import_module(root.__module__).__doc__ or ""
    drawn = drawn_parents(doc, root.__name__)
    wrong = []
    for cls in sorted(_subclasses(root), key=lambda c: c.__name__):
        if cls.__module__.split(".")[0] != package.__name__:
            continue
        parent = next(base.__name__ for base in cls.__bases__ if issubclass(base, root))
        if drawn.get(cls.__name__) != parent:
            wrong.append(f"{cls.__module__}.{cls.__name__} (parent {parent}, drawn under "
                         f"{drawn.get(cls.__name__)})")
    assert wrong == []


def test_the_tree_reader() -> None:
    doc = "  R\n  ├── A  text\n  │   └── B\n  └── C (ValueError)\n      └── D\n"
    assert drawn_parents(doc, "R") == {"A": "R", "B": "A", "C": "R", "D": "C"}
