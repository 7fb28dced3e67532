import type { EnrolmentInvitation } from '../channel.js';
import { minutesLeft, type RenderEmailOptions, type RenderedEmail } from './approval-email.template.js';
import { EMAIL_STYLE, emailButton, emailDocument } from './email-layout.js';
import { escapeHtml } from './escape-html.js';
import { checkedUrl, singleLine } from './template-text.js';

/**
 * The email carrying a one-time device enrolment link: what enrolling does, how long the link
 * works, and what to do if the user did not ask for it (an enrolled device receives sign-in
 * requests, so a stray link matters).
 */
export function renderEnrolmentEmail(invitation: EnrolmentInvitation, options: RenderEmailOptions = {}): RenderedEmail {
  const now = options.now ?? new Date();
  const enrolUrl = checkedUrl(invitation.enrolUrl);
  const product = options.productName ? singleLine(options.productName) : null;
  const minutes = minutesLeft(invitation.expiresAt, now);

  const subject = product ? `Get ${product} sign-in requests on your device` : 'Get sign-in requests on your device';
  const greeting = invitation.recipientName ? `Hello ${singleLine(invitation.recipientName)},` : 'Hello,';
  const what = `Open this link on the phone or computer where you want to receive sign-in requests${product ? ` from ${product}` : ''}. Once you allow notifications there, you can approve or deny each request from that device.`;
  const expiry = minutes === 0 ? 'This link has expired.' : `The link works once and expires in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
  const linkText = 'Set up this device';
  const ignoreNote = 'If you did not ask for this, ignore this email: nothing changes unless the link is opened and notifications are allowed. Do not forward it.';

  const text = [subject, '', greeting, '', what, '', expiry, '', `${linkText}:`, enrolUrl, '', ignoreNote, ''].join('\n');

  const e = escapeHtml;
  const { p } = EMAIL_STYLE;
  const html = emailDocument(subject, subject, [
    `<p style="${p}">${e(greeting)}</p>`,
    `<p style="${p}">${e(what)}</p>`,
    `<p style="${p}"><strong>${e(expiry)}</strong></p>`,
    ...emailButton(enrolUrl, linkText),
    `<p style="${EMAIL_STYLE.note}">${e(ignoreNote)}</p>`,
  ]);
  return { subject, html, text };
}
