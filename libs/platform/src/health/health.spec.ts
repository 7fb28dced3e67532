import { describe, expect, it } from '@jest/globals';
import { ReadinessRegistry } from './health.js';

describe('readiness', () => {
  it('a check that does not answer within the readiness timeout counts as failing; the others are still reported', async () => {
    const registry = new ReadinessRegistry({ readinessTimeoutMs: 50 });
    registry.register('database', () => Promise.resolve());
    registry.register('nats', () => new Promise<void>(() => undefined));
    await expect(registry.run()).resolves.toEqual({ ready: false, checks: { database: 'ok', nats: 'failing' } });
  });

  it('ready when every check passes, and not while shutting down', async () => {
    const registry = new ReadinessRegistry({ readinessTimeoutMs: 1_000 });
    registry.register('database', () => Promise.resolve());
    registry.register('keys', () => Promise.reject(new Error('no key')));
    await expect(registry.run()).resolves.toEqual({ ready: false, checks: { database: 'ok', keys: 'failing' } });
    const healthy = new ReadinessRegistry({ readinessTimeoutMs: 1_000 });
    healthy.register('database', () => Promise.resolve());
    await expect(healthy.run()).resolves.toMatchObject({ ready: true });
    healthy.markShuttingDown();
    await expect(healthy.run()).resolves.toMatchObject({ ready: false });
  });
});
