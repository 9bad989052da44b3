/**
 * Sign-in at Protekt's own pages: the OpenID Connect authorization code flow with PKCE
 * (OIDC Core 1.0 §3.1, RFC 7636, RFC 9700 §2.1.1), for browsers. What `loginWithRedirect` keeps
 * in the tab for `handleRedirectCallback`, and the checks on what comes back.
 */

import { ProtektError } from './errors.js';

/** `error` of a ProtektError: the redirect's `state` is missing, or no login in this tab sent it. */
export const INVALID_STATE = 'invalid_state';
/** `error` of a ProtektError: the redirect's `iss` is not the issuer (RFC 9207 §2.4). */
export const INVALID_ISSUER = 'invalid_issuer';
/** `error` of a ProtektError: the ID token's `iss`, `aud`, `exp`, `nonce` or `auth_time` is wrong. */
export const INVALID_ID_TOKEN = 'invalid_id_token';

/** The values of `prompt`, a space-separated list (OIDC Core 1.0 §3.1.2.1). */
const PROMPTS = ['none', 'login', 'consent', 'select_account'];
/** Clock skew allowed on `exp` and `auth_time`: a browser's clock is the user's. */
const CLOCK_SKEW_SECONDS = 60;
/** 32 random bytes, base64url: a 43-character code_verifier (RFC 7636 §4.1), state or nonce. */
const RANDOM_BYTES = 32;

/**
 * The page's `window`, for the calls that navigate or keep a login in the tab; a TypeError
 * where there is none (Node).
 * @param {string} call the SDK call, for the message
 */
export function browserWindow(call) {
  const page = globalThis.window;
  if (!page?.location || !page?.sessionStorage) {
    throw new TypeError(`${call} runs in a browser: it needs window.location and window.sessionStorage`);
  }
  return page;
}

/** A random base64url string (RFC 4648 §5) from `crypto.getRandomValues`. */
export function randomToken() {
  return base64url(webCrypto().getRandomValues(new Uint8Array(RANDOM_BYTES)));
}

/**
 * The S256 `code_challenge` of a `code_verifier`: BASE64URL(SHA-256(ASCII(verifier)))
 * (RFC 7636 §4.2).
 * @param {string} verifier
 */
export async function codeChallenge(verifier) {
  const digest = await webCrypto().subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/**
 * Whether `prompt` is a space-separated list of OIDC Core 1.0 §3.1.2.1 values, `none` only alone.
 * @param {unknown} prompt
 */
export function validPrompt(prompt) {
  const values = String(prompt).split(' ').filter(Boolean);
  return values.length > 0 && values.every((value) => PROMPTS.includes(value))
    && (!values.includes('none') || values.length === 1);
}

/** `scope` with `openid` in it: without it there is no ID token, so no nonce to check. */
export function withOpenid(scope) {
  const scopes = String(scope).split(' ').filter(Boolean);
  return scopes.includes('openid') ? scopes.join(' ') : ['openid', ...scopes].join(' ');
}

/**
 * The logins in progress in this tab, in `sessionStorage` (it outlives the redirect and stays in
 * the tab), one entry per `state`: two logins started side by side do not overwrite each other.
 * An entry is read once: taking it deletes it.
 */
export class Transactions {
  #area;
  #prefix;

  /**
   * @param {import('./index.js').WebStorageArea} area
   * @param {string} clientId
   */
  constructor(area, clientId) {
    this.#area = area;
    this.#prefix = `protekt:login:${clientId}:`;
  }

  /** @param {string} state @param {object} entry */
  save(state, entry) {
    this.#area.setItem(this.#prefix + state, JSON.stringify(entry));
  }

  /** The entry kept for `state`, deleted; undefined when there is none (or it is not JSON). */
  take(state) {
    const key = this.#prefix + state;
    const text = this.#area.getItem(key);
    if (text === null) return undefined;
    this.#area.removeItem(key);
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
}

/**
 * The ID token's claims once `iss`, `aud` (and `azp`), `exp`, `nonce` and, when `max_age` was
 * asked for, `auth_time` hold (OIDC Core 1.0 §3.1.3.7). The token came straight from the token
 * endpoint over TLS, so its signature is not checked here (§3.1.3.7 point 6).
 * @param {unknown} idToken
 * @param {{ issuer: string, clientId: string, nonce: string, maxAge?: number, now?: number }} expected
 */
export function checkIdToken(idToken, { issuer, clientId, nonce, maxAge, now = Date.now() }) {
  const claims = payloadOf(idToken);
  const seconds = now / 1000;
  if (claims.iss !== issuer) refuse(`The ID token was issued by ${claims.iss}, not ${issuer}.`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(clientId)) refuse('The ID token is not meant for this client (aud).');
  if (claims.azp !== undefined && claims.azp !== clientId) refuse('The ID token was issued to another client (azp).');
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS <= seconds) refuse('The ID token has expired.');
  if (typeof claims.nonce !== 'string' || claims.nonce !== nonce) {
    refuse('The ID token\'s nonce is not the one this login sent: it belongs to another login.');
  }
  if (maxAge !== undefined && !recentEnough(claims.auth_time, maxAge, seconds)) {
    refuse(`The ID token's auth_time is missing or older than the max_age asked for (${maxAge} s).`);
  }
  return claims;
}

/** Whether the user authenticated at most `maxAge` seconds ago (OIDC Core 1.0 §3.1.3.7 point 13). */
function recentEnough(authTime, maxAge, seconds) {
  return typeof authTime === 'number' && authTime + maxAge + CLOCK_SKEW_SECONDS >= seconds;
}

/** The payload of a compact JWS (RFC 7515 §7.1) as an object, or an `invalid_id_token`. */
function payloadOf(jwt) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) refuse('The token response has no ID token, or it is not a JWT.');
  try {
    const binary = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (claims && typeof claims === 'object' && !Array.isArray(claims)) return claims;
  } catch {
    // refused below
  }
  return refuse('The ID token\'s payload is not a JSON object.');
}

function refuse(description) {
  throw new ProtektError({ error: INVALID_ID_TOKEN, errorDescription: description });
}

/** base64url without padding (RFC 4648 §5). */
function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The Web Crypto API; browsers give `crypto.subtle` to secure contexts only (https, localhost). */
function webCrypto() {
  const crypto = globalThis.crypto;
  if (typeof crypto?.getRandomValues !== 'function' || typeof crypto?.subtle?.digest !== 'function') {
    throw new TypeError('loginWithRedirect needs the Web Crypto API (crypto.subtle): serve the page over https or from localhost');
  }
  return crypto;
}
