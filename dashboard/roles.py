"""Who may do what on the dashboard: roles, and the identity actions are recorded under.

Roles: ``viewer`` reads; ``responder`` also acknowledges, resolves and snoozes alerts and takes them (assigns
them to themselves); ``admin`` also assigns an alert to anyone, or to nobody. Under an OIDC login the role
comes from, in order:

1. ``DRIFTWARDEN_DASHBOARD_USERS``: ``email=role`` pairs, comma-separated
   (``ada@example.org=admin,bob@example.org=responder``);
2. the claim named by ``DRIFTWARDEN_DASHBOARD_ROLE_CLAIM`` (e.g. ``groups``; a string or a list) mapped by
   ``DRIFTWARDEN_DASHBOARD_CLAIM_ROLES`` (``oncall=responder,ml-platform=admin``); the highest role wins;
3. ``DRIFTWARDEN_DASHBOARD_DEFAULT_ROLE`` (``viewer``).

The identity on every action is the logged-in user's email (else its ``name``, else its ``sub``): there is no
free-text name. Without a login (an open local demo) and behind the shared password the visitor is a
``responder`` who types a name, as there is no identity to take it from.

>>> s = Settings(database_url="sqlite://", dashboard_users="ada@x.org=admin",
...              dashboard_role_claim="groups", dashboard_claim_roles="oncall=responder")
>>> role_of({"email": "ada@x.org"}, s), role_of({"email": "bo@x.org", "groups": ["oncall"]}, s)
('admin', 'responder')
>>> role_of({"email": "cy@x.org", "groups": "staff"}, s), may("viewer", "acknowledge")
('viewer', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from monitor.config.settings import Settings, parse_role_pairs

__all__ = ["ROLES", "Role", "identity_of", "may", "role_of"]

Role = Literal["viewer", "responder", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "responder", "admin")
_ALLOWED: dict[str, set[str]] = {
    "viewer": set(),
    "responder": {"acknowledge", "resolve", "snooze", "take"},
    "admin": {"acknowledge", "resolve", "snooze", "take", "assign"},
}


def role_of(user: Mapping[str, Any], settings: Settings) -> Role:
    """The role of an OIDC user (see the module docstring)."""
    email = str(user.get("email") or "").lower()
    users = parse_role_pairs(settings.dashboard_users)
    if email and email in users:
        return users[email]  # type: ignore[return-value]
    best: Role = settings.dashboard_default_role
    if settings.dashboard_role_claim:
        mapping = parse_role_pairs(settings.dashboard_claim_roles)
        claim = user.get(settings.dashboard_role_claim)
        values = [claim] if isinstance(claim, str) else list(claim or [])
        for value in values:
            role = mapping.get(str(value).lower())
            if role is not None and ROLES.index(role) > ROLES.index(best):  # type: ignore[arg-type]
                best = role  # type: ignore[assignment]
    return best


def identity_of(user: Mapping[str, Any]) -> str:
    """The name actions are recorded under: the email, else the name, else the subject."""
    return str(user.get("email") or user.get("name") or user.get("sub") or "")


def may(role: str, action: str) -> bool:
    """Whether ``role`` may ``action`` (acknowledge, resolve, snooze, take: assign to oneself, assign: to anyone).

    >>> may("responder", "take"), may("responder", "assign"), may("admin", "assign")
    (True, False, True)
    """
    return action in _ALLOWED.get(role, set())
