import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PostgresDeferredRequestMarkers } from '@ciba/persistence';
import { DEFERRED_REQUEST_MARKERS } from './tokens.js';

/**
 * How long a marker waits for others to share its statement. Short against the sweeper's republish
 * delay (`CIBA_REPUBLISH_AFTER_MS`, 5 s), so a marker is written long before the sweeper would
 * republish its event; long enough that a busy notifier writes its markers a batch at a time.
 */
export const REQUEST_MARKER_DELAY_MS = 100;
const REQUEST_MARKER_MAX_BATCH = 500;

/** Writes the queued markers before the database closes. */
@Injectable()
class DeferredRequestMarkersShutdown implements BeforeApplicationShutdown {
  constructor(@Inject(DEFERRED_REQUEST_MARKERS) private readonly markers: PostgresDeferredRequestMarkers) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.markers.close();
  }
}

/** DEFERRED_REQUEST_MARKERS on the service's DataSource, flushed at shutdown. */
export const deferredRequestMarkerProviders: Provider[] = [
  {
    provide: DEFERRED_REQUEST_MARKERS,
    inject: [DataSource],
    useFactory: (dataSource: DataSource) => {
      const logger = new Logger('DeferredRequestMarkers');
      return new PostgresDeferredRequestMarkers(dataSource, {
        delayMs: REQUEST_MARKER_DELAY_MS,
        maxBatch: REQUEST_MARKER_MAX_BATCH,
        // The markers only save work: the sweeper republishes an unconfirmed outcome event.
        onError: (err, markers) => logger.warn({ err, markers }, 'request markers not written; the sweeper will republish unconfirmed outcomes'),
      });
    },
  },
  DeferredRequestMarkersShutdown,
];
