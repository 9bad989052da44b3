/**
 * Sign-in by redirect (OIDC authorization code flow with PKCE) without a live server: a fake
 * window (location, sessionStorage) stands for the browser and a fake fetch for Protekt's
 * discovery, token and revocation endpoints. The authorization URL's parameters, the PKCE S256
 * known answer (RFC 7636 Appendix B), the callback's refusals (state, iss, error, ID token
 * claims), the single use of what a login keeps, and the logout URL.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, test } from 'node:test';

import { REDIRECT_DEFAULT_SCOPE, createProtekt, memoryStorage } from '../src/index.js';
import { codeChallenge } from '../src/redirect.js';

const ISSUER = 'https://auth.example.com';
const CLIENT_ID = 'spa-client';
const APP = 'https://app.example.com';
const REDIRECT_URI = `${APP}/callback`;
const SESSION_KEY = `protekt:${CLIENT_ID}`;
const TX_PREFIX = `protekt:login:${CLIENT_ID}:`;
/** RFC 7636 Appendix B: the octets of the code_verifier, the verifier and its S256 challenge. */
const RFC7636_OCTETS = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
  22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
];
const RFC7636_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC7636_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** window.sessionStorage's interface, in memory. */
class WebStorage {
  items = new Map();

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    this.items.set(key, String(value));
  }

  removeItem(key) {
    this.items.delete(key);
  }
}

/** A browser tab: `window` with a location that notes where it was sent, and sessionStorage. */
function fakePage() {
  const page = {
    assigned: [],
    sessionStorage: new WebStorage(),
    location: { href: `${APP}/`, assign: (url) => page.assigned.push(url) },
  };
  globalThis.window = page;
  return page;
}

afterEach(() => {
  delete globalThis.window;
});

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** An unsigned JWT with these claims (the browser checks claims only: OIDC Core §3.1.3.7 point 6). */
function jwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/**
 * Protekt as a fetch: discovery (plus `metadata`), a token endpoint answering the authorization
 * code grant with an ID token for `idToken()` claims, and revocation. Notes every request.
 */
function fakeProtekt({ metadata = {}, idToken = {}, tokenAnswer } = {}) {
  const server = { requests: [], nonce: undefined };
  server.fetch = async (url, init = {}) => {
    const form = init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : undefined;
    server.requests.push({ url, method: init.method, form });
    if (url === `${ISSUER}/.well-known/openid-configuration`) {
      return json({
        issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/oauth/token`,
        revocation_endpoint: `${ISSUER}/oauth/revoke`, end_session_endpoint: `${ISSUER}/logout`, ...metadata,
      });
    }
    if (url === `${ISSUER}/oauth/revoke`) return new Response('', { status: 200 });
    if (url !== `${ISSUER}/oauth/token`) return json({ error: 'not_found' }, 404);
    if (tokenAnswer) return tokenAnswer(form);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: ISSUER, sub: 'user-1', aud: CLIENT_ID, exp: now + 300, iat: now, auth_time: now - 10,
      nonce: server.nonce, acr: '1', amr: ['pwd'], ...idToken,
    };
    return json({
      access_token: 'at-1', token_type: 'Bearer', expires_in: 900, scope: 'openid profile email',
      refresh_token: 'rt-1', id_token: jwt(claims),
    });
  };
  server.tokenRequests = () => server.requests.filter(({ url }) => url === `${ISSUER}/oauth/token`);
  return server;
}

function client(server, options = {}) {
  return createProtekt({ domain: ISSUER, clientId: CLIENT_ID, fetch: server.fetch, ...options });
}

/** Start a login: the authorization URL's parameters (the server learns the nonce from them). */
async function startLogin(protekt, page, server, options = {}) {
  await protekt.loginWithRedirect({ redirectUri: REDIRECT_URI, ...options });
  const url = new URL(page.assigned.at(-1));
  server.nonce = url.searchParams.get('nonce');
  return url;
}

/** The URL Protekt redirects back to, with these query parameters. */
function callback(params) {
  return `${REDIRECT_URI}?${new URLSearchParams(params)}`;
}

test('loginWithRedirect sends the browser to the authorization endpoint with PKCE, state and nonce', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const url = await startLogin(client(server), page, server, {
    audience: 'https://api.example.org', prompt: 'login', maxAge: 300, loginHint: 'ann@example.org',
    acrValues: 'urn:protekt:mfa', appState: { returnTo: '/inbox' },
  });
  assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/authorize`);
  const params = Object.fromEntries(url.searchParams);
  const { state, nonce, code_challenge: challenge, ...rest } = params;
  assert.deepEqual(rest, {
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: REDIRECT_DEFAULT_SCOPE,
    code_challenge_method: 'S256', prompt: 'login', max_age: '300', login_hint: 'ann@example.org',
    acr_values: 'urn:protekt:mfa', audience: 'https://api.example.org',
  });
  assert.match(state, /^[A-Za-z0-9_-]{43}$/);
  assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(state, nonce);

  const kept = JSON.parse(page.sessionStorage.getItem(TX_PREFIX + state));
  assert.deepEqual(Object.keys(kept).sort(), ['appState', 'maxAge', 'nonce', 'redirectUri', 'verifier']);
  assert.match(kept.verifier, /^[A-Za-z0-9._~-]{43,128}$/); // RFC 7636 §4.1
  assert.equal(challenge, createHash('sha256').update(kept.verifier).digest('base64url'));
  assert.deepEqual(kept.appState, { returnTo: '/inbox' });
  assert.equal(kept.nonce, nonce);
  assert.equal(kept.redirectUri, REDIRECT_URI);
});

test('the optional parameters are left out when not given; openid is added to a scope without it', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const url = await startLogin(client(server), page, server, { scope: 'profile read:messages' });
  assert.equal(url.searchParams.get('scope'), 'openid profile read:messages');
  for (const name of ['prompt', 'max_age', 'login_hint', 'acr_values', 'audience']) {
    assert.equal(url.searchParams.has(name), false, name);
  }
});

test('without authorization_endpoint in the metadata, the issuer\'s /authorize is used', async () => {
  const page = fakePage();
  const server = fakeProtekt({ metadata: { authorization_endpoint: undefined } });
  const url = await startLogin(client(server), page, server);
  assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/authorize`);
});

test('PKCE S256 known answer (RFC 7636 Appendix B)', async (t) => {
  assert.equal(await codeChallenge(RFC7636_VERIFIER), RFC7636_CHALLENGE);
  const random = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
  let calls = 0;
  t.mock.method(globalThis.crypto, 'getRandomValues', (array) => {
    calls += 1;
    return calls === 1 ? (array.set(RFC7636_OCTETS), array) : random(array); // the verifier is made first
  });
  const page = fakePage();
  const server = fakeProtekt();
  const url = await startLogin(client(server), page, server);
  assert.equal(url.searchParams.get('code_challenge'), RFC7636_CHALLENGE);
  const kept = JSON.parse(page.sessionStorage.getItem(TX_PREFIX + url.searchParams.get('state')));
  assert.equal(kept.verifier, RFC7636_VERIFIER);
});

test('prompt is a list of OIDC values, none alone; maxAge whole seconds; else a TypeError', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const url = await startLogin(protekt, page, server, { prompt: 'login consent' });
  assert.equal(url.searchParams.get('prompt'), 'login consent');
  await assert.rejects(protekt.loginWithRedirect({}), { name: 'TypeError', message: 'redirectUri is required' });
  for (const prompt of ['Login', 'none login', '', 'create']) {
    await assert.rejects(protekt.loginWithRedirect({ redirectUri: REDIRECT_URI, prompt }), {
      name: 'TypeError', message: /^prompt must be none, or any of login, consent, select_account/,
    });
  }
  await assert.rejects(protekt.loginWithRedirect({ redirectUri: REDIRECT_URI, maxAge: 1.5 }), { name: 'TypeError' });
});

test('outside a browser the redirect calls are a TypeError', async () => {
  const protekt = client(fakeProtekt());
  await assert.rejects(protekt.loginWithRedirect({ redirectUri: REDIRECT_URI }), {
    name: 'TypeError', message: /^loginWithRedirect runs in a browser/,
  });
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: 's' })), { name: 'TypeError' });
});

test('handleRedirectCallback exchanges the code with its verifier and keeps the tokens as the session', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const storage = memoryStorage();
  const protekt = client(server, { storage });
  const url = await startLogin(protekt, page, server, { appState: { returnTo: '/inbox' } });
  const state = url.searchParams.get('state');
  const { verifier } = JSON.parse(page.sessionStorage.getItem(TX_PREFIX + state));
  page.location.href = callback({ code: 'code-1', state, iss: ISSUER });

  const result = await protekt.handleRedirectCallback(); // the page's URL by default
  assert.deepEqual(result.appState, { returnTo: '/inbox' });
  assert.equal(result.tokens.access_token, 'at-1');
  assert.deepEqual(server.tokenRequests().map(({ form }) => form), [{
    grant_type: 'authorization_code', code: 'code-1', redirect_uri: REDIRECT_URI, code_verifier: verifier,
    client_id: CLIENT_ID,
  }]);
  const session = storage.get(SESSION_KEY);
  assert.equal(session.id_token, result.tokens.id_token);
  assert.equal(session.refresh_token, 'rt-1');
  assert.equal(await protekt.getTokenSilently(), 'at-1');
  assert.equal(page.sessionStorage.items.size, 0);
});

test('what a login keeps is used once: the same redirect handled again is invalid_state', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const url = await startLogin(protekt, page, server);
  const back = callback({ code: 'code-1', state: url.searchParams.get('state'), iss: ISSUER });
  await protekt.handleRedirectCallback(back);
  await assert.rejects(protekt.handleRedirectCallback(back), { name: 'ProtektError', error: 'invalid_state' });
  assert.equal(server.tokenRequests().length, 1);
});

test('two logins started side by side each find their own entry', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const first = await startLogin(protekt, page, server, { appState: 'first' });
  const second = await startLogin(protekt, page, server, { appState: 'second' });
  assert.equal(page.sessionStorage.items.size, 2);
  server.nonce = first.searchParams.get('nonce');
  const one = await protekt.handleRedirectCallback(callback({ code: 'c1', state: first.searchParams.get('state'), iss: ISSUER }));
  server.nonce = second.searchParams.get('nonce');
  const two = await protekt.handleRedirectCallback(callback({ code: 'c2', state: second.searchParams.get('state'), iss: ISSUER }));
  assert.deepEqual([one.appState, two.appState], ['first', 'second']);
});

test('a state no login in this tab sent, or none, is invalid_state and nothing is exchanged', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const url = await startLogin(protekt, page, server);
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: 'forged-state', iss: ISSUER })), {
    error: 'invalid_state', message: /^No login in this tab is waiting/,
  });
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', iss: ISSUER })), {
    error: 'invalid_state', message: 'The redirect carries no state.',
  });
  assert.equal(server.tokenRequests().length, 0);
  assert.notEqual(page.sessionStorage.getItem(TX_PREFIX + url.searchParams.get('state')), null); // still waiting
});

test('an iss other than the issuer is invalid_issuer (RFC 9207), before the code is sent anywhere', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const url = await startLogin(protekt, page, server);
  const state = url.searchParams.get('state');
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state, iss: 'https://evil.example' })), {
    name: 'ProtektError', error: 'invalid_issuer',
  });
  assert.equal(server.tokenRequests().length, 0);
  assert.equal(page.sessionStorage.items.size, 0); // that login is spent
});

test('a missing iss is refused only when the metadata says the server always sends it', async () => {
  for (const [supported, accepted] of [[undefined, true], [true, false]]) {
    const page = fakePage();
    const server = fakeProtekt({ metadata: { authorization_response_iss_parameter_supported: supported } });
    const protekt = client(server);
    const url = await startLogin(protekt, page, server);
    const handled = protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state') }));
    if (accepted) await handled;
    else await assert.rejects(handled, { error: 'invalid_issuer' });
  }
});

test('an error redirect is thrown with its code, description and the login\'s appState', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const protekt = client(server);
  const url = await startLogin(protekt, page, server, { prompt: 'none', appState: { returnTo: '/inbox' } });
  const state = url.searchParams.get('state');
  const back = callback({ error: 'login_required', error_description: 'The user is not signed in.', state, iss: ISSUER });
  await assert.rejects(protekt.handleRedirectCallback(back), (error) => {
    assert.equal(error.name, 'ProtektError');
    assert.equal(error.error, 'login_required');
    assert.equal(error.errorDescription, 'The user is not signed in.');
    assert.deepEqual(error.body.appState, { returnTo: '/inbox' });
    return true;
  });
  assert.equal(server.tokenRequests().length, 0);
  assert.equal(page.sessionStorage.items.size, 0);
});

test('the token endpoint\'s refusal is thrown as it is, and nothing is kept', async () => {
  const page = fakePage();
  const server = fakeProtekt({ tokenAnswer: () => json({ error: 'invalid_grant', error_description: 'Code used.' }, 400) });
  const storage = memoryStorage();
  const protekt = client(server, { storage });
  const url = await startLogin(protekt, page, server);
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state'), iss: ISSUER })), {
    error: 'invalid_grant', status: 400, message: 'Code used.',
  });
  assert.equal(storage.get(SESSION_KEY), undefined);
});

for (const [what, claims, message] of [
  ['a nonce of another login', { nonce: 'another-login' }, /nonce/],
  ['no nonce', { nonce: undefined }, /nonce/],
  ['another issuer', { iss: 'https://evil.example' }, /issued by https:\/\/evil\.example/],
  ['another audience', { aud: 'other-client' }, /not meant for this client/],
  ['another authorized party', { aud: [CLIENT_ID, 'other'], azp: 'other' }, /another client \(azp\)/],
  ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }, /expired/],
]) {
  test(`an ID token with ${what} is invalid_id_token, and the tokens are not kept`, async () => {
    const page = fakePage();
    const server = fakeProtekt({ idToken: claims });
    const storage = memoryStorage();
    const protekt = client(server, { storage });
    const url = await startLogin(protekt, page, server);
    await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state'), iss: ISSUER })), {
      name: 'ProtektError', error: 'invalid_id_token', message,
    });
    assert.equal(storage.get(SESSION_KEY), undefined);
  });
}

test('with maxAge, an ID token whose auth_time is older is invalid_id_token', async () => {
  const page = fakePage();
  const server = fakeProtekt({ idToken: { auth_time: Math.floor(Date.now() / 1000) - 3600 } });
  const protekt = client(server);
  const url = await startLogin(protekt, page, server, { maxAge: 60 });
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state'), iss: ISSUER })), {
    error: 'invalid_id_token', message: /auth_time/,
  });
});

test('a token response without an ID token is invalid_id_token', async () => {
  const page = fakePage();
  const answer = { access_token: 'at', token_type: 'Bearer', expires_in: 900, scope: 'openid' };
  const server = fakeProtekt({ tokenAnswer: () => json(answer) });
  const protekt = client(server);
  const url = await startLogin(protekt, page, server);
  await assert.rejects(protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state'), iss: ISSUER })), {
    error: 'invalid_id_token',
  });
});

test('logout({returnTo}) revokes, forgets the session and goes to the end_session_endpoint', async () => {
  const page = fakePage();
  const server = fakeProtekt();
  const storage = memoryStorage();
  const protekt = client(server, { storage });
  const url = await startLogin(protekt, page, server);
  const { tokens } = await protekt.handleRedirectCallback(callback({ code: 'c', state: url.searchParams.get('state'), iss: ISSUER }));

  await protekt.logout({ returnTo: `${APP}/signed-out`, federated: true });
  assert.equal(storage.get(SESSION_KEY), undefined);
  assert.deepEqual(server.requests.filter(({ url: to }) => to.endsWith('/oauth/revoke')).map(({ form }) => form.token), ['rt-1']);
  const logout = new URL(page.assigned.at(-1));
  assert.equal(`${logout.origin}${logout.pathname}`, `${ISSUER}/logout`);
  const { state, ...params } = Object.fromEntries(logout.searchParams);
  assert.deepEqual(params, {
    id_token_hint: tokens.id_token, client_id: CLIENT_ID, post_logout_redirect_uri: `${APP}/signed-out`,
  });
  assert.match(state, /^[A-Za-z0-9_-]{43}$/);
});

test('logout({}) without a session or end_session_endpoint: the issuer\'s /logout with the client id only', async () => {
  const page = fakePage();
  const server = fakeProtekt({ metadata: { end_session_endpoint: undefined } });
  await client(server).logout({});
  const logout = new URL(page.assigned.at(-1));
  assert.equal(`${logout.origin}${logout.pathname}`, `${ISSUER}/logout`);
  assert.deepEqual([...logout.searchParams.keys()].sort(), ['client_id', 'state']);
});

test('logout() without options stays on the page', async () => {
  const page = fakePage();
  await client(fakeProtekt()).logout();
  assert.deepEqual(page.assigned, []);
});
