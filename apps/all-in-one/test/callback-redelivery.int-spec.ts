import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import { requestIdIn, waitFor } from '@ciba/testing';
import { createAllInOneApp } from '../src/all-in-one.js';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/**
 * Two replicas of the provider on one database, with a bus that hands a message to another
 * consumer after 1 s without an answer, and a client endpoint that takes longer than that to
 * answer: the bus redelivers the callback while its first attempt is still in flight.
 */
describe('callback delivery while the bus redelivers an attempt still in flight', () => {
  let op: TestProvider;
  let replica: NestExpressApplication;

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_CALLBACK_ACK_WAIT_MS: '1000' });
    replica = await createAllInOneApp(op.config, { devDevice: false, clock: op.clock, channels: channelsFromEnvironment({}) });
    await replica.init();
  }, 60_000);
  afterAll(async () => {
    await replica?.close();
    await op?.close();
  });

  /** The bus's work item for the approval of `requestId` on the callback dispatcher's consumer. */
  const queued = async (requestId: string) => {
    const [row] = await op.db.dataSource.query<{ deliveries: number; later: boolean }[]>(
      `SELECT deliveries, visible_at > now() + interval '3 seconds' AS later FROM queued_messages
        WHERE consumer = 'callback-dispatcher' AND message_id = $1`,
      [`${requestId}:auth_request.approved`],
    );
    return row ?? null;
  };

  it('double delivery: a ping endpoint slower than the bus is patient gets one callback, not one per redelivery', async () => {
    let answer = (): void => undefined;
    op.receiver.respond({ status: 204, answerAfter: new Promise<void>((resolve) => (answer = resolve)) });
    const message = uniqueMessage(CLIENTS.ping.id);
    const { authReqId } = await op.authorize({ binding_message: message, client_notification_token: `cnt-${randomBytes(12).toString('base64url')}` }, CLIENTS.ping);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const requestId = requestIdIn(authReqId);

    await op.receiver.waitFor(authReqId); // the first attempt is in flight, unanswered
    // The bus redelivers after 1 s; wait until that delivery has been dealt with: sent a second
    // time (the defect), or handed back to the bus for after the first attempt's lease.
    await waitFor(
      async () => {
        if (op.receiver.for(authReqId).length > 1) return true;
        const item = await queued(requestId);
        return item !== null && item.deliveries >= 2 && item.later;
      },
      { timeoutMs: 20_000, description: 'the bus to redeliver the callback and that delivery to be dealt with' },
    );
    answer();

    await waitFor(
      async () => {
        const [row] = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM callback_deliveries WHERE request_id = $1', [requestId]);
        return row?.status === 'delivered' && (await queued(requestId)) === null;
      },
      { timeoutMs: 20_000, description: 'the callback to be delivered and its bus message settled' },
    );
    expect(op.receiver.for(authReqId).map((c) => c.status)).toEqual([204]);
    const [row] = await op.db.dataSource.query<{ attempts: number; attempt_lease_until: Date | null }[]>(
      'SELECT attempts, attempt_lease_until FROM callback_deliveries WHERE request_id = $1',
      [requestId],
    );
    expect(row).toEqual({ attempts: 1, attempt_lease_until: null });
  }, 60_000);
});
