"""Optional login that gates the whole app.

* ``DRIFTWARDEN_DASHBOARD_PASSWORD`` set -> a password form (compared in constant time);
* else an ``[auth]`` section in Streamlit's secrets (OIDC) -> ``st.login()`` / ``st.user``;
* else the app is open (the default for a local demo).

:func:`current_user` says who acts and with which role (:mod:`dashboard.roles`).
"""

from __future__ import annotations

import hmac
from typing import Literal

import streamlit as st

from dashboard.roles import Role, identity_of, role_of
from monitor.config.settings import Settings

Mode = Literal["password", "oidc", "open"]
_OK = "driftwarden.auth.ok"


def mode(settings: Settings) -> Mode:
    if settings.dashboard_password:
        return "password"
    try:
        if "auth" in st.secrets:
            return "oidc"
    except Exception:  # no secrets file at all
        return "open"
    return "open"


def check_password(given: str, expected: str) -> bool:
    """Constant-time comparison of the typed password with the configured one."""
    return hmac.compare_digest(given.encode(), expected.encode())


def allowed(settings: Settings) -> bool:
    """``True`` when the visitor may see the app (no login configured, or logged in)."""
    how = mode(settings)
    if how == "open":
        return True
    if how == "oidc":
        # ``st.user.is_logged_in`` raises AttributeError when Streamlit did not add the flag: it does so only
        # when it finds the ``[auth]`` section in a secrets *file* (not for secrets set otherwise, e.g. in
        # AppTest). A missing flag means "not logged in": fail closed, without a traceback.
        return st.user.get("is_logged_in") is True
    return bool(st.session_state.get(_OK))


def current_user(settings: Settings) -> tuple[str | None, Role]:
    """``(identity, role)``: under OIDC the logged-in user's email and role; open or behind the shared password
    ``(None, "responder")`` (no identity: the page asks for a name)."""
    if mode(settings) != "oidc":
        return None, "responder"
    user = st.user.to_dict()
    return identity_of(user) or None, role_of(user, settings)


def sidebar_logout(settings: Settings) -> None:
    """Who is signed in and a log-out button (nothing when the app is open)."""
    how = mode(settings)
    if how == "open":
        return
    with st.sidebar:
        if how == "oidc":
            _, role = current_user(settings)
            st.caption(f"Signed in as {st.user.get('name') or st.user.get('email') or 'you'} ({role})")
            st.button("Log out", on_click=st.logout)
        elif st.button("Log out"):
            st.session_state[_OK] = False
            st.rerun()


def login_page(settings: Settings) -> None:
    """The password form, or the OIDC log-in button."""
    st.title("driftwarden")
    st.write("This dashboard needs a login.")
    if mode(settings) == "oidc":
        st.button("Log in", type="primary", on_click=st.login)
        return
    with st.form("login"):
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        if settings.dashboard_password and check_password(password, settings.dashboard_password):
            st.session_state[_OK] = True
            st.rerun()
        st.error("Wrong password.")
