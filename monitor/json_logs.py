"""Structured logs: one JSON object per line (``ts``, ``level``, ``logger``, ``msg`` + the ``extra`` fields).

>>> import io, json, logging as std
>>> stream = io.StringIO()
>>> configure_logging("INFO", stream=stream, logger_name="dw-doctest")
>>> std.getLogger("dw-doctest").info("window closed", extra={"model": "churn", "n_events": 1000})
>>> record = json.loads(stream.getvalue())
>>> record["msg"], record["model"], record["n_events"], record["level"]
('window closed', 'churn', 1000, 'info')
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any, Final

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys() | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; values that JSON cannot hold are written with ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: IO[str] | None = None, logger_name: str | None = None) -> None:
    """Send the records of ``logger_name`` (default: the root logger) as JSON lines to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    for old in list(logger.handlers):
        if isinstance(old.formatter, JsonFormatter):
            logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    if logger_name is not None:
        logger.propagate = False
    # kafka-python is chatty at INFO (every reconnect); keep its warnings.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logger.level))
