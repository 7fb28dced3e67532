import { randomBytes, randomUUID } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createGatewayApp } from '../src/gateway-app.js';
import type { GatewayConfig } from '../src/gateway-config.js';
import { type Policy, parsePolicy } from '../src/policy/policy.js';

/** An OAuth server that issues subject tokens: its JWKS on loopback, and a signer. */
export class SubjectIssuer {
  private constructor(
    readonly issuer: string,
    private readonly server: Server,
    private readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    private readonly kid: string,
  ) {}

  static async start(): Promise<SubjectIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const kid = randomUUID();
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    const server = createServer((req, res) => {
      if (req.url === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new SubjectIssuer(issuer, server, privateKey, kid);
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** An access token for `sub` (audience `api://payments`, valid five minutes unless `claims` say otherwise). */
  async token(sub: string, claims: Record<string, unknown> = {}, expiresIn: string | number = '5m'): Promise<string> {
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(sub)
      .setAudience('api://payments')
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface UpstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The protected API behind the gateway: records every request and answers 200 with what it saw. */
export class Upstream {
  private constructor(
    readonly url: string,
    private readonly server: Server,
    readonly requests: UpstreamRequest[],
  ) {}

  static async start(): Promise<Upstream> {
    const requests: UpstreamRequest[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        requests.push(seen);
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'payments' }).end(JSON.stringify({ ok: true, method: seen.method, url: seen.url }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Upstream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface PolicyOptions {
  readonly providerIssuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly subjectIssuer: SubjectIssuer;
  readonly upstream?: string;
  readonly audit?: { readonly endpoint: string; readonly client: { readonly clientId: string; readonly clientSecret: string } };
  readonly requestedExpiry?: number;
}

/** The test policy: payments need a `once` approval bound to the body, reports need a 60-second one. */
export function testPolicy(o: PolicyOptions): Policy {
  return parsePolicy({
    subjectTokens: { issuers: [{ issuer: o.subjectIssuer.issuer, jwksUri: o.subjectIssuer.jwksUri }], audience: 'api://payments' },
    providers: { main: { issuer: o.providerIssuer, client: { clientId: o.clientId, clientSecret: o.clientSecret } } },
    ...(o.upstream ? { upstream: o.upstream } : {}),
    ...(o.audit ? { audit: o.audit } : {}),
    routes: [
      {
        id: 'payments.create',
        method: 'POST',
        path: '/payments/:id',
        loginHintClaim: 'sub',
        bindingMessage: 'Pay {{params.id}}',
        scope: 'openid',
        authorizationDetails: [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '{{params.id}}' } }],
        ...(o.requestedExpiry !== undefined ? { requestedExpiry: o.requestedExpiry } : {}),
        reuse: 'once',
        fingerprint: true,
      },
      { id: 'reports.read', method: 'GET', path: '/reports/:name', bindingMessage: 'Read report {{params.name}}', reuse: { ttl: 60 }, fingerprint: false },
      { id: 'public', method: '*', path: '/public/*', cibaEnabled: false },
    ],
  });
}

export function gatewayConfig(databaseUrl: string, overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    policyFile: '(inline)',
    databaseUrl,
    encryptionKey: randomBytes(32).toString('base64'),
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    poolSize: 4,
    shutdownTimeoutMs: 5_000,
    pollTickMs: 100,
    allowHttpProvider: true,
    ...overrides,
  };
}

export interface RunningGateway {
  readonly url: string;
  readonly app: NestExpressApplication;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, policy: Policy): Promise<RunningGateway> {
  const app = await createGatewayApp(config, policy);
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url, app, close: () => app.close() };
}
