import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfiguredChannels, EmailChannel, SendOutcome, SmsChannel } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import { type Clock, type EnrolmentLinkState, type EnrolmentTokenRepository, type User, type UserRepository, normalisePhoneNumber } from '@ciba/domain';
import { CLOCK, ENROLMENT_TOKEN_REPOSITORY, PROVIDER_CONFIG, USER_REPOSITORY } from '@ciba/platform';
import { randomToken, sha256Base64url } from '@ciba/tokens';
import { CONFIGURED_CHANNELS } from '../notification/configured-channels.js';

export const ENROLMENT_VIAS = ['email', 'sms'] as const;
export type EnrolmentVia = (typeof ENROLMENT_VIAS)[number];

/** Why no link was sent. The message names no address: it may reach an operator's terminal or a log. */
export class EnrolmentRefused extends Error {
  constructor(
    readonly reason: 'unknown_user' | 'no_verified_address' | 'channel_not_configured',
    message: string,
  ) {
    super(message);
    this.name = 'EnrolmentRefused';
  }
}

export interface SentEnrolmentLink {
  /** The one-time link: a credential until used. Only for `--print` in development; never log it. */
  readonly enrolUrl: string;
  readonly expiresAt: Date;
  /** How the email or SMS send ended. */
  readonly outcome: SendOutcome;
}

/** 32 random bytes, base64url. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * One-time device enrolment links (like Gluu's bc-deviceRegistration): a high-entropy token, stored
 * only as its SHA-256 with an expiry, sent to the user's verified email address or phone number. The
 * link opens the enrolment page (`GET /enrol/<token>` looks, `POST` uses it) or authenticates one
 * `POST /ext/ciba/devices` as a bearer token. Whoever holds the link can register a device that
 * receives the user's sign-in requests, so it only ever goes to an address the user has proven.
 */
@Injectable()
export class DeviceEnrolment {
  private readonly logger = new Logger(DeviceEnrolment.name);

  constructor(
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(ENROLMENT_TOKEN_REPOSITORY) private readonly tokens: EnrolmentTokenRepository,
    @Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  async sendLink(sub: string, via: EnrolmentVia): Promise<SentEnrolmentLink> {
    const user = await this.users.findBySub(sub);
    if (!user) throw new EnrolmentRefused('unknown_user', 'no such user');
    const route = this.route(user, via);
    const token = randomToken(32);
    const expiresAt = new Date(this.clock.now().getTime() + this.config.notifications.enrolmentLinkTtl * 1000);
    await this.tokens.save({ tokenHash: sha256Base64url(token), subject: user.sub, sentVia: via, expiresAt });
    const enrolUrl = `${this.config.publicUrls.notifier}/enrol/${token}`;
    const outcome = await route.channel.sendEnrolment(route.to, { enrolUrl, expiresAt, recipientName: user.name });
    this.logger.log({ via, outcome: outcome.kind, ...(outcome.kind === 'sent' ? {} : { reason: outcome.reason }) }, 'device enrolment link sent');
    return { enrolUrl, expiresAt, outcome };
  }

  /** The subject a link enrols for, without using it (link scanners open links too); null when unusable. */
  async peek(token: string): Promise<string | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    return this.tokens.peek(sha256Base64url(token), this.clock.now());
  }

  /** What the link can still do (register a device, add a passkey), without using it; null when it can do neither. */
  async inspect(token: string): Promise<EnrolmentLinkState | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    return this.tokens.inspect(sha256Base64url(token), this.clock.now());
  }

  /** Uses the link up: of concurrent callers exactly one gets the subject; null when unusable. */
  async consume(token: string): Promise<string | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    return this.tokens.consume(sha256Base64url(token), this.clock.now());
  }

  private route(user: User, via: EnrolmentVia): { channel: EmailChannel | SmsChannel; to: string } {
    switch (via) {
      case 'email': {
        if (!user.email || !user.emailVerified) throw new EnrolmentRefused('no_verified_address', 'the user has no verified email address');
        if (!this.channels.email) throw new EnrolmentRefused('channel_not_configured', 'no email channel is configured (CIBA_EMAIL_VENDOR)');
        return { channel: this.channels.email, to: user.email };
      }
      case 'sms': {
        if (!user.phoneNumber || !user.phoneNumberVerified) throw new EnrolmentRefused('no_verified_address', 'the user has no verified phone number');
        if (!this.channels.sms) throw new EnrolmentRefused('channel_not_configured', 'no SMS channel is configured (CIBA_SMS_VENDOR)');
        return { channel: this.channels.sms, to: normalisePhoneNumber(user.phoneNumber) };
      }
    }
  }
}
