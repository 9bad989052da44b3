/**
 * What the client trusts before it sends credentials, against local servers (no Protekt needed):
 * metadata naming another issuer, an endpoint on another origin, a redirect, a plain-http domain.
 */

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { createProtekt } from '../src/index.js';

const LOGIN = { username: 'ann@example.org', password: 'hunter2' };

/** A server on loopback answering with `handle(request, response, url)`; notes each request's body. */
async function serve(handle) {
  const site = { received: [] };
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    site.received.push(`${request.method} ${request.url} ${body}`);
    handle(request, response, site.url);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  site.url = `http://127.0.0.1:${server.address().port}`;
  site.stop = () => new Promise((resolve) => server.close(resolve));
  return site;
}

function json(response, body, status = 200) {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** An authorization server whose metadata is `metadata(its URL)`; POSTs get `post`. */
function authServer(metadata, post = (request, response) => json(response, { error: 'invalid_grant' }, 400)) {
  return serve((request, response, url) => {
    if (request.method === 'GET') return json(response, metadata(url));
    return post(request, response);
  });
}

/** A server elsewhere that would collect what is sent to it. */
function collector() {
  return serve((request, response) => json(response, { error: 'invalid_grant' }, 400));
}

async function withSites(sites, check) {
  try {
    await check(...sites);
  } finally {
    await Promise.all(sites.map((site) => site.stop()));
  }
}

test('metadata naming another issuer is a server_error, and nothing is posted', async () => {
  const auth = await authServer(() => ({ issuer: 'https://auth.example.com', token_endpoint: 'https://auth.example.com/oauth/token' }));
  await withSites([auth], async () => {
    const protekt = createProtekt({ domain: `${auth.url}/`, clientId: 'spa' });
    await assert.rejects(protekt.login(LOGIN), {
      name: 'ProtektError', error: 'server_error',
      message: `The server's metadata names issuer https://auth.example.com, not ${auth.url} (OIDC Discovery 1.0 §4.3).`,
    });
    assert.deepEqual(auth.received, ['GET /.well-known/openid-configuration ']);
  });
});

test('an endpoint on another origin than the domain is refused before anything is sent', async () => {
  const elsewhere = await collector();
  const auth = await authServer((url) => ({ issuer: url, token_endpoint: `${elsewhere.url}/collect` }));
  await withSites([auth, elsewhere], async () => {
    const protekt = createProtekt({ domain: auth.url, clientId: 'spa', clientSecret: 'secret' });
    await assert.rejects(protekt.login(LOGIN), {
      error: 'server_error',
      message: `The server's metadata puts token_endpoint at ${elsewhere.url}/collect, on another origin than ${auth.url}; nothing is sent there.`,
    });
    assert.deepEqual(elsewhere.received, []);
  });
});

test('a redirect from the token endpoint is not followed: the password goes nowhere else', async () => {
  const elsewhere = await collector();
  const redirect = (request, response) => response.writeHead(307, { Location: `${elsewhere.url}/collect` }).end();
  const auth = await authServer((url) => ({ issuer: url, token_endpoint: `${url}/oauth/token` }), redirect);
  await withSites([auth, elsewhere], async () => {
    const protekt = createProtekt({ domain: auth.url, clientId: 'spa', clientSecret: 'secret' });
    await assert.rejects(protekt.login(LOGIN), { error: 'network_error' });
    assert.equal(auth.received.length, 2);
    assert.deepEqual(elsewhere.received, []);
  });
});

test('the domain is https, or http to a loopback host only', () => {
  for (const domain of ['http://auth.example.com', 'http://10.0.0.1:8000', 'http://localhost.example.com']) {
    assert.throws(() => createProtekt({ domain, clientId: 'spa' }), {
      name: 'TypeError', message: /^domain must be an https URL; http only to a loopback host/,
    });
  }
  for (const domain of ['https://auth.example.com', 'http://localhost:8000', 'http://127.1.2.3', 'http://[::1]:8000/']) {
    assert.doesNotThrow(() => createProtekt({ domain, clientId: 'spa' }));
  }
});
