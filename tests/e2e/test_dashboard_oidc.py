"""End to end: the dashboard's OIDC login (``st.login``) against a real, in-process OpenID Connect provider.

The provider (:mod:`oidc_provider`, next to this file) runs in this process; the dashboard is served by
``streamlit run`` with its working directory in a temporary folder holding ``.streamlit/secrets.toml``
with the ``[auth]`` section, the way a deployment configures it. Chromium (Debian's, through Playwright's
``executable_path``) logs in, sees the Overview and logs out. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from _support import ROOT, demo_database, free_port, settle, shot, streamlit_app, visible
from oidc_provider import TEST_USER, OidcProvider

pytestmark = pytest.mark.e2e

LOGIN_TEXT = "This dashboard needs a login"
DASHBOARD_TEXTS = ("Model health", "Unresolved incidents", "Take-rate")  # the Overview's content


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database filled by ``driftwarden demo --no-serve`` (the scenario through the real watcher)."""
    return demo_database(tmp_path_factory.mktemp("e2e-oidc"))


@pytest.fixture(scope="module")
def oidc_app(seeded_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, OidcProvider]]:
    """The provider, and the dashboard served with an ``[auth]`` section pointing at it: ``(base URL, idp)``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with OidcProvider(redirect_uri=f"{base}/oauth2callback") as idp:
        workdir = tmp_path_factory.mktemp("oidc-streamlit")
        (workdir / ".streamlit").mkdir()
        (workdir / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{base}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
            f'client_id = "{idp.client_id}"\n'
            f'client_secret = "{idp.client_secret}"\n'
            f'server_metadata_url = "{idp.metadata_url}"\n'
        )
        env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": seeded_db, "PYTHONPATH": str(ROOT)}
        env.pop("DRIFTWARDEN_DASHBOARD_PASSWORD", None)  # the password would take precedence over OIDC
        with streamlit_app(port, env, "streamlit-e2e-oidc.log", cwd=workdir) as served:
            assert served == base
            yield base, idp


def _assert_gated(page: Any) -> None:
    """The login page and nothing of the dashboard: no Overview content, no navigation, no metrics."""
    visible(page, LOGIN_TEXT)
    page.get_by_role("button", name="Log in").wait_for(state="visible", timeout=30_000)
    body = page.locator("body").inner_text()
    for text in DASHBOARD_TEXTS:
        assert text not in body, f"{text!r} is shown before logging in"
    assert "Signed in as" not in body
    assert page.locator("[data-testid='stMetric']").count() == 0
    assert page.locator("[data-testid='stSidebarNav']").count() == 0


def test_unauthenticated_visitor_sees_only_the_login(oidc_app: tuple[str, OidcProvider], page: Any) -> None:
    base, idp = oidc_app
    for path in ("/", "/model", "/alerts", "/weekly"):  # deep links are gated too
        page.goto(f"{base}{path}")
        settle(page)
        _assert_gated(page)
    assert idp.outcomes("/authorize") == [], "nothing should have started a login"


def test_login_through_the_provider_and_logout(oidc_app: tuple[str, OidcProvider], page: Any) -> None:
    base, idp = oidc_app
    page.goto(base)
    settle(page)
    _assert_gated(page)
    assert shot(page, "oidc-login").stat().st_size > 5_000

    tokens_before = len(idp.outcomes("/token"))
    page.get_by_role("button", name="Log in").click()
    # st.login -> /auth/login -> the provider's /authorize -> /oauth2callback (code exchange) -> the app
    page.wait_for_url(f"{base}/", timeout=60_000)
    settle(page)
    for text in DASHBOARD_TEXTS:
        visible(page, text)
    visible(page, f"Signed in as {TEST_USER['name']}")
    assert page.locator("[data-testid='stMetric']").count() > 0
    assert LOGIN_TEXT not in page.locator("body").inner_text()
    # the app really went through the provider: an approved code, one successful exchange, the key fetched
    assert idp.outcomes("/authorize")[-1:] == ["ok"]
    assert idp.outcomes("/token")[tokens_before:] == ["ok"]
    assert "ok" in idp.outcomes("/jwks"), "the id_token's signature was never checked against the JWKS"
    assert shot(page, "oidc-overview").stat().st_size > 10_000

    # the login survives a reload (the signed cookie) and reaches the other pages
    page.goto(f"{base}/model")
    settle(page)
    visible(page, "Feature drift")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/", timeout=60_000)  # via the provider's end_session_endpoint
    settle(page)
    _assert_gated(page)
    assert idp.outcomes("/logout")[-1:] == ["ok"]
    assert shot(page, "oidc-logged-out").stat().st_size > 5_000
    page.goto(base)  # the cookie is gone: still logged out after a reload
    settle(page)
    _assert_gated(page)
