"""The public API's OpenAPI document (``GET /openapi.json``): valid OpenAPI 3.1, exactly the
routes there are, exactly the grants discovery lists, and the server's answers in each flow match
the schemas it declares. Generated requests against a live server: tests/e2e/test_fuzz_api.py."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tests.api.test_password_grant import ISSUER
from tests.conftest import (
    MFA_SCOPE,
    EnrolledUser,
    RegisteredClient,
    bearer,
    mfa_grant,
    mfa_token,
    password_login,
)

BLUEPRINTS = ("oauth.", "oidc.", "mfa.")
BROWSER = ("hosted.authorize", "hosted.logout")  # the hosted pages' own steps stay out


def public_document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    return response.get_json()


def test_the_document_is_valid_openapi_3_1_for_this_issuer(client: FlaskClient) -> None:
    document = public_document(client)
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": ISSUER}]


def test_the_document_describes_exactly_the_public_routes(app: Flask,
                                                          client: FlaskClient) -> None:
    routes = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(BLUEPRINTS) or rule.endpoint in BROWSER
        for method in rule.methods or () if method not in ("HEAD", "OPTIONS")
    }
    documented = {(method.upper(), path) for path, item in public_document(client)["paths"].items()
                  for method in item}
    assert documented == routes


def test_the_token_endpoint_takes_exactly_the_grants_discovery_lists(
    client: FlaskClient,
) -> None:
    schema = public_document(client)["components"]["schemas"]["TokenRequest"]
    documented = {grant for alternative in schema["oneOf"]
                  for grant in alternative["properties"]["grant_type"]["enum"]}
    discovery = client.get("/.well-known/openid-configuration").get_json()
    assert documented == set(discovery["grant_types_supported"])


def conforms(document: dict[str, Any], method: str, path: str, response: Any) -> None:
    """The answer's status is declared for the operation and its JSON body fits the schema."""
    declared = document["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in declared, (method, path, response.status_code,
                                                   response.get_data(as_text=True))
    answer = declared[str(response.status_code)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    for name, header in answer.get("headers", {}).items():
        assert not header.get("required") or name in response.headers, (method, path, name)
    if "application/json" in answer.get("content", {}):
        OAS31Validator({**answer["content"]["application/json"]["schema"],
                        "components": document["components"]}).validate(response.get_json())


def test_answers_in_each_flow_match_the_documented_schemas(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    document = public_document(client)
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
                 "/.well-known/jwks.json", "/openapi.json"):
        conforms(document, "GET", path, client.get(path))
    required = password_login(client, web_app, scope=MFA_SCOPE)
    conforms(document, "POST", "/oauth/token", required)
    ticket = mfa_token(client, web_app, scope=MFA_SCOPE)
    listed = client.get("/mfa/authenticators", headers=bearer(ticket))
    conforms(document, "GET", "/mfa/authenticators", listed)
    challenge = client.post("/mfa/challenge", auth=web_app.basic,
                            data={"mfa_token": ticket, "challenge_type": "otp"})
    conforms(document, "POST", "/mfa/challenge", challenge)
    wrong = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp="000000")
    conforms(document, "POST", "/oauth/token", wrong)
    tokens = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                       otp=mfa_user.device.next_code())
    conforms(document, "POST", "/oauth/token", tokens)
    own = bearer(tokens.get_json()["access_token"])
    for method, path, sent, body in [
        ("GET", "/userinfo", "/userinfo", None),
        ("POST", "/mfa/associate", "/mfa/associate",
         {"type": "sms", "phone_number": "+1 415 555 2671"}),
        ("POST", "/mfa/associate", "/mfa/associate", {"type": "fax"}),
        ("POST", "/mfa/recovery-codes", "/mfa/recovery-codes", None),
        ("GET", "/mfa/authenticators", "/mfa/authenticators", None),
        ("POST", "/mfa/authenticators/{authenticator_id}/confirm",
         f"/mfa/authenticators/{mfa_user.authenticator_id}/confirm", {"otp": "000000"}),
        ("DELETE", "/mfa/authenticators/{authenticator_id}", "/mfa/authenticators/nothing",
         None),
    ]:
        conforms(document, method, path, client.open(sent, method=method, json=body,
                                                     headers=own))
    conforms(document, "GET", "/userinfo", client.get("/userinfo"))
    revoked = client.post("/oauth/revoke", auth=web_app.basic,
                          data={"token": tokens.get_json()["refresh_token"]})
    conforms(document, "POST", "/oauth/revoke", revoked)
    conforms(document, "POST", "/oauth/token", client.post(
        "/oauth/token", auth=("nobody", "nothing"), data={"grant_type": "client_credentials"}))


def test_browser_answers_are_declared(client: FlaskClient, web_app: RegisteredClient) -> None:
    document = public_document(client)
    for query in ("", f"?client_id={web_app.client_id}&response_type=code"
                      "&redirect_uri=https://nowhere.example/cb"):
        conforms(document, "GET", "/authorize", client.get("/authorize" + query))
    conforms(document, "GET", "/logout", client.get("/logout"))
