import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, waitFor } from '@ciba/testing';
import { OtlpReceiver, type ReceivedSpan, SPAN_KIND } from './otlp-receiver.js';
import { ServiceProcess, admin, bootstrapFile, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const PING = { id: 'e2e-traced-ping', secret: `ping-${randomBytes(6).toString('hex')}` };
const CIBA = 'urn:openid:params:grant-type:ciba';

/**
 * One CIBA flow is one trace (issue 10, "Traces"): the services run as separate processes exporting
 * OTLP/HTTP to a receiver in the test, and one ping flow (CIBA §10.2) — bc-authorize, the device's
 * decision, the ping callback, the token request — ends up in the trace of its bc-authorize request,
 * carried over NATS by W3C Trace Context headers and across the flow's separate HTTP requests by the
 * context stored with the authentication request.
 */
describe('tracing across separate service processes', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let otlp: OtlpReceiver;
  let services: Record<'authorize' | 'token' | 'notifier' | 'callback-dispatcher', ServiceProcess>;
  let audit: ServiceProcess;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const bindingMessage = `Traced ping ${randomBytes(3).toString('hex')}`;
  const notificationToken = randomBytes(16).toString('base64url');
  let authReqId: string;
  let decisionToken: string;
  let tokens: Record<string, string>;
  let flow: ReceivedSpan[];
  let root: ReceivedSpan;

  const basic = `Basic ${Buffer.from(`${PING.id}:${PING.secret}`).toString('base64')}`;
  const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };
  const one = (spans: readonly ReceivedSpan[], what: string, match: (span: ReceivedSpan) => boolean): ReceivedSpan => {
    const found = spans.filter(match);
    if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${JSON.stringify(spans.map((s) => [s.service, s.name]))}`);
    return found[0];
  };

  beforeAll(async () => {
    otlp = await OtlpReceiver.start();
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const tracing = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.endpoint,
      // Spans leave each process a tenth of a second after they end, not five seconds.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // A request may ask to live 2 s (the expiry test).
      CIBA_MIN_EXPIRES_IN: '1',
    };
    const env = { ...peers.env, ...tracing };
    const file = await bootstrapFile({
      clients: [
        {
          client_id: PING.id,
          client_secret: PING.secret,
          grant_types: [CIBA],
          scope: 'openid',
          backchannel_token_delivery_mode: 'ping',
          backchannel_client_notification_endpoint: `${receiver.origin}/ping`,
        },
      ],
      users: [{ sub: 'erin', email: 'erin@example.com' }],
    });
    await admin(['bootstrap', '--file', file], env);
    // Four services export OTLP/JSON, decoded here; the audit service keeps the OTLP default (protobuf).
    services = serviceProcesses(['authorize', 'token', 'notifier', 'callback-dispatcher'], peers.ports, { ...env, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' });
    audit = new ServiceProcess('audit', peers.ports.audit, env);
    await startServices({ ...services, audit });

    const started = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ scope: 'openid', login_hint: 'erin', binding_message: bindingMessage, client_notification_token: notificationToken }),
    });
    expect(started.status).toBe(200);
    authReqId = ((await started.json()) as { auth_req_id: string }).auth_req_id;
    const notification = await device.notificationFor((n) => n.body['binding_message'] === bindingMessage, 15_000);
    decisionToken = notification.decisionToken!;
    const decided = await fetch(`${services.notifier.url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'SUCCEED' }),
    });
    expect(decided.status).toBe(200);
    await receiver.waitFor(authReqId);
    const redeemed = await fetch(`${services.token.url}/token`, { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: CIBA, auth_req_id: authReqId }) });
    expect(redeemed.status).toBe(200);
    tokens = (await redeemed.json()) as Record<string, string>;

    await waitFor(() => otlp.spans.some((s) => s.service === 'ciba-authorize' && s.name === 'POST /bc-authorize'), { description: 'the bc-authorize span' });
    root = one(otlp.spans, 'bc-authorize span', (s) => s.service === 'ciba-authorize' && s.name === 'POST /bc-authorize');
    await waitFor(
      () =>
        otlp.trace(root.traceId).some((s) => s.service === 'ciba-token' && s.name === 'ciba.token_request') &&
        otlp.trace(root.traceId).some((s) => s.service === 'ciba-callback-dispatcher' && s.kind === SPAN_KIND.CONSUMER) &&
        otlp.protobufBodies.some((body) => body.includes(Buffer.from(root.traceId, 'hex'))),
      { timeoutMs: 15_000, description: 'the flow’s spans from every service' },
    );
    flow = otlp.trace(root.traceId);
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: [...Object.values(services ?? {}), audit], peers: [otlp, receiver, device], db, busPrefix });
  });

  it('the flow starts a trace at bc-authorize: a server span named by its route, its statements beneath it', () => {
    expect(root).toMatchObject({ kind: SPAN_KIND.SERVER, parentSpanId: null, attributes: expect.objectContaining({ 'http.route': '/bc-authorize' }) });
    const statements = flow.filter((s) => s.service === 'ciba-authorize' && s.kind === SPAN_KIND.CLIENT && s.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThan(0);
    // The statement with its placeholders, never the values bound to them.
    const insert = one(statements, 'auth_requests insert', (s) => String(s.attributes['db.query.text']).startsWith('INSERT INTO auth_requests'));
    expect(insert.parentSpanId).toBe(root.spanId);
    expect(insert.attributes['db.query.text']).toContain('$1');
  });

  it('authorize, notifier, callback dispatcher and token all have spans in the one trace of the flow', () => {
    expect(new Set(flow.map((s) => s.service))).toEqual(new Set(['ciba-authorize', 'ciba-notifier', 'ciba-callback-dispatcher', 'ciba-token']));
    // The audit service exported OTLP protobuf: its consumer span carries the same trace id, in binary.
    expect(otlp.protobufBodies.some((body) => body.includes(Buffer.from(root.traceId, 'hex')))).toBe(true);
  });

  it('each NATS hop is a PRODUCER span and a CONSUMER span that is its child (W3C traceparent in the message headers)', () => {
    const created = one(flow, 'auth_request.created publish', (s) => s.kind === SPAN_KIND.PRODUCER && s.name === `publish ${busPrefix}.ciba.lifecycle.auth_request.created`);
    expect(created).toMatchObject({ service: 'ciba-authorize', parentSpanId: root.spanId });
    expect(created.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'send' });
    const notified = one(flow, 'notifier process span', (s) => s.kind === SPAN_KIND.CONSUMER && s.service === 'ciba-notifier' && s.name.endsWith('auth_request.created'));
    expect(notified).toMatchObject({ parentSpanId: created.spanId, attributes: expect.objectContaining({ 'messaging.consumer.group.name': 'notifier', 'ciba.bus.settlement': 'ack' }) });

    const approved = one(flow, 'auth_request.approved publish', (s) => s.kind === SPAN_KIND.PRODUCER && s.name.endsWith('auth_request.approved'));
    expect(approved.service).toBe('ciba-notifier');
    const dispatched = one(flow, 'dispatcher process span', (s) => s.kind === SPAN_KIND.CONSUMER && s.service === 'ciba-callback-dispatcher' && s.name.endsWith('auth_request.approved'));
    expect(dispatched).toMatchObject({ parentSpanId: approved.spanId, attributes: expect.objectContaining({ 'messaging.consumer.group.name': 'callback-dispatcher' }) });
  });

  it('the device’s decision arrives on a request of its own: its work for the flow is a span of the flow, linked to that request', () => {
    const callback = one(otlp.spans, 'device callback span', (s) => s.service === 'ciba-notifier' && s.name === 'POST /ext/ciba/auth/callback');
    expect(callback.traceId).not.toBe(root.traceId);
    const decision = one(flow, 'decision span', (s) => s.name === 'ciba.decision');
    expect(decision).toMatchObject({ service: 'ciba-notifier', parentSpanId: root.spanId, links: [{ traceId: callback.traceId, spanId: callback.spanId }] });
    expect(decision.attributes).toMatchObject({ 'ciba.decision': 'approved' });
    const approved = one(flow, 'auth_request.approved publish', (s) => s.kind === SPAN_KIND.PRODUCER && s.name.endsWith('auth_request.approved'));
    expect(approved.parentSpanId).toBe(decision.spanId);
  });

  it('the token request redeeming the flow is a span of the flow, linked to the client’s request', () => {
    const request = one(otlp.spans, 'token server span', (s) => s.service === 'ciba-token' && s.name === 'POST /token');
    const redemption = one(flow, 'token_request span', (s) => s.name === 'ciba.token_request');
    expect(redemption).toMatchObject({ service: 'ciba-token', parentSpanId: root.spanId, links: [{ traceId: request.traceId, spanId: request.spanId }] });
    // The redemption's auth_request.redeemed event is published within the flow.
    expect(flow.some((s) => s.kind === SPAN_KIND.PRODUCER && s.name.endsWith('auth_request.redeemed') && s.parentSpanId === redemption.spanId)).toBe(true);
  });

  it('the calls to the device and to the client’s endpoint are CLIENT spans, and each carries the flow’s traceparent', () => {
    const http = (service: string) => flow.filter((s) => s.service === service && s.kind === SPAN_KIND.CLIENT && s.attributes['url.full'] !== undefined);
    expect(http('ciba-notifier').map((s) => s.attributes['url.full'])).toEqual([device.url]);
    expect(http('ciba-callback-dispatcher').map((s) => s.attributes['url.full'])).toEqual([`${receiver.origin}/ping`]);
    const traceparent = (headers: Record<string, unknown>) => (typeof headers['traceparent'] === 'string' ? headers['traceparent'].split('-')[1] : null);
    expect(traceparent(device.received.find((n) => n.body['binding_message'] === bindingMessage)!.headers)).toBe(root.traceId);
    expect(traceparent(receiver.for(authReqId)[0].headers)).toBe(root.traceId);
  });

  it('a request that expires stays in its trace: the sweeper’s expiry is a span of the flow, and the expiry ping (CIBA §10.2) is delivered within it', async () => {
    const started = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ scope: 'openid', login_hint: 'erin', binding_message: `Expiring ${randomBytes(3).toString('hex')}`, client_notification_token: 'expiry-bearer', requested_expiry: '2' }),
    });
    const expiring = ((await started.json()) as { auth_req_id: string }).auth_req_id;
    await receiver.waitFor(expiring, 1, 15_000);
    const expiryRoot = () => otlp.spans.find((s) => s.name === 'POST /bc-authorize' && s.traceId !== root.traceId);
    const deliveredIn = (traceId: string) => otlp.trace(traceId).filter((s) => s.kind === SPAN_KIND.CONSUMER && s.service === 'ciba-callback-dispatcher' && s.name.endsWith('auth_request.expired'));
    await waitFor(() => expiryRoot() !== undefined && deliveredIn(expiryRoot()!.traceId).length > 0, { timeoutMs: 10_000, description: 'the expiry ping’s spans' });
    const flowOfExpiry = otlp.trace(expiryRoot()!.traceId);
    const expiry = one(flowOfExpiry, 'expiry span', (s) => s.name === 'ciba.expiry');
    // The sweeper works outside any request: its span is the flow's alone, linked to nothing.
    expect(expiry).toMatchObject({ service: 'ciba-notifier', parentSpanId: expiryRoot()!.spanId, links: [] });
    const published = one(flowOfExpiry, 'auth_request.expired publish', (s) => s.kind === SPAN_KIND.PRODUCER && s.name.endsWith('auth_request.expired'));
    expect(published.parentSpanId).toBe(expiry.spanId);
    expect(deliveredIn(expiryRoot()!.traceId).map((s) => s.parentSpanId)).toEqual([published.spanId]);
  });

  it('log lines written within the flow carry its trace_id and the span_id', () => {
    const lines = (output: string) =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const attempt = lines(services['callback-dispatcher'].output).find((line) => line['msg'] === 'callback attempt' && line['trace_id'] === root.traceId);
    expect(attempt).toBeDefined();
    const spanIds = new Set(flow.map((s) => s.spanId));
    expect(spanIds.has(String(attempt!['span_id']))).toBe(true);
    expect(lines(services.authorize.output).some((line) => line['trace_id'] === root.traceId)).toBe(true);
  });

  it('no span holds a secret: no auth_req_id, token, hint, binding message or decision token, and no query string', () => {
    const exported = otlp.rawJson.join('\n');
    const secrets = [authReqId, decisionToken, notificationToken, bindingMessage, tokens['access_token'], tokens['id_token'], PING.secret, 'erin@example.com'];
    for (const secret of secrets) expect(exported).not.toContain(secret);
    expect(exported).not.toContain('login_hint');
    for (const span of otlp.spans) {
      for (const key of ['http.target', 'http.url', 'url.full', 'url.path']) {
        if (typeof span.attributes[key] === 'string') expect(span.attributes[key]).not.toContain('?');
      }
    }
  });
});
