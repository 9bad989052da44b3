/**
 * @protekt/sdk: the Protekt client for browsers and Node 18+, on `fetch` alone.
 *
 * Password login (RFC 6749 §4.3) that answers `mfa_required` instead of throwing, the MFA calls
 * of the product guide, a stored session renewed with rotating refresh tokens (RFC 6749 §6),
 * logout by revocation (RFC 7009). Endpoints come from the server's metadata (OIDC Discovery 1.0).
 */

import { LOGIN_REQUIRED, ProtektError } from './errors.js';
import { Mfa } from './mfa.js';
import { memoryStorage } from './storage.js';
import { Transport } from './transport.js';

export { LOGIN_REQUIRED, NETWORK_ERROR, ProtektError, SERVER_ERROR } from './errors.js';
export { MFA_OOB_GRANT, MFA_OTP_GRANT, MFA_RECOVERY_CODE_GRANT, Mfa } from './mfa.js';
export { browserStorage, memoryStorage } from './storage.js';

/**
 * Scope asked for when a login names none: an ID token, the email claim, and the scopes that let
 * the access token manage the user's own factors (API.md §3), so the guide's "log in, then
 * enroll with the access token" works as written.
 */
export const DEFAULT_SCOPE = 'openid email enroll read:authenticators remove:authenticators';

const MFA_REQUIRED = 'mfa_required';
const INVALID_GRANT = 'invalid_grant';

export class Protekt {
  #transport;
  #storage;
  #scope;
  #audience;
  #marginMs;
  #sessionKey;
  /** @type {Promise<object> | undefined} the refresh in flight, shared by concurrent callers */
  #refreshing;

  /** @param {import('./index.js').ProtektOptions} options */
  constructor({
    domain, clientId, clientSecret, scope = DEFAULT_SCOPE, audience, storage = memoryStorage(),
    fetch = globalThis.fetch, refreshMarginSeconds = 60,
  }) {
    if (typeof clientId !== 'string' || clientId === '') throw new TypeError('clientId is required');
    if (typeof fetch !== 'function') throw new TypeError('no global fetch: pass options.fetch');
    if (!['get', 'set', 'remove'].every((name) => typeof storage?.[name] === 'function')) {
      throw new TypeError('storage must have get(key), set(key, value) and remove(key)');
    }
    this.#transport = new Transport({
      domain: baseUrl(domain),
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
      save: (tokens) => this.#save(tokens),
    });
  }

  /**
   * Password login (RFC 6749 §4.3). Returns the token response, kept as the session, or, when
   * the user must pass a second factor (API.md §2, 403 `mfa_required`),
   * `{mfa_required: true, mfa_token, mfa_requirements, available_factors}`.
   */
  async login({ username, password, scope = this.#scope, audience = this.#audience }) {
    let tokens;
    try {
      tokens = await this.#transport.postAsClient('token_endpoint', {
        grant_type: 'password', username, password, scope, audience,
      });
    } catch (error) {
      if (error.error !== MFA_REQUIRED) throw error;
      const { mfa_token, mfa_requirements, available_factors } = error.body;
      return { mfa_required: true, mfa_token, mfa_requirements, available_factors };
    }
    await this.#save(tokens);
    return tokens;
  }

  /**
   * A valid access token of the session. Within `refreshMarginSeconds` of its expiry it is
   * renewed with the refresh token, which rotates; concurrent callers share one refresh.
   * Throws `login_required` without a session or when the server refuses the refresh token.
   */
  async getTokenSilently() {
    const session = await this.#session();
    if (!session) throw loginRequired('No session: log in first.');
    const remaining = session.expires_at - Date.now();
    if (remaining > this.#marginMs || (remaining > 0 && !session.refresh_token)) {
      return session.access_token;
    }
    this.#refreshing ??= this.#renew(session.refresh_token).finally(() => {
      this.#refreshing = undefined;
    });
    return (await this.#refreshing).access_token;
  }

  /**
   * Refresh grant (RFC 6749 §6) with the given refresh token or the session's; the answer
   * becomes the session, its rotated refresh token replacing the spent one.
   */
  async refresh(refreshToken) {
    const token = refreshToken ?? (await this.#session())?.refresh_token;
    if (!token) throw loginRequired('No refresh token: log in first.');
    const tokens = await this.#transport.postAsClient('token_endpoint', {
      grant_type: 'refresh_token', refresh_token: token,
    });
    // RFC 6749 §6: a server that does not rotate leaves the old refresh token valid.
    await this.#save({ refresh_token: token, ...tokens });
    return tokens;
  }

  /** Revoke a refresh token (its whole family) or an access token (RFC 7009 §2). */
  async revoke(token) {
    await this.#transport.postAsClient('revocation_endpoint', { token });
  }

  /** Revoke the session's refresh token (RFC 7009) and forget the session, even if that fails. */
  async logout() {
    const session = await this.#session();
    try {
      if (session?.refresh_token) await this.revoke(session.refresh_token);
    } finally {
      await this.#storage.remove(this.#sessionKey);
    }
  }

  /** The user's claims (OIDC Core §5.3); without a token, the session's. */
  async userinfo(accessToken) {
    const url = await this.#transport.endpoint('userinfo_endpoint');
    const bearer = accessToken ?? (await this.getTokenSilently());
    return this.#transport.call('GET', url, { bearer });
  }

  /** getTokenSilently's refresh: a refused refresh token (invalid_grant) ends the session. */
  async #renew(refreshToken) {
    if (refreshToken) {
      try {
        return await this.refresh(refreshToken);
      } catch (error) {
        if (error.error !== INVALID_GRANT) throw error;
        await this.#storage.remove(this.#sessionKey);
        throw loginRequired(error.message, error);
      }
    }
    await this.#storage.remove(this.#sessionKey);
    throw loginRequired('The session has expired; log in again.');
  }

  /** @returns {Promise<import('./index.js').StoredSession | undefined>} */
  async #session() {
    const session = /** @type {any} */ (await this.#storage.get(this.#sessionKey));
    return session ?? undefined;
  }

  async #save({ access_token, refresh_token, id_token, scope, expires_in }) {
    const session = { access_token, refresh_token, id_token, scope, expires_at: Date.now() + expires_in * 1000 };
    await this.#storage.set(this.#sessionKey, session);
  }
}

/** @param {import('./index.js').ProtektOptions} options */
export function createProtekt(options) {
  return new Protekt(options);
}

/** The server's base URL, without trailing slashes; TypeError unless an http(s) URL. */
function baseUrl(domain) {
  let url;
  try {
    url = new URL(domain);
  } catch {
    throw new TypeError(`domain must be the server's URL, e.g. https://auth.example.com (got ${domain})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`domain must be an http(s) URL (got ${domain})`);
  }
  return String(domain).replace(/\/+$/, '');
}

function loginRequired(description, cause) {
  return new ProtektError({ error: LOGIN_REQUIRED, errorDescription: description, cause });
}
