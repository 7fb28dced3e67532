import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { loadBootstrap } from '@ciba/platform';
import { requestIdIn, waitFor } from '@ciba/testing';
import { UserHintDigest } from '@ciba/tokens';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, bootstrapDeps, startTestProvider, uniqueMessage } from './provider-harness.js';

jest.setTimeout(90_000);

const AUDIT_KEY = randomBytes(32).toString('base64url');
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const READ = 'ciba:audit.read';
const EMAIL = 'alice@example.com';
/** Auditors: registered with the read scope, one per authentication method the API is used with. */
const AUDITOR = { id: 'audit-reader', secret: `reader-${randomBytes(12).toString('hex')}`, method: 'basic' } as unknown as TestClient;
const AUDITOR_POST = { id: 'audit-reader-post', secret: `reader-post-${randomBytes(12).toString('hex')}`, method: 'post' } as unknown as TestClient;
const AUDITOR_JWT = { id: 'audit-reader-jwt', kid: 'audit-reader-1' };
/** An auditor whose failed authentications are throttled after two (the others keep the default limits). */
const THROTTLED = { id: 'audit-reader-throttled', secret: `throttled-${randomBytes(12).toString('hex')}`, method: 'basic' } as unknown as TestClient;
/** Records written straight into the table, under client ids no flow uses: deterministic sets to page through. */
const SEEDED = 'audit-seeded-client';
const BULK = 'audit-bulk-client';
const BULK_COUNT = 1203;

/** The documented fields of a record: the table's columns but `revision`. */
const RECORD_FIELDS = [
  'request_id',
  'client_id',
  'subject',
  'issuer',
  'backchannel_endpoint',
  'delivery_mode',
  'scope',
  'acr_values',
  'hint_type',
  'user_hint_hash',
  'binding_message',
  'authorization_details_types',
  'requested_at',
  'expires_at',
  'expires_in',
  'interval',
  'correlation_id',
  'channels',
  'callbacks',
  'callback_attempts',
  'decision',
  'decided_at',
  'denial_reason',
  'denial_limit',
  'acr',
  'amr',
  'tokens_issued',
  'redeemed_at',
  'token_outcome',
  'access_token_jtis',
  'downstream',
  'event_ids',
  'updated_at',
].sort();

type AuditRecord = Record<string, unknown> & { request_id: string; client_id: string; requested_at: string | null };
interface Page {
  records: AuditRecord[];
  next_cursor: string | null;
}

/**
 * The audit API (`/audit/records`, `/audit/export`) on the all-in-one provider, over records of real
 * flows and records written straight into the table: a client registered with `ciba:audit.read`
 * finds records by every filter, pages through them by keyset without repeating or skipping one,
 * and exports them as JSON Lines with OCSF fields; everyone else, and every malformed request, gets
 * an OAuth error, never a 500.
 */
describe('audit API: evidence records by filters, pages and exports', () => {
  let op: TestProvider;
  let privateKey: CryptoKey;
  const digest = new UserHintDigest(AUDIT_KEY);
  const flows: Record<'approved' | 'denied' | 'pending', { authReqId: string; requestId: string }> = {} as never;

  /** `params` in the query string; Basic credentials for a basic client (a post client sends client_id only). */
  async function get(path: string, params: Record<string, string>, client: TestClient | null = AUDITOR): Promise<Response> {
    const headers: Record<string, string> = {};
    if (client?.method === 'basic') headers['authorization'] = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
    return fetch(`${op.url}${path}?${new URLSearchParams(params).toString()}`, { headers });
  }
  async function json(res: Response): Promise<HttpResult> {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
  }
  const records = async (params: Record<string, string>, client: TestClient | null = AUDITOR) => json(await get('/audit/records', params, client));
  const page = async (params: Record<string, string>): Promise<Page> => {
    const res = await records(params);
    expect(res.status).toBe(200);
    return res.body as unknown as Page;
  };
  const ids = (p: { records: AuditRecord[] }) => p.records.map((r) => r.request_id);

  async function assertion(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: AUDITOR_JWT.id, sub: AUDITOR_JWT.id, aud: op.url, iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: AUDITOR_JWT.kid })
      .sign(privateKey);
  }

  /** Every page of `params` from the first, following next_cursor. */
  async function allPages(params: Record<string, string>): Promise<Page[]> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const p: Page = await page({ ...params, ...(cursor ? { cursor } : {}) });
      pages.push(p);
      cursor = p.next_cursor;
    } while (cursor !== null && pages.length < 100);
    return pages;
  }

  /** The request ids of `clientId`'s records in the API's order, straight from the table. */
  async function storedOrder(clientId: string): Promise<string[]> {
    const rows = await op.db.dataSource.query<{ request_id: string }[]>(
      `SELECT request_id FROM audit_evidence_records WHERE client_id = $1 ORDER BY requested_at DESC NULLS FIRST, request_id DESC`,
      [clientId],
    );
    return rows.map((row) => row.request_id);
  }

  async function exported(params: Record<string, string>, client: TestClient = AUDITOR): Promise<{ res: Response; lines: Record<string, unknown>[]; text: string }> {
    const res = await get('/audit/export', params, client);
    const text = await res.text();
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    return { res, lines, text };
  }

  async function flow(client: TestClient, loginHint: string, status: 'SUCCEED' | 'UNAUTHORIZED' | null) {
    const message = uniqueMessage('audit api');
    const cnt: Record<string, string> = client === CLIENTS.ping ? { client_notification_token: `cnt-${randomBytes(16).toString('base64url')}` } : {};
    const { authReqId } = await op.authorize({ login_hint: loginHint, binding_message: message, ...cnt }, client);
    if (status !== null) {
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      expect((await op.decide(decisionToken, status)).status).toBe(200);
    }
    return { authReqId, requestId: requestIdIn(authReqId) };
  }

  async function seed(): Promise<void> {
    // Ties on requested_at (to the microsecond, and within one millisecond), every decision, one undated record.
    const rows: [string, string, string | null, string | null, string | null][] = [];
    const times = ['2031-05-01T10:00:00.123456Z', '2031-05-01T10:00:00.123457Z', '2031-05-01T09:00:00Z', '2031-04-30T00:00:00Z'];
    const decisions = ['approved', 'denied', 'expired', null];
    for (let i = 0; i < 22; i++) rows.push([randomUUID(), `seeded-${i % 3}`, times[i % times.length], decisions[i % decisions.length], `hash-${i % 2}`]);
    rows.push([randomUUID(), 'seeded-undated', null, null, null]);
    for (const [requestId, subject, requestedAt, decision, hash] of rows) {
      await op.db.dataSource.query(
        `INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at, decision, user_hint_hash, denial_reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [requestId, SEEDED, subject, requestedAt, decision, hash, decision === 'denied' ? 'UNAUTHORIZED' : null],
      );
    }
    await op.db.dataSource.query(
      `INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at, decision)
       SELECT gen_random_uuid()::text, $1, 'bulk-' || i, timestamptz '2029-01-01T00:00:00Z' + (i % 97) * interval '1 second', 'approved'
       FROM generate_series(1, $2::int) AS i`,
      [BULK, BULK_COUNT],
    );
  }

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_AUDIT_HMAC_KEY: AUDIT_KEY });
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: AUDITOR_JWT.kid, use: 'sig', alg: 'ES256' };
    const auditor = { grant_types: ['refresh_token'], scope: `openid ${READ}` };
    await loadBootstrap(
      parseBootstrap({
        clients: [
          { client_id: AUDITOR.id, client_secret: AUDITOR.secret, ...auditor },
          { client_id: AUDITOR_POST.id, client_secret: AUDITOR_POST.secret, token_endpoint_auth_method: 'client_secret_post', ...auditor },
          { client_id: AUDITOR_JWT.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, ...auditor },
          { client_id: THROTTLED.id, client_secret: THROTTLED.secret, ...auditor },
        ],
      }),
      bootstrapDeps(op),
    );
    flows.approved = await flow(CLIENTS.basic, EMAIL, 'SUCCEED');
    flows.denied = await flow(CLIENTS.ping, 'bob', 'UNAUTHORIZED');
    flows.pending = await flow(CLIENTS.basic, 'alice', null);
    await waitFor(
      async () => {
        const rows = await op.db.dataSource.query<{ request_id: string; decision: string | null; requested_at: Date | null }[]>(
          `SELECT request_id, decision, requested_at FROM audit_evidence_records WHERE request_id = ANY($1::text[])`,
          [[flows.approved.requestId, flows.denied.requestId, flows.pending.requestId]],
        );
        const by = new Map(rows.map((row) => [row.request_id, row]));
        return (
          by.get(flows.approved.requestId)?.decision === 'approved' &&
          by.get(flows.denied.requestId)?.decision === 'denied' &&
          by.get(flows.pending.requestId)?.requested_at instanceof Date
        );
      },
      { timeoutMs: 20_000, description: 'the flows’ evidence records' },
    );
    await seed();
  });
  afterAll(async () => {
    await op?.close();
  });

  describe('reading records', () => {
    it('finds the record of a real flow by its auth_req_id (GET, HTTP Basic), with the table’s columns as snake_case fields', async () => {
      const res = await records({ auth_req_id: flows.approved.authReqId });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = res.body as unknown as Page;
      expect(body.next_cursor).toBeNull();
      expect(body.records).toHaveLength(1);
      const [record] = body.records;
      expect(Object.keys(record).sort()).toEqual(RECORD_FIELDS);
      expect(record).toMatchObject({
        request_id: flows.approved.requestId,
        client_id: CLIENTS.basic.id,
        subject: 'alice',
        hint_type: 'login_hint',
        user_hint_hash: digest.digest('login_hint', EMAIL),
        decision: 'approved',
        delivery_mode: 'poll',
        issuer: op.url,
      });
      expect(new Date(String(record.requested_at)).toISOString()).toBe(record.requested_at);
      // The record never holds the hint itself.
      expect(JSON.stringify(record)).not.toContain(EMAIL);
    });

    it('filters by client_id, sub, user_hint_hash and decision, each narrowing to exactly the matching records (POST form with a JWT client assertion)', async () => {
      const post = async (params: Record<string, string>) => {
        const res = await fetch(`${op.url}/audit/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_assertion_type: JWT_BEARER, client_assertion: await assertion(), ...params }),
        });
        expect(res.status).toBe(200);
        return ids((await res.json()) as Page);
      };
      // With an assertion naming the caller, client_id is the records' client.
      expect(await post({ client_id: CLIENTS.ping.id })).toEqual([flows.denied.requestId]);
      expect(await post({ sub: 'bob', client_id: CLIENTS.ping.id })).toEqual([flows.denied.requestId]);
      expect(await post({ user_hint_hash: digest.digest('login_hint', EMAIL) })).toEqual([flows.approved.requestId]);
      expect(await post({ client_id: CLIENTS.basic.id, decision: 'pending' })).toEqual([flows.pending.requestId]);
      expect(await post({ client_id: CLIENTS.basic.id, decision: 'approved' })).toEqual([flows.approved.requestId]);
      const stored = await op.db.dataSource.query<{ request_id: string; decision: string | null; subject: string; user_hint_hash: string | null }[]>(
        `SELECT request_id, decision, subject, user_hint_hash FROM audit_evidence_records WHERE client_id = $1`,
        [SEEDED],
      );
      for (const decision of ['approved', 'denied', 'expired', 'pending'] as const) {
        const expected = stored.filter((row) => (decision === 'pending' ? row.decision === null : row.decision === decision)).map((row) => row.request_id);
        expect(expected.length).toBeGreaterThan(0);
        expect((await post({ client_id: SEEDED, decision, limit: '500' })).sort()).toEqual(expected.sort());
      }
      const bySubject = stored.filter((row) => row.subject === 'seeded-1').map((row) => row.request_id);
      expect((await post({ client_id: SEEDED, sub: 'seeded-1' })).sort()).toEqual(bySubject.sort());
      const byHash = stored.filter((row) => row.user_hint_hash === 'hash-0' && row.decision === 'denied').map((row) => row.request_id);
      expect((await post({ client_id: SEEDED, user_hint_hash: 'hash-0', decision: 'denied' })).sort()).toEqual(byHash.sort());
    });

    it('filters by from and to on requested_at, inclusive, as date-times with an offset or dates', async () => {
      const stored = await op.db.dataSource.query<{ request_id: string; requested_at: Date | null }[]>(`SELECT request_id, requested_at FROM audit_evidence_records WHERE client_id = $1`, [SEEDED]);
      const between = (from: number, to: number) =>
        stored
          .filter((row) => row.requested_at !== null && row.requested_at.getTime() >= from && row.requested_at.getTime() <= to)
          .map((row) => row.request_id)
          .sort();
      const window = await page({ client_id: SEEDED, from: '2031-05-01T09:00:00Z', to: '2031-05-01T12:00:00+02:00' });
      expect(ids(window).sort()).toEqual(between(Date.parse('2031-05-01T09:00:00Z'), Date.parse('2031-05-01T10:00:00Z')));
      expect(ids(window).length).toBeGreaterThan(0);
      const day = await page({ client_id: SEEDED, from: '2031-04-30', to: '2031-04-30' });
      expect(ids(day).sort()).toEqual(between(Date.parse('2031-04-30T00:00:00Z'), Date.parse('2031-04-30T00:00:00Z')));
      expect(ids(day).length).toBeGreaterThan(0);
      // The real flows happened now, long before the seeded future.
      expect(ids(await page({ client_id: CLIENTS.basic.id, from: '2031-01-01T00:00:00Z' }))).toEqual([]);
    });

    it('an auth_req_id that does not decode, is forged, or belongs to another client than the filter matches no record (200, not an error)', async () => {
      const real = flows.approved.authReqId;
      const forged = `${real.slice(0, 40)}${real[40] === 'A' ? 'B' : 'A'}${real.slice(41)}`;
      for (const authReqId of ['not-an-auth-req-id', 'A'.repeat(64), forged, `${real}x`, '%00%ff']) {
        const res = await records({ auth_req_id: authReqId });
        expect({ authReqId, status: res.status, records: (res.body as unknown as Page).records }).toEqual({ authReqId, status: 200, records: [] });
      }
      expect(ids(await page({ auth_req_id: real, client_id: CLIENTS.ping.id }))).toEqual([]);
      expect(ids(await page({ auth_req_id: real, client_id: CLIENTS.basic.id }))).toEqual([flows.approved.requestId]);
    });

    it('a client_secret_post auditor names itself with client_id, which is then not a filter', async () => {
      const res = await op.form('/audit/records', { limit: '500' }, AUDITOR_POST);
      expect(res.status).toBe(200);
      const clients = new Set((res.body as unknown as Page).records.map((r) => r.client_id));
      expect(clients.has(CLIENTS.basic.id) || clients.has(SEEDED)).toBe(true);
      expect(clients.has(AUDITOR_POST.id)).toBe(false);
    });
  });

  describe('keyset pagination', () => {
    it('pages newest first through ties on requested_at (to the microsecond) and an undated record, with no duplicate and no gap', async () => {
      const pages = await allPages({ client_id: SEEDED, limit: '4' });
      const seen = pages.flatMap(ids);
      expect(seen).toEqual(await storedOrder(SEEDED));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength(23);
      expect(pages).toHaveLength(6);
      expect(pages.slice(0, -1).every((p) => p.records.length === 4 && p.next_cursor !== null)).toBe(true);
      expect(pages.at(-1)!.next_cursor).toBeNull();
      // Undated first, then newest first.
      expect(pages[0].records[0].requested_at).toBeNull();
    });

    it('records added after the first page do not shift the following pages', async () => {
      const first = await page({ client_id: SEEDED, limit: '5' });
      const newer = randomUUID();
      await op.db.dataSource.query(`INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at) VALUES ($1, $2, 'late', '2031-06-01T00:00:00Z')`, [newer, SEEDED]);
      try {
        const rest = await allPages({ client_id: SEEDED, limit: '5', cursor: first.next_cursor! });
        const seen = [...ids(first), ...rest.flatMap(ids)];
        expect(seen).not.toContain(newer);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual((await storedOrder(SEEDED)).filter((id) => id !== newer));
      } finally {
        await op.db.dataSource.query(`DELETE FROM audit_evidence_records WHERE request_id = $1`, [newer]);
      }
    });

    it('defaults to 100 records a page and allows up to 500', async () => {
      const first = await page({ client_id: BULK });
      expect(first.records).toHaveLength(100);
      expect(first.next_cursor).toEqual(expect.any(String));
      const pages = await allPages({ client_id: BULK, limit: '500' });
      expect(pages.map((p) => p.records.length)).toEqual([500, 500, BULK_COUNT - 1000]);
      expect(pages.flatMap(ids)).toEqual(await storedOrder(BULK));
    });
  });

  describe('JSON Lines export', () => {
    it('streams every matching record as one line each, in the query’s order, across internal pages', async () => {
      const { res, lines, text } = await exported({ client_id: BULK });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(text.endsWith('\n')).toBe(true);
      expect(lines).toHaveLength(BULK_COUNT);
      expect(lines.map((line) => line['request_id'])).toEqual(await storedOrder(BULK));
    });

    it('each line is the record as /audit/records shows it plus OCSF Authentication fields, the user only by its hint hash', async () => {
      const { lines } = await exported({ client_id: SEEDED });
      const pages = await allPages({ client_id: SEEDED, limit: '500' });
      const queried = pages.flatMap((p) => p.records);
      expect(lines).toHaveLength(queried.length);
      lines.forEach((line, i) => expect(line).toMatchObject(queried[i]));
      const [approved] = (await exported({ auth_req_id: flows.approved.authReqId })).lines;
      expect(approved).toMatchObject({
        request_id: flows.approved.requestId,
        class_uid: 3002,
        category_uid: 3,
        activity_id: 1,
        type_uid: 300201,
        time: Date.parse(String(approved['requested_at'])),
        status_id: 1,
        status: 'Success',
        metadata: { product: { name: 'CIBA OpenID Provider' }, uid: flows.approved.requestId },
        actor: { app_uid: CLIENTS.basic.id },
        user: { uid: digest.digest('login_hint', EMAIL) },
      });
      expect(JSON.stringify(approved)).not.toContain(EMAIL);
      const [denied] = (await exported({ auth_req_id: flows.denied.authReqId })).lines;
      expect(denied).toMatchObject({ status_id: 2, status: 'Failure', status_detail: 'UNAUTHORIZED' });
      const [pending] = (await exported({ auth_req_id: flows.pending.authReqId })).lines;
      expect(pending).toMatchObject({ status_id: 0, status: 'Unknown', status_detail: 'pending' });
    });

    it('stops at its limit with a next_cursor line, from which the export continues without repeating or skipping', async () => {
      const head = await exported({ client_id: SEEDED, limit: '7' });
      expect(head.lines).toHaveLength(8);
      const last = head.lines.at(-1)!;
      expect(Object.keys(last)).toEqual(['next_cursor']);
      const tail = await exported({ client_id: SEEDED, cursor: String(last['next_cursor']) });
      const seen = [...head.lines.slice(0, 7), ...tail.lines].map((line) => line['request_id']);
      expect(seen).toEqual(await storedOrder(SEEDED));
    });

    it('POST /audit/export takes the filters and credentials in a form', async () => {
      const res = await fetch(`${op.url}/audit/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_assertion_type: JWT_BEARER, client_assertion: await assertion(), client_id: CLIENTS.ping.id }),
      });
      expect(res.status).toBe(200);
      const lines = (await res.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((line) => line['request_id'])).toEqual([flows.denied.requestId]);
    });
  });

  describe('hostile requests', () => {
    const expectError = (res: HttpResult, status: number, error: string) => {
      expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
      expect(res.body['error_description']).toEqual(expect.any(String));
    };

    it('no credentials: 401 invalid_client, on both endpoints and both methods', async () => {
      expectError(await records({}, null), 401, 'invalid_client');
      expectError(await json(await get('/audit/export', {}, null)), 401, 'invalid_client');
      expectError(await op.form('/audit/records', {}, null), 401, 'invalid_client');
      expectError(await op.form('/audit/export', { client_id: CLIENTS.basic.id }, null), 401, 'invalid_client');
    });

    it('a wrong secret: 401 invalid_client with WWW-Authenticate, and no record in the answer', async () => {
      const wrong: TestClient = { ...AUDITOR, secret: 'not-the-secret' };
      const res = await records({ auth_req_id: flows.approved.authReqId }, wrong);
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="ciba", error="invalid_client"');
      expect(res.body['records']).toBeUndefined();
      const exportRes = await get('/audit/export', {}, wrong);
      expect(exportRes.status).toBe(401);
      expect(exportRes.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('failed authentications are throttled as at the token endpoint (429 after the client’s limit)', async () => {
      const wrong: TestClient = { ...THROTTLED, secret: 'not-the-secret' };
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await records({}, wrong)).status);
      expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
      const locked = await records({}, THROTTLED);
      expectError(locked, 429, 'invalid_client');
      expect(locked.headers.get('retry-after')).toEqual(expect.any(String));
    });

    it('a client without ciba:audit.read: 403 insufficient_scope, on both endpoints', async () => {
      expectError(await records({}, CLIENTS.basic), 403, 'insufficient_scope');
      const res = await get('/audit/export', {}, CLIENTS.basic);
      expectError(await json(res), 403, 'insufficient_scope');
      expectError(await op.form('/audit/records', {}, CLIENTS.post), 403, 'insufficient_scope');
    });

    it('credentials in the query string are refused (URLs end up in logs)', async () => {
      expectError(await json(await fetch(`${op.url}/audit/records?${new URLSearchParams({ client_id: AUDITOR_POST.id, client_secret: AUDITOR_POST.secret }).toString()}`)), 400, 'invalid_request');
    });

    it('a tampered, truncated, foreign or oversized cursor: 400 invalid_request', async () => {
      const { next_cursor: cursor } = await page({ client_id: SEEDED, limit: '2' });
      expect(cursor).toEqual(expect.any(String));
      const c = cursor!;
      const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
      const forged = Buffer.from(c, 'base64url');
      forged.write(JSON.stringify(['2000-01-01T00:00:00.000000Z', randomUUID()]), 16);
      const bad = [flip(c, 0), flip(c, c.length - 3), c.slice(0, -4), `${c}AA`, 'not a cursor', '!!!', 'A'.repeat(600), forged.toString('base64url'), Buffer.from('["x","y"]').toString('base64url')];
      for (const value of bad) {
        const res = await records({ client_id: SEEDED, limit: '2', cursor: value });
        expect({ value, status: res.status, error: res.body['error'] }).toEqual({ value, status: 400, error: 'invalid_request' });
      }
      // The cursor belongs to its filters.
      expectError(await records({ client_id: BULK, limit: '2', cursor: c }), 400, 'invalid_request');
      expectError(await json(await get('/audit/export', { client_id: SEEDED, decision: 'approved', cursor: c })), 400, 'invalid_request');
      // And is fine where it came from, whatever the page size.
      expect((await records({ client_id: SEEDED, limit: '3', cursor: c })).status).toBe(200);
    });

    it('limits outside 1..500 (records) or 1..100000 (export), and non-numbers: 400 invalid_request', async () => {
      for (const limit of ['0', '501', '100000', '-1', '1.5', 'abc', '1e3', '99999999999']) expectError(await records({ limit }), 400, 'invalid_request');
      for (const limit of ['0', '100001']) expectError(await json(await get('/audit/export', { limit })), 400, 'invalid_request');
      expect((await records({ limit: '500', client_id: SEEDED })).status).toBe(200);
    });

    it('dates that are not ISO 8601 with an offset, impossible dates, and from after to: 400 invalid_request', async () => {
      for (const params of <Record<string, string>[]>[
        { from: 'yesterday' },
        { from: '2031-13-45' },
        { to: '2031-02-30T00:00:00Z' },
        { from: '2031-05-01T10:00:00' },
        { from: '1714557600' },
        { from: '2031-05-02T00:00:00Z', to: '2031-05-01T00:00:00Z' },
      ]) {
        const res = await records(params);
        expect({ params, status: res.status, error: res.body['error'] }).toEqual({ params, status: 400, error: 'invalid_request' });
      }
    });

    it('SQL-looking filter values are values: no match, no error, the table intact', async () => {
      for (const value of ["alice' OR '1'='1", "x'; DROP TABLE audit_evidence_records; --", '\\', '%', '_']) {
        for (const name of ['sub', 'client_id', 'user_hint_hash']) {
          const res = await records({ [name]: value });
          expect({ name, value, status: res.status, records: (res.body as unknown as Page).records }).toEqual({ name, value, status: 200, records: [] });
        }
      }
      expect(ids(await page({ auth_req_id: flows.approved.authReqId }))).toEqual([flows.approved.requestId]);
    });

    it('unknown, repeated, oversized or invalid parameters, a JSON body and other methods: OAuth errors, never a 500', async () => {
      expectError(await records({ subject: 'alice' }), 400, 'invalid_request');
      expectError(await records({ decision: 'maybe' }), 400, 'invalid_request');
      expectError(await records({ sub: 'a'.repeat(5000) }), 400, 'invalid_request');
      expectError(await records({ sub: 'ali\u0000ce' }), 400, 'invalid_request');
      expectError(await records({ client_id: 'bank\u001bapp' }), 400, 'invalid_request');
      expectError(await json(await fetch(`${op.url}/audit/records?sub=a&sub=b`, { headers: { authorization: `Basic ${Buffer.from(`${AUDITOR.id}:${AUDITOR.secret}`).toString('base64')}` } })), 400, 'invalid_request');
      const jsonBody = await fetch(`${op.url}/audit/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${AUDITOR.id}:${AUDITOR.secret}`).toString('base64')}` },
        body: JSON.stringify({ sub: 'alice' }),
      });
      expectError(await json(jsonBody), 400, 'invalid_request');
      const put = await fetch(`${op.url}/audit/export`, { method: 'PUT' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, POST');
    });
  });
});
