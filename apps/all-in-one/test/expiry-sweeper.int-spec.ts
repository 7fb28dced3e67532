import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor, requestIdIn } from '@ciba/testing';
import { CLIENTS, type TestProvider, startTestProvider, storePendingRequest, uniqueMessage } from './provider-harness.js';

describe('notifier sweeper', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_RENOTIFY_AFTER_MS: '1000' });
  });
  afterAll(async () => {
    await op.close();
  });

  const auditTypes = async (requestId: string) =>
    (await op.db.dataSource.query<{ type: string }[]>('SELECT type FROM audit_records WHERE request_id = $1', [requestId])).map((r) => r.type);

  it('§11 moves a pending request past its lifetime to expired and announces it', async () => {
    const { authReqId } = await op.authorize({ binding_message: uniqueMessage('expire'), requested_expiry: '5' });
    const id = requestIdIn(authReqId);
    op.clock.advance(6);
    await waitFor(async () => (await auditTypes(id)).includes('auth_request.expired'), { description: 'expired event audited' });
    const [{ status }] = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [id]);
    expect(status).toBe('expired');
    expect((await op.token(authReqId)).body['error']).toBe('expired_token');
  });

  it('republishes a request whose announcement was lost, so the device is still reached', async () => {
    const message = uniqueMessage('lost');
    const now = op.clock.now();
    // Written as bc-authorize writes it, but with no event on the bus (as if the bus had been down).
    await storePendingRequest(op, {
      clientId: CLIENTS.basic.id,
      subject: 'bob',
      bindingMessage: message,
      createdAt: new Date(now.getTime() - 5_000),
      expiresAt: new Date(now.getTime() + 120_000),
      interval: 2,
    });
    const { body } = await op.notification((b) => b['binding_message'] === message);
    expect(body['login_hint']).toBe('bob');
    // Taken up once: no second notification for the same request.
    expect(op.device.received.filter((n) => n.body['binding_message'] === message)).toHaveLength(1);
  });
});
