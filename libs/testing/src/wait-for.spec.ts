import { describe, expect, it } from '@jest/globals';
import { waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('resolves once the condition holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, { intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('accepts async conditions and retries ones that throw', async () => {
    let calls = 0;
    await waitFor(
      () => {
        calls += 1;
        return calls < 2 ? Promise.reject(new Error('not yet')) : Promise.resolve(true);
      },
      { intervalMs: 1 },
    );
    expect(calls).toBe(2);
  });

  it('rejects after the timeout with the description and the last error', async () => {
    const failure = waitFor(
      () => {
        throw new Error('still broken');
      },
      { timeoutMs: 30, intervalMs: 5, description: 'the thing' },
    );
    await expect(failure).rejects.toThrow('waitFor: the thing not met within 30 ms');
    await expect(failure.catch((error: Error) => (error.cause as Error).message)).resolves.toBe('still broken');
  });
});

describe('waitFor abort', () => {
  it('stops polling as soon as its signal aborts', async () => {
    const controller = new AbortController();
    let calls = 0;
    const waiting = waitFor(
      () => {
        calls++;
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 5, signal: controller.signal },
    );
    controller.abort();
    await expect(waiting).rejects.toThrow(/abandoned/);
    const seen = calls;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(seen);
  });
});
