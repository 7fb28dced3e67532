import { ConfigError } from '@ciba/config';
import { type AuditChainSource, describeChainBreak, verifyAuditChain } from '@ciba/service-audit';

/** `--from-checkpoint SEQ`: a checkpoint's sequence number (see `audit_checkpoints`). */
export function parseFromCheckpoint(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw new ConfigError(['audit verify: --from-checkpoint takes the sequence number of a stored checkpoint']);
  return Number(value);
}

/**
 * `audit verify [--from-checkpoint SEQ]`: recomputes the audit hash chain and checks every signed
 * checkpoint (once pruned, from the oldest checkpoint at or after the pruned rows, naming it and
 * how many rows were pruned before it); prints one summary line and exits 0, or names the first broken link (seq and event id,
 * never a payload) and exits 1.
 */
export async function auditVerifyCommand(
  source: AuditChainSource,
  fromCheckpoint: number | undefined,
  io: { out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const result = await verifyAuditChain(source, fromCheckpoint === undefined ? {} : { fromCheckpoint });
  if (!result.ok) {
    io.err(describeChainBreak(result.broken));
    io.err(`audit chain NOT verified (${result.entries} entries verified before the break)`);
    return 1;
  }
  // Once pruned, the walk starts at the pruned prefix, anchored at the oldest checkpoint at or after it.
  const anchor = fromCheckpoint ?? result.pruned?.checkpointSeq ?? result.fromSeq;
  const signedAt = fromCheckpoint === undefined && result.pruned?.signedAt ? ` (signed ${result.pruned.signedAt.toISOString()})` : '';
  const from = anchor > 0 ? ` from checkpoint seq ${anchor}${signedAt}` : '';
  const pruned = result.pruned ? `; ${result.pruned.rows} rows pruned before it` : '';
  const unchained = result.unchainedRows > 0 ? `; ${result.unchainedRows} rows from before the chain began are not chained` : '';
  io.out(`audit chain verified${from}: ${result.entries} entries, ${result.checkpoints} checkpoints${pruned}${unchained}`);
  return 0;
}
