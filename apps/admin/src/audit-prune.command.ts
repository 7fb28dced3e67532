import { ConfigError } from '@ciba/config';
import { AuditRetention, type AuditRetentionStore, describeChainBreak, retentionCutoff } from '@ciba/service-audit';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `--before ISO-date`: a date (midnight UTC) or date-time with a zone, not in the future. */
export function parseBefore(value: string | undefined, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  const problem = 'audit prune: --before takes an ISO 8601 date (2026-01-31) or date-time with a zone (2026-01-31T12:00:00Z), not in the future';
  if (!ISO_DATE.test(value)) throw new ConfigError([problem]);
  const date = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  // Date accepts 2026-02-31 as 3 March: the calendar date must read back as given.
  if (Number.isNaN(date.getTime()) || (value.length === 10 && date.toISOString().slice(0, 10) !== value)) throw new ConfigError([problem]);
  if (date.getTime() > now.getTime()) throw new ConfigError([problem]);
  return date;
}

/**
 * `audit prune [--before ISO-date] [--dry-run]`: prunes the audit trail as the audit service's
 * schedule does (past CIBA_AUDIT_RETENTION_DAYS, or before `--before`), to the end rather than a
 * run's share, waiting for a scheduled run in progress; prints what it removed (or, dry run, would
 * remove). Exits 1 when the rows to prune do not verify (nothing past the break is removed).
 */
export async function auditPruneCommand(
  store: AuditRetentionStore,
  options: { readonly before: Date | undefined; readonly retentionDays: number; readonly dryRun: boolean; readonly now: Date },
  io: { out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const cutoff = options.before ?? retentionCutoff(options.now, options.retentionDays);
  if (cutoff === null) {
    io.out('CIBA_AUDIT_RETENTION_DAYS is 0 (the audit trail is kept forever): nothing pruned; give --before DATE to prune older rows');
    return 0;
  }
  const report = await new AuditRetention(store).prune(cutoff, { dryRun: options.dryRun, wait: true });
  const before = cutoff.toISOString();
  if (report.outcome === 'busy') throw new Error('the prune lock was not acquired');
  if (report.outcome === 'refused') {
    io.err(describeChainBreak(report.broken));
    io.err(`audit trail NOT pruned past the break (${report.rows} rows removed before it); run \`ciba-admin audit verify\``);
    return 1;
  }
  const would = options.dryRun ? 'dry run: would prune' : 'pruned';
  if (report.rows === 0) {
    io.out(`audit trail: nothing to prune before ${before} (no signed checkpoint past seq ${report.prunedBefore} whose rows are all older)`);
  } else {
    io.out(`audit trail: ${would} ${report.rows} rows (seq ${report.prunedBefore + 1} to ${report.prunedAfter}), up to checkpoint seq ${report.checkpointSeq}, older than ${before}`);
  }
  io.out(`evidence records: ${options.dryRun ? 'dry run: would remove' : 'removed'} ${report.evidenceRecords} (requested before ${before}, their trail rows all pruned)`);
  return 0;
}
