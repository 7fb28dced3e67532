import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { AuthRequestRepository, PendingPollCache } from '@ciba/domain';
import { AUTH_REQUEST_REPOSITORY, PENDING_POLL_CACHE } from '@ciba/platform';
import { requestIdIn } from '@ciba/testing';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const AUTH_REQ_ID_CLAIM = 'urn:openid:params:jwt:claim:auth_req_id';

function expectInvalidGrant(res: HttpResult): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_grant' });
}

/** The value itself and the unkeyed hashes a reader could match a guess against. */
function storedForms(value: string): string[] {
  const digest = createHash('sha256').update(value).digest();
  return [value, digest.toString('hex'), digest.toString('base64url'), digest.toString('base64')];
}

describe('identifiers that are credentials are not stored in the clear', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  /** bc-authorize for alice; the device answers with `status` unless null. */
  async function requested(client: TestClient, status: 'SUCCEED' | 'UNAUTHORIZED' | null, params: Record<string, string> = {}) {
    const message = uniqueMessage(client.id);
    const { authReqId } = await op.authorize({ binding_message: message, scope: 'openid offline_access', ...params }, client);
    if (status) {
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      expect((await op.decide(decisionToken, status)).status).toBe(200);
    }
    return authReqId;
  }

  const bearer = () => `cnt-${randomBytes(16).toString('base64url')}`;

  /** Every row of every table, as PostgreSQL prints it (all columns). */
  async function everyRow(): Promise<{ table: string; row: string }[]> {
    const tables = await op.db.dataSource.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const rows: { table: string; row: string }[] = [];
    for (const { table_name: table } of tables) {
      const found = await op.db.dataSource.query<{ row: string }[]>(`SELECT t::text AS row FROM "${table}" t`);
      rows.push(...found.map(({ row }) => ({ table, row })));
    }
    return rows;
  }

  it('database reader: no auth_req_id or client_notification_token is stored in the clear (poll, ping and push flows)', async () => {
    const poll = await requested(CLIENTS.basic, 'SUCCEED');
    const pollTokens = await op.token(poll);
    expect(pollTokens.status).toBe(200);

    const pingBearer = bearer();
    const ping = await requested(CLIENTS.ping, 'SUCCEED', { client_notification_token: pingBearer });
    const [pinged] = await op.receiver.waitFor(ping);
    expect(pinged.headers['authorization']).toBe(`Bearer ${pingBearer}`);
    expect((await op.token(ping, CLIENTS.ping)).status).toBe(200);

    const pushBearer = bearer();
    const push = await requested(CLIENTS.push, 'SUCCEED', { client_notification_token: pushBearer });
    const [pushed] = await op.receiver.waitFor(push);
    expect(pushed.headers['authorization']).toBe(`Bearer ${pushBearer}`);
    expect(pushed.body['auth_req_id']).toBe(push);
    expect(decodeJwt(String(pushed.body['id_token']))[AUTH_REQ_ID_CLAIM]).toBe(push);

    const deniedBearer = bearer();
    const denied = await requested(CLIENTS.push, 'UNAUTHORIZED', { client_notification_token: deniedBearer });
    expect((await op.receiver.waitFor(denied))[0].body).toMatchObject({ error: 'access_denied', auth_req_id: denied });

    const pendingBearer = bearer();
    const pending = await requested(CLIENTS.ping, null, { client_notification_token: pendingBearer });

    const rows = await everyRow();
    // The flows left their rows: the scan looks at real data.
    expect(rows.filter((r) => r.table === 'auth_requests').length).toBeGreaterThanOrEqual(5);
    expect(rows.some((r) => r.table === 'callback_deliveries')).toBe(true);
    expect(rows.some((r) => r.table === 'refresh_tokens')).toBe(true);

    const secrets = [
      ...[poll, ping, push, denied, pending].flatMap((value) => storedForms(value).map((form) => ({ what: 'auth_req_id', form }))),
      ...[pingBearer, pushBearer, deniedBearer, pendingBearer].flatMap((value) => storedForms(value).map((form) => ({ what: 'client_notification_token', form }))),
      // The tokens the clients received, pushed ones included (refresh tokens are stored as their SHA-256: high entropy).
      ...[pollTokens.body, pushed.body].flatMap((body) => ['access_token', 'id_token', 'refresh_token'].map((what) => ({ what, form: String(body[what]) }))),
    ];
    const leaks = secrets.flatMap(({ what, form }) => rows.filter(({ row }) => row.includes(form)).map(({ table }) => `${what} in ${table}`));
    expect(leaks).toEqual([]);
  });

  it('a forged auth_req_id (valid shape, wrong MAC) is invalid_grant without a database lookup', async () => {
    const authReqId = await requested(CLIENTS.basic, null);
    const genuine = Buffer.from(authReqId, 'base64url');
    const flipped = Buffer.from(genuine);
    flipped[genuine.length - 1] ^= 0x01;
    // Someone who read the request id in a log or an audit record, with a MAC of their own.
    const madeUp = Buffer.concat([Buffer.from(requestIdIn(authReqId).replaceAll('-', ''), 'hex'), randomBytes(32)]);
    const forgeries = [flipped, madeUp, randomBytes(48)].map((bytes) => bytes.toString('base64url'));

    const requests = op.app.get<symbol, AuthRequestRepository>(AUTH_REQUEST_REPOSITORY);
    const cache = op.app.get<symbol, PendingPollCache>(PENDING_POLL_CACHE);
    const lookups = jest.spyOn(requests, 'forClient');
    const cachedPolls = jest.spyOn(cache, 'recordPoll');
    try {
      for (const forged of forgeries) expectInvalidGrant(await op.token(forged));
      expect(lookups).not.toHaveBeenCalled();
      expect(cachedPolls).not.toHaveBeenCalled();
      // The genuine handle is looked up, so the spies do see lookups.
      expect((await op.token(authReqId)).body['error']).toBe('authorization_pending');
      expect(cachedPolls).toHaveBeenCalledTimes(1);
      expect(lookups).toHaveBeenCalledTimes(1);
    } finally {
      lookups.mockRestore();
      cachedPolls.mockRestore();
    }
  });

  it('another client’s auth_req_id is not found, and the request is left as it was', async () => {
    const authReqId = await requested(CLIENTS.basic, 'SUCCEED');
    expectInvalidGrant(await op.token(authReqId, CLIENTS.post));
    expect((await op.token(authReqId, CLIENTS.basic)).status).toBe(200);
  });
});
