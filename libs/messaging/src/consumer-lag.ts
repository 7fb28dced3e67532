import type { JetStreamManager } from '@nats-io/jetstream';
import type { QueueBacklog } from '@ciba/domain';
import { DEFAULT_TOPOLOGY } from './catalogue.js';
import type { BusTopology } from './catalogue.js';

/** How far behind a durable consumer is. Both numbers 0: it has caught up. */
export interface ConsumerLag {
  readonly consumer: string;
  /** Not yet delivered: JetStream's `num_pending`; in-process, the rows visible now. */
  readonly waiting: number;
  /** Delivered and not yet acknowledged: JetStream's `num_ack_pending`; in-process, the rows claimed or waiting for a delayed retry. */
  readonly inFlight: number;
}

/** Every message not yet acknowledged, over all the consumers given. */
export function totalLag(lags: readonly ConsumerLag[]): number {
  return lags.reduce((sum, lag) => sum + lag.waiting + lag.inFlight, 0);
}

/** The lag of the durable consumers of `topology` (all of them, or those named) on JetStream. */
export async function jetStreamConsumerLag(
  jsm: JetStreamManager,
  topology: BusTopology = DEFAULT_TOPOLOGY,
  consumers: readonly string[] = topology.consumers.map((consumer) => consumer.name),
): Promise<ConsumerLag[]> {
  return Promise.all(
    consumers.map(async (consumer) => {
      const info = await jsm.consumers.info(topology.lifecycleStream.name, consumer);
      return { consumer, waiting: info.num_pending, inFlight: info.num_ack_pending };
    }),
  );
}

/** The lag of the consumers of `topology` on the in-process bus: its work table's rows not yet acknowledged. */
export async function inProcessConsumerLag(
  store: { backlog(now: Date): Promise<QueueBacklog[]> },
  topology: BusTopology = DEFAULT_TOPOLOGY,
  now: Date = new Date(),
): Promise<ConsumerLag[]> {
  const backlog = await store.backlog(now);
  return topology.consumers.map(({ name }) => {
    const entry = backlog.find((row) => row.consumer === name);
    return { consumer: name, waiting: entry?.waiting ?? 0, inFlight: entry?.inFlight ?? 0 };
  });
}
