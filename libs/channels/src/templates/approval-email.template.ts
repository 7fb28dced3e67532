import type { ApprovalNotification } from '../channel.js';
import { escapeHtml } from './escape-html.js';
import { EMAIL_STYLE, emailButton, emailDocument } from './email-layout.js';
import { checkedUrl, singleLine, truncate } from './template-text.js';

export interface RenderEmailOptions {
  /** Shown in the heading and body ("… sign in to Acme"); defaults to a neutral wording. */
  readonly productName?: string;
  /** Clock for "expires in N minutes"; defaults to the current time. */
  readonly now?: Date;
}

export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export interface AuthorizationDetailSummary {
  readonly type: string;
  readonly fields: readonly { readonly label: string; readonly value: string }[];
}

const SCOPE_LABELS: Readonly<Record<string, string>> = {
  openid: 'Confirm who you are',
  profile: 'Your basic profile (name, picture, locale)',
  email: 'Your email address',
  phone: 'Your phone number',
  offline_access: 'Keep access while you are away (offline access)',
};

/** RFC 9396 §2.2 common fields first, with readable labels; any other field keeps its own name. */
const DETAIL_FIELD_LABELS: Readonly<Record<string, string>> = {
  actions: 'Actions',
  locations: 'Locations',
  datatypes: 'Data types',
  identifier: 'Identifier',
  privileges: 'Privileges',
};

const MAX_SUBJECT_CLIENT_NAME = 60;
const MAX_DETAIL_FIELDS = 8;
const MAX_DETAIL_VALUE = 160;

/** Human label for a scope value; unknown scopes are shown as sent, so nothing is hidden from the user. */
export function describeScope(scope: string): string {
  return SCOPE_LABELS[scope] ?? scope;
}

export function summarizeAuthorizationDetails(details: ApprovalNotification['authorizationDetails']): AuthorizationDetailSummary[] {
  if (!details) return [];
  return details.map((detail) => {
    const type = typeof detail['type'] === 'string' ? singleLine(detail['type']) : '(unspecified type)';
    const keys = Object.keys(detail).filter((key) => key !== 'type' && detail[key] !== undefined && detail[key] !== null);
    const known = Object.keys(DETAIL_FIELD_LABELS).filter((key) => keys.includes(key));
    const others = keys.filter((key) => !(key in DETAIL_FIELD_LABELS));
    const fields = [...known, ...others].slice(0, MAX_DETAIL_FIELDS).map((key) => ({
      label: DETAIL_FIELD_LABELS[key] ?? singleLine(key),
      value: formatDetailValue(detail[key]),
    }));
    return { type, fields };
  });
}

/** Whole minutes until expiry, rounded up so "1 minute" still shows with 30 seconds left; 0 once expired. */
export function minutesLeft(expiresAt: Date, now: Date): number {
  return Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / 60_000));
}

export function renderEmail(n: ApprovalNotification, options: RenderEmailOptions = {}): RenderedEmail {
  const now = options.now ?? new Date();
  const approvalUrl = checkedUrl(n.approvalUrl);
  const client = singleLine(n.clientName);
  const product = options.productName ? singleLine(options.productName) : null;
  const binding = n.bindingMessage ? singleLine(n.bindingMessage) : null;
  const scopes = n.scope.map(describeScope);
  const details = summarizeAuthorizationDetails(n.authorizationDetails);
  const minutes = minutesLeft(n.expiresAt, now);

  // The binding message stays out of the subject: subjects show on lock screens and in mail logs.
  const subject = `Approve sign-in request from ${truncate(client, MAX_SUBJECT_CLIENT_NAME)}`;
  const greeting = n.recipientName ? `Hello ${singleLine(n.recipientName)},` : 'Hello,';
  const target = product ? ` to ${product}` : '';
  const expiry = minutes === 0 ? 'This request has expired.' : `This request expires in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
  const linkText = 'Review this sign-in request to approve or deny it';
  const ignoreNote = 'If you did not start this sign-in, deny the request or ignore this email. Nothing happens without your approval.';

  const text = [
    `Sign-in request from ${client}`,
    '',
    greeting,
    '',
    `${client} is asking you to approve a sign-in${target}.`,
    ...(binding ? ['', 'Check that this message matches the one shown where you started:', `  ${binding}`] : []),
    ...(scopes.length ? ['', 'It asks for:', ...scopes.map((s) => `  - ${s}`)] : []),
    ...(details.length ? ['', 'Details:', ...details.flatMap((d) => [`  - ${d.type}`, ...d.fields.map((f) => `      ${f.label}: ${f.value}`)])] : []),
    '',
    expiry,
    '',
    `${linkText}:`,
    approvalUrl,
    '',
    ignoreNote,
    '',
  ].join('\n');

  const e = escapeHtml;
  const { p, h2, ul } = EMAIL_STYLE;
  const html = emailDocument(subject, `Sign-in request from ${client}`, [
    `<p style="${p}">${e(greeting)}</p>`,
    `<p style="${p}"><strong>${e(client)}</strong> is asking you to approve a sign-in${e(target)}.</p>`,
    ...(binding
      ? [
          `<p style="${p}">Check that this message matches the one shown where you started:</p>`,
          `<p style="margin:0 0 16px;padding:12px 16px;border-left:4px solid #2563eb;background-color:#eff6ff;font-size:18px;line-height:26px;font-weight:bold;">${e(binding)}</p>`,
        ]
      : []),
    ...(scopes.length ? [`<h2 style="${h2}">It asks for</h2>`, `<ul style="${ul}">`, ...scopes.map((s) => `<li>${e(s)}</li>`), '</ul>'] : []),
    ...(details.length
      ? [
          `<h2 style="${h2}">Details</h2>`,
          `<ul style="${ul}">`,
          ...details.map(
            (d) =>
              `<li><strong>${e(d.type)}</strong>` +
              (d.fields.length ? `<ul style="margin:4px 0;padding-left:20px;">${d.fields.map((f) => `<li>${e(f.label)}: ${e(f.value)}</li>`).join('')}</ul>` : '') +
              '</li>',
          ),
          '</ul>',
        ]
      : []),
    `<p style="${p}"><strong>${e(expiry)}</strong></p>`,
    ...emailButton(approvalUrl, linkText),
    `<p style="${EMAIL_STYLE.note}">${e(ignoreNote)}</p>`,
  ]);

  return { subject, html, text };
}

function formatDetailValue(value: unknown): string {
  let out: string;
  if (typeof value === 'string') out = value;
  else if (typeof value === 'number' || typeof value === 'boolean') out = String(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) out = value.join(', ');
  else out = JSON.stringify(value) ?? '';
  return truncate(singleLine(out), MAX_DETAIL_VALUE);
}
