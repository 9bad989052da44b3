"""MFA calls of the guide: enroll, confirm_enrollment, challenge, verify; and factor management.

``verify`` picks the grant from what the login's challenge was (README, API): after an SMS
challenge, ``mfa-oob`` with the ``oob_code`` the challenge returned and the user's code as
``binding_code``; otherwise ``mfa-otp``; with a ``recovery_code``, ``mfa-recovery-code``; with
a passkey's ``credential`` (relayed from the browser, README, Passkeys), ``mfa-webauthn``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol
from urllib.parse import quote

from protekt._transport import JSON, Transport, answer

GRANT = "http://protekt.dev/oauth/grant-type/"
MFA_OTP = GRANT + "mfa-otp"
MFA_OOB = GRANT + "mfa-oob"
MFA_RECOVERY_CODE = GRANT + "mfa-recovery-code"
MFA_WEBAUTHN = GRANT + "mfa-webauthn"
PASSKEY = GRANT + "passkey"


def credential_text(credential: Any) -> Any:
    """A passkey's answer as the token endpoint takes it: the browser's ``credential.toJSON()``
    as JSON text (a dict is encoded; text passes as it is)."""
    return json.dumps(credential) if isinstance(credential, dict) else credential


class OobCodes(Protocol):
    """Where ``challenge`` leaves an SMS challenge's ``oob_code`` for ``verify`` to find."""

    def remember(self, mfa_token: str, oob_code: str) -> None: ...
    def recall(self, mfa_token: str) -> str | None: ...
    def forget(self, mfa_token: str) -> None: ...


class MemoryOobCodes:
    """Per process: kept 10 minutes (an mfa_token's default life, README, API), at most ``size``.

    Keyed by the mfa_token's SHA-256, so the process holds no usable mfa_token for it.
    """

    def __init__(self, ttl: float = 600.0, size: int = 10_000) -> None:
        self._ttl = ttl
        self._size = size
        self._codes: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, mfa_token: str, oob_code: str) -> None:
        with self._lock:
            self._codes[_key(mfa_token)] = (time.monotonic() + self._ttl, oob_code)
            self._codes.move_to_end(_key(mfa_token))
            while len(self._codes) > self._size:
                self._codes.popitem(last=False)

    def recall(self, mfa_token: str) -> str | None:
        with self._lock:
            until, oob_code = self._codes.get(_key(mfa_token), (0.0, ""))
        return oob_code if until > time.monotonic() else None

    def forget(self, mfa_token: str) -> None:
        with self._lock:
            self._codes.pop(_key(mfa_token), None)


def _key(mfa_token: str) -> str:
    return hashlib.sha256(mfa_token.encode()).hexdigest()


class Mfa:
    """The /mfa/* endpoints and the MFA grants (README, API)."""

    def __init__(self, transport: Transport, oob_codes: OobCodes | None) -> None:
        self._transport = transport
        self._oob_codes = oob_codes or MemoryOobCodes()

    def enroll(self, body: JSON, access_token: str) -> JSON:
        """Add a factor: ``{"type": "otp"}``, ``{"type": "sms", "phone_number"}``, or a passkey,
        ``{"authenticator_types": ["webauthn-platform"]}`` (``["webauthn-roaming"]`` for a
        security key), whose answer carries the ``options`` for the browser's
        ``navigator.credentials.create``; confirm with ``{"credential"}``, the browser's answer.

        ``access_token`` is an access token with scope ``enroll``, or the mfa_token of a login
        whose user must enroll first.
        """
        return self._call("POST", "mfa_associate_endpoint", "", access_token, body)

    def confirm_enrollment(self, authenticator_id: str, body: JSON, access_token: str) -> JSON:
        """Activate a pending factor with its first code: ``{"otp"}`` or ``{"binding_code"}``;
        a passkey with ``{"credential"}`` (the browser's ``credential.toJSON()``)."""
        path = f"/{quote(authenticator_id, safe='')}/confirm"
        return self._call("POST", "mfa_authenticators_endpoint", path, access_token, body)

    def challenge(self, body: JSON) -> JSON:
        """Ask for a code: ``{"mfa_token", "challenge_type": "otp" | "sms" | "oob"}``.

        An SMS challenge's ``oob_code`` is remembered for ``verify``; a new SMS challenge for the
        same mfa_token replaces it, as the server does, and an ``otp`` challenge drops it.
        """
        response = self._transport.post_as_client("mfa_challenge_endpoint", body)
        challenge = answer(response)
        mfa_token = body.get("mfa_token")
        if not isinstance(mfa_token, str):
            return challenge
        if challenge.get("challenge_type") == "oob":
            self._oob_codes.remember(mfa_token, challenge["oob_code"])
        else:  # the user switched to the app: the SMS code no longer decides the grant
            self._oob_codes.forget(mfa_token)
        return challenge

    def verify(self, body: JSON) -> JSON:
        """Exchange the mfa_token and the user's code for tokens.

        ``{"mfa_token", "otp"}`` (the code from the app, or from the SMS after an SMS challenge),
        ``{"mfa_token", "recovery_code"}``, ``{"mfa_token", "oob_code", "binding_code"}``, or
        ``{"mfa_token", "credential"}``: the browser's answer to a ``webauthn`` challenge's
        ``options``. A wrong code raises ``invalid_grant`` and may be retried with the same
        mfa_token (after a new challenge, for a passkey).
        """
        mfa_token = body.get("mfa_token")
        form = {"mfa_token": mfa_token, **self._grant_for(body)}
        tokens = answer(self._transport.post_as_client("token_endpoint", form))
        if isinstance(mfa_token, str):
            self._oob_codes.forget(mfa_token)
        return tokens

    def list_authenticators(self, access_token: str) -> list[JSON]:
        """The user's factors, phone numbers masked (README, API)."""
        return self._call("GET", "mfa_authenticators_endpoint", "", access_token)

    def delete_authenticator(self, authenticator_id: str, access_token: str) -> None:
        """Remove a factor; needs an access token with ``remove:authenticators``."""
        path = f"/{quote(authenticator_id, safe='')}"
        self._call("DELETE", "mfa_authenticators_endpoint", path, access_token)

    def regenerate_recovery_codes(self, access_token: str) -> JSON:
        """A new set of recovery codes, ``{"recovery_codes": [...]}``; the old set stops working."""
        return self._call("POST", "mfa_recovery_codes_endpoint", "", access_token)

    def _grant_for(self, body: JSON) -> JSON:
        if "credential" in body:
            return {"grant_type": MFA_WEBAUTHN, "credential": credential_text(body["credential"])}
        if "recovery_code" in body:
            return {"grant_type": MFA_RECOVERY_CODE, "recovery_code": body["recovery_code"]}
        if "oob_code" in body:
            return {"grant_type": MFA_OOB, "oob_code": body["oob_code"],
                    "binding_code": body.get("binding_code", body.get("otp"))}
        mfa_token = body.get("mfa_token")
        oob_code = self._oob_codes.recall(mfa_token) if isinstance(mfa_token, str) else None
        if oob_code is not None:
            return {"grant_type": MFA_OOB, "oob_code": oob_code, "binding_code": body.get("otp")}
        return {"grant_type": MFA_OTP, "otp": body.get("otp")}

    def _call(self, method: str, endpoint: str, path: str, access_token: str,
              body: JSON | None = None) -> Any:
        url = self._transport.endpoint(endpoint) + path
        return self._transport.call(method, url, bearer=access_token, body=body)
