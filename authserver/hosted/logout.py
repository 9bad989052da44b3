"""``GET|POST /logout``: OpenID Connect RP-Initiated Logout 1.0.

The app sends the browser here with ``id_token_hint`` (an ID token we issued, expired or not),
``post_logout_redirect_uri`` (one the client registered, exactly), ``state`` and ``client_id``.
The sign-in session ends and the refresh tokens it opened are revoked
(:meth:`HostedSignIn.logout`). When the hint does not name the signed-in user, the user is asked
first (§2: the OP SHOULD ask when the request may not come from the user's app). A return
address that is not registered is refused with a page, never followed (§3).
"""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Response, redirect, request

from authserver import pages
from authserver.authorization import given, single_values
from authserver.errors import InvalidRequest
from authserver.extensions import services
from authserver.grants.authorization_code import redirect_status
from authserver.hosted.web import (
    bp,
    csrf_token,
    end_signin,
    ensure_csrf,
    hosted,
    page,
    session_id,
    set_session,
)
from authserver.models import Client


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response | tuple[str, int]:
    params = given(single_values(request.args if request.method == "GET" else request.form))
    hint = _hint(params.get("id_token_hint"))
    client = _client(params, hint)
    return_to = params.get("post_logout_redirect_uri")
    if return_to and (client is None or not client.check_post_logout_redirect_uri(return_to)):
        raise InvalidRequest("The application asked to return to an address it has not "
                             "registered (post_logout_redirect_uri). You were not signed out.")
    current = hosted().current(session_id())
    if current is not None and not _confirmed(hint, current[1].id):
        ensure_csrf()
        return page("logout.html", client=client, params=params)
    if current is not None:
        hosted().logout(session_id(), client.client_id if client else None,
                        request.remote_addr or "")
        set_session(None)
    end_signin()
    if return_to:
        state = params.get("state")
        return redirect(add_params_to_uri(return_to, [("state", state)] if state else []),
                        redirect_status(request.method))
    return page("signed_out.html", client=client)


def _hint(token: str | None) -> dict[str, Any] | None:
    return None if token is None else hosted().id_token_hint(token)


def _client(params: dict[str, str], hint: dict[str, Any] | None) -> Client | None:
    """The app logging out: client_id, or the hint's audience; they must agree (§2)."""
    client_id = params.get("client_id") or (hint or {}).get("aud")
    if hint is not None and params.get("client_id") not in (None, hint.get("aud")):
        raise InvalidRequest("client_id and the id_token_hint's audience differ.")
    if client_id is None:
        return None
    client = services.clients.find(str(client_id))
    if client is None:
        raise InvalidRequest("The application asking to sign you out is not registered.")
    return client


def _confirmed(hint: dict[str, Any] | None, user_id: str) -> bool:
    """The user said yes on the confirmation page, or the app proved it is theirs."""
    if request.method == "POST" and request.form.get("confirm") == "yes":
        pages.check_csrf(csrf_token())
        return True
    return hint is not None and hint.get("sub") == user_id
