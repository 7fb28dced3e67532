import { Gauge, type Registry } from 'prom-client';
import type { BusLag } from '@ciba/platform';

/**
 * `ciba_bus_consumer_lag{consumer, state="waiting"|"in_flight"}` on `registry`, read from the bus at
 * each scrape. A bus that cannot be asked leaves the gauge empty rather than fail the scrape.
 */
export function registerBusLagGauge(registry: Registry, lag: BusLag): void {
  new Gauge({
    name: 'ciba_bus_consumer_lag',
    help: 'Lifecycle events a durable consumer has not acknowledged yet: waiting for delivery, or delivered and in flight.',
    labelNames: ['consumer', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const lags = await lag().catch(() => []);
      for (const { consumer, waiting, inFlight } of lags) {
        this.set({ consumer, state: 'waiting' }, waiting);
        this.set({ consumer, state: 'in_flight' }, inFlight);
      }
    },
  });
}
