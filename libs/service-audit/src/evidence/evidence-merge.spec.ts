import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  type AuthRequest,
  type AuthRequestEvent,
  type CallbackDelivery,
  clientNotificationAttempted,
  clientNotificationFailed,
  clientNotified,
  deviceNotificationFailed,
  deviceNotified,
  outcomeEvent,
  requestCreated,
  requestDecided,
  requestExpired,
  requestRedeemed,
} from '@ciba/domain';
import { auditRecordOf } from '../audit.handler.js';
import { assembleEvidence, evidenceOf, joinEvidence, tokenOutcomeOf } from './evidence-merge.js';
import { bindingMessageDigest } from './trail-payload.js';

const created = new Date('2026-01-01T10:00:00.000Z');
const decided = new Date('2026-01-01T10:00:30.000Z');

const request: AuthRequest = {
  id: '6f1d7f7a-0000-4000-8000-00000000e001',
  clientId: 'bank-app',
  subject: 'alice',
  scope: ['openid', 'profile'],
  acrValues: ['urn:example:acr:passkey'],
  bindingMessage: 'Pay 42 EUR to Shop',
  authorizationDetails: [{ type: 'payment_initiation', creditorName: 'Shop', instructedAmount: { currency: 'EUR', amount: '42' } }],
  hintType: 'login_hint',
  deliveryMode: 'push',
  sealedClientNotificationToken: 'v1.sealed',
  status: 'pending',
  createdAt: created,
  expiresAt: new Date(created.getTime() + 120_000),
  interval: 5,
  lastPolledAt: null,
  decidedAt: null,
  denialReason: null,
  denialLimit: null,
  redeemedAt: null,
  notifiedAt: null,
  correlationId: 'corr-1',
  traceContext: null,
  acr: null,
  amr: [],
};
const approved: AuthRequest = { ...request, status: 'approved', decidedAt: decided, acr: 'urn:example:acr:passkey', amr: ['hwk', 'user'] };
const delivery = { id: 'd1', requestId: request.id, kind: 'push_tokens', trigger: 'approved' } as unknown as CallbackDelivery;

const provenance = { issuer: 'https://op.example', backchannelEndpoint: 'https://op.example/bc-authorize', userHintHash: 'hash-of-hint' };

/** A push flow's whole trail, as the audit consumer sees it. */
const pushFlow: AuthRequestEvent[] = [
  requestCreated(request, null, provenance),
  deviceNotified(request, 'device_push', new Date(created.getTime() + 1000), [{ channel: 'email', outcome: 'retryable' }]),
  requestDecided(approved),
  requestRedeemed(approved, ['access_token', 'id_token'], new Date(decided.getTime() + 10)),
  clientNotificationAttempted(approved, delivery, 1, 'retry', 503, 'server_error/503', new Date(decided.getTime() + 20)),
  clientNotificationAttempted(approved, delivery, 2, 'delivered', 204, null, new Date(decided.getTime() + 500)),
  clientNotified(approved, delivery, 2, new Date(decided.getTime() + 500), 204),
];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('audit evidence record: merge rules', () => {
  it('assembles every field of a push flow from its events', () => {
    expect(assembleEvidence(pushFlow)).toEqual({
      requestId: request.id,
      clientId: 'bank-app',
      subject: 'alice',
      issuer: 'https://op.example',
      backchannelEndpoint: 'https://op.example/bc-authorize',
      deliveryMode: 'push',
      scope: ['openid', 'profile'],
      acrValues: ['urn:example:acr:passkey'],
      hintType: 'login_hint',
      userHintHash: 'hash-of-hint',
      bindingMessage: 'Pay 42 EUR to Shop',
      authorizationDetailsTypes: ['payment_initiation'],
      requestedAt: created.toISOString(),
      expiresAt: request.expiresAt.toISOString(),
      expiresIn: 120,
      interval: null,
      correlationId: 'corr-1',
      channels: [
        { channel: 'device_push', outcome: 'sent', at: new Date(created.getTime() + 1000).toISOString() },
        { channel: 'email', outcome: 'retryable', at: null },
      ],
      callbacks: [{ mode: 'push', trigger: 'approved', outcome: 'delivered', attempts: 2, status: 204, reason: null, at: new Date(decided.getTime() + 500).toISOString() }],
      callbackAttempts: [
        { mode: 'push', trigger: 'approved', attempt: 1, outcome: 'retry', status: 503, reason: 'server_error/503', at: new Date(decided.getTime() + 20).toISOString() },
        { mode: 'push', trigger: 'approved', attempt: 2, outcome: 'delivered', status: 204, reason: null, at: new Date(decided.getTime() + 500).toISOString() },
      ],
      decision: { outcome: 'approved', at: decided.toISOString(), reason: null, limit: null, acr: 'urn:example:acr:passkey', amr: ['hwk', 'user'] },
      redemption: { tokens: ['access_token', 'id_token'], at: new Date(decided.getTime() + 10).toISOString() },
      tokenOutcome: 'issued',
      accessTokenJtis: [],
      downstream: null,
      eventIds: pushFlow.map((e) => e.eventId).sort(),
    });
  });

  it('is the same record whatever order the events arrive in (redeemed before approved, on another replica)', () => {
    const expected = assembleEvidence(pushFlow);
    for (const order of permutations(pushFlow)) expect(assembleEvidence(order)).toEqual(expected);
  });

  it('a redelivered event changes nothing (idempotent), joining a record with itself neither', () => {
    const once = assembleEvidence(pushFlow);
    expect(assembleEvidence([...pushFlow, ...pushFlow, pushFlow[2]])).toEqual(once);
    expect(joinEvidence(once!, once!)).toEqual(once);
  });

  it('join is associative: batches of any split give the same record', () => {
    const [a, b, c] = [assembleEvidence(pushFlow.slice(0, 2))!, assembleEvidence(pushFlow.slice(2, 5))!, assembleEvidence(pushFlow.slice(5))!];
    expect(joinEvidence(joinEvidence(a, b), c)).toEqual(joinEvidence(a, joinEvidence(b, c)));
    expect(joinEvidence(c, joinEvidence(a, b))).toEqual(assembleEvidence(pushFlow));
  });

  it('a republished created event without the hint hash or issuer (the sweeper) never erases them, in either order', () => {
    const republished = requestCreated(request, null);
    const full = evidenceOf(pushFlow[0]);
    for (const joined of [joinEvidence(full, evidenceOf(republished)), joinEvidence(evidenceOf(republished), full)]) {
      expect(joined.userHintHash).toBe('hash-of-hint');
      expect(joined.issuer).toBe('https://op.example');
    }
  });

  it('a republished approval without acr/amr (callback redelivery) keeps the step-up acr/amr, in either order', () => {
    const bare = evidenceOf(outcomeEvent(approved, 'approved'));
    const full = evidenceOf(requestDecided(approved));
    expect(joinEvidence(bare, full).decision).toEqual(joinEvidence(full, bare).decision);
    expect(joinEvidence(bare, full).decision).toMatchObject({ outcome: 'approved', acr: 'urn:example:acr:passkey', amr: ['hwk', 'user'] });
  });

  it('CIBA §11 a decision beats an expiry seen on another replica, whatever the order', () => {
    const expired = evidenceOf(requestExpired(request, request.expiresAt));
    const denied = evidenceOf(requestDecided({ ...request, status: 'denied', decidedAt: decided, denialReason: 'RATE_LIMITED', denialLimit: 'client' }));
    expect(joinEvidence(expired, denied).decision).toEqual(joinEvidence(denied, expired).decision);
    expect(joinEvidence(expired, denied).decision).toEqual({ outcome: 'denied', at: decided.toISOString(), reason: 'RATE_LIMITED', limit: 'client', acr: null, amr: null });
    expect(joinEvidence(expired, denied).tokenOutcome).toBe('access_denied');
  });

  it('CIBA §11 the token outcome: issued, access_denied, expired_token, or none while approved and unredeemed', () => {
    expect(evidenceOf(requestExpired(request, request.expiresAt)).tokenOutcome).toBe('expired_token');
    expect(evidenceOf(requestDecided(approved)).tokenOutcome).toBeNull();
    expect(tokenOutcomeOf({ decision: null, redemption: { tokens: ['access_token'], at: decided.toISOString() } })).toBe('issued');
  });

  it('CIBA §10.3 every callback attempt is kept with its number, outcome, status and time, whatever the order', () => {
    const attempts = pushFlow.filter((e) => e.type === 'auth_request.client_notification_attempted');
    expect(new Set(attempts.map((e) => e.eventId)).size).toBe(2);
    expect(assembleEvidence([...attempts].reverse())!.callbackAttempts.map((a) => [a.attempt, a.outcome, a.status])).toEqual([
      [1, 'retry', 503],
      [2, 'delivered', 204],
    ]);
  });

  it('CIBA §10.2 every settled callback is kept with attempts, status and reason', () => {
    const ping = { ...delivery, kind: 'ping' } as CallbackDelivery;
    const failed = evidenceOf(clientNotificationFailed(approved, ping, 3, 'attempts_exhausted:unauthorized/401', decided, 401));
    const expiredDelivered = evidenceOf(clientNotified(approved, { ...ping, trigger: 'expired' }, 1, request.expiresAt, 204));
    const joined = joinEvidence(failed, expiredDelivered);
    expect(joined.callbacks).toHaveLength(2);
    expect(joined.callbacks).toContainEqual({ mode: 'ping', trigger: 'approved', outcome: 'failed', attempts: 3, status: 401, reason: 'attempts_exhausted:unauthorized/401', at: decided.toISOString() });
    expect(joinEvidence(expiredDelivered, failed)).toEqual(joined);
  });

  it('every channel tried is kept: attempts that reached the user on no channel, each at its own time, then the one that delivered', () => {
    const first = new Date(created.getTime() + 1_000);
    const second = new Date(created.getTime() + 31_000);
    const events: AuthRequestEvent[] = [
      deviceNotificationFailed(request, 1, [{ channel: 'push', outcome: 'retryable' }, { channel: 'email', outcome: 'retryable' }], false, first),
      deviceNotificationFailed(request, 2, [{ channel: 'push', outcome: 'retryable' }], false, second),
      deviceNotified(request, 'email', new Date(second.getTime() + 100), [{ channel: 'push', outcome: 'retryable' }]),
    ];
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    const record = assembleEvidence([requestCreated(request, null), ...events])!;
    expect(record.channels).toEqual(
      expect.arrayContaining([
        { channel: 'push', outcome: 'retryable', at: first.toISOString() },
        { channel: 'email', outcome: 'retryable', at: first.toISOString() },
        { channel: 'push', outcome: 'retryable', at: second.toISOString() },
        { channel: 'email', outcome: 'sent', at: new Date(second.getTime() + 100).toISOString() },
      ]),
    );
    expect(assembleEvidence([...[...events].reverse(), requestCreated(request, null), events[0]])).toEqual(record);
  });

  it('a request no channel could reach keeps the channels that failed for good beside its UNREACHABLE denial', () => {
    const at = new Date(created.getTime() + 1_000);
    const failed = deviceNotificationFailed(request, 1, [{ channel: 'sms', outcome: 'permanent' }], true, at);
    const denied = requestDecided({ ...request, status: 'denied', decidedAt: at, denialReason: 'UNREACHABLE', denialLimit: null });
    const record = assembleEvidence([requestCreated(request, null), failed, denied])!;
    expect(record.channels).toEqual([{ channel: 'sms', outcome: 'permanent', at: at.toISOString() }]);
    expect(record.decision?.reason).toBe('UNREACHABLE');
  });

  it('keeps the authorization details types only, never their values (amounts, payees)', () => {
    const json = JSON.stringify(assembleEvidence(pushFlow));
    expect(json).not.toContain('42"');
    expect(json).not.toContain('creditorName');
    expect(json).not.toContain('v1.sealed');
  });

  it('refuses to join the records of two different requests', () => {
    const other = evidenceOf(requestCreated({ ...request, id: '6f1d7f7a-0000-4000-8000-00000000e002' }, null));
    expect(() => joinEvidence(evidenceOf(pushFlow[0]), other)).toThrow(/two different requests/);
  });
});

describe('audit trail payload: the binding message as its digest', () => {
  it('CIBA §7.1 binding_message: the trail keeps its SHA-256 only, the evidence record the text', () => {
    const event = requestCreated(request, null, provenance);
    const payload = auditRecordOf(event).payload;
    expect(JSON.stringify(payload)).not.toContain('Pay 42 EUR');
    expect(payload['bindingMessageSha256']).toBe(createHash('sha256').update('Pay 42 EUR to Shop').digest('base64url'));
    expect(payload['bindingMessageSha256']).toBe(bindingMessageDigest(evidenceOf(event).bindingMessage!));
    expect(auditRecordOf(requestCreated({ ...request, bindingMessage: null }, null)).payload['bindingMessageSha256']).toBeNull();
    expect(auditRecordOf(pushFlow[2]).payload).not.toHaveProperty('bindingMessageSha256');
  });
});

describe('audit evidence record: events this version does not know', () => {
  it('an event of an unknown type is noted by id and adds no fact', () => {
    const unknown = { ...pushFlow[2], type: 'auth_request.something_new', eventId: `${request.id}:auth_request.something_new` } as unknown as AuthRequestEvent;
    const record = evidenceOf(unknown);
    expect(record).toMatchObject({ decision: null, redemption: null, channels: [], callbacks: [], eventIds: [`${request.id}:auth_request.something_new`] });
    expect(joinEvidence(assembleEvidence(pushFlow)!, record)).toEqual({ ...assembleEvidence(pushFlow)!, eventIds: [...assembleEvidence(pushFlow)!.eventIds, unknown.eventId].sort() });
  });
});
