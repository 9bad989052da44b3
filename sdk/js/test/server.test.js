/**
 * verifyAccessToken against the live server's JWKS, with tokens its public client got for the
 * API audience; then the Node example resource server, started as its README says.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BearerError, KeysUnavailableError, bearerChallenge, verifyAccessToken } from '../src/server.js';
import { claimsOf, client, freePort, loginWithoutMfa, server } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/resource-servers/node/server.mjs', import.meta.url));
const API_PHONE = '+14155552604';
const API_SCOPE = 'openid read:messages';
const CHECKS = { issuer: server.url, audience: server.apiAudience, realm: 'api' };
const NEEDS_MFA = 'A login with a second factor is required; log in again with MFA.';

const tokens = {};

/** Tokens of one user: with read:messages before and after adding a second factor, and without. */
before(async () => {
  const protekt = client();
  const audience = server.apiAudience;
  tokens.passwordOnly = (await loginWithoutMfa(protekt, 'api', { scope: API_SCOPE, audience })).access_token;
  tokens.noScope = (await loginWithoutMfa(protekt, 'api', { scope: 'openid', audience })).access_token;
  const own = await loginWithoutMfa(protekt, 'api');
  tokens.idToken = own.id_token;
  const { recovery_codes: codes } = await protekt.mfa.enroll({ type: 'sms', phone_number: API_PHONE }, own.access_token);
  const login = await protekt.login({ username: server.users.api, password: server.password, scope: API_SCOPE, audience });
  tokens.mfa = (await protekt.mfa.verify({ mfa_token: login.mfa_token, recovery_code: codes[0] })).access_token;
});

/** The token with its payload changed and its signature kept. */
function tampered(token, changes) {
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ ...claimsOf(token), ...changes })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The token's claims under an unsecured JWS header (RFC 7515 alg none), no signature. */
function unsigned(token) {
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  return `${header}.${token.split('.')[1]}.`;
}

test('a fresh MFA token with the scope is accepted: its claims', async () => {
  const claims = await verifyAccessToken(tokens.mfa, { ...CHECKS, scope: 'read:messages', requireMfa: true });
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.deepEqual(claims.aud, [server.apiAudience, server.url]);
  assert.deepEqual([claims.iss, claims.client_id, claims.scope], [server.url, server.clientId, API_SCOPE]);
});

test('refusals carry the RFC 6750 error, status and WWW-Authenticate', async (t) => {
  const invalid = (description) => ({
    error: 'invalid_token', status: 401,
    wwwAuthenticate: `Bearer realm="api", error="invalid_token", error_description="${description}"`,
  });
  const cases = [
    ['no mfa in amr, MFA required', () => tokens.passwordOnly, { requireMfa: true }, {
      error: 'insufficient_user_authentication', status: 401,
      wwwAuthenticate: `Bearer realm="api", error="insufficient_user_authentication", error_description="${NEEDS_MFA}", `
        + 'acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"',
    }],
    ['a scope missing', () => tokens.noScope, { scope: ['read:messages'] }, {
      error: 'insufficient_scope', status: 403,
      wwwAuthenticate: 'Bearer realm="api", error="insufficient_scope", '
        + 'error_description="The access token lacks scope read:messages.", scope="read:messages"',
    }],
    ['another audience', () => tokens.mfa, { audience: 'https://other.example.org' },
      invalid('The access token is not meant for this API (aud).')],
    ['a tampered payload', () => tampered(tokens.passwordOnly, { amr: ['pwd', 'mfa'] }), {},
      invalid("The access token's signature does not verify.")],
    ['another issuer', () => tokens.mfa, { issuer: 'https://other.example.org', jwksUri: `${server.url}/.well-known/jwks.json` },
      invalid('The access token comes from another issuer.')],
    ['alg none', () => unsigned(tokens.mfa), {}, invalid("The access token's algorithm is not accepted.")],
    ['an ID token', () => tokens.idToken, { audience: server.clientId }, invalid('The token is not an access token (typ).')],
    ['expired (the clock 1000 s ahead)', () => tokens.mfa, { clockTolerance: -1000 }, invalid('The access token has expired.')],
    ['not a JWT', () => 'not-a-jwt', {}, invalid('The access token is malformed.')],
  ];
  for (const [name, token, options, expected] of cases) {
    await t.test(name, async () => {
      await assert.rejects(verifyAccessToken(token(), { ...CHECKS, ...options }), (error) => {
        assert.ok(error instanceof BearerError);
        assert.deepEqual(
          { error: error.error, status: error.status, wwwAuthenticate: error.wwwAuthenticate },
          expected,
        );
        return true;
      });
    });
  }
});

test('keys that cannot be had are KeysUnavailableError (503), not a refusal', async (t) => {
  await t.test('nothing listens at the JWKS URL', async () => {
    const jwksUri = `http://127.0.0.1:${await freePort()}/jwks.json`;
    await assert.rejects(verifyAccessToken(tokens.mfa, { ...CHECKS, jwksUri }), { name: 'KeysUnavailableError', status: 503 });
  });
  await t.test('the metadata names another issuer (RFC 8414 §3.3)', async () => {
    const issuer = server.url.replace('127.0.0.1', 'localhost');
    await assert.rejects(verifyAccessToken(tokens.mfa, { ...CHECKS, issuer }), (error) => {
      assert.ok(error instanceof KeysUnavailableError);
      assert.equal(error.cause.message, `the metadata names issuer ${server.url}`);
      return true;
    });
  });
});

test('bearerChallenge keeps quotes and backslashes out of its quoted strings', () => {
  assert.equal(bearerChallenge({ realm: 'api' }), 'Bearer realm="api"');
  assert.equal(
    bearerChallenge({ error: 'invalid_token', description: 'a "quoted" \\ word' }),
    'Bearer error="invalid_token", error_description="a quoted  word"',
  );
});

/** The example resource server on a free port, ready once it says so. */
async function startExample() {
  const port = await freePort();
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, PORT: String(port), PROTEKT_ISSUER: server.url, API_AUDIENCE: server.apiAudience },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`the example server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

let example;
after(() => example?.stop());

test('the example resource server answers each route as documented', async (t) => {
  example = await startExample();
  const realmOnly = 'Bearer realm="api"';
  const cases = [
    ['/messages', undefined, 401, { error: 'invalid_request', challenge: realmOnly }],
    ['/messages', 'Basic dXNlcjpwYXNz', 401, { error: 'invalid_request', challenge: realmOnly }],
    ['/messages', 'Bearer not-a-jwt', 401, { error: 'invalid_token' }],
    ['/messages', `Bearer ${tokens.noScope}`, 403, { error: 'insufficient_scope' }],
    ['/messages', `Bearer ${tokens.passwordOnly}`, 200, { amr: ['pwd'] }],
    ['/messages/secret', `Bearer ${tokens.passwordOnly}`, 401, { error: 'insufficient_user_authentication' }],
    ['/messages/secret', `Bearer ${tokens.mfa}`, 200, { amr: ['pwd', 'mfa'] }],
  ];
  const sub = claimsOf(tokens.mfa).sub;
  for (const [path, authorization, status, expected] of cases) {
    await t.test(`${path} with ${authorization?.split(' ')[0] ?? 'no'} ${status}`, async () => {
      const response = await fetch(example.url + path, { headers: authorization ? { Authorization: authorization } : {} });
      const body = await response.json();
      assert.equal(response.status, status);
      if (status === 200) {
        assert.deepEqual(body, { sub, amr: expected.amr });
        return;
      }
      assert.equal(body.error, expected.error);
      assert.equal(typeof body.error_description, 'string');
      const challenge = response.headers.get('WWW-Authenticate');
      if (expected.challenge) assert.equal(challenge, expected.challenge);
      else assert.ok(challenge.startsWith(`Bearer realm="api", error="${expected.error}", error_description="`), challenge);
    });
  }
});
