import { describe, expect, it } from '@jest/globals';
import {
  type AuthRequest,
  type AuthRequestEvent,
  type DownstreamReport,
  MAX_DOWNSTREAM_REPORTS,
  downstreamReported,
  requestCreated,
  requestDecided,
  requestRedeemed,
  tokensRefreshed,
} from '@ciba/domain';
import { parseLifecycleEvent } from '@ciba/messaging';
import { auditRecordOf } from '../audit.handler.js';
import { assembleEvidence, evidenceOf, joinEvidence } from '../evidence/evidence-merge.js';
import { reportDigest } from './downstream-report.js';

const created = new Date('2026-01-01T10:00:00.000Z');
const decided = new Date('2026-01-01T10:00:30.000Z');
const redeemed = new Date('2026-01-01T10:00:35.000Z');

const request: AuthRequest = {
  id: '6f1d7f7a-0000-4000-8000-00000000d001',
  clientId: 'bank-app',
  subject: 'alice',
  scope: ['openid', 'offline_access'],
  acrValues: [],
  bindingMessage: null,
  authorizationDetails: null,
  hintType: 'login_hint',
  deliveryMode: 'poll',
  sealedClientNotificationToken: null,
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
  correlationId: 'corr-d1',
  traceContext: null,
  acr: null,
  amr: [],
};
const approved: AuthRequest = { ...request, status: 'approved', decidedAt: decided };
const grant = { requestId: request.id, clientId: request.clientId, subject: request.subject };

function reported(report: Partial<DownstreamReport> & { at: Date }): AuthRequestEvent {
  const full: DownstreamReport = {
    jti: 'jti-first',
    outcome: 'allowed',
    action: 'POST /payments',
    resource: 'https://api.bank.example/payments/42',
    reason: null,
    reporterClientId: 'payments-gateway',
    occurredAt: report.at,
    ...report,
  };
  return downstreamReported(approved, full, reportDigest(full), new Date(report.at.getTime() + 5));
}

/** A poll flow, one refresh, and reports about both access tokens. */
const flow: AuthRequestEvent[] = [
  requestCreated(request, 5),
  requestDecided(approved),
  requestRedeemed({ ...approved, status: 'redeemed', redeemedAt: redeemed }, ['access_token', 'id_token', 'refresh_token'], redeemed, 'jti-first'),
  tokensRefreshed(grant, 'jti-second', ['openid'], new Date(redeemed.getTime() + 60_000)),
  reported({ at: new Date(redeemed.getTime() + 1_000) }),
  reported({ at: new Date(redeemed.getTime() + 2_000), outcome: 'blocked', action: 'DELETE /accounts/7', resource: null, reason: 'scope payments:write missing' }),
  reported({ at: new Date(redeemed.getTime() + 61_000), jti: 'jti-second', action: 'GET /balance' }),
];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('audit evidence record: access token jtis and downstream reports', () => {
  it('lists the jti of the redemption and of each refresh, and every report, earliest first', () => {
    const record = assembleEvidence(flow)!;
    expect(record.accessTokenJtis).toEqual(['jti-first', 'jti-second']);
    expect(record.downstream).toEqual([
      {
        jti: 'jti-first',
        outcome: 'allowed',
        action: 'POST /payments',
        resource: 'https://api.bank.example/payments/42',
        reason: null,
        reporterClientId: 'payments-gateway',
        at: new Date(redeemed.getTime() + 1_000).toISOString(),
      },
      {
        jti: 'jti-first',
        outcome: 'blocked',
        action: 'DELETE /accounts/7',
        resource: null,
        reason: 'scope payments:write missing',
        reporterClientId: 'payments-gateway',
        at: new Date(redeemed.getTime() + 2_000).toISOString(),
      },
      {
        jti: 'jti-second',
        outcome: 'allowed',
        action: 'GET /balance',
        resource: 'https://api.bank.example/payments/42',
        reason: null,
        reporterClientId: 'payments-gateway',
        at: new Date(redeemed.getTime() + 61_000).toISOString(),
      },
    ]);
    expect(record.tokenOutcome).toBe('issued');
    expect(record.eventIds).toEqual(flow.map((e) => e.eventId).sort());
  });

  it('is the same record whatever order the events arrive in (a report before the redemption, on another replica)', () => {
    const expected = assembleEvidence(flow);
    for (const order of permutations(flow)) expect(assembleEvidence(order)).toEqual(expected);
  });

  it('a redelivered report (or a report sent again with its occurred_at) changes nothing', () => {
    const once = assembleEvidence(flow)!;
    const again = reported({ at: new Date(redeemed.getTime() + 1_000) });
    expect(again.eventId).toBe(flow[4].eventId);
    expect(assembleEvidence([...flow, again, flow[5], flow[3]])).toEqual(once);
    expect(joinEvidence(once, once)).toEqual(once);
  });

  it('join is associative: batches of any split give the same record', () => {
    const [a, b, c] = [assembleEvidence(flow.slice(0, 3))!, assembleEvidence(flow.slice(3, 5))!, assembleEvidence(flow.slice(5))!];
    expect(joinEvidence(joinEvidence(a, b), c)).toEqual(joinEvidence(a, joinEvidence(b, c)));
    expect(joinEvidence(c, joinEvidence(b, a))).toEqual(assembleEvidence(flow));
  });

  it(`keeps the ${MAX_DOWNSTREAM_REPORTS} earliest reports, the same ones in every order and batching`, () => {
    const many = Array.from({ length: MAX_DOWNSTREAM_REPORTS + 20 }, (_, i) => reported({ at: new Date(redeemed.getTime() + 1_000 * (i + 1)), action: `GET /item/${i}` }));
    const forwards = assembleEvidence(many)!;
    const backwards = assembleEvidence([...many].reverse())!;
    const inHalves = joinEvidence(assembleEvidence(many.slice(60))!, assembleEvidence(many.slice(0, 60))!);
    expect(forwards.downstream).toHaveLength(MAX_DOWNSTREAM_REPORTS);
    expect(forwards.downstream!.map((r) => r.action)).toEqual(Array.from({ length: MAX_DOWNSTREAM_REPORTS }, (_, i) => `GET /item/${i}`));
    expect(backwards).toEqual(forwards);
    expect(inHalves).toEqual(forwards);
    // Every report stays in the event ids (and the trail), beyond the cap too.
    expect(forwards.eventIds).toHaveLength(many.length);
  });

  it('no report yet: downstream is null, not an empty list; a redemption without a jti (push, older producers) lists none', () => {
    const record = assembleEvidence([requestDecided(approved), requestRedeemed(approved, ['access_token', 'id_token'], redeemed)])!;
    expect(record.downstream).toBeNull();
    expect(record.accessTokenJtis).toEqual([]);
  });

  it('the events pass the bus schema, and one with a bad outcome or an oversized action does not', () => {
    for (const event of flow) expect(parseLifecycleEvent(JSON.parse(JSON.stringify(event)))).toEqual(JSON.parse(JSON.stringify(event)));
    const report = JSON.parse(JSON.stringify(flow[4])) as Record<string, unknown>;
    expect(() => parseLifecycleEvent({ ...report, outcome: 'maybe' })).toThrow(/outcome/);
    expect(() => parseLifecycleEvent({ ...report, action: 'x'.repeat(5000) })).toThrow(/action/);
    expect(() => parseLifecycleEvent({ ...JSON.parse(JSON.stringify(flow[3])), accessTokenJti: '' })).toThrow(/accessTokenJti/);
  });

  it('the trail keeps the report as reported, with who reported it and when it was received', () => {
    const row = auditRecordOf(flow[5]);
    expect(row.type).toBe('auth_request.downstream_reported');
    expect(row.requestId).toBe(request.id);
    expect(row.payload).toEqual({
      version: 1,
      jti: 'jti-first',
      outcome: 'blocked',
      action: 'DELETE /accounts/7',
      resource: null,
      reason: 'scope payments:write missing',
      reporterClientId: 'payments-gateway',
      reportedAt: new Date(redeemed.getTime() + 2_005).toISOString(),
    });
    expect(evidenceOf(flow[5]).downstream).toHaveLength(1);
  });
});
