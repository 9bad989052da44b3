/** `alg` values accepted by default: what Protekt signs with. */
export declare const DEFAULT_ALGORITHMS: readonly ['RS256', 'ES256', 'EdDSA'];

export type BearerErrorCode = 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication';

/** A refused request (RFC 6750 §3.1, RFC 9470 §3). */
/** The acr that asks Protekt for a second factor (OIDC Core §3.1.2.1). */
export declare const MULTI_FACTOR_ACR: string;

export declare class BearerError extends Error {
  constructor(fields: { error: BearerErrorCode; description: string; scope?: string; realm?: string; cause?: unknown });
  readonly error: BearerErrorCode;
  /** 401, or 403 for insufficient_scope. */
  readonly status: 401 | 403;
  /** The `error_description`. */
  readonly description: string;
  /** The scope the request needs (insufficient_scope). */
  readonly scope?: string;
  /** insufficient_user_authentication: the acr_values to sign in again with (RFC 9470 §3). */
  readonly acrValues?: string;
  /** The `WWW-Authenticate` header value (RFC 6750 §3). */
  readonly wwwAuthenticate: string;
}

/** The issuer's keys could not be fetched: answer 503, the token is neither good nor bad yet. */
export declare class KeysUnavailableError extends Error {
  constructor(issuer: string, cause?: unknown);
  readonly error: 'temporarily_unavailable';
  readonly status: 503;
}

export interface VerifyOptions {
  /**
   * Protekt's URL: the tokens' `iss` (a trailing slash is dropped). https, or http to a loopback
   * host (127.0.0.0/8, ::1, localhost); a TypeError otherwise.
   */
  issuer: string;
  /** This API's identifier: the `audience` its clients log in with. */
  audience: string;
  /** Allowed `alg` values; default {@link DEFAULT_ALGORITHMS}. */
  algorithms?: string[];
  /** Scopes the token must all hold: an array or a space-separated string. */
  scope?: string | string[];
  /** Require `mfa` in `amr` (RFC 9470 `insufficient_user_authentication` otherwise). */
  requireMfa?: boolean;
  /** Seconds of clock skew allowed on `exp`; default 5. */
  clockTolerance?: number;
  /** The JWKS URL (https, or http to a loopback host); default the `jwks_uri` of the issuer's metadata. */
  jwksUri?: string;
  /** The `realm` put in `WWW-Authenticate`. */
  realm?: string;
}

/** The claims of a Protekt access token (RFC 9068 §2.2, README, API). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  auth_time?: number;
  /** RFC 8176 values: `pwd`, then `otp` or `sms`, and `mfa` after a second factor. */
  amr?: string[];
  [claim: string]: unknown;
}

/** The claims of a good access token; throws BearerError (refused) or KeysUnavailableError. */
export declare function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims>;

/** A `WWW-Authenticate` value for the Bearer scheme; `Bearer realm="api"` without an error. */
export declare function bearerChallenge(params?: {
  realm?: string;
  error?: string;
  description?: string;
  scope?: string;
  acr_values?: string;
}): string;
