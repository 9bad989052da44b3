"""The authorization endpoint, ``GET|POST /authorize`` (RFC 6749 §4.1.1, OIDC Core §3.1.2), and
``/authorize/resume``, where the hosted pages send the browser back after each step.

1. The client and its ``redirect_uri`` are checked first: until both are known, a refusal is a
   page and never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.1: no open redirector).
2. Authlib's authorization-code grant validates the rest (response_type, scope, PKCE, nonce,
   prompt: :mod:`authserver.grants.authorization_code`); Protekt adds ``response_mode``
   (``query`` only) and ``max_age``. A refusal from here on goes to the app's redirect_uri with
   ``error``, ``error_description``, ``state`` and ``iss`` (RFC 9207).
3. :func:`authserver.hosted.decisions.next_step` says what is missing (sign-in, second factor,
   consent); the request is kept as an interaction while the pages ask for it, or, under
   ``prompt=none``, the app is told ``login_required``, ``interaction_required`` or
   ``consent_required``.
4. Once the user is authenticated the sign-in session starts (its cookie lets the next app in
   without a password); once nothing is missing the code goes to the app.
"""

from __future__ import annotations

import time

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import Response, redirect, request, url_for

from authserver.accounts.interactions import Interaction
from authserver.accounts.sessions import BrowserSession, session_key
from authserver.authorization import ProtektRequest, given, single_values
from authserver.errors import (
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    ProtektError,
    TooManyAttempts,
)
from authserver.extensions import authorization, services
from authserver.flows.hosted_signin import Authenticated
from authserver.grants.authorization_code import (
    PROMPTS,
    AuthorizationCodeGrant,
    SignedIn,
    redirect_status,
)
from authserver.hosted.decisions import Facts, Step, next_step
from authserver.hosted.web import (
    begin_signin,
    bp,
    end_signin,
    hosted,
    session_id,
    set_session,
    signin_state,
    trust_token,
    update_signin,
    who,
)
from authserver.mfa.decision import satisfied
from authserver.mfa.tickets import FOR_ENROLLMENT
from authserver.models import Client, User

_MAX_AGE_DIGITS = 9
Current = tuple[BrowserSession, User] | None  # the browser's sign-in session and its user


class Refusal(ProtektError):
    """A refusal named by OIDC beyond RFC 6749's (OIDC Core §3.1.2.6), sent to the app."""

    status_code = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


# Under prompt=none, what a step that needs the user answers (OIDC Core §3.1.2.6).
NEEDS_USER = {Step.LOGIN: "The user must sign in.",
              Step.MFA: "The user must answer a second factor.",
              Step.CONSENT: "The user must allow this application first."}
# Request objects and dynamic registration are not supported (OIDC Core §6, §3.1.2.6).
UNSUPPORTED = {"request": "request_not_supported", "request_uri": "request_uri_not_supported",
               "registration": "registration_not_supported"}


# The parameters an authorization request may have, and the longest value of each; others are
# ignored (RFC 6749 §3.1), so an anonymous request can leave only so much in the store.
PARAMETERS = {"response_type": 32, "client_id": 64, "redirect_uri": 2000, "scope": 1000,
              "state": 1000, "nonce": 1000, "code_challenge": 128,
              "code_challenge_method": 16, "prompt": 64, "max_age": 16, "login_hint": 254,
              "acr_values": 1000, "audience": 255, "response_mode": 32, "id_token_hint": 8192,
              "ui_locales": 100, "display": 16, "request": 8192, "request_uri": 2000,
              "registration": 8192}


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    sent = given(single_values(request.args if request.method == "GET" else request.form))
    params = {name: value for name, value in sent.items() if name in PARAMETERS}
    too_long = [name for name, value in params.items() if len(value) > PARAMETERS[name]]
    if too_long:
        raise InvalidRequest(f"The parameter {too_long[0]} is longer than this server accepts "
                             f"({PARAMETERS[too_long[0]]} characters).")
    return _proceed(params, None)


@bp.get("/authorize/resume")
def resume() -> Response:
    """Back from a hosted page: the interaction's request goes on where it stopped."""
    interaction = current_interaction()
    return _proceed(interaction.params, interaction)


def current_interaction() -> Interaction:
    """The sign-in this browser has in progress; a page saying to start again if none."""
    found = hosted().interactions.find(signin_state().get("id", ""))
    if found is None:
        raise InvalidRequest("This sign-in has expired or was already finished. Go back to the "
                             "application and sign in again.")
    return found


def trusted_redirect(params: dict[str, str]) -> tuple[Client, str]:
    """The client and its registered redirect_uri, or a page (never a redirect)."""
    client = services.clients.find(params.get("client_id", ""))
    if client is None:
        raise InvalidRequest("The application that sent you here is not registered "
                             "(unknown client_id).")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        raise InvalidRequest("The application sent you here with a return address "
                             "(redirect_uri) it has not registered. Nothing was sent to it.")
    return client, redirect_uri


def _proceed(params: dict[str, str], interaction: Interaction | None) -> Response:
    client, redirect_uri = trusted_redirect(params)
    try:
        return _next_step(params, client, redirect_uri, interaction)
    except OAuth2Error as error:
        if error.status_code >= 500:
            raise
        if interaction is not None:
            hosted().interactions.end(interaction)
        return redirect_error(redirect_uri, error, params.get("state"))


def redirect_error(redirect_uri: str, error: OAuth2Error, state: str | None) -> Response:
    """The refusal sent to the app (RFC 6749 §4.1.2.1), with ``iss`` (RFC 9207 §2)."""
    answer = [("error", error.error), ("error_description", error.get_error_description()),
              ("state", state), ("iss", services.settings.issuer)]
    end_signin()
    return redirect(add_params_to_uri(redirect_uri, [(k, v) for k, v in answer if v]),
                    redirect_status(request.method))


def _next_step(params: dict[str, str], client: Client, redirect_uri: str,
               interaction: Interaction | None) -> Response:
    current = hosted().current(session_id())
    auth = _authentication(interaction, current)
    grant = _grant(params, auth)
    scope = grant.asked.scope
    _supported(params)
    step = next_step(_facts(params, client, grant.consent_items, auth, interaction))
    if step is not Step.ISSUE and "none" in _prompt(params):
        raise Refusal(step.value, NEEDS_USER[step])
    if step is Step.LOGIN:
        return _ask(interaction, params, "hosted.signin", signed_out=True)
    assert auth is not None
    if step is Step.MFA:
        return _second_factor(interaction, params, auth, scope, client)
    sso_key = _session_for(interaction, auth, client, current)
    if step is Step.CONSENT:
        return _ask(interaction, params, "hosted.consent")
    if interaction is not None:
        hosted().interactions.end(interaction)
    end_signin()
    signed_in = SignedIn(auth.user, auth.amr, auth.auth_time, sso_key)
    return authorization.handle_response(
        *grant.create_authorization_response(redirect_uri, signed_in))


def signed_in(interaction: Interaction) -> Authenticated:
    """Who the interaction is for (its own sign-in, else the browser's session)."""
    auth = _authentication(interaction, hosted().current(session_id()))
    if auth is None:
        raise InvalidRequest("You are no longer signed in. Go back to the application and "
                             "sign in again.")
    return auth


def consent_items(params: dict[str, str], auth: Authenticated) -> tuple[str, ...]:
    """What the request asks the user to allow (validated again, as at ``/authorize``)."""
    return _grant(params, auth).consent_items


def _grant(params: dict[str, str], auth: Authenticated | None) -> AuthorizationCodeGrant:
    """Authlib's validation of the authorization request (OAuth2Error when refused)."""
    grant = authorization.get_consent_grant(request=ProtektRequest(request, params),
                                            end_user=auth)
    assert isinstance(grant, AuthorizationCodeGrant)
    return grant


def _authentication(interaction: Interaction | None,
                    current: Current) -> Authenticated | None:
    """Who is signed in for this request: the interaction's user, else the session's."""
    if interaction is not None and interaction.user_id is not None:
        user = services.users.get(interaction.user_id)
        if (user is None or user.blocked or interaction.auth_time is None
                or services.sso_sessions.ended_since(user.id, interaction.auth_time)):
            return None  # gone, blocked, or signed out everywhere since (a new password...)
        return Authenticated(user, interaction.amr, interaction.auth_time)
    if current is None:
        return None
    session, user = current
    return Authenticated(user, session.amr, session.started_at)


def _facts(params: dict[str, str], client: Client, items: tuple[str, ...],
           auth: Authenticated | None, interaction: Interaction | None) -> Facts:
    fresh = interaction is not None and interaction.fresh
    return Facts(
        signed_in=auth is not None and (fresh or _hinted(params, auth)),
        fresh=fresh,
        auth_age=time.time() - auth.auth_time if auth else 0.0,
        **_mfa_facts(params, client, auth),
        consent_missing=auth is not None and hosted().consent_missing(auth.user.id, client,
                                                                      items),
        consented=interaction is not None and interaction.consented,
        prompt=_prompt(params),
        max_age=_max_age(params),
    )


def _mfa_facts(params: dict[str, str], client: Client,
               auth: Authenticated | None) -> dict[str, bool]:
    """The second factor's part of the facts: whether the rules ask one at this application
    (acr_values included), and whether the sign-in already holds one they accept (an earlier
    MFA with a factor a group or the application no longer allows does not count)."""
    if auth is None:
        return {"has_mfa": False, "mfa_needed": False}
    decision = hosted().decision(auth.user.id, client, params.get("acr_values", ""),
                                 trust_token())
    return {"has_mfa": "mfa" in auth.amr and satisfied(decision, auth.amr),
            "mfa_needed": decision.required}


def _hinted(params: dict[str, str], auth: Authenticated) -> bool:
    """The signed-in user is the one an ``id_token_hint`` names, if one is sent (OIDC Core
    §3.1.2.1: another user means signing in again, or ``login_required``)."""
    hint = params.get("id_token_hint")
    return hint is None or hosted().id_token_hint(hint).get("sub") == auth.user.id


def _prompt(params: dict[str, str]) -> frozenset[str]:
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequest("prompt must be none, or any of login, consent, select_account.")
    return prompt


def _supported(params: dict[str, str]) -> None:
    """Refuse what this server does not do, rather than ignore it (OIDC Core §6)."""
    for name, error in UNSUPPORTED.items():
        if name in params:
            raise Refusal(error, f"This server does not support the {name} parameter.")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequest("response_mode must be query.")


def _max_age(params: dict[str, str]) -> int | None:
    raw = params.get("max_age")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_AGE_DIGITS:
        raise InvalidRequest("max_age must be a whole number of seconds.")
    return int(raw)


def _ask(interaction: Interaction | None, params: dict[str, str], endpoint: str, *,
         signed_out: bool = False) -> Response:
    """Keep the request as an interaction and send the browser to the page of this step."""
    if interaction is None:
        interaction = hosted().interactions.start(params)
        begin_signin(interaction.id)
    elif signed_out and interaction.user_id is not None:
        interaction = interaction.but(user_id=None, amr=(), auth_time=None, fresh=False,
                                      session=False)
        hosted().interactions.save(interaction)
        update_signin(mfa_token=None, oob_code=None)
    return redirect(url_for(endpoint), 303)


def _second_factor(interaction: Interaction | None, params: dict[str, str],
                   auth: Authenticated, scope: tuple[str, ...], client: Client) -> Response:
    """Start (or go on with) the second step: an mfa_token for the user, and its page."""
    if interaction is None:
        interaction = hosted().interactions.start(params)
        begin_signin(interaction.id)
    if interaction.user_id is None:
        interaction = interaction.but(user_id=auth.user.id, amr=auth.amr,
                                      auth_time=auth.auth_time)
        hosted().interactions.save(interaction)
    mfa_token = signin_state().get("mfa_token")
    if mfa_token is None:
        mfa_token = hosted().start_mfa(auth.user, scope, who(client),
                                       params.get("acr_values", ""), auth.amr)
        update_signin(mfa_token=mfa_token, oob_code=None)
    try:
        ticket = hosted().ticket(mfa_token, who(client))
    except (ExpiredToken, InvalidGrant, TooManyAttempts):  # waited too long, or void
        return _ask(interaction, params, "hosted.signin", signed_out=True)
    page = "hosted.enroll" if ticket.purpose == FOR_ENROLLMENT else "hosted.mfa"
    return redirect(url_for(page), 303)


def _session_for(interaction: Interaction | None, auth: Authenticated, client: Client,
                 current: Current) -> str:
    """The key of the sign-in session this login lives in, opening it when the user has just
    authenticated here (replacing the session a step-up started from)."""
    opened = interaction is None or interaction.user_id is None or interaction.session
    if opened and current is not None:
        return current[0].key
    replaces = session_id() if current is not None else None
    new_id = hosted().open_session(auth, who(client), replaces)
    set_session(new_id)
    if interaction is not None:
        hosted().interactions.save(interaction.but(session=True))
    return session_key(new_id)
