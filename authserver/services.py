"""The domain services of one app, built once in create_app and shared by views, grants and CLI."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from authserver.accounts.consents import Consents
from authserver.accounts.login import LoginLimits, PasswordLogin
from authserver.accounts.passwords import PasswordHasher
from authserver.accounts.sessions import BrowserSessions
from authserver.accounts.users import UserDirectory
from authserver.audit import AuditLog
from authserver.cache import SharedCache
from authserver.clients import ClientRegistry
from authserver.config import Settings
from authserver.encryption import Encryptor
from authserver.flows.client_administration import ClientAdministration
from authserver.flows.client_credentials import ClientCredentials
from authserver.flows.code_exchange import CodeExchange
from authserver.flows.factor_management import MfaAccount
from authserver.flows.group_administration import GroupAdministration
from authserver.flows.mfa_challenge import MfaChallenge
from authserver.flows.mfa_exchange import MfaExchange
from authserver.flows.passkey_signin import PasskeySignIn
from authserver.flows.password_login import PasswordLoginFlow
from authserver.flows.refresh import Refresh
from authserver.flows.revocation import Revocation
from authserver.flows.security_settings import SecuritySettings
from authserver.flows.unlock import Unlock
from authserver.flows.user_administration import UserAdministration
from authserver.limits import AttemptLimiter
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.factors import ChallengeFactor, OtpFactor, RecoveryCodeFactor, WebauthnFactor
from authserver.mfa.groups import Groups
from authserver.mfa.policy import MfaPolicy
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.risk import LoginRisk
from authserver.mfa.services import MfaServices
from authserver.mfa.settings import MfaSettingsStore
from authserver.mfa.sms import SmsCodes, SmsFactor
from authserver.mfa.tickets import MfaLogins, MfaTickets
from authserver.mfa.trusted_devices import TrustedDevices
from authserver.mfa.verification import MfaVerifier
from authserver.mfa.webauthn import Challenges, Passkeys, RelyingParty
from authserver.sms.credits import SmsCredits
from authserver.sms.providers import SmsProvider, open_provider
from authserver.sms.sender import SmsSender
from authserver.store import Store, StoreUnavailable, open_store
from authserver.tokens.access import AccessTokens
from authserver.tokens.claims import UserClaims
from authserver.tokens.codes import AuthorizationCodes
from authserver.tokens.issuer import TokenIssuer
from authserver.tokens.keys import KeyRing
from authserver.tokens.refresh import RefreshLifetimes, RefreshTokens


def build_mfa(
    session: Session, store: Store, users: UserDirectory, encryptor: Encryptor, *,
    audit: AuditLog, sms_provider: SmsProvider, cache: SharedCache, party: RelyingParty,
) -> MfaServices:
    settings = MfaSettingsStore(session, audit, cache)
    authenticators = Authenticators(session, encryptor)
    recovery_codes = RecoveryCodes(session)
    tickets = MfaTickets(store.namespace("mfa-token"))
    logins = MfaLogins(tickets, users)
    limiter = AttemptLimiter(store.namespace("limits"))
    otp = OtpFactor(authenticators)
    credits = SmsCredits(session, audit)
    sender = SmsSender(session, sms_provider, credits, limiter, audit,
                       number_key=encryptor.derive_key("sms-number-counters"))
    sms = SmsFactor(authenticators, SmsCodes(store.namespace("sms-code")), sender)
    verifier = MfaVerifier(session, logins, tickets, limiter, audit)
    groups = Groups(session, cache)
    risk = LoginRisk(session, encryptor.derive_key("login-contexts"))
    passkeys = Passkeys(session, Challenges(store.namespace("webauthn-challenge")), party)
    return MfaServices(
        settings=settings,
        authenticators=authenticators,
        recovery_codes=recovery_codes,
        tickets=tickets,
        logins=logins,
        policy=MfaPolicy(settings, authenticators, recovery=recovery_codes,
                         tickets=tickets, groups=groups, risk=risk, audit=audit),
        groups=groups,
        trusted_devices=TrustedDevices(session),
        verifier=verifier,
        otp=otp,
        sms=sms,
        recovery_code=RecoveryCodeFactor(recovery_codes),
        passkeys=passkeys,
        webauthn=WebauthnFactor(authenticators, passkeys, settings),
        sms_credits=credits,
    )


@dataclass(frozen=True)
class Flows:
    """The use cases the token and MFA endpoints run (authserver.flows)."""

    password_login: PasswordLoginFlow
    passkey_signin: PasskeySignIn
    mfa_exchange: MfaExchange
    mfa_challenge: MfaChallenge
    refresh: Refresh
    client_credentials: ClientCredentials
    unlock: Unlock
    factor_management: MfaAccount
    code_exchange: CodeExchange
    security_settings: SecuritySettings
    client_administration: ClientAdministration
    group_administration: GroupAdministration


def build_flows(session: Session, login: PasswordLogin, mfa: MfaServices,
                users: UserDirectory, *, refresh_tokens: RefreshTokens, issuer: TokenIssuer,
                audit: AuditLog, sso_sessions: BrowserSessions, code_exchange: CodeExchange,
                clients: ClientRegistry, cache: SharedCache) -> Flows:
    factors: dict[str, ChallengeFactor] = {mfa.otp.name: mfa.otp, mfa.sms.name: mfa.sms,
                                           mfa.webauthn.name: mfa.webauthn}
    return Flows(
        password_login=PasswordLoginFlow(session, login, mfa.settings, mfa.policy, issuer),
        passkey_signin=PasskeySignIn(session, mfa.settings, mfa.passkeys, users=users,
                                     policy=mfa.policy, issuer=issuer, audit=audit),
        mfa_exchange=MfaExchange(session, mfa.settings, mfa.verifier, issuer, mfa.policy),
        mfa_challenge=MfaChallenge(session, mfa.settings, mfa.logins, factors, audit),
        refresh=Refresh(session, refresh_tokens, mfa.policy, issuer),
        client_credentials=ClientCredentials(issuer),
        unlock=Unlock(session, login, mfa.verifier, mfa.settings),
        factor_management=MfaAccount(
            session, mfa.settings, mfa.authenticators, recovery=mfa.recovery_codes,
            verifier=mfa.verifier, sms=mfa.sms, passkeys=mfa.passkeys, audit=audit,
            sso_sessions=sso_sessions),
        code_exchange=code_exchange,
        security_settings=SecuritySettings(session, mfa.settings, mfa.sms_credits, cache),
        client_administration=ClientAdministration(session, clients, cache),
        group_administration=GroupAdministration(session, mfa.groups, users, audit=audit,
                                                 cache=cache),
    )


@dataclass(frozen=True)
class Services:
    settings: Settings
    session: Session
    store: Store
    cache: SharedCache
    keyring: KeyRing
    hasher: PasswordHasher
    users: UserDirectory
    clients: ClientRegistry
    login: PasswordLogin
    refresh_tokens: RefreshTokens
    access_tokens: AccessTokens
    issuer: TokenIssuer
    claims: UserClaims
    revocation: Revocation
    codes: AuthorizationCodes
    mfa: MfaServices
    flows: Flows
    administration: UserAdministration
    admin_sessions: BrowserSessions
    sso_sessions: BrowserSessions
    consents: Consents
    audit: AuditLog


def build_services(
    settings: Settings, session: Session, new_session: Callable[[], Session],
) -> Services:
    """Wire the domain modules together. ``session`` is the request-scoped session."""
    store = open_store(settings.redis_url, settings.redis_prefix, settings.redis_timeout)
    cache = SharedCache(store.namespace("cache"))
    audit = AuditLog(session)
    hasher = PasswordHasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism,
        settings.hash_concurrency or max(1, os.cpu_count() or 1),
    )
    encryptor = Encryptor(settings.encryption_keys)
    keyring = KeyRing(
        new_session, encryptor, settings.signing_alg,
        timedelta(seconds=settings.max_token_ttl), settings.keys_refresh_interval,
    )
    users = UserDirectory(session, hasher, audit)
    login = PasswordLogin(
        session=session, users=users, hasher=hasher,
        limiter=AttemptLimiter(store.namespace("limits")),
        limits=LoginLimits.from_settings(settings), audit=audit,
    )
    access_tokens = AccessTokens(keyring, store.namespace("revoked-jti"), settings.issuer,
                                 settings.access_token_ttl)
    with contextlib.suppress(StoreUnavailable):  # else the first check after Redis is back
        access_tokens.begin_list()
    refresh_tokens = RefreshTokens(session, audit, access_tokens, RefreshLifetimes(
        settings.refresh_token_idle_ttl, settings.refresh_token_absolute_ttl,
        settings.refresh_token_retry_grace,
    ))
    admin_sessions = BrowserSessions(store.namespace("dashboard-session"))
    sso_sessions = BrowserSessions(store.namespace("sso-session"), idle=settings.sso_session_idle,
                                   absolute=settings.sso_session_ttl)
    mfa = build_mfa(session, store, users, encryptor, audit=audit,
                    sms_provider=open_provider(settings), cache=cache,
                    party=RelyingParty(settings.rp_id, settings.webauthn_origins_accepted))
    consents = Consents(session, audit, refresh_tokens)
    claims = UserClaims(mfa.authenticators, consents, mfa.groups)
    issuer = TokenIssuer(keyring, refresh_tokens, settings, claims)
    revocation = Revocation(session, refresh_tokens, access_tokens, audit,
                            settings.access_token_ttl)
    codes = AuthorizationCodes(store.namespace("authorization-code"),
                               settings.authorization_code_ttl, settings.access_token_ttl)
    clients = ClientRegistry(session, audit, cache)
    code_exchange = CodeExchange(session, codes, users, sso_sessions=sso_sessions,
                                 issuer=issuer, revocation=revocation)
    return Services(
        settings=settings,
        session=session,
        store=store,
        cache=cache,
        keyring=keyring,
        hasher=hasher,
        users=users,
        clients=clients,
        login=login,
        refresh_tokens=refresh_tokens,
        access_tokens=access_tokens,
        issuer=issuer,
        claims=claims,
        revocation=revocation,
        codes=codes,
        mfa=mfa,
        flows=build_flows(session, login, mfa, users, refresh_tokens=refresh_tokens,
                          issuer=issuer, audit=audit, sso_sessions=sso_sessions,
                          code_exchange=code_exchange, clients=clients, cache=cache),
        administration=UserAdministration(
            session, users, authenticators=mfa.authenticators, recovery=mfa.recovery_codes,
            refresh_tokens=refresh_tokens, sessions=(admin_sessions, sso_sessions),
            trusted=mfa.trusted_devices, consents=consents, audit=audit,
        ),
        admin_sessions=admin_sessions,
        sso_sessions=sso_sessions,
        consents=consents,
        audit=audit,
    )
