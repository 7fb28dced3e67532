/**
 * The claim on one callback attempt. Before a dispatcher POSTs, it claims the delivery in
 * PostgreSQL until the attempt's lease ends; a message the bus redelivers meanwhile (its ack wait
 * ran out while the endpoint was slow, or the first dispatcher died) finds the claim taken and is
 * left for later instead of being sent a second time.
 */

/**
 * Beyond the sender's own timeouts: resolving the host, decrypting, recording the outcome, and a busy
 * event loop. Kept short because a crashed dispatcher's callback waits for its lease to run out.
 */
export const ATTEMPT_LEASE_MARGIN_MS = 2_000;

/** Redelivered a little after the lease ends, so that it does not find the lease still running. */
const AFTER_LEASE_MS = 250;
/** How often a dispatcher holding the last allowed delivery looks again while another attempt runs. */
const WAIT_POLL_MS = 1_000;
const MIN_DELAY_MS = 100;

/** How long one attempt holds its delivery: the longest the sender waits (connect, then the response), plus the margin. */
export function attemptLeaseMs(timeouts: { readonly connectTimeoutMs: number; readonly responseTimeoutMs: number }): number {
  return timeouts.connectTimeoutMs + timeouts.responseTimeoutMs + ATTEMPT_LEASE_MARGIN_MS;
}

export type RefusedClaimStep =
  /** Hand the message back to the bus, to come again once the lease has ended. */
  | { readonly action: 'retry_later'; readonly delayMs: number }
  /**
   * Keep the message and claim again after `delayMs`: it is the last delivery the bus allows, so a
   * message handed back would never come again and the callback would be left pending, unsent.
   */
  | { readonly action: 'wait'; readonly delayMs: number };

/**
 * What a dispatcher does with a pending delivery whose claim was refused: another attempt holds it
 * until `leaseUntil`. It never sends, and never drops the message.
 */
export function afterRefusedClaim(leaseUntil: Date | null, now: Date, deliveryCount: number, maxAttempts: number): RefusedClaimStep {
  const remainingMs = leaseUntil === null ? 0 : Math.max(0, leaseUntil.getTime() - now.getTime());
  if (deliveryCount >= maxAttempts) return { action: 'wait', delayMs: Math.max(MIN_DELAY_MS, Math.min(remainingMs, WAIT_POLL_MS)) };
  return { action: 'retry_later', delayMs: remainingMs + AFTER_LEASE_MS };
}
