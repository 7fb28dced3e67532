import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { admin, deleteBus } from './service-processes.js';

/**
 * `ciba-admin streams ensure`: the release step that creates the bus on NATS before any service
 * starts (the Helm chart's setup Job), so that services can run with CIBA_NATS_ENSURE_STREAMS=false
 * and credentials that cannot create streams.
 */
describe('ciba-admin streams ensure', () => {
  const prefix = `adm${randomBytes(4).toString('hex')}`;
  const env = { CIBA_NATS_SERVERS: 'nats://127.0.0.1:4222', CIBA_BUS_PREFIX: prefix, CIBA_LOG_LEVEL: 'warn' };
  afterAll(() => deleteBus(prefix));

  it('creates the streams, every durable consumer and the poll-state bucket, and changes nothing when run again', async () => {
    const first = await admin(['streams', 'ensure'], env);
    expect(first).toContain(`streams ${prefix}_CIBA_LIFECYCLE, ${prefix}_CIBA_DEAD_LETTER (1 replica(s))`);

    const connection = await connect({ servers: '127.0.0.1:4222' });
    try {
      const jsm = await jetstreamManager(connection);
      const lifecycle = await jsm.streams.info(`${prefix}_CIBA_LIFECYCLE`);
      expect(lifecycle.config.num_replicas).toBe(1);
      expect(lifecycle.config.subjects).toEqual([`${prefix}.ciba.lifecycle.>`]);
      const consumers: string[] = [];
      for await (const consumer of jsm.consumers.list(`${prefix}_CIBA_LIFECYCLE`)) consumers.push(consumer.name);
      expect(consumers.sort()).toEqual(['audit', 'callback-dispatcher', 'notifier', 'notifier-devices']);
      expect((await jsm.streams.info(`KV_${prefix}_ciba_poll_state`)).config.num_replicas).toBe(1);

      await expect(admin(['streams', 'ensure'], env)).resolves.toContain('are up to date');
      expect((await jsm.streams.info(`${prefix}_CIBA_LIFECYCLE`)).state.messages).toBe(0);
    } finally {
      await connection.drain();
    }
  });

  it('three replicas on a NATS server that is not a JetStream cluster fail with the server’s reason and a non-zero exit', async () => {
    const other = `${prefix}r3`;
    try {
      await expect(admin(['streams', 'ensure'], { ...env, CIBA_BUS_PREFIX: other, CIBA_NATS_STREAM_REPLICAS: '3' })).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/replicas/i),
      });
    } finally {
      await deleteBus(other);
    }
  });
});
