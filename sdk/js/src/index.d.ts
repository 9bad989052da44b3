/**
 * Scope asked for when a login names none and its tokens are for Protekt itself (no `audience`,
 * or the domain): with the scopes that manage the user's own factors.
 */
export declare const DEFAULT_SCOPE: 'openid email enroll read:authenticators remove:authenticators';
/**
 * Scope asked for when a login names none and its `audience` is another API: no factor scopes,
 * so that API cannot replay the token at Protekt's /mfa/* endpoints.
 */
export declare const API_DEFAULT_SCOPE: 'openid email';
/** Scope of a `loginWithRedirect` that names none. */
export declare const REDIRECT_DEFAULT_SCOPE: 'openid profile email';
/** `error` of a ProtektError when the server did not answer. */
export declare const NETWORK_ERROR: 'network_error';
/** `error` of a ProtektError when the answer was not the JSON the API promises. */
export declare const SERVER_ERROR: 'server_error';
/** `error` of a ProtektError when there is no session or it could not be renewed. */
export declare const LOGIN_REQUIRED: 'login_required';
/**
 * `error` of a ProtektError from `handleRedirectCallback`: the redirect has no `state`, or no
 * login started in this tab is waiting for it (already handled, or started elsewhere).
 */
export declare const INVALID_STATE: 'invalid_state';
/** `error` of a ProtektError: the redirect's `iss` is not the issuer (RFC 9207 §2.4). */
export declare const INVALID_ISSUER: 'invalid_issuer';
/** `error` of a ProtektError: the ID token's `iss`, `aud`, `azp`, `exp`, `nonce` or `auth_time` is wrong. */
export declare const INVALID_ID_TOKEN: 'invalid_id_token';
export declare const MFA_OTP_GRANT: 'http://protekt.dev/oauth/grant-type/mfa-otp';
export declare const MFA_OOB_GRANT: 'http://protekt.dev/oauth/grant-type/mfa-oob';
export declare const MFA_RECOVERY_CODE_GRANT: 'http://protekt.dev/oauth/grant-type/mfa-recovery-code';
export declare const MFA_WEBAUTHN_GRANT: 'http://protekt.dev/oauth/grant-type/mfa-webauthn';
export declare const PASSKEY_GRANT: 'http://protekt.dev/oauth/grant-type/passkey';

/** A key-value store for the session; each method may be synchronous or return a promise. */
export interface SessionStorage {
  get(key: string): unknown | Promise<unknown>;
  set(key: string, value: StoredSession): void | Promise<void>;
  remove(key: string): void | Promise<void>;
  /**
   * For storage shared by tabs: settles once another tab has changed `key`, or after `ms`, so a
   * tab that waited for another's renewal reads the renewed session ({@link browserStorage} has it).
   */
  changed?(key: string, ms: number): Promise<void>;
}

/** What the client keeps under `protekt:<clientId>`. */
export interface StoredSession {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  /** Milliseconds since the epoch. */
  expires_at: number;
}

export interface ProtektOptions {
  /**
   * The server's base URL, e.g. `https://auth.example.com` (a trailing slash is dropped): https,
   * or http to a loopback host (127.0.0.0/8, ::1, localhost). Must be the metadata's `issuer`.
   */
  domain: string;
  clientId: string;
  /** Confidential (server-side) clients only; sent as client_secret_post. Never in a browser. */
  clientSecret?: string;
  /**
   * Default scope of `login`, sent as given; without it {@link DEFAULT_SCOPE}, or
   * {@link API_DEFAULT_SCOPE} when the login's `audience` is another API.
   */
  scope?: string;
  /** Default `audience` of `login`: the API the access token is for. */
  audience?: string;
  /** Where the session is kept; default {@link memoryStorage}. */
  storage?: SessionStorage;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Renew the access token this many seconds before it expires; default 60. */
  refreshMarginSeconds?: number;
}

/** A successful token response (RFC 6749 §5.1, README, API). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
  /** After a recovery code. */
  recovery_codes_remaining?: number;
  /** Absent: lets `if (result.mfa_required)` tell a login's two answers apart. */
  mfa_required?: undefined;
}

export type Factor = 'otp' | 'sms' | 'webauthn-platform' | 'webauthn-roaming' | 'recovery-code';

/** `login`'s answer when a second factor is needed (README, API, 403 mfa_required). */
export interface MfaRequiredResult {
  mfa_required: true;
  mfa_token: string;
  mfa_requirements: { challenge?: { type: Factor }[]; enroll?: { type: Factor }[] };
  available_factors: Factor[];
}

export interface LoginParams {
  username: string;
  password: string;
  /** Sent as given; default: the options' `scope`, else as {@link ProtektOptions.scope} says. */
  scope?: string;
  audience?: string;
  /**
   * Adaptive MFA: a random id the app keeps per browser (e.g. in localStorage), so that a
   * login from a known device is not asked a second factor; sent as `device_id`.
   */
  deviceId?: string;
}

export interface RedirectLoginOptions {
  /** Where Protekt sends the browser back; must be one of the client's registered redirect URIs. */
  redirectUri: string;
  /** Default {@link REDIRECT_DEFAULT_SCOPE}; `openid` is added when missing. */
  scope?: string;
  /** The API the access token is for; default: the options' `audience`. */
  audience?: string;
  /**
   * `none`: no page is shown, a user not signed in comes back with `login_required`. Or any of
   * `login`, `consent`, `select_account`, space-separated (OIDC Core 1.0 §3.1.2.1).
   */
  prompt?: 'none' | 'login' | 'consent' | 'select_account' | (string & {});
  /** Seconds: an older sign-in is asked again; the ID token's `auth_time` is checked against it. */
  maxAge?: number;
  /** Prefills the sign-in form (e.g. the email address). */
  loginHint?: string;
  acrValues?: string;
  /** Any JSON value, kept in this tab and given back by `handleRedirectCallback` (e.g. the page to return to). */
  appState?: unknown;
}

export interface RedirectLoginResult<AppState = unknown> {
  appState: AppState;
  /** Also kept as the session. */
  tokens: TokenResponse;
}

/** After a `loginWithRedirect`: end the sign-in at Protekt too (OIDC RP-Initiated Logout 1.0). */
export interface RedirectLogoutOptions {
  /** `post_logout_redirect_uri`: where Protekt sends the browser afterwards; a registered URI. */
  returnTo?: string;
  /** Accepted as auth0-spa-js has it; Protekt has no upstream provider, so it changes nothing. */
  federated?: boolean;
}

export type EnrollBody =
  | { type: 'otp'; name?: string }
  | { type: 'sms'; phone_number: string; name?: string }
  | { authenticator_types: ['otp']; name?: string }
  | { authenticator_types: ['oob']; oob_channels: ['sms']; phone_number: string; name?: string };

export interface Enrollment {
  id: string;
  authenticator_type: 'otp' | 'oob';
  oob_channel?: 'sms';
  active?: boolean;
  /** TOTP: base32 secret, its `otpauth://` URI, and that URI as a PNG QR code data URI. */
  secret?: string;
  barcode_uri?: string;
  qr_code?: string;
  /** SMS with phone confirmation on. */
  oob_code?: string;
  binding_method?: 'prompt';
  /** With the user's first enrollment only. */
  recovery_codes?: string[];
}

export interface Confirmation {
  id: string;
  authenticator_type: 'otp' | 'oob';
  active: true;
}

export interface ChallengeParams {
  mfa_token: string;
  challenge_type: 'otp' | 'sms' | 'oob' | 'webauthn';
  authenticator_id?: string;
}

export type ChallengeResult =
  | { challenge_type: 'otp' }
  | { challenge_type: 'oob'; oob_code: string; binding_method: 'prompt' }
  /** PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.5) for the browser's prompt. */
  | { challenge_type: 'webauthn'; options: Record<string, unknown> };

export type VerifyParams =
  | { mfa_token: string; otp: string }
  | { mfa_token: string; recovery_code: string }
  | { mfa_token: string; oob_code: string; binding_code: string };

export interface Authenticator {
  id: string;
  authenticator_type: 'otp' | 'oob' | 'recovery-code';
  oob_channel?: 'sms';
  name?: string;
  /** Masked. */
  phone_number?: string;
  active: boolean;
  created_at?: string;
  last_used_at?: string | null;
  /** Recovery codes left. */
  remaining?: number;
}

export interface UserInfo {
  sub: string;
  email?: string;
  email_verified?: boolean;
  [claim: string]: unknown;
}

/**
 * The guide's MFA calls and factor management. Where `accessToken` is optional, the session's
 * (`getTokenSilently()`) is used.
 */
export declare class Mfa {
  private constructor();
  enroll(body: EnrollBody, accessToken?: string): Promise<Enrollment>;
  confirmEnrollment(authenticatorId: string, answer: { otp: string } | { binding_code: string } | { credential: string }, accessToken?: string): Promise<Confirmation>;
  /** An SMS challenge's `oob_code` is remembered (10 minutes) for `verify`. */
  challenge(params: ChallengeParams): Promise<ChallengeResult>;
  /** Stores the tokens as the session. */
  verify(params: VerifyParams): Promise<TokenResponse>;
  listAuthenticators(accessToken?: string): Promise<Authenticator[]>;
  deleteAuthenticator(authenticatorId: string, accessToken?: string): Promise<void>;
  regenerateRecoveryCodes(accessToken?: string): Promise<{ recovery_codes: string[] }>;
  /**
   * Browser only (WebAuthn Level 3). Enroll a passkey (`webauthn-platform`, the default) or a
   * security key (`webauthn-roaming`): Protekt's creation options, the browser's prompt, and the
   * confirmation. With the mfa_token of a login whose user must enroll first, the registration
   * finishes that login: its tokens come as `tokens` and are kept as the session.
   */
  enrollPasskey(options?: { type?: 'webauthn-platform' | 'webauthn-roaming'; name?: string },
    accessToken?: string): Promise<PasskeyEnrollment>;
  /** Browser only. The second step with a passkey; stores the tokens as the session. */
  verifyPasskey(mfaToken: string, options?: { authenticatorId?: string }): Promise<TokenResponse>;
}

export interface PasskeyEnrollment {
  id: string;
  authenticator_type: 'webauthn-platform' | 'webauthn-roaming';
  active: true;
  /** With the user's first enrollment only. */
  recovery_codes?: string[];
  /** When enrolled with an mfa_token: the login's tokens. */
  tokens?: TokenResponse;
}

export interface PasskeyLoginOptions {
  scope?: string;
  audience?: string;
  /** `'conditional'`: offer the passkeys in the autofill of an input with autocomplete `webauthn`. */
  mediation?: 'conditional' | 'optional' | 'required' | 'silent';
  signal?: AbortSignal;
}

/**
 * One user's session with Protekt. An instance holds one session (under `protekt:<clientId>` in
 * its storage): a Node backend serving many users makes one per user session, with that
 * session's storage, never one shared by all users. Renewals are shared within an instance and,
 * in browsers, across tabs (Web Locks API); not between instances in Node.
 */
export declare class Protekt {
  constructor(options: ProtektOptions);
  readonly mfa: Mfa;
  /** Password login; tokens (kept as the session) or the mfa_required result, never thrown. */
  login(params: LoginParams): Promise<TokenResponse | MfaRequiredResult>;
  /**
   * Browser only (WebAuthn Level 3). Passwordless sign-in with a passkey; tokens (kept as the
   * session) or the mfa_required result when the deployment does not count a passkey as MFA.
   */
  loginWithPasskey(options?: PasskeyLoginOptions): Promise<TokenResponse | MfaRequiredResult>;
  /**
   * Browser only. Sign in at Protekt's own pages (OIDC authorization code flow with PKCE): keeps
   * a code_verifier, nonce and `appState` in sessionStorage under a new `state`, then navigates
   * (`window.location.assign`) to the authorization endpoint.
   */
  loginWithRedirect(options: RedirectLoginOptions): Promise<void>;
  /**
   * Browser only. On the `redirectUri` page: checks `state` (single use) and `iss`, throws the
   * redirect's `error` (e.g. `login_required`) as a ProtektError, exchanges the code, checks the
   * ID token's `iss`, `aud`, `exp` and `nonce`, and keeps the tokens as the session.
   * @param url default: `window.location.href`
   */
  handleRedirectCallback<AppState = unknown>(url?: string): Promise<RedirectLoginResult<AppState>>;
  /**
   * A valid access token, renewed when needed: one renewal at a time, shared by concurrent
   * callers and, through the Web Locks API, by the origin's other tabs. Throws `login_required`.
   */
  getTokenSilently(): Promise<string>;
  refresh(refreshToken?: string): Promise<TokenResponse>;
  revoke(token: string): Promise<void>;
  /**
   * Waits for a renewal in flight, revokes the session's refresh token and forgets the session;
   * an answer to a request sent before it is not stored afterwards. With options (browser only),
   * then navigates to Protekt's end_session_endpoint with `id_token_hint`, `client_id`,
   * `post_logout_redirect_uri` (= `returnTo`) and a `state`, even if the revocation failed.
   */
  logout(options?: RedirectLogoutOptions): Promise<void>;
  userinfo(accessToken?: string): Promise<UserInfo>;
}

/** A client for one user's session (in a Node backend, one per user session): see {@link Protekt}. */
export declare function createProtekt(options: ProtektOptions): Protekt;

export declare class ProtektError extends Error {
  constructor(fields: {
    error: string; errorDescription?: string; status?: number; retryAfter?: number;
    body?: Record<string, unknown>; cause?: unknown;
  });
  /**
   * The OAuth error code (RFC 6749 §5.2, or of a redirect, §4.1.2.1), or `network_error`,
   * `server_error`, `login_required`, `invalid_state`, `invalid_issuer`, `invalid_id_token`.
   */
  readonly error: string;
  /** The server's `error_description`. */
  readonly errorDescription?: string;
  /** The HTTP status; 0 without an answer. */
  readonly status: number;
  /** Seconds to wait before retrying (`Retry-After`). */
  readonly retryAfter?: number;
  /** The whole error body, when the server sent one. */
  readonly body?: Record<string, unknown>;
  /**
   * True when no wait helps and the user must log in again (`too_many_attempts` for an
   * mfa_token voided by wrong codes): don't retry, start a new login.
   */
  readonly loginAgain: boolean;
}

/** A Web Storage area, as `window.localStorage` and `window.sessionStorage` are. */
export interface WebStorageArea {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export declare function memoryStorage(): SessionStorage;
/** `window.localStorage` or `window.sessionStorage`; values stored as JSON. */
export declare function browserStorage(area: WebStorageArea): SessionStorage;
