import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/**
 * The Helm chart, tested offline: no helm binary can be had here, so `k8s/render.sh` renders it with
 * Helm's template engine semantics (Go text/template + sprig, Helm's include/tpl/required/toYaml,
 * values merged as `helm template -f` merges them). The merged values are checked against
 * values.schema.json as Helm checks them, and every rendered object against the Kubernetes API
 * schemas (kubernetes-models; Gateway API for the HTTPRoute, the Prometheus operator's for the
 * ServiceMonitor).
 */
const k8s = join(dirname(fileURLToPath(import.meta.url)), '..');
const chart = join(k8s, 'ciba-provider');
const run = promisify(execFile);

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [key: string]: unknown };
type Container = { name: string; args: string[]; env?: Array<{ name: string; value?: string }>; securityContext: Record<string, unknown>; envFrom: unknown[]; volumeMounts?: Array<{ name: string; mountPath: string }> };
type PodSpec = { containers: Container[]; initContainers?: Container[]; securityContext: Record<string, unknown>; automountServiceAccountToken: boolean; volumes?: Array<Record<string, unknown>> };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap,
  Secret,
  Service,
  ServiceAccount,
  Deployment,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  Ingress,
  NetworkPolicy,
  Job,
  HTTPRoute,
  ServiceMonitor,
};

let scratch: string;
/** Writes values to a file for `-f`. */
async function valuesFile(values: object): Promise<string> {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(values));
  return file;
}

async function render(files: string[]): Promise<K8sObject[]> {
  const { stdout } = await run('bash', [join(k8s, 'render.sh'), '-name', 'ciba', '-namespace', 'identity', ...files.flatMap((f) => ['-f', f]), chart], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
}

async function renderError(files: string[]): Promise<string> {
  try {
    await render(files);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error('rendered, but a refusal was expected');
}

async function mergedValues(files: string[]): Promise<unknown> {
  const { stdout } = await run('bash', [join(k8s, 'render.sh'), '-values', ...files.flatMap((f) => ['-f', f]), chart]);
  return JSON.parse(stdout) as unknown;
}

let validateValues: ((values: unknown) => boolean) & { errors?: unknown };
async function schemaErrors(files: string[]): Promise<string[]> {
  const valid = validateValues(await mergedValues(files));
  return valid ? [] : (validateValues.errors as Array<{ instancePath: string; message: string }>).map((e) => `${e.instancePath} ${e.message}`);
}

function validateObjects(objects: readonly K8sObject[]): void {
  for (const object of objects) {
    const Model = MODELS[object.kind];
    if (!Model) throw new Error(`no model for ${object.kind}`);
    try {
      new Model(object as never).validate();
    } catch (err) {
      throw new Error(`${object.kind} ${object.metadata.name}: ${(err as Error).message}`);
    }
  }
}

const byKind = (objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: readonly K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const podOf = (object: K8sObject) => (object as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const SERVICES = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];

const minimal = { issuer: 'https://id.example.com', secrets: { databaseUrl: 'postgres://ciba:secret@db:5432/ciba', keyEncryptionKey: 'MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=' } };
let minimalFile: string;
const production = join(chart, 'values-production.yaml');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ciba-chart-'));
  minimalFile = await valuesFile(minimal);
  const ajv = new Ajv({ allErrors: true, strict: false });
  validateValues = ajv.compile(JSON.parse(await readFile(join(chart, 'values.schema.json'), 'utf8')) as object);
  // The first call builds the renderer from Debian's Go packages.
  await mergedValues([]);
}, 180_000);

describe('Helm chart: values', () => {
  it('the default values, the minimal install and the production-like values pass values.schema.json', async () => {
    expect(await schemaErrors([])).toEqual([]);
    expect(await schemaErrors([minimalFile])).toEqual([]);
    expect(await schemaErrors([production])).toEqual([]);
  });

  it('the schema refuses a misspelt key, an http issuer, an image digest that is not sha256, 6 stream replicas and a NATS URL without a scheme', async () => {
    expect(await schemaErrors([await valuesFile({ ...minimal, authorise: { replicaCount: 2 } })])).toEqual([' must NOT have additional properties']);
    expect((await schemaErrors([await valuesFile({ ...minimal, issuer: 'http://id.example.com' })])).join()).toMatch(/\/issuer must match pattern/);
    expect((await schemaErrors([await valuesFile({ ...minimal, image: { digest: 'latest' } })])).join()).toMatch(/\/image\/digest must match pattern/);
    expect((await schemaErrors([await valuesFile({ ...minimal, nats: { streamReplicas: 6 } })])).join()).toMatch(/\/nats\/streamReplicas must be <= 5/);
    expect((await schemaErrors([await valuesFile({ ...minimal, nats: { servers: ['nats-host:4222'] } })])).join()).toMatch(/\/nats\/servers\/0 must match pattern/);
    expect((await schemaErrors([await valuesFile({ ...minimal, token: { autoscaling: { enabled: true, maxReplicas: 0 } } })])).join()).toMatch(/\/token\/autoscaling\/maxReplicas must be >= 1/);
    // The metrics port cannot be a service's own port, and scrape intervals are Prometheus durations.
    expect((await schemaErrors([await valuesFile({ ...minimal, metrics: { port: 3002 } })])).join()).toMatch(/\/metrics\/port must NOT be valid/);
    expect((await schemaErrors([await valuesFile({ ...minimal, metrics: { serviceMonitor: { interval: '30 seconds' } } })])).join()).toMatch(/\/metrics\/serviceMonitor\/interval must match pattern/);
  });

  it('CIBA_TRUST_PROXY (one ingress hop by default, see the ConfigMap test): a hop count, CIDRs or false pass; true (a client picks its address behind an appending ingress) and names are refused', async () => {
    for (const trustProxy of [false, 2, '10.0.0.0/8, 192.168.0.0/16']) expect(await schemaErrors([await valuesFile({ ...minimal, config: { trustProxy } })])).toEqual([]);
    for (const trustProxy of [true, 0, 11, 'ingress-nginx']) {
      expect((await schemaErrors([await valuesFile({ ...minimal, config: { trustProxy } })])).join()).toMatch(/\/config\/trustProxy must match exactly one schema in oneOf/);
    }
  });

  it('rendering refuses an install without an issuer, with an http issuer, or without the database URL and key (and says which)', async () => {
    expect(await renderError([])).toMatch(/issuer: the public HTTPS URL of the provider is required/);
    expect(await renderError([await valuesFile({ ...minimal, issuer: 'http://id.example.com' })])).toMatch(/issuer: must be an https:\/\/ URL/);
    expect(await renderError([await valuesFile({ ...minimal, secrets: { keyEncryptionKey: 'k' } })])).toMatch(/secrets.databaseUrl \(or secrets.existingSecret\) is required/);
    expect(await renderError([await valuesFile({ ...minimal, secrets: { databaseUrl: 'postgres://db/ciba' } })])).toMatch(/secrets.keyEncryptionKey/);
    expect(await renderError([await valuesFile({ ...minimal, bootstrap: { enabled: true } })])).toMatch(/bootstrap.data \(or bootstrap.existingSecret\) is required/);
    expect(await renderError([await valuesFile({ ...minimal, httpRoute: { enabled: true } })])).toMatch(/httpRoute.parentRefs/);
  });
});

describe('Helm chart: optional secrets', () => {
  const key = Buffer.alloc(32, 7).toString('base64');

  it('the audit HMAC key, the pairwise subject key and the registration token go to the Secret only when set, never to the ConfigMap', async () => {
    const set = await render([await valuesFile({ ...minimal, secrets: { ...minimal.secrets, auditHmacKey: key, pairwiseSubjectKey: key, registrationInitialAccessToken: 'iat-1' } })]);
    const [secret] = byKind(set, 'Secret') as unknown as { stringData: Record<string, string> }[];
    expect(secret.stringData).toMatchObject({ CIBA_AUDIT_HMAC_KEY: key, CIBA_PAIRWISE_SUBJECT_KEY: key, CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: 'iat-1' });
    expect(JSON.stringify(byKind(set, 'ConfigMap'))).not.toContain(key);
    const unset = byKind(await render([minimalFile]), 'Secret') as unknown as { stringData: Record<string, string> }[];
    expect(Object.keys(unset[0].stringData).sort()).toEqual(['CIBA_DATABASE_URL', 'CIBA_KEY_ENCRYPTION_KEY']);
  });

  it('the schema refuses an audit HMAC key or pairwise subject key that is not 32 bytes in base64', async () => {
    for (const name of ['auditHmacKey', 'pairwiseSubjectKey']) {
      expect((await schemaErrors([await valuesFile({ ...minimal, secrets: { ...minimal.secrets, [name]: 'short' } })])).join()).toMatch(new RegExp(`/secrets/${name} must match pattern`));
    }
  });
});

describe('Helm chart: rendered objects', () => {
  let objects: K8sObject[];
  let prod: K8sObject[];
  beforeAll(async () => {
    objects = await render([minimalFile]);
    prod = await render([production]);
  }, 60_000);

  it('every object of the minimal install and of the production-like install is valid against the Kubernetes API schemas', () => {
    validateObjects(objects);
    validateObjects(prod);
    const kinds = (list: readonly K8sObject[]) => Object.fromEntries([...new Set(list.map((o) => o.kind))].map((k) => [k, byKind(list, k).length]));
    expect(kinds(objects)).toEqual({ ConfigMap: 1, Secret: 1, Deployment: 5, Service: 5, ServiceAccount: 6, PodDisruptionBudget: 4, NetworkPolicy: 6, Job: 1 });
    expect(kinds(prod)).toEqual({ ConfigMap: 2, ServiceMonitor: 1, Deployment: 5, Service: 5, ServiceAccount: 6, PodDisruptionBudget: 5, HorizontalPodAutoscaler: 4, NetworkPolicy: 6, Job: 1, Ingress: 1, HTTPRoute: 1 });
  });

  it('per service: a Deployment running that service from the one image, a Service on its port, its own ServiceAccount, probes on /healthz and /readyz', () => {
    const ports: Record<string, number> = { authorize: 3001, token: 3002, notifier: 3003, audit: 3004, 'callback-dispatcher': 3005 };
    for (const service of SERVICES) {
      const deployment = named(objects, 'Deployment', `ciba-ciba-provider-${service}`);
      const pod = podOf(deployment);
      const [container] = pod.containers;
      expect(container.args).toEqual([service]);
      expect((container as unknown as { image: string }).image).toBe('ghcr.io/ciba-provider/ciba-provider:0.1.0');
      expect(container.env).toContainEqual({ name: 'CIBA_PORT', value: String(ports[service]) });
      expect(container).toMatchObject({ readinessProbe: { httpGet: { path: '/readyz', port: 'http' } }, livenessProbe: { httpGet: { path: '/healthz', port: 'http' } } });
      expect((pod as unknown as { serviceAccountName: string }).serviceAccountName).toBe(`ciba-ciba-provider-${service}`);
      expect(named(objects, 'Service', `ciba-ciba-provider-${service}`)).toMatchObject({ spec: { ports: [{ name: 'http', port: ports[service], targetPort: 'http' }, { name: 'metrics' }] } });
      named(objects, 'ServiceAccount', `ciba-ciba-provider-${service}`);
    }
    // A digest wins over the tag, under the registry given.
    expect((podOf(named(prod, 'Deployment', 'ciba-ciba-provider-token')).containers[0] as unknown as { image: string }).image).toBe(
      'registry.example.com/identity/ciba-provider@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
  });

  it('pod security: every container of every pod runs as uid 1000, non-root, read-only root filesystem, no capabilities, no privilege escalation, RuntimeDefault seccomp, no service account token', () => {
    const pods = [...byKind(prod, 'Deployment'), ...byKind(prod, 'Job')].map(podOf);
    expect(pods).toHaveLength(6);
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.volumes).toContainEqual({ name: 'nats-credentials', secret: { secretName: 'ciba-nats-credentials' } });
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } });
        // A writable /tmp, since the root filesystem is read-only; the NATS CA and creds from their Secret.
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(container.volumeMounts).toContainEqual({ name: 'nats-credentials', mountPath: '/etc/ciba/nats', readOnly: true });
      }
    }
  });

  it('one issuer host: each public path goes to the service that answers it (Ingress and HTTPRoute); audit and the callback dispatcher are not exposed', () => {
    const ingress = named(prod, 'Ingress', 'ciba-ciba-provider') as unknown as { spec: { tls: unknown[]; rules: Array<{ host: string; http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }> } };
    expect(ingress.spec.tls).toEqual([{ hosts: ['id.example.com'], secretName: 'ciba-tls' }]);
    const routes = Object.fromEntries(ingress.spec.rules[0].http.paths.map((p) => [p.path, p.backend.service.name.replace('ciba-ciba-provider-', '')]));
    expect(ingress.spec.rules[0].host).toBe('id.example.com');
    expect(routes).toEqual({
      '/bc-authorize': 'authorize',
      '/.well-known/': 'authorize',
      '/jwks': 'authorize',
      '/register': 'authorize',
      '/token': 'token',
      '/userinfo': 'token',
      '/ext/ciba/auth/callback': 'notifier',
      '/ext/ciba/devices': 'notifier',
      '/approve/': 'notifier',
      '/enrol/': 'notifier',
    });
    const route = named(prod, 'HTTPRoute', 'ciba-ciba-provider') as unknown as { spec: { hostnames: string[]; rules: Array<{ matches: Array<{ path: { value: string } }>; backendRefs: Array<{ name: string; port: number }> }> } };
    expect(route.spec.hostnames).toEqual(['id.example.com']);
    const gatewayRoutes = route.spec.rules.flatMap((rule) => rule.matches.map((m) => [m.path.value, `${rule.backendRefs[0].name.replace('ciba-ciba-provider-', '')}:${rule.backendRefs[0].port}`]));
    expect(Object.fromEntries(gatewayRoutes)).toEqual({
      '/bc-authorize': 'authorize:3001',
      '/.well-known': 'authorize:3001',
      '/jwks': 'authorize:3001',
      '/register': 'authorize:3001',
      '/token': 'token:3002',
      '/userinfo': 'token:3002',
      '/ext/ciba/auth/callback': 'notifier:3003',
      '/ext/ciba/devices': 'notifier:3003',
      '/approve': 'notifier:3003',
      '/enrol': 'notifier:3003',
    });
  });

  it('the setup Job is a pre-install/pre-upgrade hook: migrate, streams ensure, bootstrap, then the first signing keys, in order; what it reads exists before it', () => {
    const job = named(prod, 'Job', 'ciba-ciba-provider-setup');
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '0' });
    const pod = podOf(job);
    expect(pod.initContainers?.map((c) => c.args)).toEqual([
      ['admin', 'migrate'],
      ['admin', 'streams', 'ensure'],
      ['admin', 'bootstrap', '--file', '/etc/ciba/bootstrap/bootstrap.json'],
    ]);
    expect(pod.containers.map((c) => c.args)).toEqual([['admin', 'keys', 'list']]);
    expect(pod.volumes).toContainEqual({ name: 'bootstrap', secret: { secretName: 'ciba-bootstrap' } });
    // The ConfigMap, the Secret and the Job's ServiceAccount are hooks of a lower weight: created first.
    for (const [kind, name] of [['ConfigMap', 'ciba-ciba-provider-config'], ['Secret', 'ciba-ciba-provider-secrets'], ['ServiceAccount', 'ciba-ciba-provider-setup']]) {
      expect(named(objects, kind, name).metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-10' });
    }
  });

  it('configuration: public URLs from the issuer, streams made by the Job (services need no right to create them) with 3 replicas on a cluster, secrets only from Secrets', () => {
    const config = named(prod, 'ConfigMap', 'ciba-ciba-provider-config') as unknown as { data: Record<string, string> };
    expect(config.data).toMatchObject({
      CIBA_ISSUER: 'https://id.example.com',
      CIBA_TOKEN_URL: 'https://id.example.com',
      CIBA_NOTIFIER_URL: 'https://id.example.com',
      CIBA_NATS_STREAM_REPLICAS: '3',
      CIBA_NATS_ENSURE_STREAMS: 'false',
      CIBA_DELIVERY_MODES: 'poll,ping,push',
      CIBA_NATS_SERVERS: 'tls://nats-0.nats-headless.nats:4222,tls://nats-1.nats-headless.nats:4222,tls://nats-2.nats-headless.nats:4222',
      CIBA_NATS_CREDS_FILE: '/etc/ciba/nats/ciba.creds',
      // One ingress in front: the address it saw, whatever a client wrote into X-Forwarded-For.
      CIBA_TRUST_PROXY: '1',
    });
    expect(JSON.stringify(config.data)).not.toMatch(/postgres:|KEY_ENCRYPTION/);
    // An existing Secret: the chart makes none and every pod reads that one, and the operator's extra Secrets.
    expect(byKind(prod, 'Secret')).toEqual([]);
    for (const pod of [...byKind(prod, 'Deployment'), ...byKind(prod, 'Job')].map(podOf)) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.envFrom).toEqual([{ configMapRef: { name: 'ciba-ciba-provider-config' } }, { secretRef: { name: 'ciba-secrets' } }, { secretRef: { name: 'ciba-channel-credentials' } }]);
      }
    }
    expect(podOf(named(prod, 'Deployment', 'ciba-ciba-provider-notifier')).containers[0].env).toContainEqual({ name: 'CIBA_EMAIL_VENDOR', value: 'smtp' });
  });

  it('a configuration change rolls the Deployments (checksum annotation); the same values render the same checksum', async () => {
    const checksum = (list: readonly K8sObject[]) => (named(list, 'Deployment', 'ciba-ciba-provider-token') as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations['checksum/config'];
    expect(checksum(await render([minimalFile]))).toBe(checksum(objects));
    expect(checksum(await render([await valuesFile({ ...minimal, config: { logLevel: 'debug' } })]))).not.toBe(checksum(objects));
  });

  it('autoscaling replaces the fixed replica count; PodDisruptionBudgets keep at most one pod of a service down', () => {
    expect((named(objects, 'Deployment', 'ciba-ciba-provider-token') as unknown as { spec: { replicas?: number } }).spec.replicas).toBe(2);
    expect((named(prod, 'Deployment', 'ciba-ciba-provider-token') as unknown as { spec: { replicas?: number } }).spec.replicas).toBeUndefined();
    expect(named(prod, 'HorizontalPodAutoscaler', 'ciba-ciba-provider-token')).toMatchObject({ spec: { minReplicas: 3, maxReplicas: 12, scaleTargetRef: { kind: 'Deployment', name: 'ciba-ciba-provider-token' } } });
    for (const pdb of byKind(prod, 'PodDisruptionBudget')) expect(pdb).toMatchObject({ spec: { maxUnavailable: 1 } });
  });

  it('metrics: every service serves /metrics on its own port, named on the Service, scraped by one ServiceMonitor; the Grafana dashboard is valid JSON over the series the services expose', async () => {
    for (const service of SERVICES) {
      const container = podOf(named(prod, 'Deployment', `ciba-ciba-provider-${service}`)).containers[0];
      expect(container.env).toContainEqual({ name: 'CIBA_METRICS_PORT', value: '9464' });
      expect((container as unknown as { ports: unknown[] }).ports).toContainEqual({ name: 'metrics', containerPort: 9464, protocol: 'TCP' });
      expect((named(prod, 'Service', `ciba-ciba-provider-${service}`) as unknown as { spec: { ports: unknown[] } }).spec.ports).toContainEqual({ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' });
    }
    expect(named(prod, 'ServiceMonitor', 'ciba-ciba-provider')).toMatchObject({
      metadata: { labels: { release: 'monitoring' } },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': 'ciba-provider', 'app.kubernetes.io/instance': 'ciba' } },
        namespaceSelector: { matchNames: ['identity'] },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
      },
    });
    expect(byKind(objects, 'ServiceMonitor')).toEqual([]);
    const dashboard = named(prod, 'ConfigMap', 'ciba-ciba-provider-dashboard') as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    expect(dashboard.metadata.labels['grafana_dashboard']).toBe('1');
    const json = JSON.parse(dashboard.data['ciba-provider.json']) as { uid: string; panels: Array<{ type: string; targets?: Array<{ expr: string }> }> };
    expect(json.uid).toBe('ciba-provider');
    const queried = new Set(json.panels.flatMap((p) => p.targets ?? []).flatMap((t) => t.expr.match(/\b(ciba|process)_[a-z_]+/g) ?? []));
    const sources = ['libs/platform/src/metrics/provider-metrics.ts', 'libs/service-callback-dispatcher/src/callback-metrics.ts'];
    const exposed = (await Promise.all(sources.map((file) => readFile(join(k8s, '..', file), 'utf8')))).join('\n');
    const series = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    expect([...queried].filter((name) => !name.startsWith('process_') && !exposed.includes(`'${series(name)}'`))).toEqual([]);
  });

  it('tracing: off unless a collector endpoint is given; then every service exports to it (OTEL_* in the ConfigMap) and its NetworkPolicy lets it reach the collector port, the setup Job not', async () => {
    const config = (list: readonly K8sObject[]) => (named(list, 'ConfigMap', 'ciba-ciba-provider-config') as unknown as { data: Record<string, string> }).data;
    expect(Object.keys(config(objects)).filter((key) => key.startsWith('OTEL_'))).toEqual([]);
    const collector = { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } };
    const traced = await render([minimalFile, await valuesFile({ tracing: { otlpEndpoint: 'http://otel-collector.observability:4318', samplerArg: 0.25, sampler: 'parentbased_traceidratio', collectorNamespaceSelector: collector } })]);
    validateObjects(traced);
    expect(config(traced)).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    type Egress = { spec: { egress: Array<{ to?: unknown[]; ports: Array<{ port: number }> }> } };
    const toCollector = (component: string) => (named(traced, 'NetworkPolicy', `ciba-ciba-provider-${component}`) as unknown as Egress).spec.egress.filter((rule) => rule.ports.some((p) => p.port === 4318));
    for (const service of SERVICES) expect([service, toCollector(service)]).toEqual([service, [{ to: [{ namespaceSelector: collector }], ports: [{ port: 4318, protocol: 'TCP' }] }]]);
    expect(toCollector('setup')).toEqual([]);
    expect((await schemaErrors([await valuesFile({ ...minimal, tracing: { otlpEndpoint: 'otel-collector:4318' } })])).join()).toMatch(/\/tracing\/otlpEndpoint must match pattern/);
    expect((await schemaErrors([await valuesFile({ ...minimal, tracing: { protocol: 'grpc' } })])).join()).toMatch(/\/tracing\/protocol must be equal to one of the allowed values/);
  });

  it('NetworkPolicies: public services reachable from the ingress namespace only; egress to DNS, PostgreSQL and NATS; the notifier and the callback dispatcher reach out, the services that authenticate clients on 443 only (jwks_uri and other client metadata), never to internal ranges', async () => {
    type Policy = { spec: { ingress: Array<{ from: unknown[]; ports: Array<{ port: number }> }>; egress: Array<{ to?: Array<{ ipBlock?: { cidr: string; except?: string[] } }>; ports: Array<{ port: number }> }> } };
    const policy = (component: string) => named(prod, 'NetworkPolicy', `ciba-ciba-provider-${component}`) as unknown as Policy;
    const ingressFromIngressController = (component: string) => policy(component).spec.ingress.some((rule) => JSON.stringify(rule.from).includes('ingress-nginx'));
    expect(['authorize', 'token', 'notifier'].every(ingressFromIngressController)).toBe(true);
    expect(['audit', 'callback-dispatcher', 'setup'].some(ingressFromIngressController)).toBe(false);
    expect(policy('setup').spec.ingress).toEqual([]);
    const outboundPorts = (component: string) => policy(component).spec.egress.filter((rule) => rule.to?.some((to) => to.ipBlock?.cidr === '0.0.0.0/0')).flatMap((rule) => rule.ports.map((p) => p.port));
    expect(outboundPorts('callback-dispatcher')).toEqual([443]);
    expect(outboundPorts('notifier')).toEqual([443, 465, 587]);
    for (const component of ['authorize', 'token', 'audit']) expect(outboundPorts(component)).toEqual([443]);
    expect(outboundPorts('setup')).toEqual([]);
    for (const component of ['authorize', 'token', 'audit']) {
      const rule = policy(component).spec.egress.find((r) => r.to?.some((to) => to.ipBlock?.cidr === '0.0.0.0/0'));
      expect(rule?.to?.[0]?.ipBlock?.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']));
    }
    // Without client metadata by URL (inline jwks only), they reach nothing outside.
    const closed = await render([production, await valuesFile({ networkPolicy: { clientMetadataFetch: false } })]);
    const closedPorts = (component: string) =>
      (named(closed, 'NetworkPolicy', `ciba-ciba-provider-${component}`) as unknown as Policy).spec.egress
        .filter((rule) => rule.to?.some((to) => to.ipBlock?.cidr === '0.0.0.0/0'))
        .flatMap((rule) => rule.ports.map((p) => p.port));
    for (const component of ['authorize', 'token', 'audit', 'setup']) expect(closedPorts(component)).toEqual([]);
    expect(closedPorts('callback-dispatcher')).toEqual([443]);
    const outbound = policy('callback-dispatcher').spec.egress.find((rule) => rule.to?.some((to) => to.ipBlock?.cidr === '0.0.0.0/0'));
    expect(outbound?.to?.[0]?.ipBlock?.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']));
    expect(policy('token').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
    // Prometheus reaches the metrics port only; the service port stays the ingress controller's.
    for (const component of SERVICES) {
      const scraping = policy(component).spec.ingress.filter((rule) => JSON.stringify(rule.from).includes('monitoring'));
      expect([component, scraping.flatMap((rule) => rule.ports.map((p) => p.port))]).toEqual([component, [9464]]);
    }
  });
});

describe('Helm chart: README', () => {
  it('lists every value of values.yaml, as @bitnami/readme-generator-for-helm generates it from the @param comments', async () => {
    const copy = join(scratch, 'README.md');
    await writeFile(copy, await readFile(join(chart, 'README.md'), 'utf8'));
    const generator = join(k8s, '..', 'node_modules', '@bitnami', 'readme-generator-for-helm', 'bin', 'index.js');
    const { stdout, stderr } = await run(process.execPath, [generator, '--values', join(chart, 'values.yaml'), '--readme', copy]);
    expect(`${stdout}${stderr}`).toContain('Metadata is correct!');
    expect(await readFile(copy, 'utf8')).toBe(await readFile(join(chart, 'README.md'), 'utf8'));
  });
});
