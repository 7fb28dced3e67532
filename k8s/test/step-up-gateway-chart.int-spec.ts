import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** The chart's optional step-up gateway (stepUpGateway.*), rendered offline as `chart.int-spec.ts` renders the chart. */
const k8s = join(dirname(fileURLToPath(import.meta.url)), '..');
const chart = join(k8s, 'ciba-provider');
const run = promisify(execFile);

type K8sObject = { kind: string; metadata: { name: string }; [key: string]: unknown };
const MODELS: Record<string, new (data: never) => { validate(): void }> = { Secret, Service, ServiceAccount, Deployment, NetworkPolicy };

const minimal = { issuer: 'https://id.example.com', secrets: { databaseUrl: 'postgres://ciba:secret@db:5432/ciba', keyEncryptionKey: 'MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=' } };
const policy = {
  subjectTokens: { issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }], audience: 'api://payments' },
  providers: { main: { issuer: 'https://id.example.com', client: { clientId: 'gateway', clientSecret: 'gateway-secret' } } },
  upstream: 'http://payments:8080',
  routes: [{ method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.id}}' }],
};

let scratch: string;
let validateValues: ((values: unknown) => boolean) & { errors?: unknown };

async function valuesFile(values: object): Promise<string> {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(values));
  return file;
}

async function render(values: object): Promise<K8sObject[]> {
  const { stdout } = await run('bash', [join(k8s, 'render.sh'), '-name', 'ciba', '-namespace', 'identity', '-f', await valuesFile(values), chart], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject);
}

async function schemaErrors(values: object): Promise<string[]> {
  const { stdout } = await run('bash', [join(k8s, 'render.sh'), '-values', '-f', await valuesFile(values), chart]);
  const valid = validateValues(JSON.parse(stdout));
  return valid ? [] : (validateValues.errors as Array<{ instancePath: string; message: string }>).map((e) => `${e.instancePath} ${e.message}`);
}

const gatewayObjects = (objects: readonly K8sObject[]) => objects.filter((o) => o.metadata.name.includes('step-up-gateway'));

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ciba-chart-gateway-'));
  validateValues = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(await readFile(join(chart, 'values.schema.json'), 'utf8')) as object);
}, 180_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('Helm chart: the step-up gateway', () => {
  it('is not deployed unless enabled', async () => {
    expect(gatewayObjects(await render(minimal))).toEqual([]);
  });

  it('deploys a Deployment, Service, ServiceAccount, NetworkPolicy and the policy as a Secret, all valid Kubernetes objects', async () => {
    const values = { ...minimal, stepUpGateway: { enabled: true, policy } };
    expect(await schemaErrors(values)).toEqual([]);
    const objects = gatewayObjects(await render(values));
    expect(objects.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual(
      [
        'Deployment ciba-ciba-provider-step-up-gateway',
        'NetworkPolicy ciba-ciba-provider-step-up-gateway',
        'Secret ciba-ciba-provider-step-up-gateway-policy',
        'Service ciba-ciba-provider-step-up-gateway',
        'ServiceAccount ciba-ciba-provider-step-up-gateway',
      ].sort(),
    );
    for (const object of objects) new (MODELS[object.kind])(object as never).validate();

    const secret = objects.find((o) => o.kind === 'Secret') as unknown as { data: Record<string, string> };
    expect(JSON.parse(Buffer.from(String(secret.data['policy.json']), 'base64').toString('utf8'))).toEqual(policy);
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string; value: string }>; securityContext: Record<string, unknown> }> } } };
    };
    const [container] = deployment.spec.template.spec.containers;
    expect(container?.args).toEqual(['step-up-gateway']);
    expect(container?.env).toEqual(expect.arrayContaining([{ name: 'CIBA_PORT', value: '3006' }, { name: 'CIBA_GATEWAY_POLICY', value: '/etc/step-up-gateway/policy.json' }]));
    expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
  });

  it('uses an existing Secret for the policy instead of one made from the values', async () => {
    const objects = gatewayObjects(await render({ ...minimal, stepUpGateway: { enabled: true, existingPolicySecret: 'gateway-policy' } }));
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(JSON.stringify(objects.find((o) => o.kind === 'Deployment'))).toContain('"secretName":"gateway-policy"');
  });

  it('refuses to enable it without a policy, and misspelt keys', async () => {
    expect((await schemaErrors({ ...minimal, stepUpGateway: { enabled: true } })).join()).toMatch(/must match a schema in anyOf/);
    expect(await schemaErrors({ ...minimal, stepUpGateway: { enabled: false, polcy: {} } })).toEqual(['/stepUpGateway must NOT have additional properties']);
  });
});
