import { expect } from '@jest/globals';
import { decodeJwt } from 'jose';
import { answerApprovalPage, approvalLinkIn as findApprovalLink, waitFor, requestIdIn } from '@ciba/testing';
import type { TestProvider } from '../provider-harness.js';

/** The bootstrap's alice: verified email and phone number (see `testBootstrap`). */
export const ALICE = { sub: 'alice', email: 'alice@example.com', phoneNumber: '+1 555 555 0100', e164: '+15555550100' } as const;

export const SMTP_CREDENTIALS = { user: 'mailer', pass: 'relay-password-1' } as const;
export const SMPP_CREDENTIALS = { systemId: 'ciba', password: 's3cret' } as const;

/** The approval link in what the user received (mail text, SMS, push payload). */
export function approvalLinkIn(op: TestProvider, received: string): string {
  return findApprovalLink(received, op.config.publicUrls.notifier);
}

/** The user follows the link and approves on the page. */
export async function approveOnPage(link: string): Promise<void> {
  const answered = await answerApprovalPage(link, 'approve');
  expect({ status: answered.status, approved: answered.html.includes('Approved') }).toEqual({ status: 200, approved: true });
}

/** CIBA §11: the client's token request now returns tokens for alice. */
export async function expectTokensForAlice(op: TestProvider, authReqId: string): Promise<void> {
  const res = await op.token(authReqId);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), id_token: expect.any(String) });
  expect(decodeJwt(String(res.body['id_token'])).sub).toBe(ALICE.sub);
}

/** The provider's own id for the request behind `authReqId`, once its row exists. */
export async function requestIdOf(op: TestProvider, authReqId: string): Promise<string> {
  const [row] = await op.db.dataSource.query<{ id: string }[]>('SELECT id FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
  if (!row) throw new Error('no request behind this auth_req_id');
  return row.id;
}

export interface AuditRecord {
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

/** The request's audit records (one per lifecycle event), once the audit consumer has recorded one of `type`. */
export async function auditedUntil(op: TestProvider, requestId: string, type: string): Promise<AuditRecord[]> {
  let records: AuditRecord[] = [];
  await waitFor(
    async () => {
      records = await op.db.dataSource.query<AuditRecord[]>('SELECT type, payload FROM audit_records WHERE request_id = $1 ORDER BY occurred_at, type', [requestId]);
      return records.some((r) => r.type === type);
    },
    { description: `audit record ${type}` },
  );
  return records;
}
