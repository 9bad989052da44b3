"""Users' profile claims (OIDC Core §5.1): checked by one rule for the CLI, the management API
and the dashboard; set at creation or by an administrator, with ``updated_at`` and an audit
event naming the claims that changed, never their values."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from authserver.accounts.users import PROFILE_CLAIMS, Profile
from authserver.errors import InvalidRequest
from authserver.extensions import db, services
from authserver.models import AuditEvent, User

ANN = {"name": "Ann Lee", "given_name": "Ann", "family_name": "Lee",
       "preferred_username": "annlee", "picture": "https://example.com/ann.png",
       "locale": "pt-BR"}

GOOD = [  # (claims given, claims stored)
    (ANN, ANN),
    ({"name": "  Zoë  Ångström "}, {"name": "Zoë  Ångström"}),  # trimmed, any script
    ({"name": "x" * 200, "given_name": "y" * 100}, {"name": "x" * 200, "given_name": "y" * 100}),
    ({"locale": "en"}, {"locale": "en"}),
    ({"locale": "zh-Hant-TW"}, {"locale": "zh-Hant-TW"}),
    ({"locale": "es-419"}, {"locale": "es-419"}),
    ({"picture": "https://cdn.example.com/u/1.png?size=64"},
     {"picture": "https://cdn.example.com/u/1.png?size=64"}),
    ({"name": ""}, {"name": None}),  # empty clears
    ({"name": None}, {"name": None}),  # so does None (JSON null)
    ({"given_name": "   "}, {"given_name": None}),
]

BAD = [  # (claims, what the message says)
    ({"name": "x" * 201}, "name must be at most 200 characters"),
    ({"given_name": "x" * 101}, "given_name must be at most 100 characters"),
    ({"family_name": "x" * 101}, "family_name must be at most 100 characters"),
    ({"preferred_username": "x" * 101}, "preferred_username must be at most 100 characters"),
    ({"picture": "https://example.com/" + "a" * 1981}, "picture must be at most 2000"),
    ({"name": "Ann\x00Lee"}, "name must not contain control characters"),
    ({"given_name": "Ann\nLee"}, "given_name must not contain control characters"),
    ({"family_name": "Lee\x7f"}, "family_name must not contain control characters"),
    ({"preferred_username": "ann\x85"}, "must not contain control characters"),  # C1
    ({"picture": "http://example.com/ann.png"}, "picture must be an https URL"),
    ({"picture": "javascript:alert(1)"}, "picture must be an https URL"),
    ({"picture": "data:image/png;base64,AAAA"}, "picture must be an https URL"),
    ({"picture": "https://"}, "picture must be an https URL"),
    ({"picture": "//example.com/ann.png"}, "picture must be an https URL"),
    ({"picture": "https://exa mple.com/ann.png"}, "picture must be an https URL"),
    ({"locale": "english"}, "locale must be a language tag"),
    ({"locale": "e"}, "locale must be a language tag"),
    ({"locale": "pt_BR"}, "locale must be a language tag"),
    ({"locale": "pt-"}, "locale must be a language tag"),
    ({"locale": "en-abcdefghi"}, "locale must be a language tag"),  # a subtag of 9
    ({"locale": "en-US; rm -rf"}, "locale must be a language tag"),
    ({"locale": "en-" + "-".join(["abcdefgh"] * 4)}, "locale must be at most 35"),
    ({"name": 5}, "name must be a string"),
    ({"locale": ["en"]}, "locale must be a string"),
    ({"nickname": "Annie"}, "Unknown profile claim 'nickname'"),
]


def stored(user_id: str) -> User:
    db.session.expire_all()
    return db.session.get_one(User, user_id)


def updates() -> list[dict[str, Any]]:
    return [e.detail for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.type == "user.updated").order_by(AuditEvent.id))]


@pytest.mark.parametrize(("given", "kept"), GOOD)
def test_good_claims_are_kept_trimmed_and_empty_ones_clear(given: dict[str, Any],
                                                           kept: dict[str, Any]) -> None:
    assert dict(Profile.checked(given).claims) == kept


@pytest.mark.parametrize(("given", "message"), BAD)
def test_bad_claims_are_refused_with_a_reason(given: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(")) as refused:
        Profile.checked(given)
    assert refused.value.error == "invalid_request" and refused.value.status_code == 400


def test_the_claims_fit_their_columns() -> None:
    for name, limit in PROFILE_CLAIMS.items():
        assert getattr(User, name).type.length == limit


def test_a_user_created_with_a_profile_has_it_and_its_time(app: Flask) -> None:
    with app.app_context():
        ann = services.administration.create("ann@example.org", "correct horse",
                                    profile=Profile.checked(ANN))
        kept = stored(ann.id)
        assert {name: getattr(kept, name) for name in ANN} == ANN
        assert kept.updated_at is not None
        plain = services.administration.create("bob@example.org", "correct horse")
        assert stored(plain.id).updated_at is None and stored(plain.id).name is None


def test_changes_are_stored_timed_and_audited_by_name_only(app: Flask, user: Any) -> None:
    with app.app_context():
        services.administration.update(user.id, profile=Profile.checked(ANN))
        first = stored(user.id).updated_at
        assert first is not None and stored(user.id).locale == "pt-BR"
        assert updates() == [{"fields": list(ANN)}]
        assert "Ann Lee" not in str(updates()) and "pt-BR" not in str(updates())
        services.administration.update(user.id, profile=Profile.checked(
            {"name": "Ann Lee", "locale": ""}))  # the name is the same; the locale cleared
        kept = stored(user.id)
        assert (kept.name, kept.locale) == ("Ann Lee", None) and kept.updated_at >= first
        assert updates()[-1] == {"fields": ["locale"]}


def test_the_same_values_change_nothing_and_record_nothing(app: Flask, user: Any) -> None:
    with app.app_context():
        services.administration.update(user.id, profile=Profile.checked(ANN))
        first = stored(user.id).updated_at
        services.administration.update(user.id, profile=Profile.checked(ANN))
        assert stored(user.id).updated_at == first and len(updates()) == 1


def test_a_profile_changes_with_the_rest_in_one_event(app: Flask, user: Any) -> None:
    with app.app_context():
        services.administration.update(user.id, email_verified=True,
                                       profile=Profile.checked({"given_name": "Ann"}))
        assert updates() == [{"fields": ["email_verified", "given_name"]}]


def test_a_taken_email_leaves_the_profile_unchanged(app: Flask, user: Any,
                                                    make_user: Any) -> None:
    make_user(email="bob@example.org")
    with app.app_context():
        with pytest.raises(InvalidRequest, match="already exists"):
            services.administration.update(user.id, email="Bob@example.org",
                                           profile=Profile.checked(ANN))
        kept = stored(user.id)
        assert (kept.name, kept.updated_at) == (None, None) and updates() == []
