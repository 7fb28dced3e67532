import type { ConsumerLag } from '@ciba/messaging';

/** Injection token of a `BusLag`: bound by `jetStreamBus` and `inProcessBus`. */
export const BUS_LAG = Symbol('BusLag');

/** How far behind each durable consumer of the deployment is (`jetStreamConsumerLag` / `inProcessConsumerLag`). */
export type BusLag = () => Promise<ConsumerLag[]>;
