import type { DeviceAnnouncement } from '../channel.js';
import type { RenderEmailOptions, RenderedEmail } from './approval-email.template.js';
import { EMAIL_STYLE, emailButton, emailDocument } from './email-layout.js';
import { escapeHtml } from './escape-html.js';
import { checkedUrl, singleLine, truncate } from './template-text.js';

const MAX_LABEL_CHARS = 64;
const MAX_CLIENT_NAME_CHARS = 80;

/** How the message names the kind of device, for users who never saw the word "FCM". */
export function describeDeviceKind(kind: DeviceAnnouncement['deviceKind']): string {
  return kind === 'web-push' ? 'a web browser' : 'a mobile app';
}

/** A moment people can read anywhere, without guessing a time zone: `2030-01-01 10:00 UTC`. */
export function utcMinute(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The email telling the user a device was added to their account: which (label, kind), when, through
 * which application, that it can now approve their sign-ins, and a one-time link to remove it if it
 * was not them. The subject carries nothing client-controlled; the label and client name are flattened
 * to one line in the text part and escaped in the HTML part.
 */
export function renderDeviceAnnouncementEmail(announcement: DeviceAnnouncement, options: Pick<RenderEmailOptions, 'productName'> = {}): RenderedEmail {
  const removalUrl = checkedUrl(announcement.removalUrl);
  const product = options.productName ? singleLine(options.productName) : null;
  const label = announcement.deviceLabel ? truncate(singleLine(announcement.deviceLabel), MAX_LABEL_CHARS) : null;
  const clientName = announcement.clientName ? truncate(singleLine(announcement.clientName), MAX_CLIENT_NAME_CHARS) : null;
  const kind = describeDeviceKind(announcement.deviceKind);

  const subject = product ? `A new device can approve your ${product} sign-ins` : 'A new device can approve your sign-ins';
  const greeting = announcement.recipientName ? `Hello ${singleLine(announcement.recipientName)},` : 'Hello,';
  const device = label ? `"${label}" (${kind})` : kind;
  const how = clientName ? `through ${clientName}` : 'with a device setup link sent to you';
  const what = `A new device was added to your account on ${utcMinute(announcement.registeredAt)}: ${device}, ${how}. From now on it receives your sign-in requests and can approve them.`;
  const notYou = 'Not you? Remove the device now. The link works once.';
  const linkText = 'Remove this device';
  const wasYou = 'If you added it, there is nothing to do. We send this message for every new device.';

  const text = [subject, '', greeting, '', what, '', notYou, `${linkText}:`, removalUrl, '', wasYou, ''].join('\n');

  const e = escapeHtml;
  const { p } = EMAIL_STYLE;
  const html = emailDocument(subject, subject, [
    `<p style="${p}">${e(greeting)}</p>`,
    `<p style="${p}">${e(what)}</p>`,
    `<p style="${p}"><strong>${e(notYou)}</strong></p>`,
    ...emailButton(removalUrl, linkText),
    `<p style="${EMAIL_STYLE.note}">${e(wasYou)}</p>`,
  ]);
  return { subject, html, text };
}
