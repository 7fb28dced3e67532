export interface WaitForOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Shown in the timeout error. */
  readonly description?: string;
  /** Stops waiting (rejects) as soon as it aborts, e.g. when the awaited process has exited. */
  readonly signal?: AbortSignal;
}

/**
 * Polls `condition` until it returns true; rejects after `timeoutMs`. Tests wait for outcomes this
 * way, never by sleeping a fixed time. A condition that throws is retried until the timeout, and
 * its last error is reported.
 */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  { timeoutMs = 10_000, intervalMs = 25, description = 'condition', signal }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (signal?.aborted) throw new Error(`waitFor: ${description} abandoned`, { cause: signal.reason });
    try {
      if (await condition()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: ${description} not met within ${timeoutMs} ms`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
