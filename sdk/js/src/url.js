/**
 * The URLs the SDK trusts: the server it sends credentials to, the issuer whose keys it accepts.
 */

/** Hosts on this machine: 127.0.0.0/8, ::1 and localhost (RFC 8252 §8.3, RFC 6761 §6.3). */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * The URL as given; a TypeError unless it is https, or http to a loopback host. Credentials and
 * keys travel only over TLS (RFC 6749 §3.1, §3.2; OIDC Discovery 1.0 §3: the issuer is an https
 * URL); a server on this machine is the one exception, for development.
 * @param {unknown} value
 * @param {string} name the option's name, for the message
 * @returns {string}
 */
export function secureUrl(value, name) {
  let url;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(`${name} must be an https URL, e.g. https://auth.example.com (got ${value})`);
  }
  const loopback = url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname);
  if (url.protocol !== 'https:' && !loopback) {
    throw new TypeError(
      `${name} must be an https URL; http only to a loopback host (127.0.0.0/8, ::1, localhost) (got ${value})`,
    );
  }
  return String(value);
}

/**
 * A server's base URL, checked as secureUrl does, without trailing slashes: `https://x/` and
 * `https://x` name the same server (and issuer).
 * @param {unknown} value
 * @param {string} name
 */
export function secureBaseUrl(value, name) {
  return secureUrl(value, name).replace(/\/+$/, '');
}

/**
 * Whether a URL is on the origin (scheme, host and port; RFC 6454 §4) of `base`; false for a
 * value that is not a URL.
 * @param {unknown} value
 * @param {string} base
 */
export function sameOrigin(value, base) {
  try {
    return new URL(String(value)).origin === new URL(base).origin;
  } catch {
    return false;
  }
}
