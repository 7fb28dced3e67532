import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '@ciba/config';
import { type RoutePattern, parseRoutePattern } from './route-pattern.js';
import { templatePlaceholders } from './templates.js';

const url = z.url({ protocol: /^https?$/ });
const nonEmpty = z.string().min(1);
/** Header names as RFC 9110 §5.1 allows them (a token). */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const clientAuth = z
  .object({
    clientId: nonEmpty,
    /** client_secret_basic. */
    clientSecret: nonEmpty.optional(),
    /** private_key_jwt: a PEM (PKCS#8) or JWK file holding the gateway's private key. */
    privateKeyJwt: z.object({ keyFile: nonEmpty, kid: nonEmpty.optional(), alg: z.enum(['RS256', 'PS256', 'ES256', 'EdDSA']).default('ES256') }).strict().optional(),
  })
  .strict()
  .refine((c) => (c.clientSecret === undefined) !== (c.privateKeyJwt === undefined), { message: 'set exactly one of clientSecret and privateKeyJwt' });

const provider = z
  .object({
    /** Discovery: `<issuer>/.well-known/openid-configuration` names the endpoints. */
    issuer: url.optional(),
    /** Or the endpoints themselves. */
    cibaEndpoint: url.optional(),
    tokenEndpoint: url.optional(),
    client: clientAuth,
  })
  .strict()
  .refine((p) => p.issuer !== undefined || (p.cibaEndpoint !== undefined && p.tokenEndpoint !== undefined), {
    message: 'set issuer (discovery) or both cibaEndpoint and tokenEndpoint',
  });

const jsonValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

const route = z
  .object({
    /** Names the route in metrics, audit reports and approvals; defaults to `METHOD path`. */
    id: z.string().regex(/^[A-Za-z0-9._:/ -]{1,100}$/, 'letters, digits and . _ : / - or space, at most 100').optional(),
    /** One method, a list, or `*` for any. */
    method: z.union([z.enum(METHODS), z.array(z.enum(METHODS)).min(1), z.literal('*')]),
    /** `/payments/:id`: literal segments, `:name` parameters, and a final `*` for any rest. */
    path: z.string().startsWith('/'),
    cibaEnabled: z.boolean().default(true),
    /** A key of `providers`; defaults to the only provider. */
    provider: nonEmpty.optional(),
    /** The subject token's claim naming the user, sent as login_hint. */
    loginHintClaim: nonEmpty.default('sub'),
    /** `{{params.id}}`, `{{claims.name}}`, `{{method}}`, `{{path}}`; the same request always gives the same text. */
    bindingMessage: z.string().max(256).optional(),
    scope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'space-separated scope tokens').default('openid'),
    acrValues: z.array(nonEmpty).optional(),
    /** RFC 9396 authorization_details; every string in it is a template like `bindingMessage`. */
    authorizationDetails: z.array(z.record(z.string(), jsonValue)).optional(),
    /** Seconds the user has to answer (CIBA `requested_expiry`). */
    requestedExpiry: z.int().min(1).max(86_400).optional(),
    /** `once`: the approval lets one request through; `{ ttl }`: any request of the same user and action for that many seconds. */
    reuse: z.union([z.literal('once'), z.object({ ttl: z.int().min(1).max(86_400) }).strict()]).default('once'),
    /** How the new access token goes upstream. */
    injectHeader: z.object({ name: headerName.default('Authorization'), scheme: z.string().regex(/^[A-Za-z0-9-]*$/).default('Bearer') }).strict().default({ name: 'Authorization', scheme: 'Bearer' }),
    /** Bind the approval to the method, path, query and body hash too: a retry with another body needs its own approval. */
    fingerprint: z.boolean().default(true),
    /** This route's upstream, instead of the policy's. */
    upstream: url.optional(),
  })
  .strict();

const subjectTokens = z
  .object({
    /** Issuers whose access tokens the gateway accepts as subject tokens, each with its JWKS. */
    issuers: z.array(z.object({ issuer: nonEmpty, jwksUri: url }).strict()).min(1),
    /** The `aud` the subject token must carry (one of these). */
    audience: z.union([nonEmpty, z.array(nonEmpty).min(1)]),
    algorithms: z.array(nonEmpty).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    clockToleranceSeconds: z.int().min(0).max(300).default(5),
  })
  .strict();

export const policySchema = z
  .object({
    subjectTokens,
    providers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), provider).refine((p) => Object.keys(p).length > 0, { message: 'at least one provider' }),
    /** Where the reverse proxy sends requests (routes may override it). */
    upstream: url.optional(),
    /** Requests matching no route: `pass` (forwarded as they are) or `deny` (403). */
    unmatched: z.enum(['pass', 'deny']).default('pass'),
    /** Largest body the gateway reads to fingerprint a request; larger is 413. */
    maxBodyBytes: z.int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
    forwardAuth: z
      .object({ methodHeader: headerName.default('X-Original-Method'), uriHeader: headerName.default('X-Original-URI') })
      .strict()
      .default({ methodHeader: 'X-Original-Method', uriHeader: 'X-Original-URI' }),
    /**
     * The provider's `POST /audit/downstream`: each action allowed or blocked is reported there, as
     * `client` (registered with the scope `ciba:audit.report`), by default the provider's own client.
     */
    audit: z
      .object({ endpoint: url, provider: nonEmpty.optional(), client: z.object({ clientId: nonEmpty, clientSecret: nonEmpty }).strict().optional() })
      .strict()
      .optional(),
    routes: z.array(route).min(1),
  })
  .strict();

export type PolicyDocument = z.infer<typeof policySchema>;
export type RoutePolicyDocument = z.infer<typeof route>;
export type ProviderPolicy = z.infer<typeof provider>;

export interface RoutePolicy extends Omit<RoutePolicyDocument, 'id' | 'provider' | 'method'> {
  readonly id: string;
  readonly provider: string;
  readonly methods: readonly string[] | '*';
  readonly pattern: RoutePattern;
}

export interface Policy extends Omit<PolicyDocument, 'routes'> {
  readonly routes: readonly RoutePolicy[];
}

/** The JSON schema of the policy file, as `apps/step-up-gateway/policy.schema.json` holds it (see `write-schema.ts`). */
export function policySchemaDocument(): Record<string, unknown> {
  return { ...z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }), title: 'CIBA step-up gateway policy' };
}

/**
 * Reads and validates the policy file (JSON, or YAML when named `.yaml`/`.yml`). Every problem is
 * listed in one `ConfigError`, so the gateway refuses to start with a message naming each of them.
 */
export async function loadPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`CIBA_GATEWAY_POLICY: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let document: unknown;
  try {
    document = /\.ya?ml$/i.test(extname(file)) ? await parseYaml(text) : JSON.parse(text);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`policy ${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parsePolicy(document, file);
}

async function parseYaml(text: string): Promise<unknown> {
  let parse: (source: string, options: { maxAliasCount: number }) => unknown;
  try {
    ({ parse } = await import('yaml'));
  } catch {
    throw new ConfigError(['policy: YAML policies need the `yaml` package installed; write the policy as JSON instead']);
  }
  return parse(text, { maxAliasCount: 100 });
}

export function parsePolicy(document: unknown, source = 'policy'): Policy {
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${source}: ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`));
  }
  const doc = parsed.data;
  const problems: string[] = [];
  const providerNames = Object.keys(doc.providers);
  const seen = new Set<string>();
  const routes: RoutePolicy[] = doc.routes.map((r, i) => {
    const at = `${source}: routes.${i}`;
    let pattern: RoutePattern = { segments: [], params: [], rest: false, source: r.path };
    try {
      pattern = parseRoutePattern(r.path);
    } catch (err) {
      problems.push(`${at}.path: ${(err as Error).message}`);
    }
    const methods = r.method === '*' ? '*' : Array.isArray(r.method) ? r.method : [r.method];
    const id = r.id ?? `${methods === '*' ? '*' : methods.join(',')} ${r.path}`;
    if (seen.has(id)) problems.push(`${at}.id: "${id}" names another route too`);
    seen.add(id);
    const providerName = r.provider ?? (providerNames.length === 1 ? providerNames[0] : undefined);
    if (providerName === undefined) problems.push(`${at}.provider: required when the policy has several providers`);
    else if (!(providerName in doc.providers)) problems.push(`${at}.provider: no provider named "${providerName}"`);
    const templates = [r.bindingMessage ?? '', ...stringsIn(r.authorizationDetails ?? [])];
    for (const placeholder of templates.flatMap((t) => templatePlaceholders(t))) {
      const problem = placeholderProblem(placeholder, pattern.params);
      if (problem) problems.push(`${at}: ${problem}`);
    }
    return { ...r, id, provider: providerName ?? '', methods, pattern };
  });
  if (doc.audit?.provider !== undefined && !(doc.audit.provider in doc.providers)) problems.push(`${source}: audit.provider: no provider named "${doc.audit.provider}"`);
  if (doc.audit && doc.audit.client === undefined && doc.audit.provider === undefined && providerNames.length > 1) problems.push(`${source}: audit.provider: required when the policy has several providers`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...doc, routes };
}

function placeholderProblem(placeholder: string, params: readonly string[]): string | null {
  if (placeholder === 'method' || placeholder === 'path') return null;
  const [scope, name, ...more] = placeholder.split('.');
  if (more.length === 0 && scope === 'params' && name !== undefined) return params.includes(name) ? null : `{{${placeholder}}}: the path has no parameter :${name}`;
  if (more.length === 0 && scope === 'claims' && name !== undefined && name.length > 0) return null;
  return `{{${placeholder}}}: unknown placeholder (use params.<name>, claims.<name>, method or path)`;
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
