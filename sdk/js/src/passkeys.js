/**
 * Passkeys (README, Passkeys): the browser's side of WebAuthn (W3C Web Authentication Level 3).
 * Protekt hands out the ceremony options in their JSON form (§5.4, §5.5); the browser turns them
 * into a prompt with `PublicKeyCredential.parse{Creation,Request}OptionsFromJSON`, and its answer
 * back into JSON with `credential.toJSON()` (§5.1.4.1), which goes to Protekt as is.
 *
 * Browser-only: Node.js has no authenticator, so these calls throw a TypeError there, before
 * anything is sent. A server-side app relays the browser's answer with the Python SDK instead.
 */

const GRANT = 'http://protekt.dev/oauth/grant-type/';
export const MFA_WEBAUTHN_GRANT = `${GRANT}mfa-webauthn`;
export const PASSKEY_GRANT = `${GRANT}passkey`;

/** The browser's WebAuthn, or a TypeError naming the call that needed it. */
function webauthn(call) {
  const credentials = globalThis.navigator?.credentials;
  const api = globalThis.PublicKeyCredential;
  if (!credentials || typeof api?.parseRequestOptionsFromJSON !== 'function') {
    throw new TypeError(
      `${call}() runs in a browser with WebAuthn Level 3 (navigator.credentials, PublicKeyCredential.parseRequestOptionsFromJSON); Node.js has no authenticator.`,
    );
  }
  return { credentials, api };
}

/** Check, before any request, that this environment can answer a passkey prompt. */
export function requireWebAuthn(call) {
  webauthn(call);
}

/** `navigator.credentials.create()` with creation options in JSON; the credential as JSON. */
export async function createCredential(options, call) {
  const { credentials, api } = webauthn(call);
  const credential = await credentials.create({ publicKey: api.parseCreationOptionsFromJSON(options) });
  return JSON.stringify(credential.toJSON());
}

/**
 * `navigator.credentials.get()` with request options in JSON; the credential as JSON.
 * `mediation: 'conditional'` offers the passkeys in the autofill of an input whose
 * autocomplete holds `webauthn`; `signal` aborts a waiting prompt.
 */
export async function getCredential(options, call, { mediation, signal } = {}) {
  const { credentials, api } = webauthn(call);
  const request = { publicKey: api.parseRequestOptionsFromJSON(options) };
  if (mediation !== undefined) request.mediation = mediation;
  if (signal !== undefined) request.signal = signal;
  return JSON.stringify((await credentials.get(request)).toJSON());
}
