import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import type { AuthRequest, PendingPollCache } from '@ciba/domain';
import { InMemoryPendingPollCache } from '../src/poll-cache/in-memory-pending-poll-cache.js';
import { KvPendingPollCache } from '../src/poll-cache/kv-pending-poll-cache.js';

const t0 = Date.now();
const at = (seconds: number) => new Date(t0 + seconds * 1000);

function pendingRequest(overrides: Partial<AuthRequest> = {}): AuthRequest {
  return {
    id: randomUUID(),
    clientId: 'client-a',
    subject: 'alice',
    scope: ['openid'],
    acrValues: [],
    bindingMessage: null,
    authorizationDetails: null,
    hintType: 'login_hint',
    deliveryMode: 'poll',
    sealedClientNotificationToken: null,
    status: 'pending',
    createdAt: at(0),
    expiresAt: at(60),
    interval: 5,
    lastPolledAt: at(0),
    decidedAt: null,
    denialReason: null,
    denialLimit: null,
    redeemedAt: null,
    notifiedAt: null,
    correlationId: null,
    traceContext: null,
    acr: null,
    amr: [],
    ...overrides,
  };
}

let connection: NatsConnection;
const bucket = `ciba_poll_state_test_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  connection = await connect({ servers: '127.0.0.1:4222' });
});
afterAll(async () => {
  await new Kvm(connection).open(bucket).then((kv) => kv.destroy()).catch(() => undefined);
  await connection.drain();
});

/** One contract, two adapters: the NATS KV bucket shared by token replicas, and the all-in-one Map. */
describe.each([
  ['NATS KV', () => KvPendingPollCache.open(connection, { ttlMs: 120_000, bucket })],
  ['in-memory', () => Promise.resolve(new InMemoryPendingPollCache())],
] as const)('pending poll cache (%s)', (_name, open: () => Promise<PendingPollCache>) => {
  let cache: PendingPollCache;
  beforeAll(async () => {
    cache = await open();
  });

  it('cannot answer for a request it was never told about', async () => {
    expect(await cache.recordPoll('client-a', 'unknown-handle', at(1), 5)).toBeNull();
  });

  it('§11 answers pending polls of a remembered request: on time → pending, too soon → slow_down with +5', async () => {
    const request = pendingRequest();
    await cache.rememberPending(request);
    expect(await cache.recordPoll('client-a', request.id, at(5), 5)).toEqual({ tooSoon: false, interval: 5 });
    expect(await cache.recordPoll('client-a', request.id, at(6), 5)).toEqual({ tooSoon: true, interval: 10 });
    expect(await cache.recordPoll('client-a', request.id, at(15), 5)).toEqual({ tooSoon: false, interval: 10 });
  });

  it('§11 slow_down is atomic: of 20 concurrent polls exactly one is on time', async () => {
    const request = pendingRequest();
    await cache.rememberPending(request);
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.recordPoll('client-a', request.id, at(10), 5)));
    expect(answers.every((a) => a !== null)).toBe(true);
    expect(answers.filter((a) => a !== null && !a.tooSoon)).toHaveLength(1);
  });

  it('§11 never answers for another client', async () => {
    const request = pendingRequest();
    await cache.rememberPending(request);
    expect(await cache.recordPoll('client-b', request.id, at(10), 5)).toBeNull();
  });

  it('§11 stops answering once the request has expired', async () => {
    const request = pendingRequest({ expiresAt: at(3) });
    await cache.rememberPending(request);
    expect(await cache.recordPoll('client-a', request.id, at(3), 5)).toBeNull();
  });

  it('a settled request is never answered again, even if remembered afterwards', async () => {
    const request = pendingRequest();
    await cache.rememberPending(request);
    await cache.settle(request.id, request.expiresAt);
    expect(await cache.recordPoll('client-a', request.id, at(10), 5)).toBeNull();
    await cache.rememberPending(request);
    expect(await cache.recordPoll('client-a', request.id, at(20), 5)).toBeNull();
  });

  it('remembering twice keeps the first entry (and its poll history)', async () => {
    const request = pendingRequest();
    await cache.rememberPending(request);
    await cache.recordPoll('client-a', request.id, at(5), 5);
    await cache.rememberPending({ ...request, lastPolledAt: null });
    expect(await cache.recordPoll('client-a', request.id, at(6), 5)).toEqual({ tooSoon: true, interval: 10 });
  });
});
