import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { awaitRecorded } from './await-recorded.js';
import { type TlsIdentity, temporaryFile } from './https-peer.js';

/** An RFC 5321 reply: a 4xx code is transient, a 5xx permanent. */
export interface SmtpReply {
  readonly code: number;
  readonly message: string;
}

export const SMTP_REPLIES = {
  mailboxUnavailable: { code: 550, message: '5.1.1 Mailbox unavailable' },
  tryAgainLater: { code: 451, message: '4.3.0 Try again later' },
} as const satisfies Record<string, SmtpReply>;

export interface ReceivedMail {
  readonly rcptTo: string[];
  readonly raw: string;
  /** The authenticated user, if the client authenticated. */
  readonly user: unknown;
  /** The session was encrypted (STARTTLS). */
  readonly secure: boolean;
}

/** One RCPT TO and how it was answered (null: accepted). */
export interface RecipientAttempt {
  readonly address: string;
  readonly reply: SmtpReply | null;
}

export interface SmtpPeerOptions {
  /** Offer STARTTLS (RFC 3207) with this identity, and write its certificate to `caFile`; without it, plaintext only. */
  readonly tls?: TlsIdentity;
  /** AUTH (RFC 4954) succeeds with exactly these; AUTH stays optional. */
  readonly credentials?: { readonly user: string; readonly pass: string };
  /** Allow AUTH before STARTTLS (a plaintext relay on loopback). */
  readonly allowInsecureAuth?: boolean;
  /** A scripted reply to RCPT TO for an address; undefined accepts it. */
  readonly recipientReply?: (address: string) => SmtpReply | undefined;
}

/** A real SMTP server (`smtp-server`) on 127.0.0.1 that records every recipient attempt and message. */
export class SmtpPeer {
  readonly host = '127.0.0.1';
  readonly received: ReceivedMail[] = [];
  readonly recipients: RecipientAttempt[] = [];
  private readonly script: SmtpReply[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    /** What AUTH accepts, when the peer requires it. */
    readonly credentials: { readonly user: string; readonly pass: string } | null,
    private readonly ca: { readonly path: string; remove(): void } | null,
  ) {}

  static async start(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
    const state: { peer?: SmtpPeer } = {};
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      allowInsecureAuth: options.allowInsecureAuth ?? false,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ['STARTTLS'] }),
      onAuth(auth, _session, callback) {
        const { credentials } = options;
        if (credentials && auth.username === credentials.user && auth.password === credentials.pass) return callback(null, { user: credentials.user });
        return callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      },
      onRcptTo(address, _session, callback) {
        const peer = state.peer!;
        const reply = peer.script.shift() ?? options.recipientReply?.(address.address) ?? null;
        peer.recipients.push({ address: address.address, reply });
        if (!reply) return callback();
        return callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          state.peer!.received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), user: session.user, secure: session.secure });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.server.address() as AddressInfo;
    state.peer = new SmtpPeer(server, port, options.credentials ?? null, options.tls ? temporaryFile('smtp-ca.pem', options.tls.cert) : null);
    return state.peer;
  }

  /** The PEM file of the STARTTLS certificate, for a client's CA setting; null without TLS. */
  get caFile(): string | null {
    return this.ca?.path ?? null;
  }

  /** The next RCPT TO commands, whatever their address, are answered with `reply`. */
  replyNext(reply: SmtpReply, times = 1): void {
    for (let i = 0; i < times; i++) this.script.push(reply);
  }

  /** The first message delivered to `address` (whose text part has `containing`), once it arrives. */
  mailTo(address: string, { containing, timeoutMs }: { readonly containing?: string; readonly timeoutMs?: number } = {}): Promise<ReceivedMail> {
    const matches = (m: ReceivedMail) => m.rcptTo.includes(address) && (containing === undefined || (mailParts(m.raw).text ?? '').includes(containing));
    return awaitRecorded(this.received, matches, `mail to ${address}`, timeoutMs);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.ca?.remove();
  }
}

// --- minimal MIME reading: enough for a small multipart/alternative message -------------------------

export interface MailParts {
  readonly headers: Map<string, string>;
  readonly text?: string;
  readonly html?: string;
}

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

/** The top-level headers and the decoded text/plain and text/html parts, wherever they sit in the MIME tree. */
export function mailParts(entity: string): MailParts {
  const { headers, body } = splitHeaders(entity);
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    let text: string | undefined;
    let html: string | undefined;
    for (const section of body.split(`--${boundary}`).slice(1)) {
      if (section.startsWith('--')) break;
      const part = mailParts(section.replace(/^\r\n/, '').replace(/\r\n$/, ''));
      text ??= part.text;
      html ??= part.html;
    }
    return { headers, text, html };
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding'));
  return type.toLowerCase().startsWith('text/html') ? { headers, html: decoded } : { headers, text: decoded };
}
