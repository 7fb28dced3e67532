import type { SendMailOptions } from 'nodemailer';
import type { ApprovalNotification, DeviceAnnouncement, EmailChannel, EnrolmentInvitation, SendOutcome } from '../../channel.js';
import { type RenderedEmail, renderEmail } from '../../templates/approval-email.template.js';
import { renderDeviceAnnouncementEmail } from '../../templates/device-announcement-email.template.js';
import { renderEnrolmentEmail } from '../../templates/enrolment-email.template.js';
import { smtpEmailOptionsFromEnv, type SmtpEmailChannelOptions } from './smtp-email.config.js';
import { classifySmtpError } from './smtp-error.classifier.js';
import { lazySdk } from '../../vendor-sdk.js';

const loadNodemailer = lazySdk(() => import('nodemailer'));

/**
 * An approval request is only useful for a few minutes, so nodemailer's defaults (2 min to connect,
 * 10 min of socket inactivity) would let one stuck relay hold a delivery for longer than the request lives.
 */
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
const DEFAULT_GREETING_TIMEOUT_MS = 10_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;

/**
 * One plain address, nothing else: no display name, no list, no group syntax. A `to` of
 * `a@x, b@y` must never turn one approval link into two deliveries.
 */
const SINGLE_ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;

interface MailTransport {
  sendMail(message: SendMailOptions): Promise<{ messageId?: string }>;
  close(): void;
}

/** Email over any SMTP relay (RFC 5321), STARTTLS (RFC 3207) or implicit TLS, via nodemailer. */
export class SmtpEmailChannel implements EmailChannel {
  readonly kind = 'email' as const;
  readonly vendor = 'smtp';
  /** Created once nodemailer has loaded (see vendor-sdk.ts). */
  private readonly transport: Promise<MailTransport>;

  constructor(private readonly options: SmtpEmailChannelOptions) {
    if (options.requireTls && options.ignoreTls) throw new Error('SMTP: requireTls and ignoreTls contradict each other');
    const common = {
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls,
      ignoreTLS: options.ignoreTls ?? false,
      ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
      ...(options.tls ? { tls: { ...options.tls } } : {}),
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      greetingTimeout: options.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
      socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
      // Loopback and private relays are the normal case for an OP inside a cluster.
      allowInternalNetworkInterfaces: true,
    };
    this.transport = loadNodemailer().then(({ default: nodemailer }) => (options.pool ? nodemailer.createTransport({ ...common, pool: true }) : nodemailer.createTransport(common)));
    // A failure to load surfaces on the first send (classified there), not as an unhandled rejection.
    this.transport.catch(() => undefined);
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>, extra: { readonly productName?: string } = {}): SmtpEmailChannel {
    return new SmtpEmailChannel(smtpEmailOptionsFromEnv(env, extra));
  }

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.deliver(to, () => renderEmail(notification, this.renderOptions()));
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return this.deliver(to, () => renderEnrolmentEmail(invitation, this.renderOptions()));
  }

  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome> {
    return this.deliver(to, () => renderDeviceAnnouncementEmail(announcement, this.renderOptions()));
  }

  private renderOptions(): { productName?: string } {
    return this.options.productName ? { productName: this.options.productName } : {};
  }

  private async deliver(to: string, render: () => RenderedEmail): Promise<SendOutcome> {
    if (!SINGLE_ADDRESS.test(to)) return { kind: 'permanent', reason: 'invalid_recipient' };
    let rendered;
    try {
      rendered = render();
    } catch {
      return { kind: 'permanent', reason: 'invalid_notification' };
    }
    try {
      const transport = await this.transport;
      const info = await transport.sendMail({
        from: this.options.from,
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        // RFC 3834: an automatic message; auto-responders should not answer it.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      return { kind: 'sent', providerMessageId: info.messageId ?? null };
    } catch (error) {
      return classifySmtpError(error);
    }
  }

  close(): Promise<void> {
    return this.transport.then(
      (transport) => transport.close(),
      () => undefined,
    );
  }
}
