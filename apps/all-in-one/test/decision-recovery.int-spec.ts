import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requestIdIn, waitFor } from '@ciba/testing';
import { csrfOf, readPage, requestWithLink } from './approval-page.harness.js';
import { CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/**
 * A decision is atomic and its outcome event recoverable: the device's retry after any failure
 * either applies its decision or is told it stands, and the approved / denied / expired event
 * reaches the bus even when the first publish never happened. Failures are injected in the real
 * PostgreSQL (a trigger that raises), where a crash would leave the same state.
 */
describe('lost approvals: decisions survive failures between their steps', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_REPUBLISH_AFTER_MS: '60000' });
  });
  afterAll(async () => {
    await op.close();
  });

  const sql = <T>(text: string, parameters: unknown[] = []) => op.db.dataSource.query<T>(text, parameters);

  /** bc-authorize for alice (the HTTP authentication channel), and the decision token her device got. */
  async function notified(client: TestClient = CLIENTS.basic): Promise<{ authReqId: string; id: string; decisionToken: string }> {
    const message = uniqueMessage('recovery');
    const extra: Record<string, string> = client === CLIENTS.ping ? { client_notification_token: `cnt-${message.replace(' ', '-')}` } : {};
    const { authReqId } = await op.authorize({ binding_message: message, ...extra }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    const id = requestIdIn(authReqId);
    return { authReqId, id, decisionToken };
  }

  /** Makes PostgreSQL refuse `when` on `table` (a trigger raising an error) until the returned function is called. */
  async function inject(name: string, table: string, when: string): Promise<() => Promise<void>> {
    await sql(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await sql(`CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
    return async () => {
      await sql(`DROP TRIGGER ${name} ON ${table}`);
      await sql(`DROP FUNCTION ${name}()`);
    };
  }

  const outcomeAuditsNow = async (id: string) =>
    (await sql<{ type: string }[]>(`SELECT type FROM audit_records WHERE request_id = $1 AND type IN ('auth_request.approved', 'auth_request.denied', 'auth_request.expired')`, [id])).map(
      (r) => r.type,
    );

  /** The approved/denied/expired audit records of a request, once `count` of them are there. */
  async function outcomeAudits(id: string, count = 1): Promise<string[]> {
    let types: string[] = [];
    await waitFor(
      async () => {
        types = await outcomeAuditsNow(id);
        return types.length >= count;
      },
      { description: 'the outcome event in the audit trail' },
    );
    return types;
  }

  const tokenUsedAt = async (id: string) =>
    (await sql<{ used_at: Date | null }[]>(`SELECT used_at FROM decision_tokens WHERE request_id = $1 AND channel = 'http'`, [id]))[0].used_at;
  const published = async (id: string) => (await sql<{ outcome_published_at: Date | null }[]>('SELECT outcome_published_at FROM auth_requests WHERE id = $1', [id]))[0].outcome_published_at;

  it('lost approvals: a failure after the token check but before the decision commits uses up nothing, and the device\'s retry approves', async () => {
    const { authReqId, id, decisionToken } = await notified();
    const heal = await inject('fail_decision', 'auth_requests', `NEW.id = '${id}' AND NEW.status = 'approved'`);
    try {
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(500);
      // A decision that did not happen leaves the token usable (the two-statement version burnt it here).
      expect(await tokenUsedAt(id)).toBeNull();
    } finally {
      await heal();
    }
    const retry = await op.decide(decisionToken, 'SUCCEED');
    expect({ status: retry.status, body: retry.body }).toEqual({ status: 200, body: {} });
    expect((await op.token(authReqId)).status).toBe(200);
    expect(await outcomeAudits(id)).toEqual(['auth_request.approved']);
  });

  it('lost approvals: an approval committed but never announced (the bus failed) is answered 200 on retry, as the first time, and announced then — the ping arrives', async () => {
    const { authReqId, id, decisionToken } = await notified(CLIENTS.ping);
    const heal = await inject('fail_publish', 'queued_messages', `NEW.message_id = '${id}:auth_request.approved'`);
    try {
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(500);
      const [{ status }] = await sql<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [id]);
      expect(status).toBe('approved');
    } finally {
      await heal();
    }
    const retry = await op.decide(decisionToken, 'SUCCEED');
    expect({ status: retry.status, body: retry.body }).toEqual({ status: 200, body: {} });
    const [ping] = await op.receiver.waitFor(authReqId);
    expect(ping.body).toEqual({ auth_req_id: authReqId });
    expect(await outcomeAudits(id)).toEqual(['auth_request.approved']);
    expect((await op.token(authReqId, CLIENTS.ping)).status).toBe(200);
    expect(await published(id)).not.toBeNull();
  });

  it('a retry of the same decision is answered 200 with the same body; a different decision is refused (409) and changes nothing', async () => {
    const approved = await notified();
    const first = await op.decide(approved.decisionToken, 'SUCCEED');
    const again = await op.decide(approved.decisionToken, 'SUCCEED');
    expect({ status: again.status, body: again.body }).toEqual({ status: first.status, body: first.body });
    const other = await op.decide(approved.decisionToken, 'CANCELLED');
    expect(other.status).toBe(409);
    expect(other.body).toEqual({ error: 'invalid_request', error_description: 'a decision was already recorded for this request (approved); this one was not applied' });
    expect((await op.token(approved.authReqId)).status).toBe(200);

    // A denial is the same decision whichever denial status the retry carries.
    const denied = await notified();
    expect((await op.decide(denied.decisionToken, 'UNAUTHORIZED')).status).toBe(200);
    expect((await op.decide(denied.decisionToken, 'CANCELLED')).status).toBe(200);
    expect((await op.decide(denied.decisionToken, 'SUCCEED')).status).toBe(409);
    expect((await op.token(denied.authReqId)).body['error']).toBe('access_denied');
    const [{ denial_reason }] = await sql<{ denial_reason: string }[]>('SELECT denial_reason FROM auth_requests WHERE id = $1', [denied.id]);
    expect(denial_reason).toBe('UNAUTHORIZED');

    for (const { id } of [approved, denied]) expect(await outcomeAudits(id)).toHaveLength(1);
  });

  it('a device whose request was already decided on the approval page is told the decision stands (409), and its token is not used up', async () => {
    const message = uniqueMessage('both');
    const { authReqId, request, link } = await requestWithLink(op, { binding_message: message });
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    const page = await readPage(await fetch(link));
    const csrf = csrfOf(page);
    const approvedOnPage = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_approval_csrf=${csrf.cookie}`, origin: new URL(op.url).origin },
      body: new URLSearchParams({ csrf: csrf.field, decision: 'approve' }),
    });
    expect(approvedOnPage.status).toBe(200);
    const late = await op.decide(decisionToken, 'UNAUTHORIZED');
    expect(late.status).toBe(409);
    expect(late.body['error_description']).toContain('already recorded for this request (approved)');
    expect(await tokenUsedAt(request.id)).toBeNull();
    expect((await op.token(authReqId)).status).toBe(200);
  });

  it('approval page — lost approvals: resubmitting a recorded approval (its answer lost) shows the Approved page again; another decision gets the used-link page', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const csrf = csrfOf(await readPage(await fetch(link)));
    const submit = async (decision: 'approve' | 'deny') =>
      readPage(
        await fetch(link, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_approval_csrf=${csrf.cookie}`, origin: new URL(op.url).origin },
          body: new URLSearchParams({ csrf: csrf.field, decision }),
        }),
      );
    const first = await submit('approve');
    expect(first.status).toBe(200);
    const resubmitted = await submit('approve');
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.html).toContain('Approved — you can return to Console (basic)');
    const denied = await submit('deny');
    expect(denied.status).toBe(410);
    expect(denied.html).toContain('This link is no longer valid');
    expect((await op.token(authReqId)).status).toBe(200);
  });

  it('lost approvals: the sweeper republishes a decision and an expiry whose events were never confirmed, once CIBA_REPUBLISH_AFTER_MS has passed', async () => {
    const decided = await notified(CLIENTS.ping);
    const healDecided = await inject('fail_decided_publish', 'queued_messages', `NEW.message_id = '${decided.id}:auth_request.approved'`);
    try {
      expect((await op.decide(decided.decisionToken, 'SUCCEED')).status).toBe(500);
    } finally {
      await healDecided();
    }

    const { authReqId: expiringId } = await op.authorize({ binding_message: uniqueMessage('expiring'), requested_expiry: '5' });
    const expiring = requestIdIn(expiringId);
    const healExpired = await inject('fail_expired_publish', 'queued_messages', `NEW.message_id = '${expiring}:auth_request.expired'`);
    try {
      op.clock.advance(6);
      await waitFor(async () => (await sql<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [expiring]))[0].status === 'expired', {
        description: 'the sweeper expired the request',
      });
    } finally {
      await healExpired();
    }
    // Neither event is on the bus yet, and nothing announces them before the delay has passed.
    expect(await outcomeAuditsNow(decided.id)).toEqual([]);
    expect(await outcomeAuditsNow(expiring)).toEqual([]);

    op.clock.advance(61);
    expect(await outcomeAudits(decided.id)).toEqual(['auth_request.approved']);
    expect(await outcomeAudits(expiring)).toEqual(['auth_request.expired']);
    await op.receiver.waitFor(decided.authReqId);
    await waitFor(async () => (await published(decided.id)) !== null && (await published(expiring)) !== null, { description: 'both outcomes confirmed' });
  }, 30_000);
});
