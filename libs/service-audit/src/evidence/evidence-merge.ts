import {
  type AuthRequestEvent,
  type EvidenceCallback,
  type EvidenceChannel,
  type EvidenceDecision,
  type EvidenceDownstreamReport,
  type EvidenceRecord,
  type EvidenceRedemption,
  type EvidenceTokenOutcome,
  MAX_DOWNSTREAM_REPORTS,
} from '@ciba/domain';

/**
 * The evidence record's merge rules. Each event is turned into a partial record (`evidenceOf`), and
 * records combine with `joinEvidence`, a join: commutative, associative and idempotent. Events may
 * come twice (redelivery) and in any order (several audit replicas, a redemption seen before the
 * approval), and the stored record is the same:
 *
 * - facts of the request (issuer, scope, hint hash…) are set once; a value beats no value, and two
 *   different values (which one request never produces) resolve to the same one whatever the order;
 * - channels tried, callbacks settled, access token jtis and event ids are sets;
 * - downstream reports are a set capped to its `MAX_DOWNSTREAM_REPORTS` earliest (by time, then
 *   content): the least elements of a union under one total order, so still a join;
 * - a decision (approved or denied) beats an expiry;
 * - the token outcome is computed from the joined record, never merged.
 */

const DECISION_RANK = { expired: 1, denied: 2, approved: 2 } as const;

/** The empty record of a request: what a record knows before any fact about it. */
export function emptyEvidence(requestId: string, clientId: string, subject: string): EvidenceRecord {
  return {
    requestId,
    clientId,
    subject,
    issuer: null,
    backchannelEndpoint: null,
    deliveryMode: null,
    scope: null,
    acrValues: null,
    hintType: null,
    userHintHash: null,
    bindingMessage: null,
    authorizationDetailsTypes: null,
    requestedAt: null,
    expiresAt: null,
    expiresIn: null,
    interval: null,
    correlationId: null,
    channels: [],
    callbacks: [],
    callbackAttempts: [],
    decision: null,
    redemption: null,
    tokenOutcome: null,
    accessTokenJtis: [],
    downstream: null,
    eventIds: [],
  };
}

/** What one lifecycle event of a request tells about it. */
export function evidenceOf(event: AuthRequestEvent): EvidenceRecord {
  const empty = emptyEvidence(event.requestId, event.clientId, event.subject);
  const record: EvidenceRecord = { ...empty, correlationId: event.correlationId, eventIds: [event.eventId] };
  switch (event.type) {
    case 'auth_request.created': {
      const expiresIn = Math.round((Date.parse(event.expiresAt) - Date.parse(event.occurredAt)) / 1000);
      return finish({
        ...record,
        issuer: event.issuer ?? null,
        backchannelEndpoint: event.backchannelEndpoint ?? null,
        deliveryMode: event.deliveryMode,
        scope: [...event.scope],
        acrValues: event.acrValues ? [...event.acrValues] : null,
        hintType: event.hintType,
        userHintHash: event.userHintHash ?? null,
        bindingMessage: event.bindingMessage ?? null,
        authorizationDetailsTypes: event.authorizationDetailsTypes ? [...event.authorizationDetailsTypes] : null,
        requestedAt: event.occurredAt,
        expiresAt: event.expiresAt,
        expiresIn: Number.isFinite(expiresIn) ? expiresIn : null,
        interval: event.interval,
      });
    }
    case 'auth_request.device_notified': {
      const tried: EvidenceChannel[] = (event.tried ?? []).map((t) => ({ channel: t.channel, outcome: t.outcome, at: null }));
      return finish({ ...record, channels: sortedSet([...tried, { channel: event.channel, outcome: 'sent', at: event.occurredAt }]) });
    }
    case 'auth_request.device_notification_failed':
      // Each attempt's channels at that attempt's time: a channel retried across attempts is listed per attempt.
      return finish({ ...record, channels: sortedSet(event.tried.map((t) => ({ channel: t.channel, outcome: t.outcome, at: event.occurredAt }))) });
    case 'auth_request.approved':
      return finish({
        ...record,
        decision: { outcome: 'approved', at: event.occurredAt, reason: null, limit: null, acr: event.acr ?? null, amr: event.amr ? [...event.amr] : null },
      });
    case 'auth_request.denied':
      return finish({
        ...record,
        decision: { outcome: 'denied', at: event.occurredAt, reason: event.reason, limit: event.limit ?? null, acr: null, amr: null },
      });
    case 'auth_request.expired':
      return finish({ ...record, decision: { outcome: 'expired', at: event.occurredAt, reason: null, limit: null, acr: null, amr: null } });
    case 'auth_request.redeemed':
      return finish({
        ...record,
        redemption: { tokens: [...event.tokens].sort(), at: event.occurredAt },
        accessTokenJtis: event.accessTokenJti ? [event.accessTokenJti] : [],
      });
    case 'auth_request.tokens_refreshed':
      return finish({ ...record, accessTokenJtis: [event.accessTokenJti] });
    case 'auth_request.downstream_reported': {
      const report: EvidenceDownstreamReport = {
        jti: event.jti,
        outcome: event.outcome,
        action: event.action,
        resource: event.resource ?? null,
        reason: event.reason ?? null,
        reporterClientId: event.reporterClientId,
        at: event.occurredAt,
      };
      return finish({ ...record, downstream: [report] });
    }
    case 'auth_request.client_notified':
    case 'auth_request.client_notification_failed': {
      const failed = event.type === 'auth_request.client_notification_failed';
      const callback: EvidenceCallback = {
        mode: event.mode,
        trigger: event.trigger,
        outcome: failed ? 'failed' : 'delivered',
        attempts: event.attempts,
        status: event.status ?? null,
        reason: failed ? event.reason : null,
        at: event.occurredAt,
      };
      return finish({ ...record, callbacks: [callback] });
    }
    case 'auth_request.client_notification_attempted':
      return finish({
        ...record,
        callbackAttempts: [
          { mode: event.mode, trigger: event.trigger, attempt: event.attempt, outcome: event.outcome, status: event.status, reason: event.reason, at: event.occurredAt },
        ],
      });
    default:
      // A type this version does not know (a newer producer): the record notes the event, nothing more.
      return finish(record);
  }
}

/** The join of two records of the same request. */
export function joinEvidence(a: EvidenceRecord, b: EvidenceRecord): EvidenceRecord {
  if (a.requestId !== b.requestId) throw new Error('evidence of two different requests cannot be joined');
  return finish({
    requestId: a.requestId,
    clientId: pick(a.clientId, b.clientId),
    subject: pick(a.subject, b.subject),
    issuer: pick(a.issuer, b.issuer),
    backchannelEndpoint: pick(a.backchannelEndpoint, b.backchannelEndpoint),
    deliveryMode: pick(a.deliveryMode, b.deliveryMode),
    scope: pick(a.scope, b.scope),
    acrValues: pick(a.acrValues, b.acrValues),
    hintType: pick(a.hintType, b.hintType),
    userHintHash: pick(a.userHintHash, b.userHintHash),
    bindingMessage: pick(a.bindingMessage, b.bindingMessage),
    authorizationDetailsTypes: pick(a.authorizationDetailsTypes, b.authorizationDetailsTypes),
    requestedAt: pick(a.requestedAt, b.requestedAt),
    expiresAt: pick(a.expiresAt, b.expiresAt),
    expiresIn: pick(a.expiresIn, b.expiresIn),
    interval: pick(a.interval, b.interval),
    correlationId: pick(a.correlationId, b.correlationId),
    channels: sortedSet([...a.channels, ...b.channels]),
    callbacks: sortedSet([...a.callbacks, ...b.callbacks]),
    callbackAttempts: sortedSet([...a.callbackAttempts, ...b.callbackAttempts]),
    decision: joinDecision(a.decision, b.decision),
    redemption: pick<EvidenceRedemption | null>(a.redemption, b.redemption),
    tokenOutcome: null,
    accessTokenJtis: [...new Set([...a.accessTokenJtis, ...b.accessTokenJtis])].sort(),
    downstream: joinDownstream(a.downstream, b.downstream),
    eventIds: [...new Set([...a.eventIds, ...b.eventIds])].sort(),
  });
}

/** Folds events into a record, in any order. */
export function assembleEvidence(events: readonly AuthRequestEvent[], into?: EvidenceRecord): EvidenceRecord | null {
  let record = into ?? null;
  for (const event of events) {
    const part = evidenceOf(event);
    record = record === null ? part : joinEvidence(record, part);
  }
  return record;
}

/** What the client finally got, from the joined facts. */
export function tokenOutcomeOf(record: Pick<EvidenceRecord, 'decision' | 'redemption'>): EvidenceTokenOutcome | null {
  if (record.redemption !== null) return 'issued';
  if (record.decision?.outcome === 'denied') return 'access_denied';
  if (record.decision?.outcome === 'expired') return 'expired_token';
  return null;
}

function finish(record: EvidenceRecord): EvidenceRecord {
  return { ...record, tokenOutcome: tokenOutcomeOf(record) };
}

function joinDecision(a: EvidenceDecision | null, b: EvidenceDecision | null): EvidenceDecision | null {
  if (a === null || b === null) return a ?? b;
  const ranked = DECISION_RANK[a.outcome] - DECISION_RANK[b.outcome];
  if (ranked !== 0) return ranked > 0 ? a : b;
  if (a.outcome !== b.outcome) return pick(a, b);
  // The same outcome told twice (a republished event may say less, e.g. no acr): the facts combine.
  return { outcome: a.outcome, at: pick(a.at, b.at), reason: pick(a.reason, b.reason), limit: pick(a.limit, b.limit), acr: pick(a.acr, b.acr), amr: pick(a.amr, b.amr) };
}

/** The union of two report lists, its earliest `MAX_DOWNSTREAM_REPORTS` kept (null: none reported yet). */
function joinDownstream(a: readonly EvidenceDownstreamReport[] | null, b: readonly EvidenceDownstreamReport[] | null): EvidenceDownstreamReport[] | null {
  if (a === null && b === null) return null;
  const byKey = new Map<string, EvidenceDownstreamReport>();
  for (const report of [...(a ?? []), ...(b ?? [])]) byKey.set(`${report.at}\u0000${canonical(report)}`, report);
  return [...byKey.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .slice(0, MAX_DOWNSTREAM_REPORTS)
    .map(([, report]) => report);
}

/** A value beats none; of two different values the one whose JSON sorts first, so the order never matters. */
function pick<T>(a: T, b: T): T {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  const ja = canonical(a);
  const jb = canonical(b);
  return ja <= jb ? a : b;
}

/** Distinct values (by canonical JSON), in a fixed order. */
function sortedSet<T>(values: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const value of values) byKey.set(canonical(value), value);
  return [...byKey.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, value]) => value);
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order (jsonb reorders keys). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

/** Whether two records hold the same facts (the repository skips a write that changes nothing). */
export function sameEvidence(a: EvidenceRecord, b: EvidenceRecord): boolean {
  return canonical(a) === canonical(b);
}
