import { describe, expect, it } from '@jest/globals';
import type { ApprovalNotification, DeviceAnnouncement, EnrolmentInvitation } from '../channel.js';
import { GSM7_SINGLE_SEGMENT, encodeGsm7, encodeUcs2, isGsm7, smsLength } from './gsm7.js';
import { renderDeviceAnnouncementSmsText, renderEnrolmentSmsText, renderSmsText } from './sms-text.js';

const link = 'https://op.example.com/approve/9f8e7d6c5b4a39281706f5e4d3c2b1a0?x=1&y=2';

function notification(overrides: Partial<ApprovalNotification> = {}): ApprovalNotification {
  return {
    requestId: 'req-1',
    clientName: 'Acme Bank',
    bindingMessage: 'Transfer 4711',
    scope: ['openid', 'payments:write'],
    authorizationDetails: null,
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    approvalUrl: link,
    recipientName: 'Alice',
    ...overrides,
  };
}

describe('renderSmsText', () => {
  it('names the client, quotes the binding message and ends with the intact link, no scopes', () => {
    const text = renderSmsText(notification(), { productName: 'CIBA' });
    expect(text).toBe(`CIBA: Acme Bank asks you to approve "Transfer 4711". Review: ${link}`);
    expect(text).not.toContain('payments');
    expect(isGsm7(text)).toBe(true);
    expect(smsLength(text)).toBeLessThanOrEqual(GSM7_SINGLE_SEGMENT);
  });

  it('reads naturally without a binding message', () => {
    expect(renderSmsText(notification({ bindingMessage: null }))).toBe(`Acme Bank asks you to approve a sign-in. Review: ${link}`);
  });

  it('truncates a long binding message with an ellipsis to stay within one GSM-7 segment, never cutting the link', () => {
    const text = renderSmsText(notification({ bindingMessage: 'Pay '.repeat(60) + 'END' }));
    expect(text.endsWith(link)).toBe(true);
    expect(text).toContain('..."');
    expect(text).not.toContain('END');
    expect(isGsm7(text)).toBe(true);
    expect(smsLength(text)).toBeLessThanOrEqual(GSM7_SINGLE_SEGMENT);
  });

  it('keeps a very long link whole even when the message then exceeds one segment', () => {
    const longLink = `https://op.example.com/approve/${'a'.repeat(200)}`;
    const text = renderSmsText(notification({ approvalUrl: longLink, bindingMessage: 'x'.repeat(100) }));
    expect(text.endsWith(longLink)).toBe(true);
    expect(text).toContain(`"${'x'.repeat(17)}..."`);
  });

  it('handles a Unicode binding message: UCS-2 budget, "…" ellipsis, no split surrogate pairs or emoji', () => {
    const text = renderSmsText(notification({ bindingMessage: 'Überweisung 😀👍🏽 ' + '日本語'.repeat(30) }));
    expect(isGsm7(text)).toBe(false);
    expect(text.endsWith(link)).toBe(true);
    expect(text).toContain('…"');
    expect(text).toContain('😀👍🏽');
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u.test(text)).toBe(false);
  });

  it('flattens control characters and newlines from client-supplied strings', () => {
    const text = renderSmsText(notification({ bindingMessage: 'line1\n\nline2\u202e', clientName: ' Evil\r\nCorp ' }));
    expect(text).toBe(`Evil Corp asks you to approve "line1 line2". Review: ${link}`);
  });
});

describe('renderEnrolmentSmsText', () => {
  const now = new Date('2030-01-01T10:00:00Z');
  const enrolUrl = 'https://op.example.com/enrol/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';
  const invitation = (overrides: Partial<EnrolmentInvitation> = {}): EnrolmentInvitation => ({
    enrolUrl,
    expiresAt: new Date(now.getTime() + 15 * 60_000),
    recipientName: 'Alice',
    ...overrides,
  });

  it('says what the link is for and how long it works, ends with the intact link, in one GSM-7 segment', () => {
    const text = renderEnrolmentSmsText(invitation(), { productName: 'CIBA', now });
    expect(text).toBe(`CIBA: Get sign-in requests on this phone (link valid 15 min). Not you? Ignore it. ${enrolUrl}`);
    expect(text).not.toContain('Alice');
    expect(isGsm7(text)).toBe(true);
    expect(smsLength(text)).toBeLessThanOrEqual(GSM7_SINGLE_SEGMENT);
  });

  it('drops the "not you" hint before it would need a second segment, never shortening the link', () => {
    const longUrl = `https://op.example.com/some/long/prefix/enrol/${'a'.repeat(43)}`;
    const text = renderEnrolmentSmsText(invitation({ enrolUrl: longUrl }), { productName: 'Example Identity', now });
    expect(text).toBe(`Example Identity: Get sign-in requests on this phone (link valid 15 min). ${longUrl}`);
  });
});

describe('renderDeviceAnnouncementSmsText', () => {
  const removalUrl = 'https://op.example.com/enrol/remove/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';
  const announcement = (overrides: Partial<DeviceAnnouncement> = {}): DeviceAnnouncement => ({
    deviceLabel: 'Work phone',
    deviceKind: 'fcm',
    registeredAt: new Date('2030-01-01T10:00:00Z'),
    clientName: 'Acme Bank',
    removalUrl,
    recipientName: 'Alice',
    ...overrides,
  });

  it('names the device and the time, ends with the intact removal link, in one GSM-7 segment', () => {
    const text = renderDeviceAnnouncementSmsText(announcement());
    expect(text).toBe(`New device "Work phone" added 2030-01-01 10:00 UTC. Not you? Remove it: ${removalUrl}`);
    expect(text).not.toContain('Alice');
    expect(isGsm7(text)).toBe(true);
    expect(smsLength(text)).toBeLessThanOrEqual(GSM7_SINGLE_SEGMENT);
  });

  it('shortens a long label to fit one segment and flattens control characters; a label that cannot fit gives way to the kind', () => {
    const long = renderDeviceAnnouncementSmsText(announcement({ deviceLabel: `Phone\r\nof ${'x'.repeat(80)}` }));
    expect(long).toMatch(/^New device "Phone of x+\.\.\." added/);
    expect(smsLength(long)).toBeLessThanOrEqual(GSM7_SINGLE_SEGMENT);
    expect(long.endsWith(removalUrl)).toBe(true);
    const unicode = renderDeviceAnnouncementSmsText(announcement({ deviceLabel: '📱 Téléphone' }));
    expect(unicode).toBe(`New device (a mobile app) added 2030-01-01 10:00 UTC. Not you? Remove it: ${removalUrl}`);
    expect(renderDeviceAnnouncementSmsText(announcement({ deviceLabel: null, deviceKind: 'web-push' }))).toContain('New device (a web browser) added');
  });
});

describe('GSM 03.38 / UCS-2 encoding', () => {
  it('encodes GSM-7 unpacked with extension escapes, and UCS-2 as UTF-16BE', () => {
    expect([...encodeGsm7('@A€')]).toEqual([0x00, 0x41, 0x1b, 0x65]);
    expect(smsLength('[x]')).toBe(5);
    expect(() => encodeGsm7('日')).toThrow(RangeError);
    expect([...encodeUcs2('é😀')]).toEqual([0x00, 0xe9, 0xd8, 0x3d, 0xde, 0x00]);
  });
});
