import { type INestApplication, Inject, Injectable, type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ProviderConfig } from '@ciba/config';
import {
  InMemoryPendingPollCache,
  InProcessEventPublisher,
  InProcessWakeup,
  JetStreamEventPublisher,
  JetStreamServer,
  KvPendingPollCache,
  POLL_STATE_BUCKET,
  type BusTopology,
  type NatsConnectionOptions,
  connectNats,
  defineTopology,
  ensureStreams,
  inProcessConsumerLag,
  jetStreamConsumerLag,
} from '@ciba/messaging';
import { PostgresDurableQueueStore } from '@ciba/persistence';
import { EVENT_PUBLISHER, PENDING_POLL_CACHE } from '../di/tokens.js';
import { ReadinessRegistry } from '../health/health.js';
import { ProviderMetrics } from '../metrics/provider-metrics.js';
import { FlowTracing } from '../tracing/flow-tracing.js';
import { BUS_LAG, type BusLag } from './bus-lag.js';

export const NATS_CONNECTION = Symbol('NatsConnection');

@Injectable()
class NatsLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(NATS_CONNECTION) private readonly connection: NatsConnection,
    private readonly readiness: ReadinessRegistry,
  ) {}
  onModuleInit(): void {
    this.readiness.register('nats', async () => {
      if (this.connection.isClosed()) throw new Error('NATS connection closed');
      await this.connection.flush();
    });
  }
  async onApplicationShutdown(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain();
  }
}

/**
 * Distributed services: lifecycle events on JetStream (publish resolves on the PubAck) and the
 * pending-poll cache in a NATS KV bucket shared by every replica.
 */
export function jetStreamBus(config: ProviderConfig): Provider[] {
  const topology = busTopology(config);
  return [
    {
      provide: NATS_CONNECTION,
      useFactory: async () => {
        const connection = await connectNats(natsConnectionOptions(config, `ciba-${config.service}`));
        if (config.nats.ensureStreams) await ensureStreams(await jetstreamManager(connection), topology);
        return connection;
      },
    },
    {
      provide: EVENT_PUBLISHER,
      inject: [NATS_CONNECTION, FlowTracing],
      useFactory: (connection: NatsConnection, tracing: FlowTracing) => new JetStreamEventPublisher({ connection, topology, tracing }),
    },
    {
      provide: PENDING_POLL_CACHE,
      inject: [NATS_CONNECTION],
      // Entries outlive the longest request a little, then the bucket forgets them.
      useFactory: (connection: NatsConnection) => KvPendingPollCache.open(connection, pollStateBucket(config)),
    },
    {
      provide: BUS_LAG,
      inject: [NATS_CONNECTION],
      useFactory: (connection: NatsConnection): BusLag => {
        let jsm: Promise<JetStreamManager> | null = null;
        return async () => jetStreamConsumerLag(await (jsm ??= jetstreamManager(connection)), topology);
      },
    },
    NatsLifecycle,
  ];
}

/** The all-in-one start keeps durable work in PostgreSQL and wakes its in-process consumers directly. */
export function inProcessBus(wakeup: InProcessWakeup, topology: BusTopology): Provider[] {
  return [
    { provide: PENDING_POLL_CACHE, useValue: new InMemoryPendingPollCache() },
    { provide: InProcessWakeup, useValue: wakeup },
    {
      provide: EVENT_PUBLISHER,
      inject: [PostgresDurableQueueStore],
      useFactory: (store: PostgresDurableQueueStore) => new InProcessEventPublisher({ store, wakeup, topology }),
    },
    { provide: BUS_LAG, inject: [PostgresDurableQueueStore], useFactory: (store: PostgresDurableQueueStore): BusLag => () => inProcessConsumerLag(store, topology) },
  ];
}

/** Streams, subjects and consumers of this deployment (namespaced by `CIBA_BUS_PREFIX`). */
/** Servers, credentials and TLS for a connection of this process to NATS. */
export function natsConnectionOptions(config: ProviderConfig, name: string): NatsConnectionOptions {
  return { servers: [...config.nats.servers], name, auth: config.nats.auth, tls: config.nats.tls, connectTimeoutMs: config.nats.connectTimeoutMs };
}

/** The pending-poll cache's KV bucket: entries outlive the longest request a little, then the bucket forgets them. */
export function pollStateBucket(config: ProviderConfig): { ttlMs: number; bucket: string; replicas: number } {
  return {
    ttlMs: (config.ciba.maxExpiresIn + 60) * 1000,
    bucket: config.nats.prefix ? `${config.nats.prefix}_${POLL_STATE_BUCKET}` : POLL_STATE_BUCKET,
    replicas: config.nats.streamReplicas,
  };
}

/**
 * Creates or updates what the services' bus needs on NATS: the lifecycle and dead-letter streams
 * (with `CIBA_NATS_STREAM_REPLICAS` replicas), the durable consumers and the poll-state bucket.
 * Idempotent. Services do it on start unless `CIBA_NATS_ENSURE_STREAMS=false`; `ciba-admin streams
 * ensure` does it as a release step.
 */
export async function ensureBusTopology(connection: NatsConnection, config: ProviderConfig): Promise<BusTopology> {
  const topology = busTopology(config);
  await ensureStreams(await jetstreamManager(connection), topology);
  await KvPendingPollCache.open(connection, pollStateBucket(config));
  return topology;
}

export function busTopology(config: ProviderConfig): BusTopology {
  return defineTopology({
    ...(config.nats.prefix ? { prefix: config.nats.prefix } : {}),
    streamReplicas: config.nats.streamReplicas,
    consumers: { 'callback-dispatcher': { maxDeliver: config.callbacks.maxAttempts, ackWaitMs: config.callbacks.ackWaitMs } },
  });
}

/** Runs this service's durable JetStream consumers (`@EventPattern` handlers) inside its Nest app. */
export async function startJetStreamConsumers(app: INestApplication, config: ProviderConfig, consumers: readonly string[]): Promise<void> {
  app.connectMicroservice(
    {
      strategy: new JetStreamServer({
        ...natsConnectionOptions(config, `ciba-${config.service}`),
        consumers,
        topology: busTopology(config),
        maxInFlight: config.nats.concurrency,
        ensureTopology: config.nats.ensureStreams,
        observer: app.get(ProviderMetrics).busObserver,
        tracing: app.get(FlowTracing),
      }),
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
}
