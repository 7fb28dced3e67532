import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CallbackMessage, callbackDeliveryId } from '@ciba/domain';
import { TypeOrmAuthRequestRepository } from '@ciba/persistence';
import { CallbackDispatcher } from '@ciba/service-callback-dispatcher';
import { KeyEncryptor } from '@ciba/tokens';
import { requestIdIn } from '@ciba/testing';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/**
 * A ping callback is stored as the request's sealed client notification token, its body derived
 * when sent; pings stored by an earlier version (the whole message sealed) are still delivered.
 */
describe('§10.2 ping callbacks as stored', () => {
  let op: TestProvider;

  beforeAll(async () => {
    op = await startTestProvider();
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  /** A ping request approved in the database only: no outcome event, so the dispatcher is driven by the test. */
  async function approvedPing(bearer: string) {
    const { authReqId } = await op.authorize({ binding_message: uniqueMessage('stored'), client_notification_token: bearer }, CLIENTS.ping);
    const requestId = requestIdIn(authReqId);
    await new TypeOrmAuthRequestRepository(op.db.dataSource).decide(requestId, { kind: 'approve' }, op.clock.now());
    return { authReqId, requestId };
  }

  it('§10.2 the stored callback holds no body and no bearer in the clear; the ping carries the auth_req_id and the client’s token', async () => {
    const bearer = `cnt-${randomBytes(12).toString('base64url')}`;
    const { authReqId, requestId } = await approvedPing(bearer);
    await op.app.get(CallbackDispatcher).dispatch(requestId, CLIENTS.ping.id, 'approved', 1);

    const [callback] = await op.receiver.waitFor(authReqId);
    expect(callback.headers['authorization']).toBe(`Bearer ${bearer}`);
    expect(callback.body).toEqual({ auth_req_id: authReqId });
    const [row] = await op.db.dataSource.query<{ encrypted_message: string; status: string }[]>(
      'SELECT d.encrypted_message, d.status FROM callback_deliveries d WHERE d.id = $1',
      [callbackDeliveryId(requestId, 'approved')],
    );
    expect(row.status).toBe('delivered');
    expect(row.encrypted_message).not.toContain(bearer);
    expect(row.encrypted_message).not.toContain(authReqId);
  });

  it('a ping stored by an earlier version (the whole message sealed under the delivery id) is delivered as stored', async () => {
    const bearer = `cnt-${randomBytes(12).toString('base64url')}`;
    const { authReqId, requestId } = await approvedPing(bearer);
    const id = callbackDeliveryId(requestId, 'approved');
    const message: CallbackMessage = { body: { auth_req_id: authReqId }, bearerToken: bearer };
    await op.db.dataSource.query(
      `INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at)
       VALUES ($1, $2, $3, 'approved', 'ping', $4, $5, now())`,
      [id, requestId, CLIENTS.ping.id, `${op.receiver.origin}/cb`, op.app.get(KeyEncryptor).encrypt(JSON.stringify(message), id)],
    );
    await op.app.get(CallbackDispatcher).dispatch(requestId, CLIENTS.ping.id, 'approved', 1);

    const [callback] = await op.receiver.waitFor(authReqId);
    expect(callback.headers['authorization']).toBe(`Bearer ${bearer}`);
    expect(callback.body).toEqual({ auth_req_id: authReqId });
  });
});
