/**
 * The guide's MFA calls (enroll, confirmEnrollment, challenge, verify) and factor management:
 * the /mfa/* endpoints and the MFA grants of README, API; and passkeys as a factor
 * (enrollPasskey, verifyPasskey: browser-only, see passkeys.js).
 *
 * `verify` picks the grant from the login's challenge: after an SMS challenge, `mfa-oob` with
 * the challenge's `oob_code` and the user's code as `binding_code`; otherwise `mfa-otp`; with a
 * `recovery_code`, `mfa-recovery-code`.
 */

import { MFA_WEBAUTHN_GRANT, createCredential, getCredential, requireWebAuthn } from './passkeys.js';

const GRANT = 'http://protekt.dev/oauth/grant-type/';
export const MFA_OTP_GRANT = `${GRANT}mfa-otp`;
export const MFA_OOB_GRANT = `${GRANT}mfa-oob`;
export const MFA_RECOVERY_CODE_GRANT = `${GRANT}mfa-recovery-code`;

/** How long an SMS challenge's oob_code is kept: an mfa_token's default life (README, API). */
const OOB_CODE_TTL_MS = 10 * 60 * 1000;

/** SMS challenges' oob_codes by mfa_token, each kept until used or `ttlMs` old. */
class OobCodes {
  #codes = new Map();
  #ttlMs;

  constructor(ttlMs) {
    this.#ttlMs = ttlMs;
  }

  remember(mfaToken, oobCode) {
    const now = Date.now();
    for (const [token, { expiresAt }] of this.#codes) {
      if (expiresAt <= now) this.#codes.delete(token);
    }
    this.#codes.set(mfaToken, { oobCode, expiresAt: now + this.#ttlMs });
  }

  recall(mfaToken) {
    const entry = this.#codes.get(mfaToken);
    return entry && entry.expiresAt > Date.now() ? entry.oobCode : undefined;
  }

  forget(mfaToken) {
    this.#codes.delete(mfaToken);
  }
}

export class Mfa {
  #transport;
  #session;
  #oobCodes = new OobCodes(OOB_CODE_TTL_MS);

  /**
   * @param {import('./transport.js').Transport} transport
   * @param {{ accessToken: () => Promise<string>, saver: () => (tokens: object) => Promise<void> }} session
   *   the client's stored session: where a missing access token comes from, and a function,
   *   taken when a request starts, that stores its tokens (unless a logout came in between)
   */
  constructor(transport, session) {
    this.#transport = transport;
    this.#session = session;
  }

  /**
   * Add a factor: `{type: 'otp'}` or `{type: 'sms', phone_number}` (or Auth0's
   * `authenticator_types` bodies). `accessToken` needs scope `enroll` (or is the mfa_token of a
   * login whose user must enroll first); once the user has a factor, its `amr` must hold `mfa`.
   */
  enroll(body, accessToken) {
    return this.#call('POST', 'mfa_associate_endpoint', '', accessToken, body);
  }

  /** Activate a pending factor with its first code: `{otp}` (TOTP) or `{binding_code}` (SMS). */
  confirmEnrollment(authenticatorId, answer, accessToken) {
    const path = `/${encodeURIComponent(authenticatorId)}/confirm`;
    return this.#call('POST', 'mfa_authenticators_endpoint', path, accessToken, answer);
  }

  /**
   * Ask for a code: `{mfa_token, challenge_type: 'otp' | 'sms' | 'oob', authenticator_id?}`.
   * An SMS challenge's `oob_code` is kept for `verify`; a new challenge for the same mfa_token
   * replaces it, as the server voids the old code.
   */
  async challenge(params) {
    const answer = await this.#transport.postAsClient('mfa_challenge_endpoint', params);
    if (answer.challenge_type === 'oob' && answer.oob_code) {
      this.#oobCodes.remember(params.mfa_token, answer.oob_code);
    } else {
      this.#oobCodes.forget(params.mfa_token);
    }
    return answer;
  }

  /**
   * Exchange the mfa_token and the user's code for tokens, and keep them as the session:
   * `{mfa_token, otp}` (from the app, or from the SMS after an SMS challenge),
   * `{mfa_token, recovery_code}`, or `{mfa_token, oob_code, binding_code}`. A wrong code throws
   * `invalid_grant` and may be retried with the same mfa_token.
   */
  async verify(params) {
    const save = this.#session.saver();
    const form = { mfa_token: params.mfa_token, ...this.#grantFor(params) };
    const tokens = await this.#transport.postAsClient('token_endpoint', form);
    this.#oobCodes.forget(params.mfa_token);
    await save(tokens);
    return tokens;
  }

  /**
   * Add a passkey (`type: 'webauthn-platform'`, the default) or a security key
   * (`'webauthn-roaming'`): asks Protekt for the creation options, lets the browser create the
   * credential, and sends it back. With an access token (scope `enroll`; with `mfa` in its `amr`
   * once the user has a factor) the answer confirms it: `{id, authenticator_type, active,
   * recovery_codes?}`. With the mfa_token of a login whose user must enroll first, the
   * registration finishes that login too: the tokens come as `tokens`, kept as the session.
   * Browser-only.
   */
  async enrollPasskey({ type = 'webauthn-platform', name } = {}, accessToken) {
    requireWebAuthn('enrollPasskey');
    const token = accessToken ?? (await this.#session.accessToken());
    const enrollment = await this.enroll({ authenticator_types: [type], name }, token);
    const credential = await createCredential(enrollment.options, 'enrollPasskey');
    const codes = enrollment.recovery_codes ? { recovery_codes: enrollment.recovery_codes } : {};
    if (token.split('.').length === 3) { // an access token (a JWT), not an mfa_token
      const confirmed = await this.confirmEnrollment(enrollment.id, { credential }, token);
      return { ...confirmed, ...codes };
    }
    const tokens = await this.#webauthnGrant(token, credential);
    return { id: enrollment.id, authenticator_type: type, active: true, ...codes, tokens };
  }

  /**
   * The second step with a passkey or security key: a `webauthn` challenge for the mfa_token,
   * the browser's prompt, and the mfa-webauthn grant; the tokens, kept as the session.
   * Browser-only.
   */
  async verifyPasskey(mfaToken, { authenticatorId } = {}) {
    requireWebAuthn('verifyPasskey');
    const { options } = await this.challenge({
      mfa_token: mfaToken, challenge_type: 'webauthn', authenticator_id: authenticatorId,
    });
    return this.#webauthnGrant(mfaToken, await getCredential(options, 'verifyPasskey'));
  }

  async #webauthnGrant(mfaToken, credential) {
    const save = this.#session.saver();
    const tokens = await this.#transport.postAsClient('token_endpoint', {
      grant_type: MFA_WEBAUTHN_GRANT, mfa_token: mfaToken, credential,
    });
    await save(tokens);
    return tokens;
  }

  /** The user's factors, phone numbers masked; scope `read:authenticators` (README, API). */
  listAuthenticators(accessToken) {
    return this.#call('GET', 'mfa_authenticators_endpoint', '', accessToken);
  }

  /** Remove a factor; scope `remove:authenticators` and an `amr` holding `mfa`. */
  async deleteAuthenticator(authenticatorId, accessToken) {
    const path = `/${encodeURIComponent(authenticatorId)}`;
    await this.#call('DELETE', 'mfa_authenticators_endpoint', path, accessToken);
  }

  /** A new set of recovery codes, `{recovery_codes: [...]}`; the old set stops working. */
  regenerateRecoveryCodes(accessToken) {
    return this.#call('POST', 'mfa_recovery_codes_endpoint', '', accessToken);
  }

  #grantFor({ mfa_token: mfaToken, otp, oob_code: oobCode, binding_code: bindingCode, recovery_code: recoveryCode }) {
    if (recoveryCode !== undefined) {
      return { grant_type: MFA_RECOVERY_CODE_GRANT, recovery_code: recoveryCode };
    }
    const challenged = oobCode ?? this.#oobCodes.recall(mfaToken);
    if (challenged !== undefined) {
      return { grant_type: MFA_OOB_GRANT, oob_code: challenged, binding_code: bindingCode ?? otp };
    }
    return { grant_type: MFA_OTP_GRANT, otp };
  }

  /** A Bearer call to an /mfa/* endpoint; without a token, the session's (getTokenSilently). */
  async #call(method, endpointName, path, accessToken, json) {
    const url = (await this.#transport.endpoint(endpointName)) + path;
    const bearer = accessToken ?? (await this.#session.accessToken());
    return this.#transport.call(method, url, { bearer, json });
  }
}
