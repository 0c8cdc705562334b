// A real OpenID Provider for gpv's OIDC login test: node-oidc-provider (OpenID Certified),
// on loopback, with one confidential client and the test accounts given in the environment.
// Started by tests/workflows/web/test_oidc.py; prints one JSON line {"issuer": ...} when ready.
//
// Environment:
//   OIDC_HOST            host name of the issuer (default 127.0.0.1; it listens on 127.0.0.1)
//   OIDC_CLIENT_ID       the client (gpv-web)
//   OIDC_CLIENT_SECRET   its secret
//   OIDC_REDIRECT_URIS   comma-separated redirect URIs registered for the client
//   OIDC_ACCOUNTS        JSON {"username": "password", ...}
//   OIDC_USERINFO_ONLY   "1": profile claims only from the userinfo endpoint, not in the ID token
// The account's id (the token's "sub") is "konto-<username>"; "preferred_username" is the
// username, in the ID token as Keycloak puts it there (unless OIDC_USERINFO_ONLY=1).
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const env = process.env;
const accounts = JSON.parse(env.OIDC_ACCOUNTS || '{}');
const byId = new Map(Object.keys(accounts).map((name) => [`konto-${name}`, name]));

const signingKey = {
  ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const configuration = {
  clients: [{
    client_id: env.OIDC_CLIENT_ID,
    client_secret: env.OIDC_CLIENT_SECRET,
    redirect_uris: (env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
  conformIdTokenClaims: env.OIDC_USERINFO_ONLY === '1',
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true }, // as the Keycloak client with S256 set
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const name = byId.get(sub);
    if (name === undefined) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: name, name }) };
  },
};

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html><body>${body}</body></html>`);
}

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginForm(res, uid, status, error) {
  page(res, status, `<h1>Test-Anmeldedienst</h1>${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Benutzer</label><input id="login" name="login">
<label for="password">Passwort</label><input id="password" name="password" type="password">
<button type="submit" id="submit">Anmelden</button></form>`);
}

async function consent(provider, req, res, details) {
  const { grantId, session, params, prompt } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') return loginForm(res, uid, 200, null);
    return page(res, 200, `<h1>Zugriff erlauben</h1>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit" id="submit">Erlauben</button></form>`);
  }
  const form = await formBody(req);
  if (req.url.endsWith('/login')) {
    const name = form.get('login') || '';
    if (!Object.hasOwn(accounts, name) || accounts[name] !== form.get('password')) {
      return loginForm(res, uid, 401, 'Benutzer oder Passwort falsch.');
    }
    return provider.interactionFinished(req, res, { login: { accountId: `konto-${name}` } }, { mergeWithLastSubmission: false });
  }
  return consent(provider, req, res, details);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://${env.OIDC_HOST || '127.0.0.1'}:${port}`;
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => page(res, 500, escape(err.message)));
    } else {
      callback(req, res);
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
