import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SMTP_REPLIES, SmtpPeer, type SmtpReply, mailParts, selfSignedCert } from '@ciba/testing';
import type { ApprovalNotification } from '../src/channel.js';
import { SmtpEmailChannel } from '../src/email/smtp/smtp-email.channel.js';
import type { SmtpEmailChannelOptions } from '../src/email/smtp/smtp-email.config.js';

const USER = 'mailer';
const PASSWORD = 'correct horse';
const APPROVAL_URL = 'https://op.example.com/approve/9f2c6a1e-0b7d-4c55-8f7e-3a1f1f0c2d9b?lang=en&source=email';
const BINDING = 'Transfer 42 EUR to Bob — ref 7731';

const notification: ApprovalNotification = {
  requestId: 'req-int-1',
  clientName: 'Acme Bank',
  bindingMessage: BINDING,
  scope: ['openid', 'email', 'accounts:read'],
  authorizationDetails: [{ type: 'payment_initiation', actions: ['initiate'], creditorName: 'Bob' }],
  expiresAt: new Date(Date.now() + 5 * 60_000),
  approvalUrl: APPROVAL_URL,
  recipientName: 'Alice',
};

/** RCPT TO local parts `reject550` / `defer451` script RFC 5321 replies. */
const REPLIES_BY_LOCAL_PART: Readonly<Record<string, SmtpReply>> = { reject550: SMTP_REPLIES.mailboxUnavailable, defer451: SMTP_REPLIES.tryAgainLater };
const byLocalPart = (address: string): SmtpReply | undefined => REPLIES_BY_LOCAL_PART[address.split('@')[0]];
const credentials = { user: USER, pass: PASSWORD };

function channelFor(port: number, overrides: Partial<SmtpEmailChannelOptions> = {}): SmtpEmailChannel {
  return new SmtpEmailChannel({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTls: false,
    ignoreTls: true,
    from: '"Example ID" <no-reply@op.example.com>',
    connectionTimeoutMs: 2000,
    greetingTimeoutMs: 2000,
    socketTimeoutMs: 5000,
    productName: 'Example ID',
    ...overrides,
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('SmtpEmailChannel against a real SMTP server (RFC 5321)', () => {
  let server: SmtpPeer;
  beforeAll(async () => {
    // Plaintext relay on loopback: STARTTLS disabled, AUTH allowed without TLS for the test only.
    server = await SmtpPeer.start({ credentials, allowInsecureAuth: true, recipientReply: byLocalPart });
  });
  afterAll(() => server.close());

  it('delivers the approval link and the binding message in both the text and HTML parts', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());

    const outcome = await channel.send('alice@example.com', notification);

    expect(outcome).toMatchObject({ kind: 'sent', providerMessageId: expect.stringMatching(/^<.+@.+>$/) });
    const mail = await server.mailTo('alice@example.com');
    const { headers, text, html } = mailParts(mail.raw);
    expect(headers.get('subject')).toBe('Approve sign-in request from Acme Bank');
    expect(headers.get('auto-submitted')).toBe('auto-generated');
    expect(headers.get('message-id')).toBe((outcome as { providerMessageId: string }).providerMessageId);
    expect(text).toContain(APPROVAL_URL);
    expect(text).toContain(BINDING);
    expect(html).toContain(`href="${APPROVAL_URL.replace(/&/g, '&amp;')}"`);
    expect(html).toContain(BINDING);
  });

  it('delivers a device enrolment link (sendEnrolment) in both parts, with its own subject', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());
    const enrolUrl = 'https://op.example.com/enrol/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';

    const outcome = await channel.sendEnrolment('enrol@example.com', { enrolUrl, expiresAt: new Date(Date.now() + 15 * 60_000), recipientName: 'Alice' });

    expect(outcome).toMatchObject({ kind: 'sent' });
    const mail = await server.mailTo('enrol@example.com');
    const { headers, text, html } = mailParts(mail.raw);
    expect(headers.get('subject')).toBe('Get Example ID sign-in requests on your device');
    expect(headers.get('auto-submitted')).toBe('auto-generated');
    expect(text).toContain(enrolUrl);
    expect(text).toContain('Hello Alice,');
    expect(html).toContain(`href="${enrolUrl}"`);
  });

  it('authenticates (RFC 4954 AUTH PLAIN) with credentials the server checks', async () => {
    const channel = channelFor(server.port, { auth: { user: USER, pass: PASSWORD } });
    cleanups.push(() => channel.close());

    await expect(channel.send('auth-ok@example.com', notification)).resolves.toMatchObject({ kind: 'sent' });
    const mail = await server.mailTo('auth-ok@example.com');
    expect(mail.user).toBe(USER);
  });

  it('a wrong password (535) is permanent smtp_auth_failed', async () => {
    const channel = channelFor(server.port, { auth: { user: USER, pass: 'wrong' } });
    cleanups.push(() => channel.close());
    await expect(channel.send('bob@example.com', notification)).resolves.toEqual({ kind: 'permanent', reason: 'smtp_auth_failed' });
  });

  it('RCPT TO rejected with 550 is permanent', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());
    const outcome = await channel.send('reject550@example.com', notification);
    expect(outcome).toEqual({ kind: 'permanent', reason: 'smtp_reply_550' });
    expect(JSON.stringify(outcome)).not.toContain('reject550');
  });

  it('RCPT TO deferred with 451 is retryable', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());
    await expect(channel.send('defer451@example.com', notification)).resolves.toEqual({ kind: 'retryable', reason: 'smtp_reply_451', retryAfterMs: null });
  });

  it('an invalid recipient address is permanent and never reaches the server', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());
    const before = server.received.length;
    await expect(channel.send('alice@example.com, mallory@example.com', notification)).resolves.toEqual({ kind: 'permanent', reason: 'invalid_recipient' });
    expect(server.received.length).toBe(before);
  });

  it('RFC 3207: requireTls against a server without STARTTLS is permanent tls_required (misconfiguration)', async () => {
    const channel = channelFor(server.port, { requireTls: true, ignoreTls: false });
    cleanups.push(() => channel.close());
    await expect(channel.send('alice@example.com', notification)).resolves.toEqual({ kind: 'permanent', reason: 'tls_required' });
  });

  it('a pooled transport delivers several messages and closes', async () => {
    const channel = channelFor(server.port, { pool: true });
    const outcomes = await Promise.all(['pool-1@example.com', 'pool-2@example.com'].map((to) => channel.send(to, notification)));
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent']);
    await server.mailTo('pool-2@example.com');
    await channel.close();
  });
});

describe('SmtpEmailChannel connection failures', () => {
  it('connection refused (closed port) is retryable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const channel = channelFor(port);
    cleanups.push(() => channel.close());
    await expect(channel.send('alice@example.com', notification)).resolves.toEqual({ kind: 'retryable', reason: 'smtp_connection_failed', retryAfterMs: null });
  });

  it('a server that never sends its greeting times out, retryable', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as { port: number };

    const channel = channelFor(port, { greetingTimeoutMs: 200 });
    cleanups.push(() => channel.close());
    await expect(channel.send('alice@example.com', notification)).resolves.toEqual({ kind: 'retryable', reason: 'smtp_timeout', retryAfterMs: null });
  });
});

describe('SmtpEmailChannel over STARTTLS (RFC 3207)', () => {
  let ca: Buffer;
  let server: SmtpPeer;

  beforeAll(async () => {
    const tls = selfSignedCert();
    ca = tls.cert;
    // STARTTLS offered; AUTH only once the session is encrypted (allowInsecureAuth left off).
    server = await SmtpPeer.start({ tls, credentials });
  });
  afterAll(async () => {
    await server.close();
  });

  it('upgrades with the CA from tls.ca, authenticates, and delivers', async () => {
    const channel = channelFor(server.port, { requireTls: true, ignoreTls: false, tls: { ca }, auth: { user: USER, pass: PASSWORD } });
    cleanups.push(() => channel.close());

    await expect(channel.send('tls@example.com', notification)).resolves.toMatchObject({ kind: 'sent' });
    const mail = await server.mailTo('tls@example.com');
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe(USER);
    expect(mailParts(mail.raw).text).toContain(APPROVAL_URL);
  });

  it('a certificate that does not chain to the configured CA is permanent tls_certificate_rejected', async () => {
    const channel = channelFor(server.port, { requireTls: true, ignoreTls: false });
    cleanups.push(() => channel.close());
    await expect(channel.send('tls@example.com', notification)).resolves.toEqual({ kind: 'permanent', reason: 'tls_certificate_rejected' });
  });
});
