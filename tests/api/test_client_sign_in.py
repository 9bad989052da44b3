"""Clients' redirect URIs and first-party flag in the registry: one rule checks every URI
(RFC 6749 §3.1.2; RFC 8252 §7.1, §7.3, §8.3), lists keep their order without repeats, and a
change is checked in full, committed once and audited by field name."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from authserver.clients import (
    MAX_URIS,
    POST_LOGOUT_REDIRECT_URIS,
    REDIRECT_URIS,
    checked_redirect_uri,
)
from authserver.errors import InvalidRequest
from authserver.extensions import db, services
from authserver.models import AuditEvent, Client
from tests.conftest import RegisteredClient

GOOD_URIS = [
    "https://app.example.com/callback",
    "https://app.example.com:8443/cb?tenant=acme",  # a query is allowed (RFC 6749 §3.1.2)
    "http://127.0.0.1/callback",  # loopback: a native app's own listener (RFC 8252 §7.3)
    "http://127.0.0.1:53219/callback",
    "http://[::1]:8080/cb",
    "http://localhost:3000/cb",
    "com.example.app:/oauth2redirect",  # private-use scheme (RFC 8252 §7.1)
    "com.example.app://callback",
    "  https://trimmed.example.com/cb  ",
]

BAD_URIS = [  # (URI, what the message says)
    ("", "is not an absolute URI"),
    ("/callback", "is not an absolute URI"),
    ("app.example.com/callback", "is not an absolute URI"),
    ("https://app.example.com/cb#done", "has a fragment"),
    ("https://app.example.com/cb#", "has a fragment"),
    ("https://*.example.com/cb", "has a wildcard"),
    ("https://app.example.com/*", "has a wildcard"),
    ("http://app.example.com/cb", "only a loopback host"),
    ("http://localhost.example.com/cb", "only a loopback host"),
    ("http://127.0.0.2/cb", "only a loopback host"),
    ("http://0.0.0.0:8080/cb", "only a loopback host"),
    ("javascript:alert(1)", "javascript: URIs are never allowed"),
    ("JavaScript:alert(document.cookie)", "javascript: URIs are never allowed"),
    ("data:text/html,<script>alert(1)</script>", "data: URIs are never allowed"),
    ("file:///etc/passwd", "file: URIs are never allowed"),
    ("myapp:/callback", "private-use scheme with a dot"),
    ("ftp://files.example.com/cb", "private-use scheme with a dot"),
    ("urn:ietf:wg:oauth:2.0:oob", "private-use scheme with a dot"),
    ("https:///callback", "has no host"),
    ("https:/callback", "has no host"),
    ("https://user:secret@app.example.com/cb", "user name or password"),
    ("https://good.example@evil.example/cb", "user name or password"),
    ("https://app.example.com:99999/cb", "has an invalid port"),
    ("https://app.example.com:port/cb", "has an invalid port"),
    ("https://app.example.com/" + "a" * 1977, "at most 2000 characters"),
    ("https://app.example.com/café", "printable ASCII without spaces"),
    ("https://app.example.com/a b", "printable ASCII without spaces"),
    ("https://app.example.com/a\tb", "printable ASCII without spaces"),
]


def events(kind: str) -> list[dict[str, Any]]:
    return [e.detail for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.type == kind).order_by(AuditEvent.id))]


@pytest.mark.parametrize("uri", GOOD_URIS)
def test_good_uris_are_accepted_trimmed(uri: str) -> None:
    for field in (REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS):
        assert checked_redirect_uri(field, uri) == uri.strip()


@pytest.mark.parametrize(("uri", "message"), BAD_URIS)
def test_bad_uris_are_refused_saying_what_to_change(uri: str, message: str) -> None:
    for field in (REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS):
        with pytest.raises(InvalidRequest) as refused:
            checked_redirect_uri(field, uri)
        description = refused.value.description
        assert description.startswith(f"{field}: ") and message in description
        assert len(description) < 200 and description.endswith(".")  # whole, not cut short
        assert refused.value.error == "invalid_request" and refused.value.status_code == 400


def test_a_client_keeps_its_uris_in_order_without_repeats(app: Flask) -> None:
    with app.app_context():
        client, _ = services.flows.client_administration.create(
            "Shop", redirect_uris=["https://b.example/cb", "https://a.example/cb",
                                   " https://b.example/cb"],
            post_logout_redirect_uris=["https://b.example/"], first_party=False)
        db.session.expire_all()
        kept = db.session.get_one(Client, client.client_id)
        assert kept.redirect_uris == ["https://b.example/cb", "https://a.example/cb"]
        assert kept.post_logout_redirect_uris == ["https://b.example/"]
        assert kept.first_party is False
        assert kept.check_redirect_uri("https://a.example/cb")


def test_a_client_is_first_party_without_uris_by_default(app: Flask) -> None:
    with app.app_context():
        client, _ = services.flows.client_administration.create("Plain")
        assert (client.redirect_uris, client.post_logout_redirect_uris, client.first_party) == (
            [], [], True)


@pytest.mark.parametrize("field", [REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS])
def test_at_most_twenty_uris_per_list(app: Flask, field: str) -> None:
    uris = [f"https://app.example.com/cb{n}" for n in range(MAX_URIS)]
    with app.app_context():
        client, _ = services.flows.client_administration.create(
            "Twenty", **{field: [*uris, uris[0]]})  # a repeat
        assert len(getattr(client, field)) == MAX_URIS
        with pytest.raises(InvalidRequest, match=f"{field}: at most 20 URIs per client"):
            services.flows.client_administration.create("Too many", **{field: [*uris, "https://app.example.com/x"]})
        assert db.session.scalar(select(Client).where(Client.name == "Too many")) is None


@pytest.mark.parametrize(("uri", "message"), BAD_URIS[:8])
def test_a_bad_uri_creates_no_client(app: Flask, uri: str, message: str) -> None:
    with app.app_context():
        for field in (REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS):
            with pytest.raises(InvalidRequest, match=message):
                services.flows.client_administration.create(
                    "Bad", **{field: ["https://ok.example/cb", uri]})
        assert db.session.scalars(select(Client)).all() == []
        assert events("client.created") == []


def test_a_change_is_audited_by_field_name_and_committed(app: Flask,
                                                          web_app: RegisteredClient) -> None:
    with app.app_context():
        services.flows.client_administration.update(web_app.client_id, redirect_uris=["https://web.example/cb"],
                                first_party=False)
        db.session.expire_all()
        kept = db.session.get_one(Client, web_app.client_id)
        assert (kept.redirect_uris, kept.first_party) == (["https://web.example/cb"], False)
        assert events("client.updated") == [{"fields": ["redirect_uris", "first_party"]}]
        services.flows.client_administration.update(web_app.client_id, redirect_uris=["https://web.example/cb"],
                                post_logout_redirect_uris=[], first_party=False)
        assert len(events("client.updated")) == 1  # nothing changed, nothing recorded


def test_a_bad_change_changes_nothing(app: Flask, web_app: RegisteredClient) -> None:
    with app.app_context():
        before = services.clients.get(web_app.client_id).grant_types
        with pytest.raises(InvalidRequest, match="only a loopback host"):
            services.flows.client_administration.update(
                web_app.client_id, grant_types=["client_credentials"], first_party=False,
                redirect_uris=["https://web.example/cb", "http://web.example/cb"])
        assert not db.session.dirty
        db.session.expire_all()
        kept = db.session.get_one(Client, web_app.client_id)
        assert (kept.grant_types, kept.redirect_uris, kept.first_party) == (before, [], True)
        assert events("client.updated") == []
