"""The client registry: OAuth clients (RFC 6749 §2), the grant types they may use, and where the
browser sign-in may send their users back (redirect URIs, RFC 6749 §3.1.2)."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.cache import SharedCache
from authserver.errors import InvalidRequest, NotFound
from authserver.models import Client, hash_client_secret
from authserver.scopes import parse_scope

PASSWORD = "password"  # noqa: S105 (a grant type name)
REFRESH_TOKEN = "refresh_token"  # noqa: S105
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"  # RFC 6749 §4.1: browser sign-in at /authorize

# README, API: Protekt's MFA grant URIs; Auth0's are accepted as aliases, short names in the CLI.
MFA_OTP = "http://protekt.dev/oauth/grant-type/mfa-otp"
MFA_OOB = "http://protekt.dev/oauth/grant-type/mfa-oob"
MFA_RECOVERY_CODE = "http://protekt.dev/oauth/grant-type/mfa-recovery-code"
MFA_GRANT_TYPES: tuple[str, ...] = (MFA_OTP, MFA_OOB, MFA_RECOVERY_CODE)
AUTH0_ALIASES = {
    grant.replace("http://protekt.dev/", "http://auth0.com/"): grant for grant in MFA_GRANT_TYPES
}
# Passkeys (README, Passkeys): one as the second factor, and the passwordless sign-in. Auth0 has
# no URIs for them, so no aliases.
MFA_WEBAUTHN = "http://protekt.dev/oauth/grant-type/mfa-webauthn"
PASSKEY = "http://protekt.dev/oauth/grant-type/passkey"
PASSKEY_GRANT_TYPES: tuple[str, ...] = (MFA_WEBAUTHN, PASSKEY)
SHORT_NAMES = {grant.rsplit("/", 1)[1]: grant
               for grant in (*MFA_GRANT_TYPES, *PASSKEY_GRANT_TYPES)}

# The dashboard's own logins, mfa_tokens and audit events are this client's; registered client
# ids are random (token_urlsafe), so none can take it.
DASHBOARD_CLIENT_ID = "protekt-dashboard"

# Redirect URIs (RFC 6749 §3.1.2; RFC 8252 §7, §8.3; OIDC RP-Initiated Logout 1.0 §3.1).
REDIRECT_URIS = "redirect_uris"
POST_LOGOUT_REDIRECT_URIS = "post_logout_redirect_uris"
MAX_URIS = 20  # per list
MAX_URI_LENGTH = 2000
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")  # the hosts plain http may name
NEVER_SCHEMES = ("javascript", "data", "file", "vbscript", "blob", "about")

GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, PASSWORD, REFRESH_TOKEN, CLIENT_CREDENTIALS,
                                 *MFA_GRANT_TYPES, *PASSKEY_GRANT_TYPES)
# A client that can finish one second factor can finish all of them: a user's passkey must not
# leave an app without a way to sign them in.
DEFAULT_GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, PASSWORD, REFRESH_TOKEN,
                                        *MFA_GRANT_TYPES, *PASSKEY_GRANT_TYPES)
THIRD_PARTY_GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, REFRESH_TOKEN)


MAX_AUDIENCE_LENGTH = 255
MAX_NAME_LENGTH = 100  # of a client's name


def canonical_grant_type(name: str) -> str:
    """The Protekt URI for a short name (``mfa-otp``) or an Auth0 alias; other names unchanged."""
    return SHORT_NAMES.get(name) or AUTH0_ALIASES.get(name) or name


class ClientRegistry:
    """Clients in the database. Secrets are shown once, at creation, and stored as SHA-256.
    Changes are checked in full before anything is written; the caller commits them
    (authserver.flows.client_administration)."""

    def __init__(self, session: Session, audit: AuditLog, cache: SharedCache) -> None:
        self._session = session
        self._audit = audit
        self._cache = cache

    def find(self, client_id: str) -> Client | None:
        """The client, as the token and authorization endpoints read it: kept in process
        (detached from the session) until any client changes; None when unknown."""
        if not client_id:
            return None
        return self._cache.get(("client", client_id), lambda: self._detached(client_id))

    def _detached(self, client_id: str) -> Client | None:
        client = self._session.get(Client, client_id)
        if client is not None:
            self._session.expunge(client)
        return client

    def create(
        self,
        name: str,
        *,
        public: bool = False,
        grant_types: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        audiences: Iterable[str] = (),
        redirect_uris: Iterable[str] = (),
        post_logout_redirect_uris: Iterable[str] = (),
        first_party: bool = True,
        mfa_policy: str = "inherit",
        mfa_factors: list[str] | None = None,
    ) -> tuple[Client, str | None]:
        """Register a client; returns it and its secret (None for a public client).

        ``redirect_uris`` are where the browser sign-in may return the user with a code, and
        ``post_logout_redirect_uris`` where sign-out may (both checked by
        :func:`checked_redirect_uris`); a third-party client (``first_party=False``) has its
        users asked for their consent on the hosted pages, and by default only the browser
        sign-in and refresh grants: a password given to another company's app is what RFC 9700
        §2.4 warns of. The MFA rule is checked by the caller (authserver.flows).
        """
        if len(name) > MAX_NAME_LENGTH or not name.strip():  # as sent; then trimmed
            raise InvalidRequest("The client name must be 1 to 100 characters long.")
        name = name.strip()
        if grant_types is None and not first_party:
            grant_types = THIRD_PARTY_GRANT_TYPES
        grants = _checked_grant_types(grant_types, public)
        redirects = checked_redirect_uris(REDIRECT_URIS, redirect_uris)
        logouts = checked_redirect_uris(POST_LOGOUT_REDIRECT_URIS, post_logout_redirect_uris)
        secret = None if public else secrets.token_urlsafe(32)  # 256 bits
        client = Client(
            client_id=secrets.token_urlsafe(16),
            name=name,
            secret_hash=None if secret is None else hash_client_secret(secret),
            grant_types=grants,
            scopes=_checked_scopes(scopes),
            audiences=_checked_audiences(audiences),
            redirect_uris=redirects,
            post_logout_redirect_uris=logouts,
            first_party=bool(first_party),
            mfa_policy=mfa_policy,
            mfa_factors=mfa_factors or [],
        )
        self._session.add(client)
        self._audit.record("client.created", client_id=client.client_id, public=public)
        return client, secret

    def listing(self) -> list[Client]:
        """Every client, oldest first."""
        return list(self._session.scalars(select(Client).order_by(Client.created_at)).all())

    def names(self, client_ids: Iterable[str]) -> dict[str, str]:
        """The names of these clients (those that still exist), by client id."""
        rows = self._session.execute(
            select(Client.client_id, Client.name).where(Client.client_id.in_(set(client_ids))))
        return {client_id: name for client_id, name in rows}

    def get(self, client_id: str) -> Client:
        """The client as a row of this session, to show or change; NotFound when unknown."""
        client = self._session.get(Client, client_id) if client_id else None
        if client is None:
            raise NotFound("No client has this id.")
        return client

    def update(
        self,
        client_id: str,
        *,
        grant_types: Iterable[str] | None = None,
        redirect_uris: Iterable[str] | None = None,
        post_logout_redirect_uris: Iterable[str] | None = None,
        first_party: bool | None = None,
        mfa_policy: str | None = None,
        mfa_factors: list[str] | None = None,
    ) -> Client:
        """Change what is given (None: unchanged), from the client's next request: the grants
        it may use (RFC 6749 §5.2 ``unauthorized_client`` for others), its redirect URIs,
        whether it is first-party, and its MFA rule (checked by the caller,
        authserver.flows.client_administration). Everything is checked before anything is written
        (InvalidRequest otherwise); audited ``client.updated`` with the names of the fields
        that changed, never their values."""
        client = self._for_change(client_id)
        wanted: dict[str, object] = {}
        if grant_types is not None:
            grant_types = list(grant_types)
            if not grant_types:
                raise InvalidRequest("grant_types must name at least one grant type.")
            wanted["grant_types"] = _checked_grant_types(grant_types, client.is_public)
        for field, uris in ((REDIRECT_URIS, redirect_uris),
                            (POST_LOGOUT_REDIRECT_URIS, post_logout_redirect_uris)):
            if uris is not None:
                wanted[field] = checked_redirect_uris(field, uris)
        plain = {"first_party": None if first_party is None else bool(first_party),
                 "mfa_policy": mfa_policy, "mfa_factors": mfa_factors}
        wanted.update({field: value for field, value in plain.items() if value is not None})
        changed = [field for field, value in wanted.items() if getattr(client, field) != value]
        for field in changed:
            setattr(client, field, wanted[field])
        if changed:
            self._audit.record("client.updated", client_id=client_id, fields=changed)
        return client

    def replace_secret(self, client_id: str) -> str:
        """A new secret, shown once; the old one stops working at once."""
        client = self._for_change(client_id)
        if client.is_public:
            raise InvalidRequest("A public client has no secret to rotate.")
        secret = secrets.token_urlsafe(32)
        client.secret_hash = hash_client_secret(secret)
        self._audit.record("client.secret_rotated", client_id=client_id)
        return secret

    def delete(self, client_id: str) -> None:
        """Delete the client; its refresh tokens go with it (ON DELETE CASCADE)."""
        self._session.delete(self._for_change(client_id))
        self._audit.record("client.deleted", client_id=client_id)

    def _for_change(self, client_id: str) -> Client:
        """The client's row, locked until the caller's commit (``SELECT … FOR UPDATE`` on
        PostgreSQL; SQLite lets one writer in at a time), so that parallel changes and a delete
        of one client take turns: a change that comes after the delete finds nothing
        (NotFound), and none is written to a client already gone."""
        client = self._session.scalar(
            select(Client).where(Client.client_id == client_id).with_for_update()
            .execution_options(populate_existing=True)
        ) if client_id else None
        if client is None:
            raise NotFound("No client has this id.")
        return client



def _checked_grant_types(grant_types: Iterable[str] | None, public: bool) -> list[str]:
    named = grant_types or DEFAULT_GRANT_TYPES
    grants = list(dict.fromkeys(canonical_grant_type(g) for g in named))
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown grant type {unknown[0]}; known: {', '.join(GRANT_TYPES)} "
            f"(or {', '.join(SHORT_NAMES)})."
        )
    if public and CLIENT_CREDENTIALS in grants:
        raise InvalidRequest(
            "A public client cannot use client_credentials: it has no secret (RFC 6749 §4.4)."
        )
    return grants


def _checked_scopes(scopes: Iterable[str]) -> list[str]:
    """Each one scope-token (RFC 6749 §3.3), kept in order without repeats."""
    checked = []
    for scope in scopes:
        try:
            (token,) = parse_scope(scope)
        except ValueError:
            raise InvalidRequest(
                "Scopes must be tokens of printable ASCII without spaces."
            ) from None
        checked.append(token)
    return list(dict.fromkeys(checked))


def _checked_audiences(audiences: Iterable[str]) -> list[str]:
    """Each an identifier (RFC 8707 §2: an API's URI, or a name) of 1 to 255 characters without
    whitespace, as the OpenAPI document says; repeats kept once."""
    result = list(dict.fromkeys(audiences))
    if any(not 1 <= len(a) <= MAX_AUDIENCE_LENGTH
           or any(c.isspace() or unicodedata.category(c) == "Cc" for c in a) for a in result):
        raise InvalidRequest("An audience is an identifier of 1 to 255 characters, without "
                             "spaces.")
    return result


def checked_redirect_uris(field: str, uris: Iterable[str]) -> list[str]:
    """Each of ``uris`` checked by :func:`checked_redirect_uri`, at most ``MAX_URIS`` once
    repeats are dropped, in the order given; InvalidRequest naming ``field`` otherwise."""
    checked = list(dict.fromkeys(checked_redirect_uri(field, uri) for uri in uris))
    if len(checked) > MAX_URIS:
        raise InvalidRequest(f"{field}: at most {MAX_URIS} URIs per client.")
    return checked


def checked_redirect_uri(field: str, uri: str) -> str:
    """A URI the browser sign-in may send a user to, trimmed; InvalidRequest naming ``field``
    and saying what to change otherwise.

    Absolute, at most ``MAX_URI_LENGTH`` characters of printable ASCII (RFC 3986 §2.1: other
    characters are percent-encoded), no fragment (RFC 6749 §3.1.2) and no wildcard (RFC 9700
    §4.1.3: redirect URIs are compared exactly). The scheme is ``https``; ``http`` only for a
    loopback host, where a native app listens (RFC 8252 §7.3, §8.3); or a private-use scheme
    in reverse-domain form such as ``com.example.app`` (RFC 8252 §7.1). Schemes that run or
    embed content in the browser (``javascript:``, ``data:``, ``file:``...) never.
    """
    uri = uri.strip()
    shown = uri if len(uri) <= 48 else uri[:45] + "..."  # error texts stay under 200
    _check_characters(field, uri, shown)
    parts = urlsplit(uri)
    if not parts.scheme:
        raise InvalidRequest(f"{field}: {shown} is not an absolute URI; write it whole, such "
                             "as https://app.example.com/callback.")
    if parts.scheme in NEVER_SCHEMES:
        raise InvalidRequest(f"{field}: {parts.scheme}: URIs are never allowed.")
    if parts.scheme in ("http", "https"):
        _check_web_redirect(field, shown, parts)
    elif "." not in parts.scheme:
        raise InvalidRequest(f"{field}: {shown} has a scheme that is not allowed; use https, "
                             "http on a loopback host, or a private-use scheme with a dot "
                             "such as com.example.app:/callback.")
    return uri


def _check_characters(field: str, uri: str, shown: str) -> None:
    """Not too long, printable ASCII, no fragment, no wildcard."""
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidRequest(f"{field}: a URI has at most {MAX_URI_LENGTH} characters.")
    if not uri.isascii() or not uri.isprintable() or " " in uri or "\\" in uri:
        raise InvalidRequest(f"{field}: write each URI in printable ASCII without spaces or "
                             "backslashes (percent-encode other characters).")
    if "#" in uri:
        raise InvalidRequest(f"{field}: {shown} has a fragment (#...), which a redirect URI "
                             "must not have.")
    if "*" in uri:
        raise InvalidRequest(f"{field}: {shown} has a wildcard (*); register each exact URI.")


def _check_web_redirect(field: str, shown: str, parts: SplitResult) -> None:
    """An http(s) URI names a host, with a valid port and no user name or password; plain
    http only a loopback host (RFC 8252 §8.3)."""
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError:
        raise InvalidRequest(f"{field}: {shown} has an invalid port.") from None
    if not parts.hostname:
        raise InvalidRequest(f"{field}: {shown} has no host; write "
                             f"{parts.scheme}://host/path.")
    if "@" in parts.netloc:
        raise InvalidRequest(f"{field}: {shown} must not hold a user name or password.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidRequest(f"{field}: {shown} uses http, which only a loopback host "
                             "(127.0.0.1, [::1] or localhost) may; use https.")
