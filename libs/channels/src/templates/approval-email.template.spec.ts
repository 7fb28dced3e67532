import { describe, expect, it } from '@jest/globals';
import type { ApprovalNotification } from '../channel.js';
import { minutesLeft, renderEmail, summarizeAuthorizationDetails } from './approval-email.template.js';

const now = new Date('2030-01-01T10:00:00Z');

function notification(overrides: Partial<ApprovalNotification> = {}): ApprovalNotification {
  return {
    requestId: 'req-1',
    clientName: 'Acme Bank',
    bindingMessage: 'Pay 42 EUR to Bob',
    scope: ['openid', 'email', 'payments:write'],
    authorizationDetails: [{ type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: 'EUR', amount: '42.00' }, creditorName: 'Bob' }],
    expiresAt: new Date(now.getTime() + 5 * 60_000),
    approvalUrl: 'https://op.example.com/approve/abc123?x=1&y=2',
    recipientName: 'Alice',
    ...overrides,
  };
}

describe('renderEmail', () => {
  it('keeps the subject short, names the client and leaves the binding message out', () => {
    const { subject } = renderEmail(notification(), { now });
    expect(subject).toBe('Approve sign-in request from Acme Bank');
    expect(subject).not.toContain('Pay 42');
  });

  it('truncates a long client name in the subject and strips line breaks', () => {
    const { subject } = renderEmail(notification({ clientName: `Evil\r\nBcc: x@example.com ${'x'.repeat(100)}` }), { now });
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject.length).toBeLessThanOrEqual('Approve sign-in request from '.length + 60);
    expect(subject.endsWith('…')).toBe(true);
  });

  it('says who asks, for what, for how long, with the link, in both parts', () => {
    const { html, text } = renderEmail(notification(), { now, productName: 'Example ID' });
    for (const body of [html, text]) {
      expect(body).toContain('Acme Bank');
      expect(body).toContain('Pay 42 EUR to Bob');
      expect(body).toContain('Your email address');
      expect(body).toContain('Confirm who you are');
      expect(body).toContain('payments:write');
      expect(body).toContain('payment_initiation');
      expect(body).toContain('Actions: initiate');
      expect(body).toContain('creditorName: Bob');
      expect(body).toContain('expires in 5 minutes');
      expect(body).toContain('Example ID');
      expect(body).toContain('Hello Alice,');
    }
    expect(text).toContain('https://op.example.com/approve/abc123?x=1&y=2');
    expect(html).toContain('href="https://op.example.com/approve/abc123?x=1&amp;y=2"');
  });

  it('renders the approval link as a button with self-explanatory text and as a plain URL', () => {
    const { html } = renderEmail(notification(), { now });
    const anchors = [...html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)];
    expect(anchors).toHaveLength(2);
    expect(anchors[0][2]).toBe('Review this sign-in request to approve or deny it');
    expect(anchors[1][2]).toBe('https://op.example.com/approve/abc123?x=1&amp;y=2');
  });

  it('is accessible and self-contained: lang, a heading, inline styles only, no external assets', () => {
    const { html } = renderEmail(notification(), { now });
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<h1[^>]*>Sign-in request from Acme Bank<\/h1>/);
    expect(html).not.toMatch(/<img|<link|<style|<script|src=|url\(/i);
    // The only URLs are the approval link (twice).
    expect(html.match(/https?:\/\//g)).toHaveLength(3); // href, href, visible text
  });

  it('escapes everything the client or user controls', () => {
    const hostile = notification({
      clientName: '<script>alert("c")</script>',
      bindingMessage: `"><img src=x onerror='b'> & co`,
      scope: ['openid', '<b>scope</b>'],
      authorizationDetails: [{ type: '<i>t</i>', locations: ['https://evil.example/"x'] }],
      recipientName: '<u>Mallory</u>',
    });
    const { html } = renderEmail(hostile, { now });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>scope');
    expect(html).not.toContain('<i>t');
    expect(html).not.toContain('<u>');
    expect(html).toContain('&lt;script&gt;alert(&quot;c&quot;)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=&#39;b&#39;&gt; &amp; co');
  });

  it('omits optional sections when there is nothing to say', () => {
    const { html, text } = renderEmail(notification({ bindingMessage: null, authorizationDetails: null, scope: [], recipientName: null }), { now });
    expect(text).not.toContain('matches the one shown');
    expect(text).not.toContain('Details:');
    expect(text).not.toContain('It asks for');
    expect(text).toContain('Hello,');
    expect(html).not.toContain('<h2');
  });

  it('says when the request has expired, and uses the singular for one minute', () => {
    expect(renderEmail(notification({ expiresAt: new Date(now.getTime() - 1000) }), { now }).text).toContain('This request has expired.');
    expect(renderEmail(notification({ expiresAt: new Date(now.getTime() + 30_000) }), { now }).text).toContain('expires in 1 minute.');
  });

  it('refuses an approval URL that is not http(s)', () => {
    expect(() => renderEmail(notification({ approvalUrl: 'javascript:alert(1)' }), { now })).toThrow('http(s)');
  });
});

describe('minutesLeft', () => {
  it('rounds up and never goes negative', () => {
    expect(minutesLeft(new Date(now.getTime() + 61_000), now)).toBe(2);
    expect(minutesLeft(new Date(now.getTime() + 60_000), now)).toBe(1);
    expect(minutesLeft(new Date(now.getTime() - 60_000), now)).toBe(0);
  });
});

describe('summarizeAuthorizationDetails', () => {
  it('lists the RFC 9396 common fields first, then the others, and compacts nested values', () => {
    const [summary] = summarizeAuthorizationDetails([{ creditorName: 'Bob', type: 'payment_initiation', amount: { currency: 'EUR', value: 1 }, locations: ['https://api.example'] }]);
    expect(summary).toEqual({
      type: 'payment_initiation',
      fields: [
        { label: 'Locations', value: 'https://api.example' },
        { label: 'creditorName', value: 'Bob' },
        { label: 'amount', value: '{"currency":"EUR","value":1}' },
      ],
    });
  });

  it('copes with a missing type', () => {
    expect(summarizeAuthorizationDetails([{ actions: ['read'] }])[0].type).toBe('(unspecified type)');
  });
});
