"""The ``notifications:`` section of the configuration: where alert notifications go.

::

    notifications:
      dashboard_url: https://driftwarden.example.com   # optional; DRIFTWARDEN_DASHBOARD_URL wins
      runbooks: {feature_drift: https://wiki.example.com/runbooks/drift}
      routes:
        - name: critical-to-pager
          severities: [critical]          # empty or absent: every severity
          models: [recommender]           # empty or absent: every model
          signals: [feature_drift]        # empty or absent: every signal
          destinations:
            - {type: slack, url_env: SLACK_WEBHOOK_URL}
            - {type: json, url: https://hooks.example.com/driftwarden}
            - {type: apprise, url_file: /run/secrets/pagerduty_url}   # any Apprise URL (pd://, mailto://, ...)

A destination's URL comes from ``url``, from the environment variable named by ``url_env`` or from the
file named by ``url_file`` (secrets belong in the last two). It is resolved and checked when the watcher
starts (:func:`monitor.notify.routes.resolve_routes`): an unknown Apprise service, a URL that is not
http(s) for ``slack``/``json``, or an unset variable is a one-line error naming the key, exit 2.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DestinationConfig", "NotificationsConfig", "RouteConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationConfig(_Strict):
    """One place a notification is delivered to; exactly one of ``url``, ``url_env``, ``url_file``."""

    type: Literal["slack", "json", "apprise"]
    url: str | None = None
    url_env: str | None = None
    url_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DestinationConfig:
        given = [k for k in ("url", "url_env", "url_file") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of url, url_env, url_file (got {', '.join(given) or 'none'})")
        return self


class RouteConfig(_Strict):
    """Notifications of alerts matching every non-empty filter go to each destination."""

    name: str = Field(min_length=1, max_length=100)
    models: list[str] = Field(default_factory=list)
    severities: list[Literal["info", "warning", "critical"]] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)
    destinations: list[DestinationConfig] = Field(min_length=1)


class NotificationsConfig(_Strict):
    """Routes, the dashboard's address (for links) and the runbook of each signal."""

    dashboard_url: str | None = None
    runbooks: dict[str, str] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> NotificationsConfig:
        names = [r.name for r in self.routes]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"route names must be unique: {', '.join(duplicated)} repeated")
        return self
