import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ApprovalNotification } from '../src/channel.js';
import { SmtpEmailChannel } from '../src/email/smtp/smtp-email.channel.js';
import type { SmtpEmailChannelOptions } from '../src/email/smtp/smtp-email.config.js';
import { selfSignedCert } from './tls-peer.js';

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

interface ReceivedMail {
  readonly rcptTo: string[];
  readonly raw: string;
  readonly user: unknown;
  readonly secure: boolean;
}

interface RunningServer {
  readonly port: number;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

/** A real SMTP server on loopback; RCPT TO local parts `reject550` / `defer451` script RFC 5321 replies. */
async function startSmtpServer(options: SMTPServerOptions): Promise<RunningServer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: USER });
      return callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const local = address.address.split('@')[0];
      if (local === 'reject550') return callback(Object.assign(new Error('5.1.1 Mailbox unavailable'), { responseCode: 550 }));
      if (local === 'defer451') return callback(Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 }));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), user: session.user, secure: session.secure });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// --- minimal MIME reading: enough for a small multipart/alternative message -------------------------

function splitHeaders(entity: string): { headers: Map<string, string>; body: string } {
  const at = entity.indexOf('\r\n\r\n');
  const head = at === -1 ? entity : entity.slice(0, at);
  const body = at === -1 ? '' : entity.slice(at + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
      // Percent-decode byte sequences so multi-byte UTF-8 characters come back whole.
      return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
    }
    default:
      return body;
  }
}

/** Returns the decoded text/plain and text/html parts, wherever they sit in the MIME tree. */
function textParts(entity: string): { text?: string; html?: string; headers: Map<string, string> } {
  const { headers, body } = splitHeaders(entity);
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    const result: { text?: string; html?: string; headers: Map<string, string> } = { headers };
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = textParts(section.replace(/^\r\n/, '').replace(/\r\n$/, ''));
      result.text ??= part.text;
      result.html ??= part.html;
    }
    return result;
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding'));
  return type.toLowerCase().startsWith('text/html') ? { html: decoded, headers } : { text: decoded, headers };
}

// -----------------------------------------------------------------------------------------------------

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
  let server: RunningServer;
  beforeAll(async () => {
    // Plaintext relay on loopback: STARTTLS disabled, AUTH allowed without TLS for the test only.
    server = await startSmtpServer({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
  });
  afterAll(() => server.close());

  it('delivers the approval link and the binding message in both the text and HTML parts', async () => {
    const channel = channelFor(server.port);
    cleanups.push(() => channel.close());

    const outcome = await channel.send('alice@example.com', notification);

    expect(outcome).toMatchObject({ kind: 'sent', providerMessageId: expect.stringMatching(/^<.+@.+>$/) });
    const mail = await waitFor(() => server.received.find((m) => m.rcptTo.includes('alice@example.com')));
    const { headers, text, html } = textParts(mail.raw);
    expect(headers.get('subject')).toBe('Approve sign-in request from Acme Bank');
    expect(headers.get('auto-submitted')).toBe('auto-generated');
    expect(headers.get('message-id')).toBe((outcome as { providerMessageId: string }).providerMessageId);
    expect(text).toContain(APPROVAL_URL);
    expect(text).toContain(BINDING);
    expect(html).toContain(`href="${APPROVAL_URL.replace(/&/g, '&amp;')}"`);
    expect(html).toContain(BINDING);
  });

  it('authenticates (RFC 4954 AUTH PLAIN) with credentials the server checks', async () => {
    const channel = channelFor(server.port, { auth: { user: USER, pass: PASSWORD } });
    cleanups.push(() => channel.close());

    await expect(channel.send('auth-ok@example.com', notification)).resolves.toMatchObject({ kind: 'sent' });
    const mail = await waitFor(() => server.received.find((m) => m.rcptTo.includes('auth-ok@example.com')));
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
    await waitFor(() => (server.received.some((m) => m.rcptTo.includes('pool-2@example.com')) ? true : undefined));
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
  let server: RunningServer;

  beforeAll(async () => {
    const tls = selfSignedCert();
    ca = tls.cert;
    // STARTTLS offered; AUTH only once the session is encrypted (allowInsecureAuth left off).
    server = await startSmtpServer({ key: tls.key, cert: ca });
  });
  afterAll(async () => {
    await server.close();
  });

  it('upgrades with the CA from tls.ca, authenticates, and delivers', async () => {
    const channel = channelFor(server.port, { requireTls: true, ignoreTls: false, tls: { ca }, auth: { user: USER, pass: PASSWORD } });
    cleanups.push(() => channel.close());

    await expect(channel.send('tls@example.com', notification)).resolves.toMatchObject({ kind: 'sent' });
    const mail = await waitFor(() => server.received.find((m) => m.rcptTo.includes('tls@example.com')));
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe(USER);
    expect(textParts(mail.raw).text).toContain(APPROVAL_URL);
  });

  it('a certificate that does not chain to the configured CA is permanent tls_certificate_rejected', async () => {
    const channel = channelFor(server.port, { requireTls: true, ignoreTls: false });
    cleanups.push(() => channel.close());
    await expect(channel.send('tls@example.com', notification)).resolves.toEqual({ kind: 'permanent', reason: 'tls_certificate_rejected' });
  });
});
