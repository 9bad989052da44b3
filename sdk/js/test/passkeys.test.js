/**
 * The passkey calls outside a browser: Node.js has no authenticator, so each says so with a
 * TypeError before any request leaves (the browser runs them in tests/e2e). And the grant
 * names the SDK exports are the server's.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MFA_WEBAUTHN_GRANT, PASSKEY_GRANT, createProtekt, memoryStorage } from '../src/index.js';

function offline() {
  const sent = [];
  const protekt = createProtekt({
    domain: 'https://auth.example.com', clientId: 'app', storage: memoryStorage(),
    fetch: async (url) => { sent.push(url); throw new Error('nothing may be sent'); },
  });
  return { protekt, sent };
}

for (const [name, call] of [
  ['loginWithPasskey', (p) => p.loginWithPasskey()],
  ['mfa.verifyPasskey', (p) => p.mfa.verifyPasskey('an-mfa-token')],
  ['mfa.enrollPasskey', (p) => p.mfa.enrollPasskey({ type: 'webauthn-roaming' }, 'a.b.c')],
]) {
  test(`${name} refuses to run without a browser's WebAuthn, sending nothing`, async () => {
    const { protekt, sent } = offline();
    await assert.rejects(call(protekt), (error) => error instanceof TypeError
      && /browser with WebAuthn Level 3/.test(error.message) && /Node\.js has no authenticator/.test(error.message));
    assert.deepEqual(sent, []);
  });
}

test('the passkey grant types are the server\'s', () => {
  assert.equal(MFA_WEBAUTHN_GRANT, 'http://protekt.dev/oauth/grant-type/mfa-webauthn');
  assert.equal(PASSKEY_GRANT, 'http://protekt.dev/oauth/grant-type/passkey');
});

test('login sends the deviceId as device_id (adaptive MFA)', async () => {
  const bodies = [];
  const protekt = createProtekt({
    domain: 'https://auth.example.com', clientId: 'app', storage: memoryStorage(),
    fetch: async (url, init) => {
      if (String(url).endsWith('/openid-configuration')) {
        return new Response(JSON.stringify({
          issuer: 'https://auth.example.com', token_endpoint: 'https://auth.example.com/oauth/token',
        }), { headers: { 'Content-Type': 'application/json' } });
      }
      bodies.push(init.body);
      return new Response(JSON.stringify({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 900 }),
        { headers: { 'Content-Type': 'application/json' } });
    },
  });
  await protekt.login({ username: 'ann@example.org', password: 'pw', deviceId: 'laptop-1' });
  assert.equal(bodies[0].get('device_id'), 'laptop-1');
});
