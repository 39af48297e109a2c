"""Makes each test's outcome visible to its fixtures (``request.node.rep_call``), for failure screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
