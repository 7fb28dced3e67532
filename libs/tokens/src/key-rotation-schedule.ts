import type { SigningKeyRecord } from '@ciba/domain';
import type { SigningAlg } from '@ciba/protocol';

/** A rotation on a schedule (`KeyStore.rotateIfDue`). */
export interface RotationSchedule {
  /**
   * How long a key signs before the next takes over: a rotation is due once the newest active key
   * of an enabled algorithm is this old (counted from its creation, as stored).
   */
  readonly rotateAfterMs: number;
  /** How long the retired keys stay published, as for `KeyStore.rotate`. */
  readonly maxTokenLifetimeSeconds: number;
}

/** The schedule, refused when a key would be replaced before it ever signs or the lifetime is not a duration. */
export function checkedSchedule(schedule: RotationSchedule, activationDelayMs: number): RotationSchedule {
  const { rotateAfterMs, maxTokenLifetimeSeconds } = schedule;
  if (!Number.isFinite(rotateAfterMs) || rotateAfterMs <= activationDelayMs) {
    throw new RangeError(`rotateAfterMs must be longer than the activation delay (${activationDelayMs} ms), got ${rotateAfterMs}`);
  }
  if (!Number.isFinite(maxTokenLifetimeSeconds) || maxTokenLifetimeSeconds < 0) {
    throw new RangeError(`maxTokenLifetimeSeconds must be a non-negative number, got ${maxTokenLifetimeSeconds}`);
  }
  return schedule;
}

/**
 * When the next scheduled rotation is due: `rotateAfterMs` after the creation of the oldest of the
 * keys that sign for the enabled algorithms (the newest active key of each). An enabled algorithm
 * without an active key makes it due at once. Every replica computes the same instant from the
 * stored keys, so a restart neither forgets a due rotation nor brings it forward.
 */
export function rotationDueAt(records: readonly SigningKeyRecord[], algs: readonly SigningAlg[], rotateAfterMs: number, now: Date): Date {
  let oldest = Number.POSITIVE_INFINITY;
  for (const alg of algs) {
    const newest = records
      .filter((record) => record.alg === alg && record.retiredAt === null && (record.unpublishAfter === null || record.unpublishAfter.getTime() > now.getTime()))
      .reduce((max, record) => Math.max(max, record.createdAt.getTime()), Number.NEGATIVE_INFINITY);
    oldest = Math.min(oldest, newest);
  }
  return Number.isFinite(oldest) ? new Date(oldest + rotateAfterMs) : new Date(0);
}
