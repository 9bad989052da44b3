/**
 * HTTP to one Protekt server for one client: discovery, client authentication, JSON answers.
 * Only `fetch` is used, so this runs in browsers and in Node 18+ alike.
 */

import { NETWORK_ERROR, ProtektError, SERVER_ERROR, errorFromResponse } from './errors.js';
import { sameOrigin } from './url.js';

/** A page cannot tell a refused cross-origin read (CORS) from a server that did not answer. */
const IN_BROWSER = typeof window !== 'undefined' && typeof document !== 'undefined';
const CORS_HINT = ' In a browser this also means the page\'s origin is not in the server\'s PROTEKT_CORS_ORIGINS.';

export class Transport {
  #clientSecret;
  #fetch;
  /** @type {Promise<Record<string, unknown>> | undefined} */
  #metadata;

  /**
   * @param {object} options
   * @param {string} options.domain the server's base URL, no trailing slash (its issuer)
   * @param {string} options.clientId
   * @param {string} [options.clientSecret]
   * @param {typeof fetch} options.fetch
   */
  constructor({ domain, clientId, clientSecret, fetch }) {
    this.domain = domain;
    this.clientId = clientId;
    this.#clientSecret = clientSecret;
    this.#fetch = fetch;
  }

  /**
   * The server's metadata (OIDC Discovery 1.0 §4), fetched once; a failed fetch is retried next
   * time.
   * @returns {Promise<Record<string, unknown>>}
   */
  metadata() {
    this.#metadata ??= this.#discover().catch((error) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  /**
   * The URL of a metadata member (`token_endpoint`, `mfa_challenge_endpoint`, ...); when the
   * metadata has none and `fallbackPath` is given, that path under the domain. An endpoint off
   * the domain's origin is refused before anything is sent to it: metadata that moved the token
   * endpoint elsewhere would otherwise collect passwords and client secrets.
   * @param {string} name
   * @param {string} [fallbackPath] e.g. `/authorize`
   * @returns {Promise<string>}
   */
  async endpoint(name, fallbackPath) {
    const listed = (await this.metadata())[name];
    const url = listed === undefined && fallbackPath !== undefined ? this.domain + fallbackPath : listed;
    if (typeof url !== 'string') throw serverError(`The server's metadata has no ${name}.`);
    if (!sameOrigin(url, this.domain)) {
      throw serverError(
        `The server's metadata puts ${name} at ${url}, on another origin than ${this.domain}; nothing is sent there.`,
      );
    }
    return url;
  }

  /** The metadata, whose `issuer` must be the domain itself (OIDC Discovery 1.0 §4.3). */
  async #discover() {
    const metadata = await this.call('GET', `${this.domain}/.well-known/openid-configuration`);
    if (metadata?.issuer !== this.domain) {
      const named = metadata?.issuer;
      throw serverError(`The server's metadata names issuer ${named}, not ${this.domain} (OIDC Discovery 1.0 §4.3).`);
    }
    return metadata;
  }

  /**
   * POST a form to an endpoint as this client: `client_id`, and `client_secret` when the client
   * has one (RFC 6749 §2.3.1 client_secret_post; §3.2.1 for public clients).
   * @param {string} endpointName a metadata member
   * @param {Record<string, string | undefined>} params undefined values are left out
   */
  async postAsClient(endpointName, params) {
    const form = new URLSearchParams();
    const fields = { ...params, client_id: this.clientId, client_secret: this.#clientSecret };
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null) form.set(name, String(value));
    }
    return this.call('POST', await this.endpoint(endpointName), { form });
  }

  /**
   * Send a request; the JSON answer (`undefined` for an empty one, e.g. 204), or a ProtektError.
   * A request that carries credentials (a form or a Bearer token) follows no redirect: a 3xx
   * would send them again to wherever it points (RFC 9110 §15.4.8 keeps a 307's body).
   * @param {string} method
   * @param {string} url
   * @param {{ bearer?: string, json?: unknown, form?: URLSearchParams }} [options]
   */
  async call(method, url, { bearer, json, form } = {}) {
    const headers = { Accept: 'application/json' };
    if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
    /** @type {string | URLSearchParams | undefined} */
    let body = form;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const redirect = body === undefined && bearer === undefined ? 'follow' : 'error';
    const { response, text } = await this.#send(url, { method, headers, body, redirect });
    const answer = parseJson(text);
    if (!response.ok) throw errorFromResponse(response, answer.value);
    if (!answer.ok) {
      throw serverError(`Protekt answered HTTP ${response.status} with a body that is not JSON.`, response.status);
    }
    return answer.value;
  }

  /** The answer and its body's text; a network failure on the way is a `network_error`. */
  async #send(url, init) {
    try {
      const response = await this.#fetch(url, init);
      return { response, text: await response.text() };
    } catch (cause) {
      throw new ProtektError({
        error: NETWORK_ERROR,
        errorDescription: `Protekt at ${this.domain} did not answer (${cause?.message ?? cause}).`
          + (IN_BROWSER ? CORS_HINT : ''),
        cause,
      });
    }
  }
}

/** A `server_error`: the server's answer cannot be used as it is. */
function serverError(description, status = 0) {
  return new ProtektError({ error: SERVER_ERROR, errorDescription: description, status });
}

/**
 * A body as JSON: `{ok: true, value}` (value undefined when empty), or `{ok: false}`.
 * @param {string} text
 */
function parseJson(text) {
  if (text === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, value: undefined };
  }
}
