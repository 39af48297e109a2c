"""Configuration of the watcher: one YAML file, many models (:func:`load_config` -> :class:`MonitorConfig`)."""

from __future__ import annotations

from monitor.config.durations import Duration, parse_duration
from monitor.config.errors import ConfigError
from monitor.config.loader import ConfigWatcher, load_config, parse_config
from monitor.config.models import (
    FEATURE_KINDS,
    AlertPolicy,
    Condition,
    MetricConfig,
    ModelConfig,
    MonitorConfig,
    PerformanceReferenceConfig,
    PerformanceSettings,
    PredictionConfig,
    ReferenceConfig,
    SampleConfig,
    SequentialConfig,
    VolumeConfig,
    WindowConfig,
)

__all__ = [
    "FEATURE_KINDS",
    "AlertPolicy",
    "Condition",
    "ConfigError",
    "ConfigWatcher",
    "Duration",
    "MetricConfig",
    "ModelConfig",
    "MonitorConfig",
    "PerformanceReferenceConfig",
    "PerformanceSettings",
    "PredictionConfig",
    "ReferenceConfig",
    "SampleConfig",
    "SequentialConfig",
    "VolumeConfig",
    "WindowConfig",
    "load_config",
    "parse_config",
    "parse_duration",
]
