// A real OpenID provider for the tests: the npm `oidc-provider` (a certified implementation),
// started on loopback by tests/oidc_provider.py. Configured by environment:
//
//   OIDC_PORT          the port to listen on (127.0.0.1)
//   OIDC_ISSUER        the issuer URL (normally http://127.0.0.1:<port>; another value makes an impostor)
//   OIDC_JWKS_FILE     a JSON Web Key Set with the PRIVATE signing keys; restarting with another
//                      file is how the tests rotate the keys
//   OIDC_REDIRECT_URI  the console client's redirect URI (lienthong's /auth/callback)
//
// Clients (the secrets are test values, repeated in tests/oidc_provider.py):
//   lienthong-console  confidential web client: authorization code with PKCE (S256 required),
//                      client_secret_basic (Authlib's default)
//   scoring-worker     a remote worker: client credentials, scopes topic:clients.score and
//                      message:bhyt.card-issued
//   short-lived        client credentials whose access tokens live one second (the expired test)
//
// Access tokens are JWTs for the resource `urn:lienthong:api`, audience `lienthong` (a second
// resource `urn:other:api`, audience `other`, gives a token for the wrong audience). People's
// `groups`, `roles` and `agency` travel in the ID token, userinfo and their access tokens.
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const jwks = JSON.parse(readFileSync(process.env.OIDC_JWKS_FILE, 'utf8'));
const redirectUri = process.env.OIDC_REDIRECT_URI || 'http://127.0.0.1/auth/callback';

const API = 'urn:lienthong:api';
const RESOURCES = {
  [API]: { audience: 'lienthong', scope: 'topic:clients.score topic:other.topic message:bhyt.card-issued message:other.message' },
  'urn:other:api': { audience: 'other', scope: 'topic:clients.score' },
};
const SHORT_TTL = { 'short-lived': 1 };

// Fixed people; the dev login page takes any password, the login name picks the account.
const ACCOUNTS = {
  'officer-h19': {
    name: 'Nguyễn Văn An', groups: ['officers'], roles: ['officer'], agency: 'H19.87.001',
  },
  'supervisor-h19': {
    name: 'Trần Thị Bình', groups: ['officers'], roles: ['supervisor'], agency: 'H19.87.001',
  },
  'officer-h20': {
    name: 'Lê Văn Cường', groups: ['officers'], roles: ['officer'], agency: 'H20.01.001',
  },
};

function personClaims(accountId) {
  const person = ACCOUNTS[accountId];
  return {
    sub: accountId, name: person.name, preferred_username: accountId,
    groups: person.groups, roles: person.roles, agency: person.agency,
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'lienthong-console',
      client_secret: 'console-secret-for-tests-only',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'scoring-worker',
      client_secret: 'worker-secret-for-tests-only',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'topic:clients.score message:bhyt.card-issued',
    },
    {
      client_id: 'short-lived',
      client_secret: 'short-secret-for-tests-only',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'topic:clients.score',
    },
  ],
  jwks,
  cookies: { keys: ['oidc-provider-cookie-key-for-tests-only'] },
  pkce: { required: () => true },
  // The resource scopes must be known to the provider to be given to a client.
  scopes: ['openid', 'profile', ...new Set(Object.values(RESOURCES).flatMap((r) => r.scope.split(' ')))],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'groups', 'roles', 'agency'],
  },
  // The scope's claims go into the ID token too (the console reads them from there).
  conformIdTokenClaims: false,
  async findAccount(ctx, accountId) {
    if (!ACCOUNTS[accountId]) return undefined;
    return { accountId, claims: async () => personClaims(accountId) };
  },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf || API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource, client) => {
        const server = RESOURCES[resource];
        if (!server) throw new errors.InvalidTarget();
        return {
          ...server,
          accessTokenFormat: 'jwt',
          accessTokenTTL: SHORT_TTL[client.clientId] || 600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    if (token.accountId && ACCOUNTS[token.accountId]) {
      const { groups, roles, agency } = ACCOUNTS[token.accountId];
      return { groups, roles, agency };
    }
    return undefined;
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    Interaction: 600, Session: 3600, Grant: 3600, IdToken: 600,
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: issuer, port, keys: jwks.keys.map((k) => k.kid) }));
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
