import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SMTP_REPLIES, SmtpPeer, mailParts, selfSignedCert, smtpEnvironment, waitFor } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import { ALICE, SMTP_CREDENTIALS, approvalLinkIn, approveOnPage, auditedUntil, expectTokensForAlice, requestIdOf } from './channel-harness.js';

describe('email over SMTP: bc-authorize → the notifier mails alice → approval page → tokens', () => {
  let smtp: SmtpPeer;
  let op: TestProvider;

  beforeAll(async () => {
    smtp = await SmtpPeer.start({ tls: selfSignedCert(), credentials: SMTP_CREDENTIALS });
    op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '', ...smtpEnvironment(smtp) });
  });
  afterAll(async () => {
    await op?.close();
    await smtp?.close();
  });

  it('mails the approval link to her verified address over STARTTLS with AUTH; following it approves, and the token request returns tokens (CIBA §11)', async () => {
    const message = uniqueMessage('Email sign-in');
    const { authReqId } = await op.authorize({ binding_message: message, scope: 'openid email' });

    const mail = await smtp.mailTo(ALICE.email, { containing: message });
    expect(mail).toMatchObject({ rcptTo: [ALICE.email], secure: true, user: SMTP_CREDENTIALS.user });
    const { headers, text, html } = mailParts(mail.raw);
    expect(headers.get('subject')).toBe('Approve sign-in request from Console (basic)');
    expect(text).toContain(message);
    const link = approvalLinkIn(op, text ?? '');
    expect(html).toContain(`href="${link}"`);
    expect(text).not.toContain(authReqId);

    await approveOnPage(link);
    await expectTokensForAlice(op, authReqId);
  });

  it('a transient refusal (451) is retried after a delay: the mail arrives on redelivery and the user is notified once', async () => {
    smtp.replyNext(SMTP_REPLIES.tryAgainLater);
    const attemptsBefore = smtp.recipients.length;
    const message = uniqueMessage('Email retry');
    const { authReqId } = await op.authorize({ binding_message: message });
    const requestId = await requestIdOf(op, authReqId);

    await smtp.mailTo(ALICE.email, { containing: message, timeoutMs: 15_000 });
    expect(smtp.recipients.slice(attemptsBefore)).toEqual([
      { address: ALICE.email, reply: SMTP_REPLIES.tryAgainLater },
      { address: ALICE.email, reply: null },
    ]);
    // The redelivery that sent the mail was acknowledged: no further delivery of the request can come.
    await waitFor(async () => (await queuedNotifierWork(requestId)) === 0, { description: 'the notifier acknowledged the request' });
    expect(smtp.received.filter((m) => mailParts(m.raw).text?.includes(message))).toHaveLength(1);
    const notified = (await auditedUntil(op, requestId, 'auth_request.device_notified')).filter((r) => r.type === 'auth_request.device_notified');
    expect(notified.map((r) => r.payload['channel'])).toEqual(['email']);
  }, 20_000);

  async function queuedNotifierWork(requestId: string): Promise<number> {
    const rows = await op.db.dataSource.query<{ n: string }[]>(
      "SELECT (SELECT count(*) FROM queued_messages WHERE consumer = 'notifier' AND message_id = $1) + (SELECT count(*) FROM dead_letters WHERE consumer = 'notifier' AND message_id = $1) AS n",
      [`${requestId}:auth_request.created`],
    );
    return Number(rows[0].n);
  }
});
