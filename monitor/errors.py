"""The exceptions raised by the watcher's library (``monitor``), in one tree.

Each class lives next to the code that raises it (the module in brackets) and derives from
:class:`MonitorError`; most also derive from the built-in class they had before the tree existed, so
``except ValueError`` / ``except RuntimeError`` keeps working::

    MonitorError (Exception)
    ├── ConfigError (ValueError)              a configuration file that cannot be read, parsed or validated
    │                                         [monitor.config.errors]
    ├── EventDecodeError (ValueError)         bytes that are not a valid event; names the field and value
    │                                         [monitor.events]
    ├── SnapshotError (ValueError)            a pipeline snapshot that cannot be restored
    │                                         [monitor.pipeline.snapshot]
    ├── BadLabelError (ValueError)            a label of the wrong type or an unknown class
    │                                         [monitor.pipeline.labels]
    ├── ReferenceLoadError (ValueError)       a stored reference profile that cannot be decoded
    │                                         [monitor.store.references]
    ├── UpdateTargetMissing (LookupError)     a window update whose window row is not stored yet
    │                                         [monitor.store.writer]
    ├── AlertError (ValueError)               an alert state change that cannot be made [monitor.alerts.errors]
    │   ├── AlertNotFoundError                no alert with that id
    │   ├── AlertStateError                   a transition the lifecycle does not allow
    │   ├── IncidentNotFoundError             no incident with that id
    │   └── IncidentStateError                an incident transition the lifecycle does not allow
    ├── SourceError (RuntimeError)            a source that cannot be opened or read [monitor.sources.base]
    │   └── SourceUnavailable                 one that may work if tried again later (no broker yet)
    ├── StoreUnavailable (RuntimeError)       the database did not answer: retry the same transaction
    │                                         [monitor.consumer.contracts]
    ├── StoreConflict (RuntimeError)          the database refused the transaction: reload the partition
    │                                         [monitor.consumer.contracts]
    ├── ServiceSetupError                     the watcher cannot be built (bad configuration or source)
    │                                         [monitor.wiring]
    ├── CheckInputError (ValueError)          bad input to ``driftwarden check``/``reference build``; names
    │                                         the file and column [monitor.check.errors]
    ├── ReportError                           a window's Evidently report cannot be built [monitor.reports]
    ├── DeliveryRefused                       a notification destination refused it for good (a 4xx answer)
    │                                         [monitor.notify.sender]
    └── DemoError (RuntimeError)              a demo step that cannot run [monitor.commands.demo]

The demo scenario's package has its own root, :class:`scenario.errors.ScenarioError`.

>>> from monitor.config import ConfigError
>>> issubclass(ConfigError, MonitorError) and issubclass(ConfigError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["MonitorError"]


class MonitorError(Exception):
    """Root of every error raised by ``monitor``'s library code."""
