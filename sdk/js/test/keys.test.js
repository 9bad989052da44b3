/**
 * verifyAccessToken's keys against a local issuer that can fail on demand (no Protekt needed):
 * cached keys outlast a failed fetch, a failed discovery waits a cooldown, a silent issuer times
 * out, the issuer's trailing slash does not matter, and keys come only over https or loopback.
 */

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { verifyAccessToken } from '../src/server.js';

const AUDIENCE = 'https://api.example.org';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };

/** An issuer on loopback serving its metadata and JWKS, or 502 while `up` is false; counts hits. */
async function startIssuer() {
  const issuer = { up: true, hits: { discovery: 0, jwks: 0 } };
  const server = createServer((request, response) => {
    const discovery = request.url === '/.well-known/openid-configuration';
    issuer.hits[discovery ? 'discovery' : 'jwks'] += 1;
    if (!issuer.up) return response.writeHead(502).end('bad gateway');
    response.setHeader('Content-Type', 'application/json');
    const body = discovery ? { issuer: issuer.url, jwks_uri: `${issuer.url}/jwks` } : { keys: [JWK] };
    return response.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${server.address().port}`;
  issuer.stop = () => new Promise((resolve) => server.close(resolve));
  return issuer;
}

/** An access token of the issuer (RFC 9068 §2.2 claims), signed with key `kid`. */
function accessToken(issuer, { kid = 'k1', ...claims } = {}) {
  return new SignJWT({ scope: 'read:messages', client_id: 'spa', jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(issuer.url).setAudience(AUDIENCE).setSubject('user-1').setIssuedAt().setExpirationTime('10m')
    .sign(privateKey);
}

/** The outcome of verifying: 'ok' or the error's name. */
function outcome(token, options) {
  return verifyAccessToken(token, { audience: AUDIENCE, ...options }).then(() => 'ok', (error) => error.name);
}

/** Date.now moved `ms` ahead (jose's cooldown and the discovery cooldown read it) until undone. */
function clockAhead(ms) {
  const now = Date.now;
  Date.now = () => now() + ms;
  return () => { Date.now = now; };
}

test('a failed JWKS fetch keeps the keys already fetched', async () => {
  const issuer = await startIssuer();
  assert.equal(await outcome(await accessToken(issuer), { issuer: issuer.url }), 'ok');
  issuer.up = false;
  const undo = clockAhead(31_000); // past jose's cooldown: an unknown kid fetches the keys again
  try {
    assert.equal(await outcome(await accessToken(issuer, { kid: 'made-up' }), { issuer: issuer.url }), 'KeysUnavailableError');
    const hits = { ...issuer.hits };
    assert.equal(await outcome(await accessToken(issuer), { issuer: issuer.url }), 'ok');
    assert.deepEqual(issuer.hits, hits); // from the cache, no discovery again
  } finally {
    undo();
    await issuer.stop();
  }
});

test('after a failed discovery, requests fail at once for 30 s, then discovery is tried again', async () => {
  const issuer = await startIssuer();
  issuer.up = false;
  const token = await accessToken(issuer);
  assert.equal(await outcome(token, { issuer: issuer.url }), 'KeysUnavailableError');
  issuer.up = true;
  await assert.rejects(verifyAccessToken(token, { issuer: issuer.url, audience: AUDIENCE }), (error) => {
    assert.equal(error.name, 'KeysUnavailableError');
    assert.equal(error.cause.cause.message, 'discovery answered HTTP 502');
    return true;
  });
  assert.deepEqual(issuer.hits, { discovery: 1, jwks: 0 });
  const undo = clockAhead(31_000);
  try {
    assert.equal(await outcome(token, { issuer: issuer.url }), 'ok');
    assert.deepEqual(issuer.hits, { discovery: 2, jwks: 1 });
  } finally {
    undo();
    await issuer.stop();
  }
});

test('an issuer that never answers its metadata is KeysUnavailableError within 5 s', async () => {
  const silent = createServer(() => {}); // takes the request, never answers
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const issuer = { url: `http://127.0.0.1:${silent.address().port}` };
  try {
    const verifying = outcome(await accessToken(issuer), { issuer: issuer.url });
    assert.equal(await Promise.race([verifying, sleep(7000, 'no answer after 7 s', { ref: false })]), 'KeysUnavailableError');
  } finally {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('an issuer given with a trailing slash is the same issuer', async () => {
  const issuer = await startIssuer();
  try {
    const claims = await verifyAccessToken(await accessToken(issuer), { issuer: `${issuer.url}/`, audience: AUDIENCE });
    assert.equal(claims.iss, issuer.url);
  } finally {
    await issuer.stop();
  }
});

test('issuer and jwksUri are https, or http to a loopback host only', async () => {
  const issuer = await startIssuer();
  const token = await accessToken(issuer);
  try {
    for (const options of [{ issuer: 'http://auth.example.com' }, { issuer: issuer.url, jwksUri: 'http://keys.example.com/jwks' }]) {
      await assert.rejects(verifyAccessToken(token, { audience: AUDIENCE, ...options }), {
        name: 'TypeError', message: /must be an https URL; http only to a loopback host/,
      });
    }
    const localhost = issuer.url.replace('127.0.0.1', 'localhost');
    assert.equal(await outcome(token, { issuer: issuer.url, jwksUri: `${localhost}/jwks` }), 'ok');
    assert.equal(issuer.hits.discovery, 0);
  } finally {
    await issuer.stop();
  }
});

test('requireMfa wants mfa in an amr array; every RFC 9068 §2.2 claim is required', async (t) => {
  const issuer = await startIssuer();
  const checks = { issuer: issuer.url, requireMfa: true };
  try {
    assert.equal(await outcome(await accessToken(issuer, { amr: ['pwd', 'mfa'] }), checks), 'ok');
    await t.test('amr a string, not an array', async () => {
      assert.equal(await outcome(await accessToken(issuer, { amr: 'mfa' }), checks), 'BearerError');
    });
    for (const claim of ['client_id', 'jti']) {
      await t.test(`no ${claim}`, async () => {
        const token = await accessToken(issuer, { amr: ['pwd', 'mfa'], [claim]: undefined });
        await assert.rejects(verifyAccessToken(token, { audience: AUDIENCE, ...checks }), {
          name: 'BearerError', error: 'invalid_token', description: `The access token's ${claim} claim is missing or wrong.`,
        });
      });
    }
  } finally {
    await issuer.stop();
  }
});
