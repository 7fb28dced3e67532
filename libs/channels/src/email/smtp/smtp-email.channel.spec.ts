import { describe, expect, it } from '@jest/globals';
import type { ApprovalNotification } from '../../channel.js';
import { SmtpEmailChannel } from './smtp-email.channel.js';

const notification: ApprovalNotification = {
  requestId: 'r',
  clientName: 'Acme',
  bindingMessage: null,
  scope: ['openid'],
  authorizationDetails: null,
  expiresAt: new Date(Date.now() + 60_000),
  approvalUrl: 'https://op.example.com/a/1',
  recipientName: null,
};

// Port 9 is never contacted: every case here is refused before a connection is opened.
const channel = new SmtpEmailChannel({ host: '127.0.0.1', port: 9, secure: false, requireTls: false, from: 'op@example.com' });

describe('SmtpEmailChannel (no network)', () => {
  it('identifies itself', () => {
    expect(channel.kind).toBe('email');
    expect(channel.vendor).toBe('smtp');
  });

  it.each(['', 'not-an-address', 'a@x.com, b@y.com', 'Alice <a@x.com>', 'a@x.com\r\nBcc: b@y.com', 'a b@x.com'])('refuses %j as an invalid recipient', async (to) => {
    await expect(channel.send(to, notification)).resolves.toEqual({ kind: 'permanent', reason: 'invalid_recipient' });
  });

  it('refuses a notification whose approval URL is not http(s)', async () => {
    await expect(channel.send('a@example.com', { ...notification, approvalUrl: 'javascript:alert(1)' })).resolves.toEqual({ kind: 'permanent', reason: 'invalid_notification' });
  });

  it.each(['a@x.com, b@y.com', 'a@x.com\r\nBcc: b@y.com'])('refuses %j as an enrolment recipient too', async (to) => {
    await expect(channel.sendEnrolment(to, { enrolUrl: 'https://op.example.com/enrol/t', expiresAt: new Date(Date.now() + 60_000), recipientName: null })).resolves.toEqual({
      kind: 'permanent',
      reason: 'invalid_recipient',
    });
  });

  it('refuses an enrolment invitation whose link is not http(s)', async () => {
    await expect(channel.sendEnrolment('a@example.com', { enrolUrl: 'data:text/html,x', expiresAt: new Date(), recipientName: null })).resolves.toEqual({
      kind: 'permanent',
      reason: 'invalid_notification',
    });
  });

  it('rejects contradictory TLS options at construction', () => {
    expect(() => new SmtpEmailChannel({ host: 'h', port: 25, secure: false, requireTls: true, ignoreTls: true, from: 'a@b.c' })).toThrow('contradict');
  });
});
