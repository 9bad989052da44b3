"""Sending a one-time code by SMS, under the abuse limits and against the credit balance.

The order is what makes SMS pumping unprofitable and failures harmless: the country is checked,
then the send limits (resend cool-down per user and number, hourly caps per user, per number and
per client IP; atomic counters in the store), then the credits are debited, and only then is the
provider called. A refusal at any step answers before the provider is called; a provider
failure gives the credits and the counted sends back and answers ``503`` with
``sms_delivery_failed``. A provider that got the request but did not answer in time may have
sent (and billed) it: then nothing is given back, so a slow provider is no way around the limits.

Per-number counters are keyed by an HMAC of the number under a key derived from the encryption
key, not by a plain hash: the space of phone numbers is small enough to hash whole.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import TemporarilyUnavailable
from authserver.limits import AttemptLimiter, Hit, Limit, LimitReached
from authserver.sms.credits import SmsCredits
from authserver.sms.phone import PhoneNumber, ensure_allowed
from authserver.sms.providers import DeliveryFailed, DeliveryUncertain, SmsMessage, SmsProvider
from authserver.sms.template import render, segments

HOUR = 3600


class SmsDeliveryFailed(TemporarilyUnavailable):
    """The provider did not take the message: no credit spent, no code usable."""

    description = (
        "sms_delivery_failed: the SMS provider did not accept the message, so no code was sent. "
        "Retry in a moment, or use another factor."
    )


@dataclass(frozen=True)
class SendRules:
    """The operator's SMS settings the sender applies (authserver.mfa.settings holds them)."""

    template: str
    app_name: str
    minutes: int
    resend_cooldown: int
    user_hourly: int
    phone_hourly: int
    ip_hourly: int
    allowed_countries: tuple[str, ...]
    low_credit_threshold: int


@dataclass(frozen=True)
class Delivery:
    """Who a code is sent for: the keys of the limits and the audit."""

    user_id: str
    client_id: str
    ip: str
    authenticator_id: str


def _cooldown(rules: SendRules, number_key: str, delivery: Delivery) -> list[Hit]:
    """One code per user and number per cool-down: keyed by the number, not the authenticator,
    so enrolling the same number again does not start a fresh cool-down."""
    limit = Limit("sms-resend", 1, rules.resend_cooldown,
                  "A code was just sent to this phone. Wait before asking for another.")
    return [(limit, f"{delivery.user_id}:{number_key}")]


def _caps(rules: SendRules, number_key: str, delivery: Delivery) -> list[Hit]:
    return [
        (Limit("sms-user", rules.user_hourly, HOUR,
               "Too many SMS codes for this account in the last hour."), delivery.user_id),
        (Limit("sms-phone", rules.phone_hourly, HOUR,
               "Too many SMS codes to this phone number in the last hour."), number_key),
        (Limit("sms-ip", rules.ip_hourly, HOUR,
               "Too many SMS codes requested from this address in the last hour."), delivery.ip),
    ]


def _redacted(text: str, to: PhoneNumber, code: str) -> str:
    """A provider's error text without the full number or the code (Twilio's name the 'To')."""
    for secret, shown in ((to.e164, to.masked), (to.e164[1:], to.masked), (code, "******")):
        text = text.replace(secret, shown)
    return text


class SmsSender:
    """Sends codes: limits, credits, provider, audit."""

    def __init__(
        self, session: Session, provider: SmsProvider, credits: SmsCredits,
        limiter: AttemptLimiter, audit: AuditLog, *, number_key: bytes,
    ) -> None:
        self._session = session
        self._provider = provider
        self._credits = credits
        self._limiter = limiter
        self._audit = audit
        self._number_key = number_key

    def send_code(self, to: PhoneNumber, code: str, delivery: Delivery, rules: SendRules) -> None:
        """Send ``code`` to ``to``, or raise InvalidRequest (country), LimitReached (429),
        CreditsExhausted or SmsDeliveryFailed (503). Commits the debit and the audit."""
        ensure_allowed(to, rules.allowed_countries)
        text = render(rules.template, code=code, app_name=rules.app_name, minutes=rules.minutes)
        hits = self._reserve(rules, to, delivery)
        count = segments(text)
        detail = {"authenticator_id": delivery.authenticator_id, "to": to.masked}
        try:
            self._credits.debit(count, rules.low_credit_threshold, **detail)
        except TemporarilyUnavailable:
            self._limiter.forgive(hits)
            raise
        try:
            self._provider.send(SmsMessage(to.e164, text, code))
        except DeliveryFailed as failure:
            self._failed(_redacted(str(failure), to, code), count, hits, delivery,
                         uncertain=isinstance(failure, DeliveryUncertain), **detail)
        self._record(delivery, "sms.sent", provider=self._provider.name, segments=count, **detail)

    def _failed(self, reason: str, count: int, hits: list[Hit], delivery: Delivery, *,
                uncertain: bool, **detail: object) -> NoReturn:
        """Give back what a refused send took (not what an unanswered one may have cost); the
        provider's reason goes to the log with the error, never to the client."""
        if not uncertain:
            self._credits.refund(count, **detail)
            self._limiter.forgive(hits)
        self._record(delivery, "sms.failed", provider=self._provider.name,
                     outcome="unknown" if uncertain else "refused", **detail)
        raise SmsDeliveryFailed(
            detail=f"SMS to {detail['to']} through {self._provider.name} failed: {reason}"
        ) from None

    def _reserve(self, rules: SendRules, to: PhoneNumber, delivery: Delivery) -> list[Hit]:
        """Count this send against the cool-down, then the hourly caps; 429 when one is full.

        The cool-down is asked first and alone, so a user tapping "resend" early spends none of
        the hourly caps. A cap crossed for the first time in its window is audited.
        """
        number_key = hmac.new(self._number_key, to.e164.encode(), hashlib.sha256).hexdigest()
        cooldown = _cooldown(rules, number_key, delivery)
        caps = _caps(rules, number_key, delivery)
        self._limiter.reserve(cooldown)
        try:
            self._limiter.reserve(caps)
        except LimitReached as refusal:
            if refusal.newly:
                self._record(delivery, "sms.limited", limits=list(refusal.newly), to=to.masked)
            raise
        return cooldown + caps

    def _record(self, delivery: Delivery, event: str, **detail: object) -> None:
        self._audit.record(event, user_id=delivery.user_id, client_id=delivery.client_id,
                           ip=delivery.ip, **detail)
        self._session.commit()
