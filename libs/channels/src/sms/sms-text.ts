import type { ApprovalNotification, DeviceAnnouncement, EnrolmentInvitation } from '../channel.js';
import { minutesLeft } from '../templates/approval-email.template.js';
import { describeDeviceKind, utcMinute } from '../templates/device-announcement-email.template.js';
import { GSM7_SINGLE_SEGMENT, UCS2_SINGLE_SEGMENT, isGsm7, smsLength } from './gsm7.js';

export interface SmsTextOptions {
  /** Prefix naming the service, e.g. "Acme Bank". Omitted when not given. */
  readonly productName?: string;
  /** Clock for "valid N min"; defaults to the current time. */
  readonly now?: Date;
}

/** Never shorten a binding message below this many characters, even if the SMS then takes two segments. */
const MIN_BINDING_CHARS = 20;
const MAX_CLIENT_NAME_CHARS = 40;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Collapses whitespace and drops control characters so a client-supplied string cannot forge extra lines. */
function clean(value: string): string {
  return value
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Cuts on grapheme boundaries (never inside a surrogate pair or emoji sequence), appending an ellipsis. */
function truncate(value: string, maxChars: number, ellipsis: string): string {
  const graphemes = Array.from(segmenter.segment(value), (s) => s.segment);
  if (graphemes.length <= maxChars) return value;
  return graphemes.slice(0, Math.max(1, maxChars - ellipsis.length)).join('').trimEnd() + ellipsis;
}

/**
 * The SMS body for an approval request: who asks, the binding message (CIBA §7.1) and the approval
 * link. Scopes are deliberately left out: they do not fit and mean little to the user. The link is
 * never shortened; only the binding message (and an unusually long client name) are.
 *
 * Truncation uses "..." while the text is GSM-7, because "…" is not in the GSM alphabet and would
 * switch the whole SMS to UCS-2 (70 characters instead of 160); text that is already UCS-2 gets "…".
 */
export function renderSmsText(n: ApprovalNotification, options: SmsTextOptions = {}): string {
  const prefix = options.productName ? `${clean(options.productName)}: ` : '';
  const clientName = truncate(clean(n.clientName) || 'An application', MAX_CLIENT_NAME_CHARS, '...');
  const link = n.approvalUrl.trim();
  const binding = n.bindingMessage === null ? '' : clean(n.bindingMessage);

  const compose = (b: string | null): string =>
    b === null ? `${prefix}${clientName} asks you to approve a sign-in. Review: ${link}` : `${prefix}${clientName} asks you to approve "${b}". Review: ${link}`;

  if (binding === '') return compose(null);

  const full = compose(binding);
  const gsm = isGsm7(full);
  const limit = gsm ? GSM7_SINGLE_SEGMENT : UCS2_SINGLE_SEGMENT;
  if (smsLength(full) <= limit) return full;

  const ellipsis = gsm ? '...' : '…';
  const room = limit - smsLength(compose(''));
  return compose(truncate(binding, Math.max(MIN_BINDING_CHARS, room), ellipsis));
}

/**
 * The SMS body for a device enrolment link: what it is for, how long it works, and the intact link
 * last. The "not you?" hint is the first thing dropped when the text would need a second segment.
 */
export function renderEnrolmentSmsText(invitation: EnrolmentInvitation, options: SmsTextOptions = {}): string {
  const prefix = options.productName ? `${clean(options.productName)}: ` : '';
  const minutes = minutesLeft(invitation.expiresAt, options.now ?? new Date());
  const link = invitation.enrolUrl.trim();
  const compose = (notYou: boolean): string => `${prefix}Get sign-in requests on this phone (link valid ${minutes} min).${notYou ? ' Not you? Ignore it.' : ''} ${link}`;
  const full = compose(true);
  const limit = isGsm7(full) ? GSM7_SINGLE_SEGMENT : UCS2_SINGLE_SEGMENT;
  return smsLength(full) <= limit ? full : compose(false);
}

/** Never shorten a device label below this many characters; below it the kind of device says more. */
const MIN_LABEL_CHARS = 12;

/**
 * The SMS body announcing a new device: which (its label, shortened to fit one segment, or its
 * kind), when, and the intact removal link last. Everything but the link is flattened to one line.
 */
export function renderDeviceAnnouncementSmsText(announcement: DeviceAnnouncement, options: SmsTextOptions = {}): string {
  const prefix = options.productName ? `${clean(options.productName)}: ` : '';
  const link = announcement.removalUrl.trim();
  const label = announcement.deviceLabel === null ? '' : clean(announcement.deviceLabel);
  const when = utcMinute(announcement.registeredAt);
  const compose = (name: string): string => `${prefix}New device ${name} added ${when}. Not you? Remove it: ${link}`;
  const byKind = compose(`(${describeDeviceKind(announcement.deviceKind)})`);
  if (label === '') return byKind;

  const full = compose(`"${label}"`);
  const gsm = isGsm7(full);
  const limit = gsm ? GSM7_SINGLE_SEGMENT : UCS2_SINGLE_SEGMENT;
  if (smsLength(full) <= limit) return full;
  const room = limit - smsLength(compose('""'));
  const shortened = room >= MIN_LABEL_CHARS ? compose(`"${truncate(label, room, gsm ? '...' : '…')}"`) : byKind;
  // Extension characters count twice in GSM-7: a shortened label can still overflow by a little.
  return smsLength(shortened) <= limit ? shortened : byKind;
}
