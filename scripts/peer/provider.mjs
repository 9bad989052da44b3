// node-oidc-provider 9, the peer server of scripts/bench_peer.py: one process, one client with
// the client_credentials grant, JWT access tokens signed RS256 for one resource server.
//
//   node provider.mjs [port]    (or PORT=...; the client from PEER_CLIENT_ID / PEER_CLIENT_SECRET)
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }); // as Protekt's keys
const key = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'bench' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.PEER_CLIENT_ID ?? 'bench',
    client_secret: process.env.PEER_CLIENT_SECRET ?? 'bench-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [key] },
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.example.com',
      getResourceServerInfo: () => ({ scope: 'read', accessTokenFormat: 'jwt', accessTokenTTL: 900 }),
    },
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`node-oidc-provider on 127.0.0.1:${port}`));
