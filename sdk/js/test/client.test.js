/**
 * The client's own behaviour against the live server: the session and its renewal with rotating
 * refresh tokens, logout by revocation, errors, storage, the MFA grants beyond the guide's
 * (explicit oob_code, recovery code) and factor management.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  API_DEFAULT_SCOPE, DEFAULT_SCOPE, ProtektError, browserStorage, createProtekt, memoryStorage,
} from '../src/index.js';
import {
  MemoryWebStorage, claimsOf, client, freePort, lastSmsCode, loginWithoutMfa, server,
} from './helpers.js';

const SESSION_KEY = `protekt:${server.clientId}`;
const RECOVERY_PHONE = '+14155552603';

/** The grant_type of a request, if it has one. */
function grantOf(init) {
  return init?.body instanceof URLSearchParams ? init.body.get('grant_type') : null;
}

/** A fetch that passes every request to the server and notes each grant_type and scope sent. */
function grantRecorder() {
  const grants = [];
  const scopes = [];
  const recording = (url, init) => {
    if (grantOf(init)) grants.push(grantOf(init));
    if (init?.body instanceof URLSearchParams && init.body.has('scope')) scopes.push(init.body.get('scope'));
    return fetch(url, init);
  };
  return { grants, scopes, fetch: recording };
}

/**
 * A fetch whose answers to one grant come late: `sent` settles once the server has answered
 * (and, for a refresh, rotated), `answer` holds that answer's body, and the caller gets it later.
 */
function lateAnswers(grant, delayMs = 300) {
  let sent;
  const late = { sent: new Promise((resolve) => { sent = resolve; }) };
  late.fetch = async (url, init) => {
    const response = await fetch(url, init);
    if (grantOf(init) !== grant) return response;
    late.answer = await response.clone().json();
    sent();
    await sleep(delayMs);
    return response;
  };
  return late;
}

test('login keeps the tokens as the session; getTokenSilently returns them while fresh', async () => {
  const storage = memoryStorage();
  const protekt = client({ storage });
  const tokens = await loginWithoutMfa(protekt, 'plain');
  assert.equal(tokens.scope, DEFAULT_SCOPE);
  assert.deepEqual(DEFAULT_SCOPE.split(' '), ['openid', 'email', 'enroll', 'read:authenticators', 'remove:authenticators']);
  assert.equal(await protekt.getTokenSilently(), tokens.access_token);
  const session = storage.get(SESSION_KEY);
  assert.deepEqual([session.refresh_token, session.id_token], [tokens.refresh_token, tokens.id_token]);
  assert.ok(Math.abs(session.expires_at - (Date.now() + tokens.expires_in * 1000)) < 5000);
});

test('within the margin, getTokenSilently renews the token and stores the rotated refresh token', async () => {
  const storage = memoryStorage();
  const protekt = client({ storage, refreshMarginSeconds: 10 ** 6 });
  const first = await loginWithoutMfa(protekt, 'plain');
  const renewed = await protekt.getTokenSilently();
  assert.notEqual(renewed, first.access_token);
  assert.deepEqual(claimsOf(renewed).amr, ['pwd']);
  const session = storage.get(SESSION_KEY);
  assert.equal(session.access_token, renewed);
  assert.match(session.refresh_token, /^[\w-]{20,}$/);
  assert.notEqual(session.refresh_token, first.refresh_token);
  // Once its successor has been used, the spent refresh token again is reuse (not the retry of
  // a lost answer): the server revokes the whole login (README, API) ...
  assert.notEqual(await protekt.getTokenSilently(), renewed);
  await assert.rejects(protekt.refresh(first.refresh_token), { name: 'ProtektError', error: 'invalid_grant', status: 400 });
  // ... so the next renewal is refused, and the session is over.
  await assert.rejects(protekt.getTokenSilently(), { error: 'login_required' });
  assert.equal(storage.get(SESSION_KEY), undefined);
});

test('concurrent getTokenSilently calls share one refresh request', async () => {
  const recorder = grantRecorder();
  const protekt = client({ fetch: recorder.fetch, refreshMarginSeconds: 10 ** 6 });
  await loginWithoutMfa(protekt, 'plain');
  const tokens = await Promise.all(Array.from({ length: 5 }, () => protekt.getTokenSilently()));
  assert.equal(new Set(tokens).size, 1);
  assert.deepEqual(recorder.grants, ['password', 'refresh_token']);
  const again = await protekt.getTokenSilently(); // with the rotated refresh token
  assert.notEqual(again, tokens[0]);
  assert.deepEqual(recorder.grants, ['password', 'refresh_token', 'refresh_token']);
});

test('a caller that read the session before a renewal ended uses the renewed session', async () => {
  const recorder = grantRecorder();
  const values = new Map();
  let hold; // a promise the next read waits for, once it has read the value
  const storage = {
    get(key) {
      const [value, wait] = [values.get(key), hold];
      hold = undefined;
      return wait ? wait.then(() => value) : value;
    },
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
  };
  const protekt = client({ storage, fetch: recorder.fetch });
  await loginWithoutMfa(protekt, 'plain');
  values.get(SESSION_KEY).expires_at = Date.now(); // due for renewal
  let release;
  hold = new Promise((resolve) => { release = resolve; });
  const late = protekt.getTokenSilently(); // reads the session now, gets it once released
  const renewed = await protekt.getTokenSilently();
  release();
  assert.equal(await late, renewed);
  assert.deepEqual(recorder.grants, ['password', 'refresh_token']);
  assert.equal(values.get(SESSION_KEY).access_token, renewed);
});

test('a refused renewal does not end a session another login stored meanwhile', async () => {
  const storage = memoryStorage();
  const other = client({ storage });
  let meanwhile;
  const loginFirst = async (url, init) => {
    if (grantOf(init) === 'refresh_token') meanwhile = await loginWithoutMfa(other, 'plain');
    return fetch(url, init);
  };
  const protekt = client({ storage, fetch: loginFirst, refreshMarginSeconds: 10 ** 6 });
  const first = await loginWithoutMfa(protekt, 'plain');
  await protekt.revoke(first.refresh_token);
  await assert.rejects(protekt.getTokenSilently(), { error: 'login_required' });
  assert.equal(storage.get(SESSION_KEY).refresh_token, meanwhile.refresh_token);
});

test('logout waits for a renewal in flight and revokes the renewed token; nothing revives the session', async () => {
  const storage = memoryStorage();
  const late = lateAnswers('refresh_token');
  const protekt = client({ storage, fetch: late.fetch, refreshMarginSeconds: 10 ** 6 });
  await loginWithoutMfa(protekt, 'plain');
  const renewing = protekt.getTokenSilently();
  await late.sent;
  await protekt.logout();
  assert.equal(await renewing, late.answer.access_token);
  assert.equal(storage.get(SESSION_KEY), undefined);
  await assert.rejects(protekt.getTokenSilently(), { error: 'login_required' });
  await assert.rejects(client().refresh(late.answer.refresh_token), { error: 'invalid_grant', status: 400 });
});

test('a login answered after logout is not kept', async () => {
  const storage = memoryStorage();
  const late = lateAnswers('password');
  const protekt = client({ storage, fetch: late.fetch });
  const login = loginWithoutMfa(protekt, 'plain');
  await late.sent;
  await protekt.logout();
  await assert.rejects(login, { error: 'login_required', message: 'Logged out while this request was in flight.' });
  assert.equal(storage.get(SESSION_KEY), undefined);
});

test('the default scope has the factor scopes only in tokens for Protekt itself', async () => {
  const recorder = grantRecorder();
  const api = client({ audience: server.apiAudience, fetch: recorder.fetch });
  const tokens = await loginWithoutMfa(api, 'plain');
  assert.equal(tokens.scope, API_DEFAULT_SCOPE);
  // The API the token is for cannot replay it at Protekt to manage the user's factors.
  await assert.rejects(api.mfa.listAuthenticators(tokens.access_token), (error) => [401, 403].includes(error.status));
  assert.equal((await loginWithoutMfa(client({ audience: server.url }), 'plain')).scope, DEFAULT_SCOPE);
  const given = 'openid read:messages';
  assert.equal((await loginWithoutMfa(api, 'plain', { scope: given })).scope, given);
  assert.deepEqual(recorder.scopes, [API_DEFAULT_SCOPE, given]);
});

test('logout revokes the refresh token (RFC 7009) and forgets the session', async () => {
  const storage = memoryStorage();
  const protekt = client({ storage });
  const tokens = await loginWithoutMfa(protekt, 'plain');
  await protekt.logout();
  assert.equal(storage.get(SESSION_KEY), undefined);
  await assert.rejects(protekt.getTokenSilently(), { error: 'login_required', status: 0 });
  await assert.rejects(protekt.refresh(tokens.refresh_token), { error: 'invalid_grant', status: 400 });
});

test('userinfo answers for the session\'s user', async () => {
  const protekt = client();
  const tokens = await loginWithoutMfa(protekt, 'plain');
  assert.deepEqual(await protekt.userinfo(), {
    sub: claimsOf(tokens.access_token).sub, email: server.users.plain, email_verified: false,
  });
});

test('errors carry the OAuth error, the server\'s description and the HTTP status', async (t) => {
  const cases = [
    ['a wrong password', () => client().login({ username: server.users.plain, password: 'wrong' }),
      { error: 'invalid_grant', status: 400, message: 'Wrong email or password.' }],
    ['an unknown client', () => createProtekt({ domain: server.url, clientId: 'no-such-client' })
      .login({ username: server.users.plain, password: server.password }),
    { error: 'invalid_client', status: 401 }],
    ['a scope not allowed (a management scope; unknown ones are left out)',
      () => client().login({ username: server.users.plain, password: server.password, scope: 'openid read:users' }),
      { error: 'invalid_scope', status: 400, message: "Scope 'read:users' is not allowed here." }],
    ['a made-up mfa_token', () => client().mfa.verify({ mfa_token: 'made-up', otp: '123456' }),
      { error: 'invalid_grant', status: 400 }],
    ['an access token that is not one', () => client().mfa.enroll({ type: 'otp' }, 'not-a-token'),
      { error: 'invalid_token', status: 401 }],
    ['an SMS enrollment without a number', async () => {
      const protekt = client();
      await loginWithoutMfa(protekt, 'plain');
      return protekt.mfa.enroll({ type: 'sms' });
    }, { error: 'invalid_request', status: 400 }],
  ];
  for (const [name, call, expected] of cases) {
    await t.test(name, async () => {
      await assert.rejects(call(), (error) => {
        assert.ok(error instanceof ProtektError);
        assert.equal(error.error, expected.error);
        assert.equal(error.status, expected.status);
        assert.equal(typeof error.errorDescription, 'string');
        assert.equal(error.message, expected.message ?? error.errorDescription);
        return true;
      });
    });
  }
});

test('a server that does not answer is a network_error', async () => {
  const unreachable = createProtekt({ domain: `http://127.0.0.1:${await freePort()}/`, clientId: server.clientId });
  await assert.rejects(unreachable.login({ username: 'a@example.org', password: 'b' }), (error) => {
    assert.equal(error.error, 'network_error');
    assert.equal(error.status, 0);
    assert.match(error.message, /^Protekt at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    return true;
  });
});

test('storage: an async store, and a Web Storage area holding the session as JSON', async () => {
  const values = new Map();
  const asyncStore = {
    get: async (key) => values.get(key),
    set: async (key, value) => void values.set(key, value),
    remove: async (key) => void values.delete(key),
  };
  const viaAsync = client({ storage: asyncStore });
  const tokens = await loginWithoutMfa(viaAsync, 'plain');
  assert.equal(await viaAsync.getTokenSilently(), tokens.access_token);
  assert.equal(values.get(SESSION_KEY).access_token, tokens.access_token);

  const area = new MemoryWebStorage();
  const viaArea = client({ storage: browserStorage(area) });
  const again = await loginWithoutMfa(viaArea, 'plain');
  assert.equal(JSON.parse(area.getItem(SESSION_KEY)).refresh_token, again.refresh_token);
  await viaArea.logout();
  assert.equal(area.getItem(SESSION_KEY), null);
});

test('options are checked when the client is made', () => {
  assert.throws(() => createProtekt({ domain: 'auth.example.com', clientId: 'x' }), TypeError);
  assert.throws(() => createProtekt({ domain: 'ftp://auth.example.com', clientId: 'x' }), TypeError);
  assert.throws(() => createProtekt({ domain: server.url }), TypeError);
  assert.throws(() => createProtekt({ domain: server.url, clientId: 'x', storage: {} }), TypeError);
});

let recoveryCodes;
let phoneId;

test('an SMS challenge: asking again at once is 429 with Retry-After; verify with an explicit oob_code', async () => {
  const protekt = client();
  await loginWithoutMfa(protekt, 'recovery');
  const enrollment = await protekt.mfa.enroll({ type: 'sms', phone_number: RECOVERY_PHONE });
  assert.equal(enrollment.recovery_codes.length, 10);
  ({ recovery_codes: recoveryCodes, id: phoneId } = enrollment);

  const login = await protekt.login({ username: server.users.recovery, password: server.password });
  assert.deepEqual(login.mfa_requirements, { challenge: [{ type: 'sms' }, { type: 'recovery-code' }] });
  const ask = { mfa_token: login.mfa_token, challenge_type: 'sms' };
  const challenge = await protekt.mfa.challenge(ask);
  assert.deepEqual(Object.keys(challenge).sort(), ['binding_method', 'challenge_type', 'oob_code']);
  await assert.rejects(protekt.mfa.challenge(ask), (error) => {
    assert.deepEqual([error.error, error.status], ['too_many_attempts', 429]);
    assert.ok(error.retryAfter >= 1 && error.retryAfter <= 30, `retryAfter ${error.retryAfter}`);
    return true;
  });
  const elsewhere = client(); // knows nothing of the challenge: the oob_code is passed
  const tokens = await elsewhere.mfa.verify({
    mfa_token: login.mfa_token, oob_code: challenge.oob_code, binding_code: lastSmsCode(RECOVERY_PHONE),
  });
  assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'sms', 'mfa']);
});

test('a recovery code stands in for the phone, and its tokens become the session', async () => {
  const protekt = client();
  const login = await protekt.login({ username: server.users.recovery, password: server.password });
  const tokens = await protekt.mfa.verify({ mfa_token: login.mfa_token, recovery_code: recoveryCodes[0] });
  assert.equal(tokens.recovery_codes_remaining, 9);
  assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'mfa']);
  assert.equal(await protekt.getTokenSilently(), tokens.access_token);
});

test('listAuthenticators, regenerateRecoveryCodes and deleteAuthenticator with an MFA session', async () => {
  const protekt = client();
  const login = await protekt.login({ username: server.users.recovery, password: server.password });
  await protekt.mfa.verify({ mfa_token: login.mfa_token, recovery_code: recoveryCodes[1] });
  const listed = await protekt.mfa.listAuthenticators();
  assert.deepEqual(listed.map((item) => [item.id, item.authenticator_type, item.remaining]), [
    [phoneId, 'oob', undefined], ['recovery-code', 'recovery-code', 8],
  ]);
  assert.equal(listed[0].phone_number, '+1******2603');

  const { recovery_codes: fresh } = await protekt.mfa.regenerateRecoveryCodes();
  assert.equal(fresh.length, 10);
  assert.ok(fresh.every((code) => !recoveryCodes.includes(code)));
  assert.equal((await protekt.mfa.listAuthenticators()).at(-1).remaining, 10);
  const next = await client().login({ username: server.users.recovery, password: server.password });
  await assert.rejects(client().mfa.verify({ mfa_token: next.mfa_token, recovery_code: recoveryCodes[2] }),
    { error: 'invalid_grant', status: 400 });

  assert.equal(await protekt.mfa.deleteAuthenticator(phoneId), undefined);
  assert.deepEqual(await protekt.mfa.listAuthenticators(), []);
  await loginWithoutMfa(client(), 'recovery'); // no factor left: the password is enough again
});
