"""AppTest of the login modes: an ``[auth]`` section in the secrets gates the app behind ``st.login``.

The browser round trip through a real OpenID Connect provider is in tests/e2e/test_dashboard_oidc.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
TIMEOUT = 180
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-the-test",
    "client_id": "driftwarden-dashboard",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration",
}


def _app(url: str, monkeypatch: pytest.MonkeyPatch, *, password: str | None = None,
         auth: bool = True) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    if password is None:
        monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_PASSWORD", password)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if auth:
        at.secrets["auth"] = dict(AUTH)
    return at


def _text(at: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "success", "error", "warning")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_oidc_secrets_show_only_the_login_page(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(scenario_url, monkeypatch)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "This dashboard needs a login" in _text(at)
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.text_input, "the OIDC login has no password field"
    assert [t.value for t in at.title] == ["driftwarden"]
    assert not at.metric and not at.dataframe, "dashboard content is shown before logging in"
    assert "Signed in as" not in _text(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/model.py")  # the real pages are not even registered while logged out


def test_oidc_user_without_the_login_flag_is_logged_out(scenario_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``st.user`` without ``is_logged_in`` (AppTest's default user): the login page, not a traceback."""
    at = _app(scenario_url, monkeypatch)
    at.user = {"email": "ada@example.org"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric


def test_oidc_logged_in_user_sees_the_app_and_logs_out(scenario_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(scenario_url, monkeypatch)
    at.user = {"is_logged_in": True, "name": "Ada Lovelace", "email": "ada@example.org"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Model health"
    assert at.metric, "the Overview's metrics are missing after logging in"
    assert "Signed in as Ada Lovelace (viewer)" in [c.value for c in at.sidebar.caption]
    assert at.sidebar.button[0].label == "Log out"
    at.sidebar.button[0].click().run()  # st.logout
    assert not at.exception, [e.value for e in at.exception]
    assert "This dashboard needs a login" in _text(at)
    assert not at.metric


def test_without_auth_secrets_the_app_is_open(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(scenario_url, monkeypatch, auth=False)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Model health"
    assert "needs a login" not in _text(at)


def test_the_password_takes_precedence_over_oidc(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(scenario_url, monkeypatch, password="s3cret")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "needs a login" in _text(at)
    assert len(at.text_input) == 1 and at.text_input[0].label == "Password"
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Model health"
