"""Routes of the ``notifications:`` configuration, resolved into destinations the sender can deliver to.

:func:`resolve_routes` reads each destination's URL (``url``, the environment variable ``url_env`` or the
file ``url_file``) and checks it: ``slack`` and ``json`` need an http(s) URL, ``apprise`` a URL of a
service Apprise knows. Each problem is a :class:`~monitor.config.errors.ConfigError` naming the key
(``notifications.routes.0.destinations.1.url: ...``); the URL itself is never in the message (it may hold
a token).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config.errors import ConfigError
from monitor.config.notifications import DestinationConfig, NotificationsConfig, RouteConfig

__all__ = ["Destination", "Route", "Routing", "quiet_apprise", "resolve_routes"]


@contextlib.contextmanager
def quiet_apprise() -> Iterator[None]:
    """Apprise's own log lines quoted whole URLs (tokens included): they are off while it works for us."""
    logger = logging.getLogger("apprise")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


@dataclass(frozen=True)
class Destination:
    """A resolved destination; ``name`` (``<route>#<index>``) is what the outbox rows store."""

    name: str
    type: str
    url: str

    def __repr__(self) -> str:  # never show the URL (it may hold a token)
        return f"Destination(name={self.name!r}, type={self.type!r})"


@dataclass(frozen=True)
class Route:
    name: str
    models: frozenset[str]
    severities: frozenset[str]
    signals: frozenset[str]
    destinations: tuple[Destination, ...]

    def matches(self, model: str, severity: str, signal: str) -> bool:
        """Every non-empty filter holds.

        >>> r = Route("r", frozenset(), frozenset({"critical"}), frozenset(), ())
        >>> r.matches("m", "critical", "feature_drift"), r.matches("m", "warning", "feature_drift")
        (True, False)
        """
        return ((not self.models or model in self.models) and (not self.severities or severity in self.severities)
                and (not self.signals or signal in self.signals))


@dataclass(frozen=True)
class Routing:
    """Every route, the dashboard's base URL (for links) and each signal's runbook."""

    routes: tuple[Route, ...] = ()
    dashboard_url: str | None = None
    runbooks: Mapping[str, str] | None = None

    @property
    def destinations(self) -> dict[str, Destination]:
        return {d.name: d for r in self.routes for d in r.destinations}

    def destinations_for(self, alerts: list[dict[str, Any]]) -> list[Destination]:
        """The destinations of every route matching at least one of ``alerts`` (each once, in route order)."""
        found: dict[str, Destination] = {}
        for route in self.routes:
            if any(route.matches(str(a["model"]), str(a["severity"]), str(a["signal"])) for a in alerts):
                found.update((d.name, d) for d in route.destinations)
        return list(found.values())


def _url(dest: DestinationConfig, key: str, environ: Mapping[str, str], source: str) -> str:
    if dest.url is not None:
        return dest.url
    if dest.url_env is not None:
        value = environ.get(dest.url_env)
        if not value:
            raise ConfigError(source, f"{key}.url_env", f"environment variable {dest.url_env} is not set")
        return value.strip()
    path = Path(str(dest.url_file))
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(source, f"{key}.url_file", f"cannot be read: {exc.strerror or exc}") from None


def _check(dest_type: str, url: str, key: str, source: str) -> None:
    if dest_type in ("slack", "json"):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(source, key, f"a {dest_type} destination needs an http:// or https:// URL")
        return
    import apprise  # loaded only when an apprise destination is configured

    with quiet_apprise():
        known = apprise.Apprise.instantiate(url) is not None
    if not known:
        scheme = url.split("://", 1)[0] if "://" in url else "(none)"
        raise ConfigError(source, key, f"not a URL of a service Apprise knows (scheme {scheme!r})")


def _route(route: RouteConfig, index: int, environ: Mapping[str, str], source: str) -> Route:
    destinations = []
    for j, dest in enumerate(route.destinations):
        key = f"notifications.routes.{index}.destinations.{j}"
        url = _url(dest, key, environ, source)
        _check(dest.type, url, f"{key}.{'url' if dest.url else 'url_env' if dest.url_env else 'url_file'}", source)
        destinations.append(Destination(f"{route.name}#{j}", dest.type, url))
    return Route(route.name, frozenset(route.models), frozenset(route.severities), frozenset(route.signals),
                 tuple(destinations))


def resolve_routes(config: NotificationsConfig, environ: Mapping[str, str], *, source: str = "<config>",
                   webhook_url: str | None = None, dashboard_url: str | None = None) -> Routing:
    """The routes of ``config`` with their URLs read and checked (raises :class:`ConfigError`).

    ``webhook_url`` (``DRIFTWARDEN_WEBHOOK_URL``) adds a route ``webhook`` of every alert to one Slack-compatible
    webhook; ``dashboard_url`` (``DRIFTWARDEN_DASHBOARD_URL``) wins over ``notifications.dashboard_url``.
    """
    routes = [_route(route, i, environ, source) for i, route in enumerate(config.routes)]
    if webhook_url:
        _check("slack", webhook_url, "DRIFTWARDEN_WEBHOOK_URL", "environment")
        routes.append(Route("webhook", frozenset(), frozenset(), frozenset(),
                            (Destination("webhook#0", "slack", webhook_url),)))
    return Routing(tuple(routes), (dashboard_url or config.dashboard_url or "").rstrip("/") or None,
                   dict(config.runbooks))
