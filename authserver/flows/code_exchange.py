"""The authorization_code grant at the token endpoint (RFC 6749 §4.1.3; OIDC Core §3.1.3).

Order: the code is redeemed once, for this client (authserver.tokens.codes: GETDEL); a code
presented again revokes what its first exchange gave (RFC 6749 §4.1.2) and is refused. Authlib
then checks redirect_uri and PKCE's code_verifier (RFC 7636 §4.6). The code's user must still
exist, not be blocked, and not have been signed out everywhere since the sign-in (a new
password, an MFA reset, a factor removed: NIST SP 800-63B §6.1.2.3). The tokens carry the
sign-in's ``amr`` and ``auth_time``; a refresh token comes only with ``offline_access`` (OIDC
Core §11). The code is marked used with what it gave, so a replay racing this exchange revokes
it; one commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from authserver.accounts.sessions import BrowserSessions
from authserver.accounts.users import UserDirectory, ensure_not_blocked
from authserver.errors import InvalidGrant
from authserver.flows.revocation import Revocation
from authserver.models import Client, User
from authserver.scopes import OFFLINE_ACCESS
from authserver.tokens.codes import AuthorizationCodes, CodeGrant, Replay
from authserver.tokens.issuer import Authentication, TokenIssuer, TokenRequest, Tokens

UNKNOWN_CODE = "The code is unknown, expired, already used, or was issued to another client."
REPLAYED_CODE = ("This code was already used; the tokens it gave are revoked. Start the sign-in "
                 "again.")


class CodeExchange:
    """A code (and its verifier, checked by Authlib) for the tokens of the sign-in."""

    def __init__(
        self, session: Session, codes: AuthorizationCodes, users: UserDirectory, *,
        sso_sessions: BrowserSessions, issuer: TokenIssuer, revocation: Revocation,
    ) -> None:
        self._session = session
        self._codes = codes
        self._users = users
        self._sso_sessions = sso_sessions
        self._issuer = issuer
        self._revocation = revocation

    def redeem(self, code: str, client: Client, ip: str) -> CodeGrant:
        """The code's grant, used up; InvalidGrant for an unknown code, and for a code used
        before, after revoking what it gave."""
        redeemed = self._codes.redeem(code, client.client_id)
        if isinstance(redeemed, Replay):
            self._revocation.revoke_issued(redeemed.jti, redeemed.family_id, client, ip)
            raise InvalidGrant(REPLAYED_CODE)
        if redeemed is None:
            raise InvalidGrant(UNKNOWN_CODE)
        return redeemed

    def _user_of(self, code: CodeGrant) -> User:
        """The code's user, unless gone, blocked, or signed out everywhere since the sign-in."""
        user = self._users.get(code.user_id)
        if user is None:
            raise InvalidGrant("The user of this code no longer exists.")
        ensure_not_blocked(user)
        if self._sso_sessions.ended_since(user.id, code.auth_time):
            raise InvalidGrant("The sign-in of this code has since been ended; sign in again.")
        return user

    def run(self, code: CodeGrant, client: Client, ip: str) -> Tokens:
        """Tokens for the sign-in the code stands for."""
        self._issuer.ready()  # a key to make is made before this session writes (SQLite)
        auth_time = datetime.fromtimestamp(code.auth_time, UTC)
        authn = Authentication(self._user_of(code), code.amr, auth_time, code.sso_session)
        request = TokenRequest(client, code.scope, code.audience, nonce=code.nonce,
                               refresh=OFFLINE_ACCESS in code.scope)
        tokens = self._issuer.issue(authn, request)
        if not self._codes.mark_used(code, tokens.jti, tokens.family_id):
            self._revocation.revoke_issued(tokens.jti, tokens.family_id, client, ip)
            raise InvalidGrant(REPLAYED_CODE)
        self._session.commit()
        return tokens
