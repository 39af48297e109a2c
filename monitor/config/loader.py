"""Read, merge and validate the YAML configuration; watch it for changes.

The file::

    version: 1
    defaults:            # optional, deep-merged under every model (the model's own keys win)
      window: {type: time, size: 1h}
    models:
      recommender:
        features: {user_tenure_days: numeric, genre: categorical}
        ...

Every problem is a :class:`~monitor.config.errors.ConfigError` naming the file, the key path and the problem.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config.errors import ConfigError
from monitor.config.models import ModelConfig, MonitorConfig

__all__ = ["ConfigWatcher", "check_reference_files", "load_config", "parse_config"]


def load_config(path: str | Path) -> MonitorConfig:
    """Read and validate the configuration file at ``path``.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not YAML, or does not validate (the message names the key path).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "", f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, "", f"is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return parse_config(text, source=file)


def parse_config(text: str, source: str | Path = "<string>") -> MonitorConfig:
    """Validate configuration ``text``; relative reference paths resolve against ``source``'s folder.

    Examples
    --------
    >>> cfg = parse_config("models: {m: {features: {x: numeric}, window: {size: 50}}}")
    >>> cfg.models["m"].window.size, cfg.models["m"].columns
    (50.0, {'x': 'numeric', 'prediction': 'numeric'})
    >>> parse_config("models: {m: {features: {x: numeric}, window: {size: 0}}}")
    Traceback (most recent call last):
    ...
    monitor.config.errors.ConfigError: <string>: models.m.window: Value error, size must be > 0, got 0.0
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, "", f"is not valid YAML: {where}{problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(source, "", f"must be a mapping with a 'models' key, got {type(raw).__name__}")
    raw = dict(raw)
    defaults = raw.pop("defaults", None) or {}
    if not isinstance(defaults, dict):
        raise ConfigError(source, "defaults", f"must be a mapping, got {type(defaults).__name__}")
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise ConfigError(source, "models", "must be a non-empty mapping of model name -> model settings")
    base = Path(source).parent if str(source) != "<string>" else Path.cwd()
    merged: dict[str, Any] = {}
    for name, section in models.items():
        if not isinstance(section, dict):
            raise ConfigError(source, f"models.{name}", f"must be a mapping, got {type(section).__name__}")
        body = _deep_merge(defaults, section)
        body.setdefault("name", str(name))
        if body["name"] != str(name):
            raise ConfigError(source, f"models.{name}.name", f"{body['name']!r} differs from its key {name!r}")
        merged[str(name)] = body
    raw["models"] = merged
    raw["source"] = str(source)
    try:
        config = MonitorConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key_path = ".".join(str(part) for part in first["loc"])
        value = first.get("input")
        shown = f" (got {value!r})" if first["type"] not in ("missing",) and not isinstance(value, dict) else ""
        raise ConfigError(source, key_path, f"{first['msg']}{shown}") from None
    return _resolve_paths(config, base)


def check_reference_files(config: MonitorConfig) -> None:
    """Check that every ``models.<name>.reference.path`` of ``config`` is a readable Parquet, CSV or JSON
    Lines file (the formats ``reference build`` reads), its content agreeing with its extension.

    Only the start of the file is read (a Parquet file's footer, a text file's first bytes), not its rows.
    Models without ``reference.path`` pass.

    Raises
    ------
    ConfigError
        Naming the config file, the key ``models.<name>.reference.path`` and the problem (no such file,
        not a file, an extension that is none of those formats, a content that is not what the extension
        says, not readable Parquet).
    """
    from monitor.check.errors import CheckInputError
    from monitor.check.readers import EXTENSIONS, FORMAT_NAMES, sniff

    source = config.source or "<string>"
    for name, model in config.models.items():
        path = model.reference.path
        if path is None:
            continue
        key = f"models.{name}.reference.path"
        if not path.exists():
            raise ConfigError(source, key, f"file {str(path)!r} does not exist")
        if not path.is_file():
            raise ConfigError(source, key, f"{str(path)!r} is not a file")
        expected = EXTENSIONS.get(path.suffix.lower())
        if expected is None:
            raise ConfigError(source, key, f"{str(path)!r}: unknown extension {path.suffix!r} (expected one of "
                                           f"{', '.join(sorted(EXTENSIONS))})")
        try:
            found = sniff(path)
        except CheckInputError as exc:
            raise ConfigError(source, key, f"{str(path)!r}: {str(exc).split(': ', 1)[-1]}") from None
        if found != expected:
            raise ConfigError(source, key, f"{str(path)!r} is not a readable {FORMAT_NAMES[expected]} file: its "
                                           f"content is {FORMAT_NAMES.get(found, found)}")
        if expected == "parquet":
            import pyarrow as pa  # a Parquet reference's footer only
            import pyarrow.parquet as pq

            try:
                pq.read_schema(path)
            except (OSError, pa.ArrowInvalid) as exc:
                detail = " ".join(str(exc).split())
                raise ConfigError(source, key, f"{str(path)!r} is not a readable Parquet file: {detail}") from None


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_paths(config: MonitorConfig, base: Path) -> MonitorConfig:
    models: dict[str, ModelConfig] = {}
    for name, model in config.models.items():
        ref = model.reference
        if ref.path is not None and not ref.path.is_absolute():
            ref = ref.model_copy(update={"path": (base / ref.path).resolve()})
            model = model.model_copy(update={"reference": ref})
        perf = model.performance
        if perf is not None and perf.reference is not None and not perf.reference.path.is_absolute():
            labelled = perf.reference.model_copy(update={"path": (base / perf.reference.path).resolve()})
            model = model.model_copy(update={"performance": perf.model_copy(update={"reference": labelled})})
        models[name] = model
    return config.model_copy(update={"models": models})


class ConfigWatcher:
    """Polls a configuration file; :meth:`poll` returns the new config when its content changed.

    Cheap enough to call every second from the consumer loop (one ``stat``; the file is read only when its
    modification time or size changed). An invalid new file raises :class:`ConfigError` once per change;
    the caller keeps running on the previous config.
    """

    def __init__(self, path: str | Path, current: MonitorConfig | None = None) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._digest: str | None = None
        self.current = current
        if current is not None:
            self._stamp, self._digest = self._stat(), self._hash()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def poll(self, force: bool = False) -> MonitorConfig | None:
        """The newly loaded config if the file changed since the last poll (or ``force``), else ``None``."""
        stamp = self._stat()
        if not force and stamp == self._stamp:
            return None
        self._stamp = stamp
        digest = self._hash()
        if not force and digest == self._digest:
            return None
        self._digest = digest
        config = load_config(self.path)
        self.current = config
        return config
