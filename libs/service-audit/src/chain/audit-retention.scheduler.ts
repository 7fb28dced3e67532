import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { type ProviderConfig, DEFAULT_AUDIT_RETENTION } from '@ciba/config';
import { type Clock, systemClock } from '@ciba/domain';
import { AUDIT_CHAIN, CLOCK, PROVIDER_CONFIG } from '@ciba/platform';
import { describeChainBreak } from './audit-chain-verifier.js';
import { AuditRetention, type AuditRetentionStore, PRUNE_MAX_ROWS_PER_RUN, type PruneReport, retentionCutoff } from './audit-retention.js';

/**
 * Prunes the audit trail past `CIBA_AUDIT_RETENTION_DAYS` on every audit replica's schedule
 * (`CIBA_AUDIT_PRUNE_INTERVAL_SECONDS`, hourly by default), at start too. A run takes the prune lock
 * without waiting: of replicas due together one prunes, the others find it held and skip. A run
 * removes a bounded number of rows, in short batches; a backlog takes several runs. Off with
 * retention 0 (the default: keep forever).
 */
@Injectable()
export class AuditRetentionScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditRetention');
  private readonly retention: AuditRetention | null;
  private readonly days: number;
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PruneReport | null> | null = null;

  // Optional: a test bed with only the trail (no chain store or configuration) simply never prunes.
  constructor(
    @Optional() @Inject(AUDIT_CHAIN) store: AuditRetentionStore | null,
    @Optional() @Inject(PROVIDER_CONFIG) config: ProviderConfig | null,
    @Optional() @Inject(CLOCK) clock: Clock | null,
  ) {
    const policy = config?.auditRetention ?? DEFAULT_AUDIT_RETENTION;
    this.days = policy.days;
    this.intervalMs = policy.intervalSeconds * 1000;
    this.clock = clock ?? systemClock;
    this.retention = store && this.days > 0 ? new AuditRetention(store) : null;
  }

  onApplicationBootstrap(): void {
    if (this.retention === null) return;
    this.logger.log({ retentionDays: this.days, intervalSeconds: this.intervalMs / 1000 }, 'the audit trail is pruned past its retention');
    void this.run();
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One run at a time; failures are logged (the next run picks up where this one stopped). Null: off, or failed. */
  run(): Promise<PruneReport | null> {
    const retention = this.retention;
    const cutoff = retentionCutoff(this.clock.now(), this.days);
    if (retention === null || cutoff === null) return Promise.resolve(null);
    this.running ??= retention
      .prune(cutoff, { maxRows: PRUNE_MAX_ROWS_PER_RUN })
      .then((report) => {
        this.log(report);
        return report;
      })
      .catch((err: unknown) => {
        this.logger.warn({ err }, 'could not prune the audit trail; retrying at the next run');
        return null;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private log(report: PruneReport): void {
    if (report.outcome === 'busy') return;
    if (report.outcome === 'refused') {
      // Ids and sequence numbers only, as `verify` prints them.
      this.logger.error({ cutoff: report.cutoff.toISOString(), removedRows: report.rows }, `audit trail NOT pruned past the break: ${describeChainBreak(report.broken)}`);
      return;
    }
    if (report.rows === 0 && report.evidenceRecords === 0) return;
    this.logger.log(
      { cutoff: report.cutoff.toISOString(), checkpointSeq: report.checkpointSeq, prunedSeq: report.prunedAfter, rows: report.rows, evidenceRecords: report.evidenceRecords, complete: report.outcome === 'pruned' },
      'audit trail pruned',
    );
  }
}
