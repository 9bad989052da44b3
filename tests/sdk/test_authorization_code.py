"""Sign-in by redirect with the Python SDK (OIDC authorization code flow with PKCE), without a
live server: a scripted Protekt on loopback serves the discovery document, the token endpoint
(answering the authorization code grant with an ID token signed by a key made here) and the JWKS.
The authorization URL, the PKCE S256 known answer (RFC 7636 Appendix B), the refusals of
``exchange_code`` (state, iss, the ID token's signature and claims), the logout URL, and the
Flask helpers."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, request

from protekt import REDIRECT_DEFAULT_SCOPE, Protekt, ProtektError
from protekt.flask import finish_sign_in, redirect_to_sign_in
from protekt.oidc import code_challenge, nonce_for
from tests.standin import StandIn

CLIENT_ID = "web-app"
REDIRECT_URI = "https://app.example.com/callback"
# RFC 7636 Appendix B: a code_verifier and its S256 code_challenge.
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


class FakeProtekt(StandIn):
    """Protekt's discovery, token endpoint and JWKS on loopback. The token endpoint answers with
    an ID token for ``nonce`` (the authorization request's; set by the test) and ``claims``,
    signed by ``signer``; it records every form posted to it (``forms``, ``authorizations``)."""

    def __init__(self) -> None:
        super().__init__(CLIENT_ID)

    def tokens(self, **claims: Any) -> dict[str, Any]:
        id_token = self.id_token(auth_time=int(time.time()) - 10, acr="1", amr=["pwd"], **claims)
        return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 900,
                "scope": REDIRECT_DEFAULT_SCOPE, "refresh_token": "rt-1", "id_token": id_token}


@pytest.fixture
def fake() -> Iterator[FakeProtekt]:
    with FakeProtekt() as fake:
        yield fake


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def start(protekt: Protekt, fake: FakeProtekt, **params: Any) -> tuple[str, str]:
    """A sign-in begun: ``(state, verifier)``; the fake learns the nonce from the URL."""
    url, state, verifier = protekt.authorization_url(REDIRECT_URI, **params)
    fake.nonce = query(url)["nonce"]
    return state, verifier


def refusal(call: Any) -> ProtektError:
    with pytest.raises(ProtektError) as raised:
        call()
    return raised.value


def test_the_authorization_url_carries_pkce_state_and_a_nonce_derived_from_the_verifier(
    fake: FakeProtekt,
) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    url, state, verifier = protekt.authorization_url(
        REDIRECT_URI, prompt="login consent", max_age=300, login_hint="ann@example.org",
        acr_values="urn:protekt:mfa", audience="https://api.example.org")
    assert url.startswith(f"{fake.url}/authorize?")
    params = query(url)
    assert params == {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email", "state": state, "nonce": nonce_for(verifier),
        "code_challenge": code_challenge(verifier), "code_challenge_method": "S256",
        "prompt": "login consent", "max_age": "300", "login_hint": "ann@example.org",
        "acr_values": "urn:protekt:mfa", "audience": "https://api.example.org",
    }
    assert len(verifier) == 43 and set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")  # RFC 7636 §4.1
    digest = hashlib.sha256(verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert params["nonce"] not in (params["code_challenge"], verifier, state)
    assert len(state) >= 43


def test_optional_parameters_are_left_out_and_openid_is_added(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    url, state, _ = protekt.authorization_url(REDIRECT_URI, scope="profile read:messages",
                                              state="kept-by-the-app")
    params = query(url)
    assert params["scope"] == "openid profile read:messages"
    assert state == params["state"] == "kept-by-the-app"
    assert not {"prompt", "max_age", "login_hint", "acr_values", "audience"} & set(params)
    with_audience = Protekt(fake.url, CLIENT_ID, audience="https://api.example.org")
    assert query(with_audience.authorization_url(REDIRECT_URI)[0])["audience"] == (
        "https://api.example.org")


def test_pkce_s256_known_answer() -> None:
    assert code_challenge(RFC7636_VERIFIER) == RFC7636_CHALLENGE


@pytest.mark.parametrize(("params", "message"), [
    ({"prompt": "Login"}, "prompt must be none, or any of login, consent, select_account"),
    ({"prompt": "none login"}, "prompt must be none"),
    ({"prompt": ""}, "prompt must be none"),
    ({"max_age": -1}, "max_age must be a whole number"),
])
def test_parameters_protekt_does_not_serve_are_a_value_error(
    fake: FakeProtekt, params: dict[str, Any], message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        Protekt(fake.url, CLIENT_ID).authorization_url(REDIRECT_URI, **params)


def test_exchange_code_sends_the_verifier_and_returns_the_checked_tokens(
    fake: FakeProtekt,
) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    state, verifier = start(protekt, fake)
    tokens = protekt.exchange_code("code-1", REDIRECT_URI, verifier, state=state,
                                   expected_state=state, iss=fake.url)
    assert tokens["access_token"] == "at-1" and tokens["refresh_token"] == "rt-1"
    assert fake.forms == [{"grant_type": "authorization_code", "code": "code-1",
                           "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
                           "client_id": CLIENT_ID}]


def test_a_confidential_client_authenticates_as_for_other_grants(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID, "s3cret")
    _, verifier = start(protekt, fake)
    protekt.exchange_code("code-1", REDIRECT_URI, verifier)
    assert "client_id" not in fake.forms[0]
    assert fake.authorizations == [
        "Basic " + base64.b64encode(f"{CLIENT_ID}:s3cret".encode()).decode()]


@pytest.mark.parametrize(("state", "expected"), [
    ("another-login", "this-login"), ("this-login", None), (None, "this-login"),
])
def test_a_state_that_is_not_the_kept_one_is_refused_before_the_exchange(
    fake: FakeProtekt, state: str | None, expected: str | None,
) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier, state=state,
                                                  expected_state=expected))
    assert error.error == "invalid_state"
    assert fake.forms == []


def test_an_iss_other_than_the_issuer_is_refused_before_the_exchange(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier,
                                                  iss="https://evil.example"))
    assert error.error == "invalid_issuer"
    assert fake.forms == []


@pytest.mark.parametrize(("claims", "message"), [
    ({"nonce": "another-login"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"iss": "https://evil.example"}, "another issuer"),
    ({"aud": "another-client"}, "not meant for this client"),
    ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "another client"),
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"sub": None}, "malformed"),
])
def test_an_id_token_with_wrong_claims_is_invalid_id_token(
    fake: FakeProtekt, claims: dict[str, Any], message: str,
) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    fake.claims = claims
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier))
    assert error.error == "invalid_id_token"
    assert message in error.error_description


def test_an_id_token_signed_by_another_key_is_invalid_id_token(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    fake.signer = ec.generate_private_key(ec.SECP256R1())  # same kid, not the issuer's key
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier))
    assert (error.error, error.error_description) == (
        "invalid_id_token", "The ID token's signature does not verify.")


def test_an_id_token_for_another_login_of_the_same_user_is_refused(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    start(protekt, fake)  # the fake answers with this login's nonce...
    _, _, other_verifier = protekt.authorization_url(REDIRECT_URI)
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, other_verifier))
    assert error.error == "invalid_id_token"  # ...which is not the other login's


def test_with_max_age_an_older_auth_time_is_refused(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake, max_age=60)
    fake.claims = {"auth_time": int(time.time()) - 3600}
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier, max_age=60))
    assert error.error == "invalid_id_token" and "auth_time" in error.error_description
    assert protekt.exchange_code("c", REDIRECT_URI, verifier)["access_token"] == "at-1"


def test_the_token_endpoints_refusal_is_raised_as_it_is(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    fake.token_answer = (400, {"error": "invalid_grant", "error_description": "Code used."})
    error = refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier))
    assert (error.error, error.error_description, error.status) == (
        "invalid_grant", "Code used.", 400)


def test_unreachable_signing_keys_are_a_network_error(fake: FakeProtekt) -> None:
    fake.metadata = {"jwks_uri": f"{fake.url}/.well-known/missing.json"}
    protekt = Protekt(fake.url, CLIENT_ID)
    _, verifier = start(protekt, fake)
    assert refusal(lambda: protekt.exchange_code("c", REDIRECT_URI, verifier)).error == (
        "network_error")


def test_the_logout_url_names_the_client_and_where_to_return(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    url = protekt.logout_url(id_token_hint="id.token.hint",
                             post_logout_redirect_uri="https://app.example.com/bye", state="s1")
    assert url.startswith(f"{fake.url}/logout?")
    assert query(url) == {"id_token_hint": "id.token.hint", "client_id": CLIENT_ID,
                          "post_logout_redirect_uri": "https://app.example.com/bye",
                          "state": "s1"}
    assert query(protekt.logout_url()) == {"client_id": CLIENT_ID}


def test_without_them_in_the_metadata_the_issuers_authorize_and_logout_are_used(
    fake: FakeProtekt,
) -> None:
    fake.metadata = {"authorization_endpoint": None, "end_session_endpoint": None}
    protekt = Protekt(fake.url, CLIENT_ID)
    assert protekt.authorization_url(REDIRECT_URI)[0].startswith(f"{fake.url}/authorize?")
    assert protekt.logout_url().startswith(f"{fake.url}/logout?")


def flask_app(protekt: Protekt) -> Flask:
    """A web app signing in with the Flask helpers; errors shown as ``{"error"}``."""
    app = Flask(__name__)
    app.secret_key = "test-only"

    @app.get("/login")
    def login() -> Any:
        return redirect_to_sign_in(protekt, REDIRECT_URI, **request.args)

    @app.get("/callback")
    def callback() -> Any:
        try:
            return {"access_token": finish_sign_in(protekt, REDIRECT_URI)["access_token"]}
        except ProtektError as error:
            return {"error": error.error, "description": error.error_description}, 400

    return app


def test_flask_helpers_sign_in_once_per_state_and_keep_tabs_apart(fake: FakeProtekt) -> None:
    protekt = Protekt(fake.url, CLIENT_ID)
    browser = flask_app(protekt).test_client()
    first = query(browser.get("/login").headers["Location"])
    second = query(browser.get("/login?login_hint=ann@example.org").headers["Location"])
    assert second["login_hint"] == "ann@example.org"

    fake.nonce = first["nonce"]
    back = f"/callback?code=c1&state={first['state']}&iss={fake.url}"
    assert browser.get(back).get_json() == {"access_token": "at-1"}
    assert browser.get(back).get_json()["error"] == "invalid_state"  # used once
    fake.nonce = second["nonce"]
    assert browser.get(f"/callback?code=c2&state={second['state']}").status_code == 200
    assert [form["code"] for form in fake.forms] == ["c1", "c2"]


def test_flask_helpers_raise_the_callbacks_error_and_check_its_issuer(fake: FakeProtekt) -> None:
    browser = flask_app(Protekt(fake.url, CLIENT_ID)).test_client()
    state = query(browser.get("/login?prompt=none").headers["Location"])["state"]
    answer = browser.get(f"/callback?error=login_required&error_description=Not+signed+in."
                         f"&state={state}&iss={fake.url}").get_json()
    assert answer == {"error": "login_required", "description": "Not signed in."}
    state = query(browser.get("/login").headers["Location"])["state"]
    answer = browser.get(f"/callback?code=c&state={state}&iss=https://evil.example").get_json()
    assert answer["error"] == "invalid_issuer"
    assert browser.get("/callback?code=c&state=forged").get_json()["error"] == "invalid_state"
    assert fake.forms == []
