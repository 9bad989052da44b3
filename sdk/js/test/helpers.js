/**
 * What the Node tests share: the live server's coordinates (set by tests/e2e/test_js_sdk.py),
 * oathtool as the user's authenticator app, the `file` SMS provider's outbox as the user's
 * phone, and a Web Storage area for Node, which has no localStorage.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { createProtekt } from '../src/index.js';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/e2e/test_js_sdk.py`);
  return value;
}

export const server = {
  url: required('PROTEKT_URL'),
  clientId: required('PROTEKT_CLIENT_ID'),
  users: JSON.parse(required('PROTEKT_USERS')),
  password: required('PROTEKT_PASSWORD'),
  outbox: required('PROTEKT_OUTBOX'),
  apiAudience: required('PROTEKT_API_AUDIENCE'),
  mfaTokenTtl: Number(required('PROTEKT_MFA_TOKEN_TTL')),
};

/** A client of the live server's public SPA client; options as createProtekt's. */
export function client(options = {}) {
  return createProtekt({ domain: server.url, clientId: server.clientId, ...options });
}

/** Log in an account that has no second factor yet; its token response. */
export async function loginWithoutMfa(protekt, role, params = {}) {
  const tokens = await protekt.login({ username: server.users[role], password: server.password, ...params });
  assert.equal(tokens.mfa_required, undefined, `${role} unexpectedly needs MFA`);
  return tokens;
}

/** A loopback port nothing listens on (until someone is told to). */
export async function freePort() {
  const listener = createServer();
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address();
  await new Promise((resolve) => listener.close(resolve));
  return port;
}

/** The payload of a JWT, unverified. */
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

/**
 * The user's authenticator app, computing codes with Debian's oathtool. The server accepts one
 * code per 30-second step, only steps later than the last one accepted, within one step of now
 * (RFC 6238 §5.2); so a code comes from the current or the next step, never an earlier one, and
 * after two codes the device waits for the clock (tests/support.py's TotpDevice does the same).
 */
export class TotpDevice {
  #secret;
  #lastStep;

  constructor(secret) {
    this.#secret = secret;
  }

  async nextCode() {
    const now = Date.now() / 1000;
    const current = Math.floor(now / 30);
    const step = this.#lastStep === undefined ? current : Math.max(current, this.#lastStep + 1);
    if (step > current + 1) await sleep(((step - 1) * 30 - now + 0.05) * 1000);
    this.#lastStep = step;
    return execFileSync('oathtool', ['--totp', '-b', '--now', `@${step * 30}`, this.#secret], { encoding: 'utf8' }).trim();
  }
}

/** The code of the last SMS sent to a phone, read from the outbox (JSON lines). */
export function lastSmsCode(phone) {
  const lines = existsSync(server.outbox) ? readFileSync(server.outbox, 'utf8').split('\n') : [];
  const sent = lines.filter(Boolean).map((line) => JSON.parse(line)).filter((message) => message.to === phone);
  assert.ok(sent.length > 0, `no SMS to ${phone} in the outbox`);
  const { body, code } = sent.at(-1);
  assert.ok(body.includes(code), `the SMS text does not hold its code: ${body}`);
  return code;
}

/** A code of the same length that is not this one. */
export function wrongCode(code) {
  return String((Number(code) + 1) % 10 ** code.length).padStart(code.length, '0');
}

/** window.localStorage's interface, in memory. */
export class MemoryWebStorage {
  #items = new Map();

  getItem(key) {
    return this.#items.has(key) ? this.#items.get(key) : null;
  }

  setItem(key, value) {
    this.#items.set(key, String(value));
  }

  removeItem(key) {
    this.#items.delete(key);
  }
}
