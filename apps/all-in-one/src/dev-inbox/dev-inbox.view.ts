import { type ChannelKind, escapeHtml as e } from '@ciba/channels';
import { approvalPageCsp } from '@ciba/service-notifier';
import type { InboxMessage } from './dev-inbox.js';

/**
 * The approval page's strict policy, plus inline style *attributes*: the email preview is the real
 * HTML part, styled inline as emails are, and a srcdoc frame inherits this page's policy. Still no
 * scripts, no style elements but the nonce'd one, nothing loaded from anywhere.
 */
export function emailPreviewCsp(nonce: string): string {
  return `${approvalPageCsp(nonce)}; style-src-attr 'unsafe-inline'`;
}

const CHANNEL_LABELS: Readonly<Record<ChannelKind, string>> = { email: 'Email', sms: 'SMS', 'device-push': 'Device push' };

// Contrast (WCAG AA): #18181b on #fff ≈ 17:1; #3f3f46 on #fff ≈ 10:1; #1d4ed8 on #fff ≈ 6.7:1;
// #713f12 on #fef3c7 ≈ 8:1. Focus: a thick outline offset from the element.
const STYLES = `
*{box-sizing:border-box}
body{margin:0;background:#ffffff;color:#18181b;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:48rem;margin:0 auto;padding:1rem 1rem 2rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .25rem;overflow-wrap:anywhere}
p{margin:0 0 .75rem}
a{color:#1d4ed8}
a:focus-visible,summary:focus-visible,iframe:focus-visible{outline:3px solid #18181b;outline-offset:3px}
.dev{margin:0 0 1rem;padding:.75rem 1rem;border:2px solid #a16207;border-radius:.375rem;background:#fef3c7;color:#713f12}
.nav a{display:inline-block;min-height:2.75rem;padding:.625rem 0;margin-right:1rem}
.messages{list-style:none;margin:0;padding:0}
.message{margin:0 0 1rem;padding:1rem;border:1px solid #d4d4d8;border-radius:.5rem}
.meta{color:#3f3f46;font-size:.875rem;overflow-wrap:anywhere}
.channel{display:inline-block;padding:0 .5rem;border-radius:999px;background:#e4e4e7;color:#18181b;font-weight:700}
.text{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;margin:0 0 .75rem}
details{margin:0 0 .75rem}
summary{cursor:pointer;min-height:2.75rem;padding:.625rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.875rem;margin:0}
.open{display:inline-block;min-height:2.75rem;padding:.625rem 1rem;border-radius:.375rem;background:#1d4ed8;color:#ffffff;font-weight:700;text-decoration:none}
.open:hover{background:#1e40af}
.url{display:block;margin:.5rem 0 0;font-size:.8125rem;color:#3f3f46;overflow-wrap:anywhere}
.links{margin:0 0 .75rem}
.links li{margin:0 0 .5rem}
.links ul{list-style:none;margin:0;padding:0}
iframe{display:block;width:100%;height:70vh;min-height:28rem;border:1px solid #d4d4d8;border-radius:.5rem;background:#f4f4f5}
`;

function layout(title: string, nonce: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${e(title)}</title>`,
    `<style nonce="${e(nonce)}">${STYLES}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<p class="dev" role="note"><strong>Development only.</strong> The all-in-one start keeps here, in memory, the last messages it would have sent by email, SMS or device push. Nothing was delivered to anyone. The distributed services have no inbox.</p>',
    body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function when(date: Date): string {
  const iso = date.toISOString();
  return `<time datetime="${e(iso)}">${e(iso.slice(0, 10))} ${e(iso.slice(11, 19))} UTC</time>`;
}

/** Only http(s) links become anchors; anything else is shown as text. */
function isWebLink(link: string): boolean {
  try {
    const { protocol } = new URL(link);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

const LINK_TEXT: Readonly<Record<InboxMessage['about'], string>> = {
  approval: 'Open the approval page',
  enrolment: 'Open the enrolment page',
  'device-added': 'Open the device removal page',
};

function links(message: InboxMessage, titleId: string): string {
  if (message.links.length === 0) return '';
  const items = message.links.map((link) =>
    isWebLink(link)
      ? `<li><a class="open" href="${e(link)}" aria-describedby="${titleId}">${LINK_TEXT[message.about]}</a><code class="url">${e(link)}</code></li>`
      : `<li><code class="url">${e(link)}</code></li>`,
  );
  return `<div class="links"><ul>${items.join('')}</ul></div>`;
}

function heading(message: InboxMessage): string {
  return message.subject ?? `${CHANNEL_LABELS[message.channel]} message`;
}

function meta(message: InboxMessage): string {
  return `<p class="meta"><span class="channel">${e(CHANNEL_LABELS[message.channel])}</span> to <span class="to">${e(message.to)}</span> · ${when(message.receivedAt)}</p>`;
}

function listItem(message: InboxMessage): string {
  const titleId = `m-${message.id}`;
  const body =
    message.channel === 'email'
      ? `<details><summary>Text part</summary><pre>${e(message.text)}</pre></details>`
      : `<p class="text">${e(message.text)}</p>`;
  const view = message.html !== null ? `<p><a href="/dev/inbox/messages/${e(message.id)}">View the email as sent</a></p>` : '';
  return [
    `<li class="message" aria-labelledby="${titleId}">`,
    meta(message),
    `<h3 id="${titleId}">${e(heading(message))}</h3>`,
    body,
    links(message, titleId),
    view,
    '</li>',
  ].join('\n');
}

export interface InboxPageModel {
  readonly messages: readonly InboxMessage[];
  /** Which kinds go to this inbox (the others use their configured vendor). */
  readonly inboxKinds: readonly ChannelKind[];
  readonly nonce: string;
}

/** The list, newest first. Everything shown is client, user or template controlled and escaped. */
export function renderInboxPage(m: InboxPageModel): string {
  const kinds = m.inboxKinds.length > 0 ? m.inboxKinds.map((k) => CHANNEL_LABELS[k]).join(', ') : 'none (every kind has a vendor configured)';
  const list =
    m.messages.length === 0
      ? '<p>No messages yet. Start a backchannel authentication request (POST /bc-authorize) for a demo user, then refresh this page.</p>'
      : `<ol class="messages" aria-labelledby="messages-heading">\n${m.messages.map(listItem).join('\n')}\n</ol>`;
  const body = [
    '<h1>Development inbox</h1>',
    `<p>Kept here instead of being sent: ${e(kinds)}.</p>`,
    '<p class="nav"><a href="/dev/inbox">Refresh</a><a href="/dev/inbox/messages">As JSON</a></p>',
    `<h2 id="messages-heading">Messages (${m.messages.length}), newest first</h2>`,
    list,
  ].join('\n');
  return layout('Development inbox', m.nonce, body);
}

/** The email's HTML part opens links in a new tab, as a mail client would, never inside the frame. */
function withLinksInNewTab(html: string): string {
  const base = '<base target="_blank">';
  const head = /<head[^>]*>/i.exec(html);
  return head ? `${html.slice(0, head.index + head[0].length)}${base}${html.slice(head.index + head[0].length)}` : `${base}${html}`;
}

export interface MessagePageModel {
  readonly message: InboxMessage;
  readonly nonce: string;
}

/**
 * One message. An email's HTML part is shown in a sandboxed frame (no scripts, no same-origin, links
 * open in a new tab), with its text part below.
 */
export function renderMessagePage(m: MessagePageModel): string {
  const { message } = m;
  const titleId = 'message-title';
  const content =
    message.html !== null
      ? [
          `<iframe title="The email as sent (HTML part)" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" srcdoc="${e(withLinksInNewTab(message.html))}"></iframe>`,
          `<details><summary>Text part</summary><pre>${e(message.text)}</pre></details>`,
        ].join('\n')
      : `<p class="text">${e(message.text)}</p>`;
  const body = [
    '<p class="nav"><a href="/dev/inbox">All messages</a></p>',
    `<h1 id="${titleId}">${e(heading(message))}</h1>`,
    meta(message),
    links(message, titleId),
    content,
  ].join('\n');
  return layout(heading(message), m.nonce, body);
}

export function renderNotFoundPage(nonce: string): string {
  return layout('Message not found', nonce, '<h1>Message not found</h1>\n<p>The inbox keeps only the latest messages, in memory, until the start stops.</p>\n<p class="nav"><a href="/dev/inbox">All messages</a></p>');
}
