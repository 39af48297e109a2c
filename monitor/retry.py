"""Retry with exponential backoff (tenacity), the one helper behind every retry loop of the watcher.

:func:`retry_with_backoff` calls ``call()`` until it returns. A failure with one of the ``retry_on``
exceptions waits ``initial``, then ``2 x initial``, ``4 x initial``, ... capped at ``maximum`` seconds
(the wait before attempt ``k + 1`` is ``min(initial * 2**(k - 1), maximum)``) and tries again. After each
failure, ``on_failure(exc, wait)`` is told the exception and the coming wait, then
``give_up(wait, attempts)`` decides: ``True`` re-raises the last exception (no wait). Any other exception
propagates at once.

>>> calls = []
>>> def flaky() -> str:
...     calls.append(1)
...     if len(calls) < 4:
...         raise ConnectionError("not yet")
...     return "up"
>>> waits = []
>>> retry_with_backoff(flaky, retry_on=ConnectionError, initial=0.5, maximum=1.5, sleep=waits.append)
'up'
>>> waits
[0.5, 1.0, 1.5]
>>> retry_with_backoff(lambda: 1 / 0, retry_on=ZeroDivisionError, initial=0.5, maximum=1.5, sleep=waits.append,
...                    give_up=lambda wait, attempts: attempts >= 2)
Traceback (most recent call last):
ZeroDivisionError: division by zero
>>> waits[3:]
[0.5]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

__all__ = ["retry_with_backoff"]

T = TypeVar("T")


def _never(wait: float, attempts: int) -> bool:
    return False


def retry_with_backoff(
    call: Callable[[], T],
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    initial: float,
    maximum: float,
    give_up: Callable[[float, int], bool] = _never,
    on_failure: Callable[[BaseException, float], object] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``'s result, retried on ``retry_on`` with the waits of the module docstring.

    Parameters
    ----------
    give_up : callable
        ``give_up(wait, attempts)`` after each failure (``attempts``: calls made so far): ``True`` re-raises
        the failure instead of waiting ``wait`` seconds.
    on_failure : callable, optional
        ``on_failure(exc, wait)`` after each failure, before ``give_up`` (for a log line or a health flag).
    sleep : callable
        Waits the given seconds (``time.sleep``; a test's clock, or an event's ``wait`` that raises to stop).
    """

    def stop(state: RetryCallState) -> bool:
        wait = state.upcoming_sleep
        if on_failure is not None and state.outcome is not None:
            exc = state.outcome.exception()
            if exc is not None:
                on_failure(exc, wait)
        return give_up(wait, state.attempt_number)

    retrying = Retrying(
        retry=retry_if_exception_type(retry_on),
        wait=wait_exponential(multiplier=initial, max=maximum, exp_base=2),
        stop=stop,
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
