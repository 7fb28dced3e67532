import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestDatabase, createTestDatabase, waitFor } from '@ciba/testing';
import { parsePolicy } from '../apps/step-up-gateway/src/policy/policy.js';
import { type RunningGateway, SubjectIssuer, Upstream, gatewayConfig, startGateway } from '../apps/step-up-gateway/test/gateway-harness.js';

/**
 * The gateway against another CIBA provider, node-oidc-provider (v9), configured for CIBA here and
 * found through its discovery document only. The test plays the user's device: oidc-provider's
 * `triggerAuthenticationDevice` hands over the request, `provider.backchannelResult()` decides it.
 */

// oidc-provider ships no type declarations; the little used here is typed by hand, and the module
// is loaded by a non-literal specifier so the compiler does not look for its declarations.
const OIDC_PROVIDER: string = 'oidc-provider';
interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface OidcProvider {
  proxy: boolean;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  Grant: new (init: { accountId: string; clientId: string }) => OidcGrant;
  backchannelResult(requestId: string, result: OidcGrant | Error): Promise<void>;
}
interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
}
interface TriggeredRequest {
  readonly requestId: string;
  readonly bindingMessage: unknown;
  readonly accountId: string;
  readonly clientId: string;
  readonly scope: string;
}

const CLIENT = { id: 'step-up-gateway', secret: `gateway-${randomBytes(8).toString('hex')}` };

describe('step-up gateway against oidc-provider (discovery only)', () => {
  let server: Server;
  let provider: OidcProvider;
  let db: TestDatabase;
  let subjects: SubjectIssuer;
  let upstream: Upstream;
  let gateway: RunningGateway;
  const triggered: TriggeredRequest[] = [];
  const restoreConsole: Array<() => void> = [];

  beforeAll(async () => {
    // oidc-provider announces development defaults on the console; they are expected here.
    for (const level of ['warn', 'info', 'log'] as const) {
      const original = console[level];
      console[level] = (first?: unknown, ...rest: unknown[]) => {
        if (typeof first === 'string' && first.includes('oidc-provider')) return;
        original(first, ...rest);
      };
      restoreConsole.push(() => (console[level] = original));
    }
    const oidcProvider = (await import(OIDC_PROVIDER)) as OidcProviderModule;
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new oidcProvider.default(issuer, {
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          grant_types: ['urn:openid:params:grant-type:ciba'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
          backchannel_token_delivery_mode: 'poll',
          id_token_signed_response_alg: 'RS256',
        },
      ],
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      scopes: ['openid'],
      claims: { openid: ['sub'] },
      findAccount: (_ctx: unknown, sub: string) => (sub === 'alice' ? { accountId: sub, claims: () => ({ sub }) } : undefined),
      ttl: { BackchannelAuthenticationRequest: 60, AccessToken: 600, IdToken: 600, Grant: 600 },
      features: {
        devInteractions: { enabled: false },
        ciba: {
          enabled: true,
          deliveryModes: ['poll'],
          processLoginHint: (_ctx: unknown, loginHint: string) => Promise.resolve(loginHint === 'alice' ? loginHint : undefined),
          validateBindingMessage: () => Promise.resolve(),
          validateRequestContext: () => Promise.resolve(),
          verifyUserCode: () => Promise.resolve(),
          triggerAuthenticationDevice: (_ctx: unknown, request: { jti: string; scope: string; params: Record<string, unknown> }, account: { accountId: string }, requester: { clientId: string }) => {
            triggered.push({ requestId: request.jti, bindingMessage: request.params['binding_message'], accountId: account.accountId, clientId: requester.clientId, scope: request.scope });
            return Promise.resolve();
          },
        },
      },
    });
    provider.proxy = false;
    server.on('request', provider.callback());

    db = await createTestDatabase();
    subjects = await SubjectIssuer.start();
    upstream = await Upstream.start();
    const policy = parsePolicy({
      subjectTokens: { issuers: [{ issuer: subjects.issuer, jwksUri: subjects.jwksUri }], audience: 'api://payments' },
      providers: { oidc: { issuer, client: { clientId: CLIENT.id, clientSecret: CLIENT.secret } } },
      upstream: upstream.url,
      routes: [{ id: 'payments.create', method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.id}}', reuse: 'once' }],
    });
    gateway = await startGateway(gatewayConfig(db.url), policy);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    await subjects?.close();
    await db?.drop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    for (const restore of restoreConsole) restore();
  });

  it('challenges, has the user approve on oidc-provider, and forwards the retry with oidc-provider’s access token', async () => {
    const token = await subjects.token('alice');
    const call = () => fetch(`${gateway.url}/payments/5`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"to":"bob"}' });
    const first = await call();
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_user_authentication"/);
    const { approval } = (await first.json()) as { approval: string };

    let request: TriggeredRequest | undefined;
    await waitFor(() => (request = triggered.find((t) => t.bindingMessage === 'Pay 5')) !== undefined, { description: 'oidc-provider triggered the device' });
    expect(request).toMatchObject({ accountId: 'alice', clientId: CLIENT.id });
    const grant = new provider.Grant({ accountId: 'alice', clientId: CLIENT.id });
    grant.addOIDCScope(request?.scope ?? 'openid');
    await grant.save();
    await provider.backchannelResult(String(request?.requestId), grant);

    // oidc-provider asks for the default 5-second interval: the gateway's first poll comes after it.
    await waitFor(async () => ((await (await fetch(`${gateway.url}/step-up/approvals/${approval}`)).json()) as { status: string }).status === 'approved', {
      description: 'the gateway saw the approval',
      timeoutMs: 20_000,
    });
    const retry = await call();
    expect(retry.status).toBe(200);
    const forwarded = upstream.requests.find((r) => r.url === '/payments/5');
    expect(forwarded?.body).toBe('{"to":"bob"}');
    expect(String(forwarded?.headers.authorization)).toMatch(/^Bearer [A-Za-z0-9_-]{20,}$/);
    expect(forwarded?.headers.authorization).not.toBe(`Bearer ${token}`);
  }, 40_000);
});
