import { describe, expect, it } from '@jest/globals';
import type { DeviceAnnouncement } from '../channel.js';
import { renderDeviceAnnouncementEmail } from './device-announcement-email.template.js';

const removalUrl = 'https://op.example.com/enrol/remove/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';

function announcement(overrides: Partial<DeviceAnnouncement> = {}): DeviceAnnouncement {
  return {
    deviceLabel: 'Work phone',
    deviceKind: 'fcm',
    registeredAt: new Date('2030-01-01T10:00:42Z'),
    clientName: 'Example Bank',
    removalUrl,
    recipientName: 'Alice',
    ...overrides,
  };
}

describe('renderDeviceAnnouncementEmail', () => {
  it('says which device was added, when and through what, that it can approve sign-ins, and how to remove it — in both parts', () => {
    const { subject, html, text } = renderDeviceAnnouncementEmail(announcement(), { productName: 'Example ID' });
    expect(subject).toBe('A new device can approve your Example ID sign-ins');
    expect(text).toContain('A new device was added to your account on 2030-01-01 10:00 UTC: "Work phone" (a mobile app), through Example Bank.');
    expect(html).toContain('A new device was added to your account on 2030-01-01 10:00 UTC: &quot;Work phone&quot; (a mobile app), through Example Bank.');
    for (const body of [html, text]) {
      expect(body).toContain('Hello Alice,');
      expect(body).toContain('can approve them');
      expect(body).toContain('Not you? Remove the device now. The link works once.');
      expect(body).toContain(removalUrl);
    }
  });

  it('renders the removal link as a button and as a plain URL, nothing else; no active content', () => {
    const { html } = renderDeviceAnnouncementEmail(announcement());
    const anchors = [...html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)];
    expect(anchors.map((a) => [a[1], a[2]])).toEqual([
      [removalUrl, 'Remove this device'],
      [removalUrl, removalUrl],
    ]);
    expect(html).not.toMatch(/<img|<link|<style|<script|src=|url\(/i);
  });

  it('names an enrolment-link registration and an unnamed device by their kind', () => {
    const { text } = renderDeviceAnnouncementEmail(announcement({ clientName: null, deviceLabel: null, deviceKind: 'web-push', recipientName: null }));
    expect(text).toContain('Hello,');
    expect(text).toContain(': a web browser, with a device setup link sent to you.');
  });

  it('escapes and flattens the client-controlled label and client name; the subject carries neither', () => {
    const hostile = announcement({ deviceLabel: '<img src=x onerror=alert(1)>\r\nBcc: x', clientName: '<a href="https://evil.example">Evil</a>' });
    const { subject, html, text } = renderDeviceAnnouncementEmail(hostile);
    expect(subject).toBe('A new device can approve your sign-ins');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('evil.example">');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; Bcc: x');
    expect(html).toContain('&lt;a href=&quot;https://evil.example&quot;&gt;Evil&lt;/a&gt;');
    expect(text).not.toMatch(/\r|\nBcc/);
  });

  it('refuses a link that is not http(s)', () => {
    expect(() => renderDeviceAnnouncementEmail(announcement({ removalUrl: 'javascript:alert(1)' }))).toThrow('http(s)');
  });
});
