import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CibaClient, type PollResult, discover, requestApproval, withApproval } from '../src/index.js';

/**
 * The kit against another CIBA provider, node-oidc-provider (panva, v9), configured for CIBA here
 * and found through its discovery document only: nothing in the kit knows this project's provider.
 * The user's device is the test: `triggerAuthenticationDevice` hands over the request, and the test
 * decides it through `provider.backchannelResult()`, oidc-provider's documented API for that.
 */

// oidc-provider ships no type declarations; the little used here is typed by hand, and the module is
// loaded by a non-literal specifier so the compiler does not look for its declarations.
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
  errors: { AccessDenied: new (description?: string) => Error };
}
interface TriggeredRequest {
  readonly requestId: string;
  readonly bindingMessage: string | undefined;
  readonly accountId: string;
  readonly clientId: string;
  readonly scope: string;
}

const CIBA = 'urn:openid:params:grant-type:ciba';
const CLIENT = { id: 'kit-agent', secret: `kit-agent-${randomBytes(8).toString('hex')}` };
const USERS = new Set(['alice']);

describe('CIBA client kit against oidc-provider (discovery only)', () => {
  let server: Server;
  let provider: OidcProvider;
  let errors: OidcProviderModule['errors'];
  let issuer: string;
  let client: CibaClient;
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
    errors = oidcProvider.errors;
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new oidcProvider.default(issuer, {
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          grant_types: [CIBA],
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
      findAccount: (_ctx: unknown, sub: string) => (USERS.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
      ttl: { BackchannelAuthenticationRequest: 60, AccessToken: 600, IdToken: 600, Grant: 600 },
      features: {
        devInteractions: { enabled: false },
        ciba: {
          enabled: true,
          deliveryModes: ['poll'],
          processLoginHint: (_ctx: unknown, loginHint: string) => Promise.resolve(USERS.has(loginHint) ? loginHint : undefined),
          validateBindingMessage: () => Promise.resolve(),
          validateRequestContext: () => Promise.resolve(),
          verifyUserCode: () => Promise.resolve(),
          triggerAuthenticationDevice: (
            _ctx: unknown,
            request: { jti: string; scope: string; params: Record<string, unknown> },
            account: { accountId: string },
            requester: { clientId: string },
          ) => {
            const bindingMessage = request.params['binding_message'];
            triggered.push({
              requestId: request.jti,
              bindingMessage: typeof bindingMessage === 'string' ? bindingMessage : undefined,
              accountId: account.accountId,
              clientId: requester.clientId,
              scope: request.scope,
            });
            return Promise.resolve();
          },
        },
      },
    });
    provider.proxy = false;
    server.on('request', provider.callback());
    client = await discover(issuer, CLIENT.id, { method: 'client_secret_basic', clientSecret: CLIENT.secret }, { allowInsecureRequests: true });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    for (const restore of restoreConsole) restore();
  });

  /** What the user's device does: approve (a grant for the requested scope) or deny the request shown with `message`. */
  async function decide(message: string, approve: boolean): Promise<void> {
    const request = await until(() => triggered.find((t) => t.bindingMessage === message));
    if (!approve) return provider.backchannelResult(request.requestId, new errors.AccessDenied('the end-user denied the request'));
    const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
    grant.addOIDCScope(request.scope);
    await grant.save();
    await provider.backchannelResult(request.requestId, grant);
  }

  it('discovers the backchannel endpoint oidc-provider advertises', () => {
    expect(client.server).toMatchObject({ issuer, backchannelAuthenticationEndpoint: `${issuer}/backchannel`, deliveryModes: ['poll'] });
  });

  it('approved: requestApproval polls oidc-provider until the user approves, and returns its tokens', async () => {
    const message = `approve-${randomBytes(3).toString('hex')}`;
    const polls: PollResult['status'][] = [];
    const outcome = await requestApproval({ client, user: 'alice', bindingMessage: message, onStarted: () => void decide(message, true), onPoll: (r) => polls.push(r.status) });
    expect(outcome.status).toBe('approved');
    if (outcome.status !== 'approved') return;
    expect(typeof outcome.tokens.access_token).toBe('string');
    expect(outcome.tokens.claims()?.sub).toBe('alice');
    expect(polls.at(-1)).toBe('approved');
  }, 30_000);

  it('denied: a withApproval tool does not run when the user refuses on oidc-provider', async () => {
    const message = `deny-${randomBytes(3).toString('hex')}`;
    let ran = false;
    const gated = withApproval(
      () => {
        ran = true;
      },
      { client, user: () => 'alice', bindingMessage: () => message, onStarted: () => void decide(message, false) },
    );
    await expect(gated()).rejects.toMatchObject({ name: 'ApprovalNotGrantedError', status: 'denied' });
    expect(ran).toBe(false);
  }, 30_000);

  it('an unknown user is a protocol error from oidc-provider, not an outcome', async () => {
    await expect(requestApproval({ client, user: 'mallory', bindingMessage: 'x' })).rejects.toMatchObject({ name: 'CibaProtocolError', error: 'unknown_user_id' });
  });
});

async function until<T>(find: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the provider never triggered the authentication device');
}
