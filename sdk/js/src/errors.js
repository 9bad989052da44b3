/**
 * The one error the client throws for a refused or failed request.
 *
 * Protekt answers errors as RFC 6749 §5.2 does: a JSON body `{"error", "error_description"}` with
 * an HTTP status; `Retry-After` (RFC 9110 §10.2.3) comes with `too_many_attempts` (429) and
 * `temporarily_unavailable` (503).
 */

/** No answer from the server (not an OAuth code; the SDK's own). */
export const NETWORK_ERROR = 'network_error';
/** The answer was not the JSON the API promises (RFC 6749 §5.2 `server_error`). */
export const SERVER_ERROR = 'server_error';
/** No session, or the server refused to renew it: the user must log in again. */
export const LOGIN_REQUIRED = 'login_required';

export class ProtektError extends Error {
  /**
   * @param {object} fields
   * @param {string} fields.error the OAuth error code (`invalid_grant`, `expired_token`, ...)
   * @param {string} [fields.errorDescription] the server's `error_description`
   * @param {number} [fields.status] the HTTP status; 0 when the server did not answer
   * @param {number} [fields.retryAfter] seconds to wait, from `Retry-After`
   * @param {object} [fields.body] the whole error body (e.g. `mfa_token` of `mfa_required`)
   * @param {unknown} [fields.cause]
   */
  constructor({ error, errorDescription, status = 0, retryAfter, body, cause }) {
    super(errorDescription || error, cause === undefined ? undefined : { cause });
    this.name = 'ProtektError';
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
    this.retryAfter = retryAfter;
    this.body = body;
    /**
     * True when no wait helps and the user must start a new login: `too_many_attempts` for an
     * mfa_token voided by wrong codes (its `retryAfter` is only the time until it expires).
     * Don't retry such an error; log in again.
     */
    this.loginAgain = body?.login_again === true;
  }
}

/**
 * The error an HTTP error answer stands for (RFC 6749 §5.2 body), or `server_error` when the
 * body is not such an object.
 * @param {Response} response
 * @param {any} body the parsed JSON body, `undefined` if it was not JSON
 */
export function errorFromResponse(response, body) {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  if (body && typeof body.error === 'string') {
    return new ProtektError({
      error: body.error,
      errorDescription: typeof body.error_description === 'string' ? body.error_description : undefined,
      status: response.status,
      retryAfter,
      body,
    });
  }
  return new ProtektError({
    error: SERVER_ERROR,
    errorDescription: `Protekt answered HTTP ${response.status} without an OAuth error body.`,
    status: response.status,
    retryAfter,
  });
}

/**
 * Seconds from a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * @param {string | null} value
 * @returns {number | undefined}
 */
export function parseRetryAfter(value) {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
