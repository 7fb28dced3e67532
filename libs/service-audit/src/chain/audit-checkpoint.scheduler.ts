import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { type ProviderConfig, DEFAULT_AUDIT_CHECKPOINTS } from '@ciba/config';
import { type Clock, systemClock } from '@ciba/domain';
import { AUDIT_CHAIN, CLOCK, PROVIDER_CONFIG } from '@ciba/platform';
import { KeyStore } from '@ciba/tokens';
import { type AuditCheckpointStore, AuditCheckpointer } from './audit-checkpointer.js';

/** The timer never waits longer than this between looks at the head, whatever CIBA_AUDIT_CHECKPOINT_SECONDS says. */
const MAX_TICK_MS = 30_000;

/**
 * Signs audit chain checkpoints on every audit replica: after appends, once this replica has
 * appended `every` entries since it last looked (so most batches cost no extra statement), and on a
 * timer for the time-based rule. Without signing keys (a process started without `keys`) it stays off.
 */
@Injectable()
export class AuditCheckpointScheduler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AuditCheckpointScheduler.name);
  private readonly checkpointer: AuditCheckpointer | null;
  private readonly every: number;
  private readonly tickMs: number;
  private appendedSinceLook = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  // Optional: a process without signing keys (or a test bed with only the trail) simply signs none.
  constructor(
    @Optional() @Inject(AUDIT_CHAIN) store: AuditCheckpointStore | null,
    @Optional() @Inject(PROVIDER_CONFIG) config: ProviderConfig | null,
    @Optional() @Inject(CLOCK) clock: Clock | null,
    @Optional() @Inject(KeyStore) keyStore: KeyStore | null,
  ) {
    const policy = config?.auditCheckpoints ?? DEFAULT_AUDIT_CHECKPOINTS;
    this.every = policy.every;
    this.tickMs = Math.min(policy.seconds * 1000, MAX_TICK_MS);
    this.checkpointer = store && config && keyStore ? new AuditCheckpointer(store, keyStore, clock ?? systemClock, config.issuer, policy) : null;
  }

  onModuleInit(): void {
    if (this.checkpointer === null) {
      this.logger.warn('no signing keys in this process: audit chain checkpoints are not signed here');
      return;
    }
    this.timer = setInterval(() => void this.look(), this.tickMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Called after each batch with the number of entries it appended. */
  appended(count: number): void {
    this.appendedSinceLook += count;
    if (this.appendedSinceLook >= this.every) void this.look();
  }

  /** One look at a time; failures are logged (the entries are stored; the next look signs them). */
  look(): Promise<void> {
    if (this.checkpointer === null) return Promise.resolve();
    if (this.running === null) {
      this.appendedSinceLook = 0;
      const checkpointer = this.checkpointer;
      this.running = checkpointer
        .checkpointIfDue()
        .then((seq) => {
          if (seq !== null) this.logger.debug({ seq }, 'audit chain checkpoint signed');
        })
        .catch((err: unknown) => this.logger.warn({ err }, 'could not sign an audit chain checkpoint'))
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }
}
