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
 * checkpoint; prints one summary line and exits 0, or names the first broken link (seq and event id,
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
  const from = result.fromSeq > 0 ? ` from checkpoint seq ${result.fromSeq}` : '';
  const unchained = result.unchainedRows > 0 ? `; ${result.unchainedRows} rows from before the chain began are not chained` : '';
  io.out(`audit chain verified${from}: ${result.entries} entries, ${result.checkpoints} checkpoints${unchained}`);
  return 0;
}
