/**
 * @protekt/sdk/server: checking Protekt access tokens in a Node API (a resource server).
 *
 * An access token is a JWT per RFC 9068. It is accepted only when its signature verifies with a
 * key from the issuer's JWKS (RFC 7517) under an allow-listed algorithm (RFC 8725 §3.1), its
 * header `typ` is `at+jwt` (RFC 9068 §4), and `iss`, `aud` and `exp` hold (RFC 9068 §4, RFC 7519
 * §4.1). A refusal is a BearerError carrying the RFC 6750 §3 `WWW-Authenticate` value; a token
 * whose login lacked a second factor gets RFC 9470's `insufficient_user_authentication`.
 */

import { createRemoteJWKSet, jwtVerify } from 'jose';

import { secureBaseUrl, secureUrl } from './url.js';

/** What Protekt signs with (README, API); never `none` nor an HMAC algorithm (RFC 8725 §3.1). */
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
const ACCESS_TOKEN_TYP = 'at+jwt'; // RFC 9068 §2.1; jose also accepts application/at+jwt
const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']; // RFC 9068 §2.2

/** HTTP status of each refusal: RFC 6750 §3.1 and RFC 9470 §3. */
const STATUS = {
  invalid_token: 401,
  insufficient_scope: 403,
  insufficient_user_authentication: 401,
};

/** Public text for the token problems jose reports, by error code (then by claim). */
const TOKEN_PROBLEMS = {
  ERR_JWT_EXPIRED: 'The access token has expired.',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "The access token's signature does not verify.",
  ERR_JOSE_ALG_NOT_ALLOWED: "The access token's algorithm is not accepted.",
  ERR_JWKS_NO_MATCHING_KEY: 'The access token was not signed by a key of the issuer.',
};
const CLAIM_PROBLEMS = {
  iss: 'The access token comes from another issuer.',
  aud: 'The access token is not meant for this API (aud).',
  typ: 'The token is not an access token (typ).',
};
const KEY_LOOKUP_MISSES = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS']);
/** How long a metadata or JWKS fetch may take. */
const FETCH_TIMEOUT_MS = 5000;
/** After a failed metadata fetch, how long requests get KeysUnavailableError without a new one. */
const DISCOVERY_COOLDOWN_MS = 30_000;

/** The acr that asks Protekt for a second factor (OIDC Core §3.1.2.1). */
export const MULTI_FACTOR_ACR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';

/** A refused request: `error`, `status` and the `WWW-Authenticate` value to answer with. */
export class BearerError extends Error {
  /**
   * @param {object} fields
   * @param {'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication'} fields.error
   * @param {string} fields.description the `error_description`
   * @param {string} [fields.scope] the scope the request needs (insufficient_scope)
   * @param {string} [fields.realm]
   * @param {unknown} [fields.cause]
   */
  constructor({ error, description, scope, realm, cause }) {
    super(description, cause === undefined ? undefined : { cause });
    this.name = 'BearerError';
    this.error = error;
    this.status = STATUS[error];
    this.description = description;
    this.scope = scope;
    // RFC 9470 §3: the acr_values to sign in again with (loginWithRedirect({ acrValues })).
    this.acrValues = error === 'insufficient_user_authentication' ? MULTI_FACTOR_ACR : undefined;
    this.wwwAuthenticate = bearerChallenge({
      realm, error, description, scope, acr_values: this.acrValues,
    });
  }
}

/**
 * The issuer's keys could not be fetched: the token is neither good nor bad yet. Answer 503
 * (`temporarily_unavailable`), not 401.
 */
export class KeysUnavailableError extends Error {
  constructor(issuer, cause) {
    super(`The signing keys of ${issuer} could not be fetched.`, { cause });
    this.name = 'KeysUnavailableError';
    this.error = 'temporarily_unavailable';
    this.status = 503;
  }
}

/**
 * A `WWW-Authenticate` value for the Bearer scheme (RFC 6750 §3): `Bearer realm="api"` for a
 * request without a token (§3.1: no error code then), with `error`, `error_description` and
 * `scope` for a refusal, and RFC 9470's `acr_values` for a login without a second factor.
 * Values are quoted strings without `"` or `\` (§3).
 * @param {{ realm?: string, error?: string, description?: string, scope?: string,
 *   acr_values?: string }} [params]
 */
export function bearerChallenge({ realm, error, description, scope, acr_values: acrValues } = {}) {
  const params = [['realm', realm], ['error', error], ['error_description', description], ['scope', scope],
    ['acr_values', acrValues]]
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}="${quotable(value)}"`);
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
}

/**
 * The claims of a good access token, or a BearerError saying what the request lacks.
 *
 * @param {string} token the Bearer token of the request (RFC 6750 §2.1)
 * @param {object} options
 * @param {string} options.issuer Protekt's URL, the tokens' `iss` (a trailing slash is dropped);
 *   https, or http to a loopback host (TypeError otherwise)
 * @param {string} options.audience this API's identifier: the `audience` its clients log in with
 * @param {string[]} [options.algorithms] allowed `alg` values
 * @param {string | string[]} [options.scope] scopes the token must all hold (RFC 6750 §3.1)
 * @param {boolean} [options.requireMfa] `amr` must hold `mfa` (RFC 8176 §2, RFC 9470 §3)
 * @param {number} [options.clockTolerance] seconds of clock skew allowed on `exp` (default 5)
 * @param {string} [options.jwksUri] where the keys are (https, or http to a loopback host);
 *   default: the issuer's metadata `jwks_uri`
 * @param {string} [options.realm] the `realm` of the challenge (RFC 6750 §3)
 */
export async function verifyAccessToken(token, {
  issuer, audience, algorithms = DEFAULT_ALGORITHMS, scope, requireMfa = false, clockTolerance = 5,
  jwksUri, realm,
}) {
  if (!issuer || !audience) throw new TypeError('verifyAccessToken needs issuer and audience');
  const keys = keySet(secureBaseUrl(issuer, 'issuer'), jwksUri && secureUrl(jwksUri, 'jwksUri'));
  const claims = await verifiedClaims(token, { keys, audience, algorithms, clockTolerance, realm });
  const needed = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : (scope ?? []);
  const granted = new Set(String(claims.scope ?? '').split(' '));
  const missing = needed.filter((name) => !granted.has(name));
  if (missing.length > 0) {
    throw new BearerError({
      error: 'insufficient_scope',
      description: `The access token lacks scope ${missing.join(' ')}.`,
      scope: needed.join(' '),
      realm,
    });
  }
  if (requireMfa && !(Array.isArray(claims.amr) && claims.amr.includes('mfa'))) {
    throw new BearerError({
      error: 'insufficient_user_authentication',
      description: 'A login with a second factor is required; log in again with MFA.',
      realm,
    });
  }
  return claims;
}

/** Signature, algorithm, typ and registered claims checked by jose; BearerError otherwise. */
async function verifiedClaims(token, { keys, audience, algorithms, clockTolerance, realm }) {
  try {
    const { payload } = await jwtVerify(token, keys.resolve, {
      issuer: keys.issuer, audience, algorithms, clockTolerance, typ: ACCESS_TOKEN_TYP, requiredClaims: REQUIRED_CLAIMS,
    });
    return payload;
  } catch (error) {
    if (error instanceof KeysUnavailableError) throw error;
    const description = CLAIM_PROBLEMS[error.claim] ?? TOKEN_PROBLEMS[error.code]
      ?? (error.claim ? `The access token's ${error.claim} claim is missing or wrong.` : 'The access token is malformed.');
    throw new BearerError({ error: 'invalid_token', description, realm, cause: error });
  }
}

/** @type {Map<string, { issuer: string, resolve: import('jose').JWTVerifyGetKey }>} by issuer and JWKS URL */
const keySets = new Map();

/** The issuer's keys as a jose key resolver, one per issuer and JWKS URL for the process. */
function keySet(issuer, jwksUri) {
  const cacheKey = `${issuer} ${jwksUri ?? ''}`;
  if (!keySets.has(cacheKey)) keySets.set(cacheKey, { issuer, resolve: keyResolver(issuer, jwksUri) });
  return keySets.get(cacheKey);
}

/**
 * A jose key resolver, called only for a well-formed token with an allowed `alg`. The JWKS URL is
 * looked up on first use; its jose key set lives as long as the process, so its cached keys and
 * its cooldown (an unknown `kid` fetches the keys again at most once per 30 s) outlast a failed
 * fetch. Keys that cannot be had are a KeysUnavailableError.
 */
function keyResolver(issuer, jwksUri) {
  const keys = jwksUri ? () => Promise.resolve(remoteKeySet(jwksUri)) : discoveredKeySet(issuer);
  return async (header, token) => {
    try {
      return await (await keys())(header, token);
    } catch (error) {
      if (KEY_LOOKUP_MISSES.has(error.code)) throw error;
      throw new KeysUnavailableError(issuer, error);
    }
  };
}

/** jose's key set for a JWKS URL, each fetch limited to FETCH_TIMEOUT_MS. */
function remoteKeySet(jwksUri) {
  return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS });
}

/**
 * The key set at the issuer's metadata `jwks_uri`, discovered once. A failed discovery is not
 * tried again for DISCOVERY_COOLDOWN_MS: meanwhile each call fails at once, without a fetch.
 */
function discoveredKeySet(issuer) {
  let keys;
  let failure;
  return () => {
    if (!keys && failure && Date.now() - failure.at < DISCOVERY_COOLDOWN_MS) {
      return Promise.reject(new Error(`discovery failed ${Date.now() - failure.at} ms ago`, { cause: failure.error }));
    }
    keys ??= discoveredJwksUri(issuer).then(remoteKeySet, (error) => {
      keys = undefined;
      failure = { at: Date.now(), error };
      throw error;
    });
    return keys;
  };
}

/**
 * `jwks_uri` from the issuer's metadata (OIDC Discovery 1.0 §4; its `issuer` must be the one
 * configured, §4.3), fetched within FETCH_TIMEOUT_MS.
 */
async function discoveredJwksUri(issuer) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`discovery answered HTTP ${response.status}`);
  const metadata = await response.json();
  if (metadata?.issuer !== issuer) throw new Error(`the metadata names issuer ${metadata?.issuer}`);
  return secureUrl(metadata.jwks_uri, 'the metadata\'s jwks_uri');
}

/** RFC 6750 §3: error_description and the other values use %x20-21 / %x23-5B / %x5D-7E only. */
function quotable(value) {
  return String(value).replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}
