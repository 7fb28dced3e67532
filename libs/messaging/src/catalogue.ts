import { LIFECYCLE_EVENT_TYPES } from '@ciba/domain';
import type { LifecycleEventType } from '@ciba/domain';

/**
 * The messaging contracts: stream, subject and durable-consumer names as frozen data. Everything
 * that talks to the bus (JetStream or in-process) derives its names from a `BusTopology`; the
 * default one below is production's. Tests and isolated deployments build their own with
 * `defineTopology` so they never collide with the shared `CIBA_*` streams.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped by the server. */
  readonly duplicateWindowMs: number;
  /** Copies kept by a JetStream cluster (1, or 3 for a cluster that survives losing a server). */
  readonly replicas: number;
}

export interface ConsumerDefinition {
  /** Durable consumer name (JetStream) and queue name (in-process work table). */
  readonly name: string;
  readonly filterSubject: string;
  /** Deliveries before a failing message goes to the dead letters. */
  readonly maxDeliver: number;
  /** How long a delivery may stay unacknowledged before the server redelivers it. */
  readonly ackWaitMs: number;
  /** Explicit retry curve: the delay after delivery n is `backoffMs[n-1]` (the last entry repeats). */
  readonly backoffMs?: readonly number[];
  /**
   * For a consumer with a batch handler: how long the first message of a batch may wait for others
   * (a group commit window), so that events of different moments of a flow share one statement.
   * 0 (the default): a batch goes with whatever is at hand on the next turn of the event loop.
   */
  readonly batchLingerMs?: number;
  /**
   * Messages in flight at once for this consumer, in place of the bus's concurrency (one slot per
   * message). For a batch consumer it is also the largest batch: its messages cost one statement
   * together, not a connection or an outbound call each.
   */
  readonly maxInFlight?: number;
}

export interface BusTopology {
  /** Subjects are `<lifecycleSubjectPrefix>.<event type>`. */
  readonly lifecycleSubjectPrefix: string;
  /** Dead letters are `<deadLetterSubjectPrefix>.<consumer>.<event type>`. */
  readonly deadLetterSubjectPrefix: string;
  readonly lifecycleStream: StreamDefinition;
  readonly deadLetterStream: StreamDefinition;
  readonly consumers: readonly ConsumerDefinition[];
}

export const LIFECYCLE_STREAM = 'CIBA_LIFECYCLE';
export const LIFECYCLE_SUBJECT_PREFIX = 'ciba.lifecycle';
export const LIFECYCLE_SUBJECTS = `${LIFECYCLE_SUBJECT_PREFIX}.>`;
export const DEAD_LETTER_STREAM = 'CIBA_DEAD_LETTER';
export const DEAD_LETTER_SUBJECT_PREFIX = 'ciba.dlq';
export const DEAD_LETTER_SUBJECTS = `${DEAD_LETTER_SUBJECT_PREFIX}.>`;
export const DUPLICATE_WINDOW_MS = 2 * MINUTE_MS;

/** Header names. The message id itself travels as `Nats-Msg-Id`, set through the publish `msgID` option. */
export const HEADERS = Object.freeze({
  messageId: 'Nats-Msg-Id',
  correlationId: 'x-correlation-id',
  deadLetterReason: 'x-dead-letter-reason',
  deadLetterConsumer: 'x-dead-letter-consumer',
  originalSubject: 'x-original-subject',
  deliveryCount: 'x-delivery-count',
} as const);

export const CONSUMER_NAMES = Object.freeze({
  notifier: 'notifier',
  audit: 'audit',
  callbackDispatcher: 'callback-dispatcher',
  notifierDevices: 'notifier-devices',
} as const);

/** One subject per lifecycle event type, e.g. `ciba.lifecycle.auth_request.created`. */
export const LIFECYCLE_SUBJECT: Readonly<Record<LifecycleEventType, string>> = Object.freeze(
  Object.fromEntries(LIFECYCLE_EVENT_TYPES.map((type) => [type, `${LIFECYCLE_SUBJECT_PREFIX}.${type}`])) as Record<
    LifecycleEventType,
    string
  >,
);

export interface TopologyOverrides {
  /** Prepended to every stream name (`<prefix>_CIBA_LIFECYCLE`) and subject (`<prefix>.ciba.lifecycle.…`). */
  readonly prefix?: string;
  /** Per-consumer overrides of the retry numbers, by consumer name. */
  readonly consumers?: Readonly<Record<string, Partial<Omit<ConsumerDefinition, 'name' | 'filterSubject'>>>>;
  readonly duplicateWindowMs?: number;
  /** Replicas of every stream (and of the poll-state bucket); 1 by default. */
  readonly streamReplicas?: number;
}

/**
 * Builds a topology with the production shape. Without overrides it equals `DEFAULT_TOPOLOGY`.
 * A prefix isolates streams and subjects (JetStream refuses two streams with overlapping subjects).
 */
export function defineTopology(overrides: TopologyOverrides = {}): BusTopology {
  const prefix = overrides.prefix;
  if (prefix !== undefined && !/^[A-Za-z0-9_-]+$/.test(prefix)) {
    throw new Error(`topology prefix must be a single subject token of [A-Za-z0-9_-], got "${prefix}"`);
  }
  const streamName = (name: string) => (prefix ? `${prefix}_${name}` : name);
  const subjectPrefix = (subject: string) => (prefix ? `${prefix}.${subject}` : subject);
  const lifecycle = subjectPrefix(LIFECYCLE_SUBJECT_PREFIX);
  const deadLetter = subjectPrefix(DEAD_LETTER_SUBJECT_PREFIX);
  const duplicateWindowMs = overrides.duplicateWindowMs ?? DUPLICATE_WINDOW_MS;
  const replicas = overrides.streamReplicas ?? 1;
  const consumers: ConsumerDefinition[] = [
    {
      name: CONSUMER_NAMES.notifier,
      filterSubject: `${lifecycle}.auth_request.created`,
      maxDeliver: 8,
      ackWaitMs: 30_000,
      // About five minutes of retries before a notification is given up: a device push or mail
      // that late is useless, the request will have expired.
      backoffMs: [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000],
    },
    // Off every flow's path: its rows wait up to 500 ms for others, so the events of several flows
    // share a batch, and a batch costs two statements (the hash-chained trail, the evidence records);
    // up to 256 rows per batch, so that it keeps up with a burst of requests.
    { name: CONSUMER_NAMES.audit, filterSubject: `${lifecycle}.>`, maxDeliver: 20, ackWaitMs: 30_000, batchLingerMs: 500, maxInFlight: 256 },
    // Ping and push callbacks (CIBA §10.2, §10.3). The handler computes each retry delay itself
    // (exponential with jitter, or the endpoint's Retry-After). nats-server 2.9 has no multi-filter
    // consumers, so it sees every lifecycle event and acknowledges those it has no handler for.
    { name: CONSUMER_NAMES.callbackDispatcher, filterSubject: `${lifecycle}.>`, maxDeliver: 10, ackWaitMs: 60_000 },
    // The notifier telling the user about a new device (email, SMS). Unlike a sign-in prompt the news
    // stays worth delivering for hours, so the retries stretch to about a day.
    {
      name: CONSUMER_NAMES.notifierDevices,
      filterSubject: `${lifecycle}.device.registered`,
      maxDeliver: 12,
      ackWaitMs: 30_000,
      backoffMs: [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000],
    },
  ].map((consumer) => ({ ...consumer, ...overrides.consumers?.[consumer.name] }));
  return deepFreeze({
    lifecycleSubjectPrefix: lifecycle,
    deadLetterSubjectPrefix: deadLetter,
    lifecycleStream: {
      name: streamName(LIFECYCLE_STREAM),
      subjects: [`${lifecycle}.>`],
      maxAgeMs: 7 * DAY_MS,
      duplicateWindowMs,
      replicas,
    },
    deadLetterStream: {
      name: streamName(DEAD_LETTER_STREAM),
      subjects: [`${deadLetter}.>`],
      maxAgeMs: 30 * DAY_MS,
      duplicateWindowMs,
      replicas,
    },
    consumers,
  });
}

export const DEFAULT_TOPOLOGY: BusTopology = defineTopology();

/** `ciba.lifecycle.<type>` */
export function subjectFor(type: LifecycleEventType, topology: BusTopology = DEFAULT_TOPOLOGY): string {
  return `${topology.lifecycleSubjectPrefix}.${type}`;
}

/** `ciba.dlq.<consumer>.<type>`; `type` may be any subject tokens (e.g. `unknown` for a malformed message). */
export function deadLetterSubjectFor(consumer: string, type: string, topology: BusTopology = DEFAULT_TOPOLOGY): string {
  return `${topology.deadLetterSubjectPrefix}.${consumer}.${type}`;
}

/** The event-type part of a lifecycle subject, or null when the subject is not under the lifecycle prefix. */
export function eventTypeOfSubject(subject: string, topology: BusTopology = DEFAULT_TOPOLOGY): string | null {
  const prefix = `${topology.lifecycleSubjectPrefix}.`;
  return subject.startsWith(prefix) && subject.length > prefix.length ? subject.slice(prefix.length) : null;
}

/** The durable consumers whose filter matches `subject`: who receives a message published there. */
export function consumersFor(subject: string, topology: BusTopology = DEFAULT_TOPOLOGY): readonly ConsumerDefinition[] {
  return topology.consumers.filter((consumer) => subjectMatches(consumer.filterSubject, subject));
}

export function consumerDefinition(name: string, topology: BusTopology = DEFAULT_TOPOLOGY): ConsumerDefinition {
  const found = topology.consumers.find((consumer) => consumer.name === name);
  if (!found) {
    const known = topology.consumers.map((consumer) => consumer.name).join(', ');
    throw new Error(`unknown durable consumer "${name}" (known: ${known})`);
  }
  return found;
}

/**
 * The `@EventPattern` of a handler bound to one durable consumer: `handlerPattern('notifier',
 * 'auth_request.created')`, or `'*'` for every event type the consumer receives. Needed when one
 * process runs several consumers whose filters overlap (the all-in-one start): a handler registered
 * with the bare event type would run once per consumer. Lookup order: `<consumer>:<type>`, then
 * `<consumer>:*`, then the bare `<type>`.
 */
export function handlerPattern(consumer: string, type: LifecycleEventType | '*'): string {
  return `${consumer}:${type}`;
}

/**
 * The `@EventPattern` of a consumer's batch handler (`OnBusBatch`): when there is one, it receives
 * every message of the consumer, several at a time, and no per-event handler of it is used.
 */
export function batchPattern(consumer: string): string {
  return `${consumer}:batch`;
}

/** The patterns tried, in order, for a message of `type` on `consumer`. */
export function handlerPatternsFor(consumer: string, type: LifecycleEventType): readonly string[] {
  return [handlerPattern(consumer, type), handlerPattern(consumer, '*'), type];
}

/** NATS subject matching: `*` matches one token, a trailing `>` one or more. */
export function subjectMatches(filter: string, subject: string): boolean {
  const filterTokens = filter.split('.');
  const subjectTokens = subject.split('.');
  for (let i = 0; i < filterTokens.length; i++) {
    const token = filterTokens[i];
    if (token === '>') return subjectTokens.length > i;
    if (i >= subjectTokens.length) return false;
    if (token !== '*' && token !== subjectTokens[i]) return false;
  }
  return filterTokens.length === subjectTokens.length;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
