import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfiguredChannels, DeviceAnnouncement, SendOutcome } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import {
  type ClientRepository,
  type Clock,
  type Device,
  type DeviceAnnouncementChannel,
  type DeviceRepository,
  type User,
  type UserRepository,
  isActiveDevice,
  normalisePhoneNumber,
} from '@ciba/domain';
import { PermanentError, RetryableError } from '@ciba/messaging';
import { CLIENT_REPOSITORY, CLOCK, DEVICE_REPOSITORY, PROVIDER_CONFIG, USER_REPOSITORY } from '@ciba/platform';
import { randomToken, sha256Base64url } from '@ciba/tokens';
import { CONFIGURED_CHANNELS } from '../notification/configured-channels.js';
import { combineOutcomes } from '../notification/user-notifier.service.js';

export const REMOVAL_LINK_PATH = '/enrol/remove';

const SENT_BEFORE: SendOutcome = { kind: 'sent', providerMessageId: null };

type Route = { readonly via: DeviceAnnouncementChannel; readonly send: (announcement: DeviceAnnouncement) => Promise<SendOutcome> };

/**
 * Tells the user about every new device on their other channels — email to the verified address and
 * SMS to the verified number, whichever the deployment enabled — with a one-time link that removes
 * the device ("not you?"). Someone who registered a device in the user's name cannot stay unnoticed.
 *
 * Idempotent under redelivery: a channel that already took its message is not sent again; a channel
 * whose link was prepared but not sent (a crash in between) gets a fresh link that replaces it. A
 * device that is no longer active by then is not announced.
 */
@Injectable()
export class DeviceAnnouncer {
  private readonly logger = new Logger(DeviceAnnouncer.name);

  constructor(
    @Inject(DEVICE_REPOSITORY) private readonly devices: DeviceRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  async announce(deviceId: string): Promise<void> {
    const device = await this.devices.find(deviceId);
    if (!device) return;
    await this.devices.markAnnouncementTaken(device.id, this.clock.now());
    if (!isActiveDevice(device, this.clock.now())) return;
    const user = await this.users.findBySub(device.subject);
    const routes = user ? this.routes(user) : [];
    if (!user || routes.length === 0) {
      this.logger.warn({ deviceId: device.id }, 'new device not announced: no enabled channel reaches a verified address or number of the user');
      return;
    }
    const clientName = device.clientId === null ? null : ((await this.clients.findById(device.clientId))?.clientName ?? device.clientId);
    const outcomes: SendOutcome[] = [];
    for (const route of routes) outcomes.push(await this.announceVia(route, device, user, clientName));
    const failures = outcomes.filter((o): o is Exclude<SendOutcome, { kind: 'sent' }> => o.kind !== 'sent');
    if (failures.length === 0) return;
    const reasons = failures.map((o) => o.reason).join(', ');
    // A channel that may still deliver is retried (channels already sent are skipped then); one that
    // failed for good is left, unless no channel delivered at all: that goes to the dead letters.
    const retryable = combineOutcomes(failures);
    if (retryable.kind === 'retryable') throw new RetryableError(`device announcement not delivered everywhere yet (${reasons})`, retryable.retryAfterMs ?? undefined);
    if (failures.length === outcomes.length) throw new PermanentError(`device announcement failed on every channel (${reasons})`);
  }

  /** One channel's message, unless it was already sent (a redelivery): that counts as sent. */
  private async announceVia(route: Route, device: Device, user: User, clientName: string | null): Promise<SendOutcome> {
    const token = randomToken(32);
    const tokenHash = sha256Base64url(token);
    // The link lives as long as the registration: "not you?" stays answerable until the device ends by itself.
    if (!(await this.devices.prepareRemovalLink(device.id, route.via, tokenHash, device.expiresAt, this.clock.now()))) return SENT_BEFORE;
    const outcome = await route.send({
      deviceLabel: device.label,
      deviceKind: device.target.kind,
      registeredAt: device.createdAt,
      clientName,
      removalUrl: `${this.config.publicUrls.notifier}${REMOVAL_LINK_PATH}/${token}`,
      recipientName: user.name,
    });
    if (outcome.kind === 'sent') await this.devices.markRemovalLinkSent(tokenHash, this.clock.now());
    this.logger.log({ deviceId: device.id, via: route.via, outcome: outcome.kind, ...(outcome.kind === 'sent' ? {} : { reason: outcome.reason }) }, 'new device announced');
    return outcome;
  }

  /** Email and SMS, each when enabled and the user's address or number is verified: an unverified one could be anyone's. */
  private routes(user: User): Route[] {
    const routes: Route[] = [];
    const { email, sms } = this.channels;
    if (email && user.email && user.emailVerified) {
      const to = user.email;
      routes.push({ via: 'email', send: (announcement) => email.sendDeviceAnnouncement(to, announcement) });
    }
    if (sms && user.phoneNumber && user.phoneNumberVerified) {
      const to = normalisePhoneNumber(user.phoneNumber);
      routes.push({ via: 'sms', send: (announcement) => sms.sendDeviceAnnouncement(to, announcement) });
    }
    return routes;
  }
}
