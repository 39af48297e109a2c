"""The exit code of ``driftwarden check``: which conditions fail the gate.

``--fail-on`` takes (repeatable, or comma-separated) ``dataset``, ``column``, ``multivariate``, ``quality``
or ``any``; ``--fail-on-drift`` is ``--fail-on dataset``. Rule: exit :data:`EXIT_FAIL` (1) when at least one
:class:`~monitor.check.findings.Finding` has a chosen category (``any`` chooses all four), else 0. With no
``--fail-on`` the check only reports and exits 0. Bad input exits 2 before the gate is asked.

>>> from monitor.check.findings import Finding
>>> found = [Finding("column", "age", "cramer_von_mises", 0.13, "column 'age' drifted")]
>>> failed(found, parse_fail_on(["dataset"])), failed(found, parse_fail_on(["dataset,column"]))
([], ['column'])
>>> exit_code(found, parse_fail_on(["any"]))
1
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from monitor.check.errors import CheckInputError
from monitor.check.findings import CATEGORIES, Finding

__all__ = ["CHOICES", "EXIT_FAIL", "EXIT_OK", "exit_code", "failed", "parse_fail_on"]

EXIT_OK: Final = 0
EXIT_FAIL: Final = 1
CHOICES: Final = (*CATEGORIES, "any")


def parse_fail_on(values: Iterable[str], *, fail_on_drift: bool = False) -> tuple[str, ...]:
    """The chosen categories, in :data:`CATEGORIES` order (``any`` -> all); unknown names raise
    :class:`CheckInputError` listing the valid ones."""
    chosen: set[str] = {"dataset"} if fail_on_drift else set()
    for item in values:
        for name in (part.strip().lower() for part in item.split(",")):
            if not name:
                continue
            if name not in CHOICES:
                raise CheckInputError(f"--fail-on {name!r}: unknown condition; valid: {', '.join(CHOICES)}")
            chosen.update(CATEGORIES if name == "any" else (name,))
    return tuple(c for c in CATEGORIES if c in chosen)


def failed(findings: Sequence[Finding], conditions: Sequence[str]) -> list[str]:
    """The chosen conditions that hold: those with at least one finding of their category."""
    present = {f.category for f in findings}
    return [c for c in conditions if c in present]


def exit_code(findings: Sequence[Finding], conditions: Sequence[str]) -> int:
    """:data:`EXIT_FAIL` if :func:`failed` is non-empty, else :data:`EXIT_OK`."""
    return EXIT_FAIL if failed(findings, conditions) else EXIT_OK
