import { describe, expect, it } from '@jest/globals';
import type { EnrolmentInvitation } from '../channel.js';
import { renderEnrolmentEmail } from './enrolment-email.template.js';

const now = new Date('2030-01-01T10:00:00Z');
const enrolUrl = 'https://op.example.com/enrol/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';

function invitation(overrides: Partial<EnrolmentInvitation> = {}): EnrolmentInvitation {
  return { enrolUrl, expiresAt: new Date(now.getTime() + 15 * 60_000), recipientName: 'Alice', ...overrides };
}

describe('renderEnrolmentEmail', () => {
  it('says what enrolling does, that the link works once and for how long, in both the text and HTML parts', () => {
    const { subject, html, text } = renderEnrolmentEmail(invitation(), { now, productName: 'Example ID' });
    expect(subject).toBe('Get Example ID sign-in requests on your device');
    for (const body of [html, text]) {
      expect(body).toContain('Hello Alice,');
      expect(body).toContain('where you want to receive sign-in requests from Example ID');
      expect(body).toContain('approve or deny each request');
      expect(body).toContain('The link works once and expires in 15 minutes.');
      expect(body).toContain('If you did not ask for this, ignore this email');
      expect(body).toContain(enrolUrl);
    }
  });

  it('renders the link as a button with self-explanatory text and as a plain URL, nothing else', () => {
    const { html } = renderEnrolmentEmail(invitation(), { now });
    const anchors = [...html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)];
    expect(anchors.map((a) => [a[1], a[2]])).toEqual([
      [enrolUrl, 'Set up this device'],
      [enrolUrl, enrolUrl],
    ]);
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<h1[^>]*>Get sign-in requests on your device<\/h1>/);
    expect(html).not.toMatch(/<img|<link|<style|<script|src=|url\(/i);
  });

  it('escapes the recipient name and the product name, and flattens line breaks out of the subject', () => {
    const { subject, html, text } = renderEnrolmentEmail(invitation({ recipientName: '<u>Mallory</u>\r\nBcc: x' }), { now, productName: 'Acme\r\n<b>ID</b>' });
    expect(subject).not.toMatch(/[\r\n]/);
    expect(html).not.toContain('<u>');
    expect(html).not.toContain('<b>ID');
    expect(html).toContain('&lt;u&gt;Mallory&lt;/u&gt; Bcc: x');
    expect(text).toContain('Hello <u>Mallory</u> Bcc: x,');
  });

  it('greets neutrally without a name, uses the singular for one minute and says when the link has expired', () => {
    expect(renderEnrolmentEmail(invitation({ recipientName: null }), { now }).text).toContain('Hello,');
    expect(renderEnrolmentEmail(invitation({ expiresAt: new Date(now.getTime() + 30_000) }), { now }).text).toContain('expires in 1 minute.');
    expect(renderEnrolmentEmail(invitation({ expiresAt: new Date(now.getTime() - 1) }), { now }).text).toContain('This link has expired.');
  });

  it('refuses a link that is not http(s)', () => {
    expect(() => renderEnrolmentEmail(invitation({ enrolUrl: 'javascript:alert(1)' }), { now })).toThrow('http(s)');
  });
});
