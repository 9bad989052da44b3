/**
 * @protekt/sdk: the Protekt client for browsers and Node 18+, on `fetch` alone.
 *
 * Password login (RFC 6749 §4.3) that answers `mfa_required` instead of throwing, sign-in at
 * Protekt's own pages by redirect (OIDC Core 1.0 §3.1 with PKCE, RFC 7636), the MFA calls of the
 * product guide, a stored session renewed with rotating refresh tokens (RFC 6749 §6), logout by
 * revocation (RFC 7009) and, after a redirect sign-in, at Protekt too (OIDC RP-Initiated Logout
 * 1.0). Endpoints come from the server's metadata (OIDC Discovery 1.0).
 */

import { LOGIN_REQUIRED, ProtektError, SERVER_ERROR } from './errors.js';
import { Mfa } from './mfa.js';
import { PASSKEY_GRANT, getCredential, requireWebAuthn } from './passkeys.js';
import {
  INVALID_ISSUER, INVALID_STATE, Transactions, browserWindow, checkIdToken, codeChallenge, randomToken, validPrompt,
  withOpenid,
} from './redirect.js';
import { memoryStorage } from './storage.js';
import { Transport } from './transport.js';
import { secureBaseUrl } from './url.js';

export { LOGIN_REQUIRED, NETWORK_ERROR, ProtektError, SERVER_ERROR } from './errors.js';
export { MFA_OTP_GRANT, MFA_OOB_GRANT, MFA_RECOVERY_CODE_GRANT, Mfa } from './mfa.js';
export { MFA_WEBAUTHN_GRANT, PASSKEY_GRANT } from './passkeys.js';
export { INVALID_ID_TOKEN, INVALID_ISSUER, INVALID_STATE } from './redirect.js';
export { browserStorage, memoryStorage } from './storage.js';

/**
 * Scope asked for when a login names none and its tokens are for Protekt itself (no `audience`,
 * or the domain): an ID token, the email claim, and the scopes that let the access token manage
 * the user's own factors (README, API), so the guide's "log in, then enroll with the access token"
 * works as written.
 */
export const DEFAULT_SCOPE = 'openid email enroll read:authenticators remove:authenticators';

/**
 * Scope asked for when a login names none and its `audience` is another API: without the factor
 * scopes, which Protekt grants only in tokens for itself. A token sent to an API must not let
 * that API replay it at Protekt's /mfa/* endpoints (RFC 8707 §2, RFC 9700 §2.3).
 */
export const API_DEFAULT_SCOPE = 'openid email';

/** Scope of a `loginWithRedirect` that names none: an ID token and the user's profile and email. */
export const REDIRECT_DEFAULT_SCOPE = 'openid profile email';

const MFA_REQUIRED = 'mfa_required';
/** How long a tab that waited for another's lock waits for that tab's write to reach it. */
const SETTLE_MS = 1000;
const INVALID_GRANT = 'invalid_grant';
const ignore = () => {};

/**
 * One user's session with Protekt: login, MFA, and the stored tokens kept fresh. An instance
 * holds one session (under `protekt:<clientId>` in its storage, whoever the user is), so a Node
 * backend serving many users makes one per user session, with that session's storage, never one
 * for all. Renewals are shared within an instance and, in browsers, across tabs (Web Locks API);
 * Node has no such lock between instances, so keep one instance per session rather than one per
 * request when a session's requests may renew at once.
 */
export class Protekt {
  #transport;
  #storage;
  #scope;
  #audience;
  #marginMs;
  #sessionKey;
  /** @type {Promise<object> | undefined} the refresh in flight, shared by concurrent callers */
  #refreshing;
  /** Bumped by logout: a save begun before it is refused, so nothing revives the session. */
  #generation = 0;

  /** @param {import('./index.js').ProtektOptions} options */
  constructor({
    domain, clientId, clientSecret, scope, audience, storage = memoryStorage(),
    fetch = globalThis.fetch, refreshMarginSeconds = 60,
  }) {
    if (typeof clientId !== 'string' || clientId === '') throw new TypeError('clientId is required');
    if (typeof fetch !== 'function') throw new TypeError('no global fetch: pass options.fetch');
    if (!['get', 'set', 'remove'].every((name) => typeof storage?.[name] === 'function')) {
      throw new TypeError('storage must have get(key), set(key, value) and remove(key)');
    }
    this.#transport = new Transport({
      domain: secureBaseUrl(domain, 'domain'),
      clientId,
      clientSecret,
      // Called unbound: a browser's fetch called as another object's method is an Illegal invocation.
      fetch: (url, init) => fetch(url, init),
    });
    this.#storage = storage;
    this.#scope = scope;
    this.#audience = audience;
    this.#marginMs = refreshMarginSeconds * 1000;
    this.#sessionKey = `protekt:${clientId}`;
    /** The guide's MFA calls and factor management. */
    this.mfa = new Mfa(this.#transport, {
      accessToken: () => this.getTokenSilently(),
      saver: () => this.#saver(),
    });
  }

  /**
   * Password login (RFC 6749 §4.3). Returns the token response, kept as the session, or, when
   * the user must pass a second factor (README, API, 403 `mfa_required`),
   * `{mfa_required: true, mfa_token, mfa_requirements, available_factors}`. Without a scope,
   * DEFAULT_SCOPE, or API_DEFAULT_SCOPE when `audience` is another API; a scope given is sent as is.
   */
  async login({ username, password, scope = this.#scope, audience = this.#audience, deviceId }) {
    return this.#signIn({
      grant_type: 'password', username, password, scope: scope ?? this.#defaultScope(audience), audience,
      device_id: deviceId,
    });
  }

  /**
   * Passwordless sign-in with a passkey (README, Passkeys): a passkey session from Protekt, the
   * browser's prompt (`mediation: 'conditional'` offers the passkeys in the autofill of an input
   * whose autocomplete holds `webauthn`; `signal` aborts it), then the passkey grant. Returns what
   * `login` returns: the tokens, kept as the session, or `{mfa_required: true, ...}` when the
   * deployment does not count a passkey as MFA and the account needs a second factor.
   * Browser-only: Node.js has no authenticator.
   */
  async loginWithPasskey({ scope = this.#scope, audience = this.#audience, mediation, signal } = {}) {
    requireWebAuthn('loginWithPasskey');
    const started = await this.#transport.postAsClient('passkey_challenge_endpoint', {});
    const credential = await getCredential(started.options, 'loginWithPasskey', { mediation, signal });
    return this.#signIn({
      grant_type: PASSKEY_GRANT, passkey_session: started.passkey_session, credential,
      scope: scope ?? this.#defaultScope(audience), audience,
    });
  }

  /** A first-step grant: the tokens, kept as the session, or the mfa_required answer. */
  async #signIn(form) {
    const save = this.#saver();
    let tokens;
    try {
      tokens = await this.#transport.postAsClient('token_endpoint', form);
    } catch (error) {
      if (error.error !== MFA_REQUIRED) throw error;
      const { mfa_token, mfa_requirements, available_factors } = error.body;
      return { mfa_required: true, mfa_token, mfa_requirements, available_factors };
    }
    await save(tokens);
    return tokens;
  }

  /**
   * Sign in at Protekt's own pages (OIDC Core 1.0 §3.1, authorization code flow with PKCE,
   * RFC 7636): keeps a fresh code_verifier, nonce and `appState` in this tab's sessionStorage
   * under a new `state`, then sends the browser to the authorization endpoint. Protekt redirects
   * back to `redirectUri`, where `handleRedirectCallback()` finishes the login.
   * @param {import('./index.js').RedirectLoginOptions} options
   */
  async loginWithRedirect({
    redirectUri, scope = REDIRECT_DEFAULT_SCOPE, audience = this.#audience, prompt, maxAge, loginHint, acrValues,
    appState,
  } = {}) {
    if (typeof redirectUri !== 'string' || redirectUri === '') throw new TypeError('redirectUri is required');
    if (prompt !== undefined && !validPrompt(prompt)) {
      throw new TypeError(`prompt must be none, or any of login, consent, select_account (got ${prompt})`);
    }
    if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 0)) {
      throw new TypeError(`maxAge must be a whole number of seconds (got ${maxAge})`);
    }
    const page = browserWindow('loginWithRedirect');
    const [verifier, state, nonce] = [randomToken(), randomToken(), randomToken()];
    const url = urlWith(await this.#transport.endpoint('authorization_endpoint', '/authorize'), {
      response_type: 'code', client_id: this.#transport.clientId, redirect_uri: redirectUri,
      scope: withOpenid(scope), state, nonce, code_challenge: await codeChallenge(verifier),
      code_challenge_method: 'S256', prompt, max_age: maxAge, login_hint: loginHint, acr_values: acrValues,
      audience,
    });
    this.#transactions(page).save(state, { verifier, nonce, redirectUri, appState, maxAge });
    page.location.assign(url);
  }

  /**
   * Finish a `loginWithRedirect` on the page Protekt redirected to: checks the response's
   * `state` (a login this tab started; each is used once) and `iss` (RFC 9207), turns an `error`
   * into a ProtektError with that code (e.g. `login_required` after `prompt: 'none'`), exchanges
   * the code with its code_verifier, checks the ID token's `iss`, `aud`, `exp` and `nonce`
   * (OIDC Core 1.0 §3.1.3.7), and keeps the tokens as the session.
   * @param {string} [url] default: the page's URL
   * @returns {Promise<{ appState: unknown, tokens: import('./index.js').TokenResponse }>}
   */
  async handleRedirectCallback(url) {
    const page = browserWindow('handleRedirectCallback');
    const params = new URL(url ?? page.location.href).searchParams;
    const state = params.get('state');
    const entry = state ? this.#transactions(page).take(state) : undefined;
    if (!entry) throw unknownState(state);
    await this.#checkResponseIssuer(params.get('iss'));
    const error = params.get('error');
    if (error !== null) throw authorizationError(params, entry.appState);
    const code = params.get('code');
    if (!code) {
      throw new ProtektError({ error: SERVER_ERROR, errorDescription: 'The redirect carries neither a code nor an error.' });
    }
    const save = this.#saver();
    const tokens = await this.#transport.postAsClient('token_endpoint', {
      grant_type: 'authorization_code', code, redirect_uri: entry.redirectUri, code_verifier: entry.verifier,
    });
    checkIdToken(tokens.id_token, {
      issuer: this.#transport.domain, clientId: this.#transport.clientId, nonce: entry.nonce, maxAge: entry.maxAge,
    });
    await save(tokens);
    return { appState: entry.appState, tokens };
  }

  /**
   * A valid access token of the session. Within `refreshMarginSeconds` of its expiry it is
   * renewed with the refresh token, which rotates (RFC 9700 §4.14.2: a refresh token used twice
   * ends the login). So one renewal runs at a time: concurrent callers share it, and other tabs
   * wait for it (Web Locks API) and then find the session renewed.
   * Throws `login_required` without a session or when the server refuses the refresh token.
   */
  async getTokenSilently() {
    const session = await this.#session();
    if (!session) throw loginRequired('No session: log in first.');
    if (this.#fresh(session)) return session.access_token;
    this.#refreshing ??= this.#exclusive(() => this.#renewIfStale()).finally(() => {
      this.#refreshing = undefined;
    });
    return (await this.#refreshing).access_token;
  }

  /**
   * Refresh grant (RFC 6749 §6) with the given refresh token or the session's; the answer
   * becomes the session, its rotated refresh token replacing the spent one.
   */
  async refresh(refreshToken) {
    const save = this.#saver();
    const token = refreshToken ?? (await this.#session())?.refresh_token;
    if (!token) throw loginRequired('No refresh token: log in first.');
    const tokens = await this.#transport.postAsClient('token_endpoint', {
      grant_type: 'refresh_token', refresh_token: token,
    });
    // RFC 6749 §6: a server that does not rotate leaves the old refresh token valid.
    await save({ refresh_token: token, ...tokens });
    return tokens;
  }

  /** Revoke a refresh token (its whole family) or an access token (RFC 7009 §2). */
  async revoke(token) {
    await this.#transport.postAsClient('revocation_endpoint', { token });
  }

  /**
   * Revoke the session's refresh token (RFC 7009) and forget the session, even if that fails.
   * A renewal in flight is waited for first, so the token revoked is the latest one; no answer
   * to a request sent before the logout is kept afterwards.
   *
   * With options (after a `loginWithRedirect`), the browser then goes to Protekt's
   * end_session_endpoint (OIDC RP-Initiated Logout 1.0 §2), which ends the user's sign-in there
   * too and sends them back to `returnTo`; a failed revocation does not stop it. `federated` is
   * accepted as auth0-spa-js has it; Protekt has no upstream provider to sign out of.
   * @param {{ returnTo?: string, federated?: boolean }} [options]
   */
  async logout(options) {
    if (options === undefined) {
      await this.#refreshing?.catch(ignore);
      await this.#exclusive(() => this.#endSession());
      return;
    }
    const page = browserWindow('logout');
    const idToken = (await this.#session())?.id_token;
    await this.#refreshing?.catch(ignore);
    await this.#exclusive(() => this.#endSession()).catch(ignore);
    page.location.assign(urlWith(await this.#transport.endpoint('end_session_endpoint', '/logout'), {
      id_token_hint: idToken, client_id: this.#transport.clientId, post_logout_redirect_uri: options.returnTo,
      state: randomToken(),
    }));
  }

  /** The user's claims (OIDC Core §5.3); without a token, the session's. */
  async userinfo(accessToken) {
    const url = await this.#transport.endpoint('userinfo_endpoint');
    const bearer = accessToken ?? (await this.getTokenSilently());
    return this.#transport.call('GET', url, { bearer });
  }

  /**
   * RFC 9207 §2.4: an `iss` in the redirect must be the issuer; one missing is refused only when
   * the metadata says the server always sends it (`authorization_response_iss_parameter_supported`).
   */
  async #checkResponseIssuer(iss) {
    const issuer = this.#transport.domain;
    if (iss === null) {
      const metadata = await this.#transport.metadata();
      if (metadata.authorization_response_iss_parameter_supported !== true) return;
    }
    if (iss !== issuer) {
      throw new ProtektError({
        error: INVALID_ISSUER,
        errorDescription: `The redirect names issuer ${iss}, not ${issuer} (RFC 9207): it is not Protekt's answer.`,
      });
    }
  }

  /** The logins in progress in this tab (its sessionStorage). */
  #transactions(page) {
    return new Transactions(page.sessionStorage, this.#transport.clientId);
  }

  /** The scope of a login that names none: DEFAULT_SCOPE for Protekt's own tokens. */
  #defaultScope(audience) {
    const own = !audience || String(audience).replace(/\/+$/, '') === this.#transport.domain;
    return own ? DEFAULT_SCOPE : API_DEFAULT_SCOPE;
  }

  /** Whether the session's access token is used as it is. */
  #fresh(session) {
    const remaining = session.expires_at - Date.now();
    return remaining > this.#marginMs || (remaining > 0 && !session.refresh_token);
  }

  /**
   * Run `work` holding the session's lock: the Web Locks API's, shared by the origin's tabs,
   * where there is one (browsers); elsewhere the caller's own promise is the only guard.
   */
  #exclusive(work) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return work();
    return locks.request(this.#sessionKey, { ifAvailable: true }, (free) => {
      if (free) return work();
      // Another tab holds it, and may be renewing: its write reaches this tab asynchronously,
      // so wait (listening from now) until it has, or SETTLE_MS, before reading the session.
      const settled = this.#storage.changed?.(this.#sessionKey, SETTLE_MS);
      return locks.request(this.#sessionKey, async () => {
        await settled;
        return work();
      });
    });
  }

  /**
   * Under the lock: the session as stored now. Another tab or caller may have renewed it while
   * this one waited; only a session still stale is renewed, with the refresh token read here.
   */
  async #renewIfStale() {
    const session = await this.#session();
    if (!session) throw loginRequired('No session: log in first.');
    return this.#fresh(session) ? session : this.#renew(session.refresh_token);
  }

  /**
   * getTokenSilently's refresh: a refused refresh token (invalid_grant) ends the session,
   * unless the session now holds another one (a newer login or renewal elsewhere).
   */
  async #renew(refreshToken) {
    if (!refreshToken) {
      await this.#storage.remove(this.#sessionKey);
      throw loginRequired('The session has expired; log in again.');
    }
    try {
      return await this.refresh(refreshToken);
    } catch (error) {
      if (error.error !== INVALID_GRANT) throw error;
      if ((await this.#session())?.refresh_token === refreshToken) await this.#storage.remove(this.#sessionKey);
      throw loginRequired(error.message, error);
    }
  }

  /** logout's work, under the lock: revoke the stored refresh token, then forget the session. */
  async #endSession() {
    const session = await this.#session();
    try {
      if (session?.refresh_token) await this.revoke(session.refresh_token);
    } finally {
      this.#generation += 1;
      await this.#storage.remove(this.#sessionKey);
    }
  }

  /** @returns {Promise<import('./index.js').StoredSession | undefined>} */
  async #session() {
    const session = /** @type {any} */ (await this.#storage.get(this.#sessionKey));
    return session ?? undefined;
  }

  /**
   * A function that stores a token response as the session, taken when a request starts: if a
   * logout ends the session before the answer comes, it throws `login_required` instead.
   */
  #saver() {
    const generation = this.#generation;
    return async ({ access_token, refresh_token, id_token, scope, expires_in }) => {
      if (generation !== this.#generation) throw loginRequired('Logged out while this request was in flight.');
      const session = { access_token, refresh_token, id_token, scope, expires_at: Date.now() + expires_in * 1000 };
      await this.#storage.set(this.#sessionKey, session);
    };
  }
}

/**
 * A client for one user's session (see Protekt): in a Node backend serving many users, one per
 * user session, each with that session's storage.
 * @param {import('./index.js').ProtektOptions} options
 */
export function createProtekt(options) {
  return new Protekt(options);
}

function loginRequired(description, cause) {
  return new ProtektError({ error: LOGIN_REQUIRED, errorDescription: description, cause });
}

/** `base` with `params` in its query; undefined and null values are left out. */
function urlWith(base, params) {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

/** A redirect whose state no login in this tab is waiting for (or that carries none). */
function unknownState(state) {
  const description = state
    ? 'No login in this tab is waiting for this redirect\'s state: it was handled already, or started elsewhere.'
    : 'The redirect carries no state.';
  return new ProtektError({ error: INVALID_STATE, errorDescription: description });
}

/**
 * The error of an authorization response (RFC 6749 §4.1.2.1): its code and description; `body`
 * holds them with the `state` and the login's `appState`.
 * @param {URLSearchParams} params
 */
function authorizationError(params, appState) {
  const error = /** @type {string} */ (params.get('error'));
  const description = params.get('error_description') ?? undefined;
  return new ProtektError({
    error,
    errorDescription: description,
    body: { error, error_description: description, state: params.get('state'), appState },
  });
}
