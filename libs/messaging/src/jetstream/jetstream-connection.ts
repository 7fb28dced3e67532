import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/transport-node';
import type { Authenticator, NatsConnection } from '@nats-io/transport-node';
import type { NatsAuthSettings, NatsTlsSettings } from '@ciba/config';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { DEFAULT_TOPOLOGY } from '../catalogue.js';
import type { BusTopology, ConsumerDefinition, StreamDefinition } from '../catalogue.js';

/** How a client proves itself to NATS (the configuration's own shape). */
export type NatsAuth = NatsAuthSettings;
/** TLS to NATS: a CA file, and a client certificate for mutual TLS. */
export type NatsTls = NatsTlsSettings;

export interface NatsConnectionOptions {
  readonly servers: string | readonly string[];
  /** Client name shown in the server's connection list, e.g. `ciba-notifier`. */
  readonly name: string;
  readonly auth?: NatsAuth;
  /** TLS required when given (also for `nats://` URLs); the system's CAs when no `caFile`. */
  readonly tls?: NatsTls | null;
  /**
   * How long the first connection may take before it fails (the client's default: 20 s). A refused
   * client certificate shows only as this timeout: the server closes each handshake.
   */
  readonly connectTimeoutMs?: number;
}

export function connectNats(options: NatsConnectionOptions): Promise<NatsConnection> {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  const authenticator = authenticatorFor(options.auth ?? { kind: 'none' });
  return connect({
    servers,
    name: options.name,
    maxReconnectAttempts: -1,
    // No Error (with its stack) captured at every request and publish just in case it times out; a
    // timeout still says what timed out.
    noAsyncTraces: true,
    ...(authenticator ? { authenticator } : {}),
    ...(options.tls ? { tls: { ...options.tls } } : {}),
    ...(options.connectTimeoutMs !== undefined ? { timeout: options.connectTimeoutMs } : {}),
  });
}

/** Seed and creds files are read at each (re)connection, so that a rotated file is picked up. */
function authenticatorFor(auth: NatsAuth): Authenticator | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'user':
      return usernamePasswordAuthenticator(auth.user, auth.password);
    case 'token':
      return tokenAuthenticator(auth.token);
    case 'nkey':
      return nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(auth.seedFile, 'utf8').trim()));
    case 'creds':
      return credsAuthenticator(() => readFileSync(auth.credsFile));
  }
}

export const nanos = (ms: number): number => Math.round(ms * 1_000_000);

export function streamConfig(stream: StreamDefinition): StreamConfig {
  return {
    name: stream.name,
    subjects: [...stream.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: stream.replicas,
    max_age: nanos(stream.maxAgeMs),
    duplicate_window: nanos(stream.duplicateWindowMs),
  } as StreamConfig;
}

export function consumerConfig(consumer: ConsumerDefinition): Partial<ConsumerConfig> {
  return {
    durable_name: consumer.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: consumer.filterSubject,
    // One spare delivery beyond the policy: settlement dead-letters at `maxDeliver`, so the spare is
    // only used when that delivery was lost (crash, failed dead-letter publish) and still ends in the DLQ.
    max_deliver: consumer.maxDeliver + 1,
    ack_wait: nanos(consumer.ackWaitMs),
  };
}

/**
 * Creates or updates the lifecycle and dead-letter streams and the durable pull consumers of the
 * topology. Idempotent: safe to run from every service on start.
 */
export async function ensureStreams(jsm: JetStreamManager, topology: BusTopology = DEFAULT_TOPOLOGY): Promise<void> {
  for (const stream of [topology.lifecycleStream, topology.deadLetterStream]) {
    await ensureStream(jsm, stream);
  }
  for (const consumer of topology.consumers) {
    await ensureConsumer(jsm, topology.lifecycleStream.name, consumer);
  }
}

async function ensureStream(jsm: JetStreamManager, stream: StreamDefinition): Promise<void> {
  const wanted = streamConfig(stream);
  const existing = await orNullWhenMissing(jsm.streams.info(stream.name));
  if (!existing) {
    await jsm.streams.add(wanted);
    return;
  }
  const current = existing.config;
  const differs =
    current.max_age !== wanted.max_age ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.subjects.join(' ') !== wanted.subjects.join(' ');
  if (differs) {
    // Storage cannot change on an existing stream, so only the updatable limits are sent.
    await jsm.streams.update(stream.name, {
      subjects: wanted.subjects,
      max_age: wanted.max_age,
      duplicate_window: wanted.duplicate_window,
    });
  }
}

async function ensureConsumer(jsm: JetStreamManager, streamName: string, consumer: ConsumerDefinition): Promise<void> {
  const wanted = consumerConfig(consumer);
  const existing = await orNullWhenMissing(jsm.consumers.info(streamName, consumer.name));
  if (!existing) {
    await jsm.consumers.add(streamName, wanted);
    return;
  }
  const current = existing.config;
  const differs =
    current.max_deliver !== wanted.max_deliver ||
    current.ack_wait !== wanted.ack_wait ||
    current.filter_subject !== wanted.filter_subject;
  if (differs) {
    await jsm.consumers.update(streamName, consumer.name, {
      max_deliver: wanted.max_deliver,
      ack_wait: wanted.ack_wait,
      filter_subject: wanted.filter_subject,
    });
  }
}

async function orNullWhenMissing<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (
      error instanceof JetStreamApiError &&
      (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound)
    ) {
      return null;
    }
    throw error;
  }
}
