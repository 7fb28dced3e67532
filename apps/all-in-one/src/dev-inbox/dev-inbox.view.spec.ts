import { describe, expect, it } from '@jest/globals';
import type { InboxMessage } from './dev-inbox.js';
import { emailPreviewCsp, renderInboxPage, renderMessagePage } from './dev-inbox.view.js';

const hostile = `<script>alert("x")</script>&'"`;
const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;';
const link = 'http://localhost:3000/approve/' + 'A'.repeat(43);

function message(overrides: Partial<InboxMessage> = {}): InboxMessage {
  return {
    id: 'abcdefghijkl',
    channel: 'sms',
    about: 'approval',
    to: '+15555550100',
    receivedAt: new Date('2030-01-01T12:34:56Z'),
    subject: null,
    text: `Demo asks you to approve "${hostile}". Review: ${link}`,
    html: null,
    links: [link],
    ...overrides,
  };
}

describe('development inbox pages', () => {
  it('the list says it is development only, shows channel, recipient, time and text, and links to the approval page', () => {
    const html = renderInboxPage({ messages: [message()], inboxKinds: ['email', 'sms'], nonce: 'n0nce' });
    expect(html).toContain('Development only.');
    expect(html).toContain('<h1>Development inbox</h1>');
    expect(html).toContain('Kept here instead of being sent: Email, SMS.');
    expect(html).toContain('<span class="channel">SMS</span> to <span class="to">+15555550100</span>');
    expect(html).toContain('<time datetime="2030-01-01T12:34:56.000Z">2030-01-01 12:34:56 UTC</time>');
    expect(html).toContain(`<a class="open" href="${link}" aria-describedby="m-abcdefghijkl">Open the approval page</a>`);
    expect(html).toContain('<style nonce="n0nce">');
  });

  it('escapes everything a client or user controls: text, subject, recipient, links', () => {
    const html = renderInboxPage({
      messages: [
        message({ to: hostile }),
        message({ id: 'mnopqrstuvwx', channel: 'email', subject: `Approve sign-in request from ${hostile}`, text: hostile, html: `<p>${hostile}</p>`, links: [`${link}?"><script>`] }),
      ],
      inboxKinds: [],
      nonce: 'n',
    });
    expect(html).not.toContain('<script');
    expect(html).toContain(escaped);
    expect(html).toContain(`href="${link}?&quot;&gt;&lt;script&gt;"`);
    // The email's HTML part is only reachable through its own page, never inlined in the list.
    expect(html).not.toContain('<p>&lt;script');
    expect(html).toContain('<a href="/dev/inbox/messages/mnopqrstuvwx">View the email as sent</a>');
  });

  it('a link that is not http(s) is shown as text, never as an anchor', () => {
    const html = renderInboxPage({ messages: [message({ links: ['javascript:alert(1)'] })], inboxKinds: ['sms'], nonce: 'n' });
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('<code class="url">javascript:alert(1)</code>');
  });

  it('an enrolment link is labelled as such', () => {
    const html = renderInboxPage({ messages: [message({ about: 'enrolment' })], inboxKinds: ['sms'], nonce: 'n' });
    expect(html).toContain('>Open the enrolment page</a>');
    expect(html).not.toContain('Open the approval page');
  });

  it('the empty inbox says how to fill it', () => {
    expect(renderInboxPage({ messages: [], inboxKinds: ['email'], nonce: 'n' })).toContain('No messages yet.');
  });

  it('an email is shown in a sandboxed srcdoc frame without scripts, its links opening in a new tab', () => {
    const emailHtml = `<!DOCTYPE html><html><head><title>t</title></head><body><a href="${link}">Review</a><p>${hostile.replace(/</g, '&lt;')}</p></body></html>`;
    const html = renderMessagePage({ message: message({ channel: 'email', subject: 'Approve sign-in request from Demo', html: emailHtml, text: 'text part' }), nonce: 'n' });
    const frame = /<iframe [^>]*>/.exec(html)?.[0] ?? '';
    expect(frame).toContain('sandbox="allow-popups allow-popups-to-escape-sandbox"');
    expect(frame).not.toContain('allow-scripts');
    expect(frame).not.toContain('allow-same-origin');
    expect(frame).toContain('title="The email as sent (HTML part)"');
    const srcdoc = /srcdoc="([^"]*)"/.exec(frame)?.[1] ?? '';
    expect(srcdoc).not.toMatch(/[<>"]/);
    expect(srcdoc).toContain('&lt;head&gt;&lt;base target=&quot;_blank&quot;&gt;&lt;title&gt;');
    expect(html).toContain('<h1 id="message-title">Approve sign-in request from Demo</h1>');
    expect(html).toContain('<pre>text part</pre>');
  });

  it('the email preview policy is the approval page’s plus inline style attributes only', () => {
    const csp = emailPreviewCsp('n');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'nonce-n'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/; style-src-attr 'unsafe-inline'$/);
    expect(csp).not.toContain('script-src');
  });
});
