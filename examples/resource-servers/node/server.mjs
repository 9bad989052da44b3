/**
 * An API that accepts Protekt access tokens, with the JavaScript SDK's verifyAccessToken and
 * Node's own http module (run `npm ci` in sdk/js once for its jose dependency):
 *
 *     PROTEKT_ISSUER=http://127.0.0.1:8000 API_AUDIENCE=https://api.example.com PORT=5002 \
 *         node examples/resource-servers/node/server.mjs
 *
 * `GET /health` needs nothing; `GET /messages` needs scope `read:messages`; `GET /messages/secret`
 * needs it too, from a login with a second factor (`mfa` in `amr`). Refusals follow RFC 6750 §3
 * (and RFC 9470 §3 for the second factor): status, `WWW-Authenticate`, and a JSON body
 * `{"error", "error_description"}`. The Python server beside it answers the same.
 */

import { createServer } from 'node:http';

import { BearerError, KeysUnavailableError, bearerChallenge, verifyAccessToken } from '../../../sdk/js/src/server.js';

const REALM = 'api';
const ROUTES = {
  '/messages': { scope: 'read:messages' },
  '/messages/secret': { scope: 'read:messages', requireMfa: true },
};

const issuer = process.env.PROTEKT_ISSUER;
const audience = process.env.API_AUDIENCE;
if (!issuer || !audience) {
  console.error('Set PROTEKT_ISSUER (the Protekt URL) and API_AUDIENCE (this API\'s identifier).');
  process.exit(2);
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined. */
function bearerToken(request) {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function send(response, status, body, headers = {}) {
  response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

async function handle(request, response) {
  const { pathname } = new URL(request.url, 'http://localhost');
  if (pathname === '/health') return send(response, 200, { status: 'ok' });
  const route = ROUTES[pathname];
  if (!route) return send(response, 404, { error: 'not_found', error_description: 'No such resource.' });
  if (request.method !== 'GET') {
    return send(response, 405, { error: 'method_not_allowed', error_description: 'Use GET.' }, { Allow: 'GET' });
  }
  const token = bearerToken(request);
  if (!token) { // RFC 6750 §3.1: no error code in the challenge when no token was sent
    return send(response, 401, { error: 'invalid_request', error_description: 'An access token is required.' },
      { 'WWW-Authenticate': bearerChallenge({ realm: REALM }) });
  }
  try {
    const claims = await verifyAccessToken(token, { issuer, audience, realm: REALM, ...route });
    return send(response, 200, { sub: claims.sub, amr: claims.amr });
  } catch (error) {
    if (error instanceof BearerError) {
      return send(response, error.status, { error: error.error, error_description: error.description },
        { 'WWW-Authenticate': error.wwwAuthenticate });
    }
    if (!(error instanceof KeysUnavailableError)) throw error;
    console.error(error);
    return send(response, 503, { error: error.error, error_description: error.message }, { 'Retry-After': '5' });
  }
}

const port = Number(process.env.PORT ?? 5002);
createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(error);
    send(response, 500, { error: 'server_error', error_description: 'The request could not be handled.' });
  });
}).listen(port, '127.0.0.1', () => console.log('listening'));
