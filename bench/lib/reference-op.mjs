// The reference: node-oidc-provider (panva, v9) with CIBA poll and ping modes, run as its own
// process by reference-main.mjs, in memory or on PostgreSQL (pg-adapter.mjs). Configured to be
// comparable with ours: same client ids and secrets (client_secret_basic), same users
// (login_hint = sub), ES256 ID tokens, the same request lifetime. Its authentication device is
// in-process: `triggerAuthenticationDevice` hands the request to `onDeviceTrigger`; when that
// takes it (a flow scenario is running) the request is recorded under a random decision token,
// and POST /device/callback (Bearer <decision token>, {"status": …}) applies the decision through
// provider.backchannelResult(), the documented API for it. In memory, storage is the built-in
// MemoryAdapter over a larger LRU (see below).
//
// Ping mode (optional `pingClient`): a second client with backchannel_token_delivery_mode 'ping'.
// oidc-provider 9 insists on two things a loopback benchmark receiver does not give it by default:
// - `backchannel_client_notification_endpoint` must be an https URI (CIBA §4: "MUST be an HTTPS
//   URL"; lib/consts/client_attributes.js HTTPS_URI, checked for every client, not only in
//   production). The benchmark's receiver therefore also listens over HTTPS with a self-signed
//   certificate for 127.0.0.1 made for the run, and the reference pings it over TLS as it would in
//   production. Nothing in oidc-provider is patched.
// - its outgoing requests go through an undici dispatcher that destroys connections to special-use
//   addresses, 127.0.0.0/8 included (lib/helpers/fetch_request.js, SSRF protection). The
//   documented `fetch` configuration hook (the function oidc-provider calls for outgoing requests)
//   sends requests for the receiver's origin, and only those, through an undici Agent that trusts
//   exactly that certificate (`connect.ca`); certificate verification stays on.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
const MEMORY_ENTRIES = 1_000_000;

/** oidc-provider prints setup notices and "mustChange/shouldChange" warnings to the console. */
function silenceOidcProviderConsole() {
  for (const level of ['warn', 'info', 'log']) {
    const original = console[level].bind(console);
    console[level] = (first, ...rest) => {
      if (typeof first === 'string' && first.includes('oidc-provider')) return;
      original(first, ...rest);
    };
  }
}

/**
 * @param adapter 'memory', or a function (model name) => adapter instance (oidc-provider's `adapter` option)
 * @param onDeviceTrigger (notification) => boolean: true when someone will answer it (then its decision token is kept)
 */
export async function startReference({ clientId, clientSecret, users, ttlSeconds = 300, onDeviceTrigger, pingClient, adapter = 'memory' }) {
  silenceOidcProviderConsole();
  const { default: Provider, errors } = await import('oidc-provider');
  // The default in-memory adapter keeps everything in one LRU of 1000 entries (requests, grants
  // and tokens together), so 2000 pending requests would evict each other and polls would answer
  // invalid_grant. Same adapter class, store with the cap lifted (MEMORY_ENTRIES).
  let adapterFactory = adapter;
  if (adapter === 'memory') {
    const { default: MemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');
    const { default: LRU } = await import('oidc-provider/lib/helpers/lru.js');
    const store = new LRU({ maxSize: MEMORY_ENTRIES });
    adapterFactory = (model) => new MemoryAdapter(model, store);
  }

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };
  const known = new Set(users);
  const decisions = new Map(); // decision token -> { requestId, accountId, clientId, scope }
  const stats = { triggered: 0, approved: 0, denied: 0, serverErrors: 0, lastServerError: null };

  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  let fetchHook;
  let pingAgent;
  if (pingClient) {
    const undici = await import('undici');
    const receiverOrigin = new URL(pingClient.notificationEndpoint).origin;
    pingAgent = new undici.Agent({ connect: { ca: pingClient.ca }, keepAliveTimeout: 60_000 });
    fetchHook = (target, options) =>
      new URL(target).origin === receiverOrigin ? undici.fetch(target, { ...options, dispatcher: pingAgent }) : globalThis.fetch(target, options);
  }

  const provider = new Provider(url, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: [CIBA_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        backchannel_token_delivery_mode: 'poll',
        id_token_signed_response_alg: 'ES256',
      },
      ...(pingClient
        ? [
            {
              client_id: pingClient.clientId,
              client_secret: pingClient.clientSecret,
              grant_types: [CIBA_GRANT, 'refresh_token'],
              response_types: [],
              redirect_uris: [],
              token_endpoint_auth_method: 'client_secret_basic',
              backchannel_token_delivery_mode: 'ping',
              backchannel_client_notification_endpoint: pingClient.notificationEndpoint,
              id_token_signed_response_alg: 'ES256',
            },
          ]
        : []),
    ],
    ...(fetchHook ? { fetch: fetchHook } : {}),
    adapter: adapterFactory,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub'] },
    findAccount: (ctx, sub) => (known.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
    ttl: {
      BackchannelAuthenticationRequest: ttlSeconds,
      AccessToken: 600,
      IdToken: 600,
      Grant: 600,
      RefreshToken: 2_592_000,
    },
    features: {
      devInteractions: { enabled: false },
      ciba: {
        enabled: true,
        deliveryModes: pingClient ? ['poll', 'ping'] : ['poll'],
        processLoginHint: async (ctx, loginHint) => (known.has(loginHint) ? loginHint : undefined),
        processLoginHintToken: async () => {
          throw new errors.InvalidRequest('login_hint_token is not supported');
        },
        // Same rule as ours would apply to this benchmark's messages; the default (1–20 of a basic
        // character set) accepts them too.
        validateBindingMessage: async (ctx, bindingMessage) => {
          if (bindingMessage !== undefined && !/^[\w.+/!?#-]{1,64}$/.test(bindingMessage)) {
            throw new errors.InvalidBindingMessage('invalid binding_message');
          }
        },
        validateRequestContext: async () => {},
        verifyUserCode: async (ctx, account, userCode) => {
          if (userCode) throw new errors.InvalidRequest('user_code is not supported');
        },
        triggerAuthenticationDevice: async (ctx, request, account, client) => {
          stats.triggered++;
          const decisionToken = randomBytes(24).toString('base64url');
          if (onDeviceTrigger?.({ bindingMessage: request.params.binding_message, loginHint: account.accountId, decisionToken })) {
            decisions.set(decisionToken, { requestId: request.jti, accountId: account.accountId, clientId: client.clientId, scope: request.scope });
          }
        },
      },
    },
  });
  provider.proxy = false;
  provider.silent = true; // Koa: do not print errors to stderr
  provider.on('server_error', (ctx, error) => {
    stats.serverErrors++;
    stats.lastServerError = String(error?.stack ?? error);
  });

  /** The device's decision, as our notifier's /ext/ciba/auth/callback takes it. */
  async function deviceCallback(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const auth = req.headers.authorization ?? '';
    const decision = auth.startsWith('Bearer ') ? decisions.get(auth.slice(7)) : undefined;
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!decision) return reply(401, { error: 'invalid_token' });
    decisions.delete(auth.slice(7)); // single use
    let status;
    try {
      ({ status } = JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      return reply(400, { error: 'invalid_request' });
    }
    if (status === 'SUCCEED') {
      const grant = new provider.Grant({ accountId: decision.accountId, clientId: decision.clientId });
      grant.addOIDCScope(decision.scope);
      await grant.save();
      await provider.backchannelResult(decision.requestId, grant);
      stats.approved++;
    } else if (status === 'UNAUTHORIZED' || status === 'CANCELLED') {
      await provider.backchannelResult(decision.requestId, new errors.AccessDenied('the end-user denied the request'));
      stats.denied++;
    } else {
      return reply(400, { error: 'invalid_request' });
    }
    return reply(200, {});
  }

  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url === '/device/callback') {
      deviceCallback(req, res).catch((error) => {
        stats.serverErrors++;
        stats.lastServerError = String(error?.stack ?? error);
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    handle(req, res);
  });
  server.keepAliveTimeout = 60_000;

  return {
    url,
    provider,
    stats,
    endpoints: {
      authorize: `${url}/backchannel`,
      token: `${url}/token`,
      callback: `${url}/device/callback`,
    },
    pendingDecisions: () => decisions.size,
    forgetDecisions: () => decisions.clear(),
    close: async () => {
      await pingAgent?.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
