// A certified OpenID Connect provider (the npm `oidc-provider` package) standing in for a
// Swedish e-ID provider in Tidbok's login tests: the Swedish OIDC profile's scope and claims,
// test accounts read from a control file at every use, and switches in that file that make
// the provider misbehave the ways a test needs (an ID token signed with a key it never
// published, not signed at all, or with a nonce that is not the one sent).
//
// Environment: PORT, CONTROL_FILE, REQUEST_LOG, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI.
// Prints "ready <issuer>" on stdout once it listens.
import { appendFileSync, readFileSync } from 'node:fs';
import { createSign, generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const PNR = 'https://id.oidc.se/claim/personalIdentityNumber';
const COORDINATION = 'https://id.oidc.se/claim/coordinationNumber';
const NATURAL_PERSON_NUMBER = 'https://id.oidc.se/scope/naturalPersonNumber';
// Not in the Swedish profile: a provider's own claim with the home county (län) code, which
// Tidbok reads when TIDBOK_EID_HOME_REGION_CLAIM names it.
const HOME_REGION = 'https://id.tidbok.test/claim/countyCode';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const control = () => JSON.parse(readFileSync(process.env.CONTROL_FILE, 'utf8'));
const record = (entry) => appendFileSync(process.env.REQUEST_LOG, `${JSON.stringify(entry)}\n`);

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey;
}
const published = signingKey();
// Same kid and algorithm as the published key, but never in the JWKS.
const foreign = signingKey();
const KID = 'tidbok-test-1';

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function signJwt(payload, key) {
  const header = { alg: 'RS256', typ: 'JWT', kid: KID };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${b64url(signature)}`;
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'tidbok',
      client_secret: 'tidbok-test-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [{ ...published.export({ format: 'jwk' }), kid: KID, use: 'sig', alg: 'RS256' }] },
  scopes: ['openid', NATURAL_PERSON_NUMBER, 'email', 'profile'],
  // The profile's scope, plus e-mail claims this provider volunteers (as some do) so that
  // the tests can show Tidbok never keeps them.
  claims: {
    openid: ['sub'],
    [NATURAL_PERSON_NUMBER]: [PNR, COORDINATION, HOME_REGION, 'given_name', 'family_name', 'name', 'birthdate', 'email', 'email_verified'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, id) {
    const account = control().accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  // First-party client: no consent page; the grant covers what was asked for.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  // RP-initiated logout by POST (Tidbok never puts the ID token in a URL). oidc-provider
  // accepts POST only with SameSite=None cookies, which browsers take only when Secure.
  enableHttpPostMethods: true,
  cookies: {
    keys: ['tidbok-test-only-cookie-key'],
    long: { sameSite: 'none', secure: true },
    short: { sameSite: 'none', secure: true },
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><title>error</title><main><h1>${out.error}</h1><p>${out.error_description || ''}</p></main></html>`;
  },
});

// Plain HTTP on 127.0.0.1, which browsers treat as a secure context: let Koa set Secure
// cookies there (it refuses to on an unencrypted connection), while URLs stay http://.
Object.defineProperty(provider.request, 'secure', { get: () => true });
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth') {
    record({ endpoint: 'authorization', params: Object.fromEntries(new URLSearchParams(ctx.querystring)) });
  }
  if (ctx.path === '/session/end' && ctx.method === 'POST') {
    record({ endpoint: 'end_session', method: ctx.method });
  }
  await next();
  if (ctx.path === '/token' && ctx.method === 'POST' && ctx.body && ctx.body.id_token) {
    const { tamper } = control();
    if (tamper === 'foreign_key') {
      ctx.body = { ...ctx.body, id_token: signJwt(claimsOf(ctx.body.id_token), foreign) };
    } else if (tamper === 'alg_none') {
      const header = b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: KID }));
      ctx.body = { ...ctx.body, id_token: `${header}.${b64url(JSON.stringify(claimsOf(ctx.body.id_token)))}.` };
    } else if (tamper === 'nonce') {
      ctx.body = { ...ctx.body, id_token: signJwt({ ...claimsOf(ctx.body.id_token), nonce: 'not-the-nonce-sent' }, published) };
    }
    record({ endpoint: 'token', tamper: tamper || null });
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
