"""A minimal OpenID Connect provider for tests: authorization-code flow, one auto-approved user.

It follows OpenID Connect Core 1.0 and Discovery 1.0 closely enough for a real relying party (Streamlit's
``st.login`` through Authlib) to complete the flow and validate what it gets:

* ``/.well-known/openid-configuration``: the discovery document;
* ``/authorize``: checks ``response_type=code``, the client, the registered ``redirect_uri`` and the
  ``openid`` scope, then approves the fixed user at once and redirects back with ``code`` and the given
  ``state`` (the ``nonce`` and the PKCE challenge are kept with the code);
* ``/token``: client authentication (``client_secret_basic`` or ``client_secret_post``), a single-use code
  for the same ``redirect_uri``, the PKCE verifier; answers with an RS256-signed ``id_token``
  (iss, aud, sub, email, name, nonce, iat, exp, azp) and an access token;
* ``/jwks``: the public signing key;
* ``/userinfo``: the user's claims for a bearer access token;
* ``/logout``: the RP-initiated logout endpoint (``end_session_endpoint``), back to a registered URI.

Every request is recorded in :attr:`OidcProvider.calls` (path and outcome) so a test can check the relying
party really went through the provider. Signing uses ``joserfc`` (Authlib's own JOSE library).

Examples
--------
>>> with OidcProvider(redirect_uri="http://127.0.0.1:1/oauth2callback") as idp:
...     idp.discovery()["issuer"] == idp.issuer
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

TEST_USER = {"sub": "user-4711", "email": "ada@example.org", "email_verified": True, "name": "Ada Lovelace"}


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued: float = field(default_factory=time.time)


class OidcError(Exception):
    """An OAuth 2.0 / OIDC error answered to the client (``error`` code and a description)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class OidcProvider:
    """An in-process OIDC provider on ``127.0.0.1`` (a free port), served by a background thread.

    Parameters
    ----------
    redirect_uri
        The only redirect URI registered for the client (also accepted as ``post_logout_redirect_uri``).
    client_id, client_secret
        The client's credentials.
    user
        The claims of the user who is approved at once.
    code_ttl, token_ttl
        Lifetimes in seconds of an authorization code and of the issued tokens.
    """

    def __init__(self, redirect_uri: str, client_id: str = "driftwarden-dashboard",
                 client_secret: str | None = None, user: dict[str, Any] | None = None,
                 code_ttl: float = 60.0, token_ttl: int = 3600) -> None:
        self.redirect_uri = redirect_uri
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.user = dict(user or TEST_USER)
        self.code_ttl = code_ttl
        self.token_ttl = token_ttl
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.calls: list[tuple[str, str]] = []
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"

    # lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # what a test looks at -------------------------------------------------------------------------------
    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        """The discovery document, fetched over HTTP like a client would."""
        with urllib.request.urlopen(self.metadata_url, timeout=5) as response:
            return dict(json.load(response))

    def outcomes(self, path: str) -> list[str]:
        """The outcomes (``ok`` or an error code) of the calls to ``path``, in order."""
        with self._lock:
            return [outcome for called, outcome in self.calls if called == path]

    # the endpoints --------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "azp", "email", "email_verified",
                                 "name"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str]) -> str:
        """The URL to send the browser to: back to the client with a code (or an error), never a page."""
        if query.get("client_id") != self.client_id:
            raise OidcError("invalid_client", f"unknown client_id {query.get('client_id')!r}")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri != self.redirect_uri:  # never redirect to an unregistered URI: answer the error here
            raise OidcError("invalid_request", f"redirect_uri {redirect_uri!r} is not registered")
        state = query.get("state")
        back: dict[str, str] = {"state": state} if state is not None else {}
        scope = query.get("scope", "")
        method = query.get("code_challenge_method")
        if query.get("response_type") != "code":
            back.update(error="unsupported_response_type", error_description="only 'code' is supported")
        elif "openid" not in scope.split():
            back.update(error="invalid_scope", error_description=f"scope {scope!r} lacks 'openid'")
        elif query.get("code_challenge") and method != "S256":
            back.update(error="invalid_request", error_description=f"code_challenge_method {method!r}")
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = _Grant(self.client_id, redirect_uri, query.get("nonce"), scope,
                                            query.get("code_challenge"), method)
            back["code"] = code
        return f"{redirect_uri}?{urlencode(back)}"

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        client_id, client_secret = _client_credentials(form, authorization)
        if client_id != self.client_id or not hmac.compare_digest(client_secret or "", self.client_secret):
            raise OidcError("invalid_client", f"client authentication failed for {client_id!r}", status=401)
        if form.get("grant_type") != "authorization_code":
            raise OidcError("unsupported_grant_type", f"grant_type {form.get('grant_type')!r}")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # single use
        if grant is None or time.time() - grant.issued > self.code_ttl:
            raise OidcError("invalid_grant", "unknown, used or expired code")
        if grant.client_id != client_id or form.get("redirect_uri") != grant.redirect_uri:
            raise OidcError("invalid_grant", f"redirect_uri {form.get('redirect_uri')!r} differs from /authorize")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not hmac.compare_digest(digest, grant.code_challenge):
                raise OidcError("invalid_grant", "PKCE code_verifier does not match the code_challenge")
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": client_id, "azp": client_id, "iat": now,
                                  "exp": now + self.token_ttl, "auth_time": now, **self.user}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = dict(self.user)
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": self.token_ttl,
                "id_token": id_token, "scope": grant.scope}

    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            claims = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if claims is None:
            raise OidcError("invalid_token", "missing or unknown bearer token", status=401)
        return claims

    def logout(self, query: dict[str, str]) -> str:
        """RP-initiated logout: where to send the browser (a registered URI only)."""
        target = query.get("post_logout_redirect_uri", "")
        if target != self.redirect_uri:
            raise OidcError("invalid_request", f"post_logout_redirect_uri {target!r} is not registered")
        state = query.get("state")
        return f"{target}?{urlencode({'state': state})}" if state else target


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """``client_secret_basic`` (RFC 6749 §2.3.1: form-urlencoded id and secret) or ``client_secret_post``."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
        return unquote(client_id.replace("+", " ")), unquote(client_secret.replace("+", " "))
    return form.get("client_id"), form.get("client_secret")


def _handler_for(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: outcomes go to provider.calls
            return

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(url.path, lambda: self._route_get(url.path, query))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if url.path != "/token":
                self._answer(url.path, lambda: _not_found(url.path))
                return
            self._answer(url.path, lambda: provider.token(form, self.headers.get("Authorization")))

        def _route_get(self, path: str, query: dict[str, str]) -> dict[str, Any] | str:
            if path == "/.well-known/openid-configuration":
                return provider.metadata()
            if path == "/jwks":
                return provider.jwks()
            if path == "/authorize":
                return provider.authorize(query)
            if path == "/userinfo":
                return provider.userinfo(self.headers.get("Authorization"))
            if path == "/logout":
                return provider.logout(query)
            return _not_found(path)

        def _answer(self, path: str, produce: Any) -> None:
            try:
                result = produce()
            except OidcError as err:
                self._record(path, err.error)
                self._json(err.status, {"error": err.error, "error_description": err.description})
                return
            if isinstance(result, str):  # a redirect
                query = parse_qs(urlsplit(result).query)
                self._record(path, query["error"][0] if "error" in query else "ok")
                self.send_response(302)
                self.send_header("Location", result)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._record(path, "ok")
            self._json(200, result)

        def _record(self, path: str, outcome: str) -> None:
            with provider._lock:
                provider.calls.append((path, outcome))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            if status == 401:  # RFC 6750 §3 for the bearer token, RFC 6749 §5.2 for the client
                scheme = "Bearer" if payload.get("error") == "invalid_token" else "Basic"
                self.send_header("WWW-Authenticate", f'{scheme} error="{payload.get("error")}"')
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _not_found(path: str) -> dict[str, Any]:
    raise OidcError("not_found", f"no endpoint at {path!r}", status=404)
