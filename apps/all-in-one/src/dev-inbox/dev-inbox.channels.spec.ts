import { describe, expect, it } from '@jest/globals';
import { type ApprovalNotification, type DeviceTarget, type EnrolmentInvitation, devicePushPayload, renderEmail, renderEnrolmentEmail, renderEnrolmentSmsText, renderSmsText } from '@ciba/channels';
import { ConfigError } from '@ciba/config';
import { DevInbox } from './dev-inbox.js';
import { DevInboxDevicePushChannel, DevInboxEmailChannel, DevInboxSmsChannel, allInOneChannels, describeDevice } from './dev-inbox.channels.js';

const now = new Date('2030-01-01T12:00:00Z');
const notification: ApprovalNotification = {
  requestId: 'req-1',
  clientName: 'Demo Call Centre Console',
  bindingMessage: 'Approve login W4SCT',
  scope: ['openid', 'email'],
  authorizationDetails: null,
  expiresAt: new Date(now.getTime() + 5 * 60_000),
  approvalUrl: 'http://localhost:3000/approve/' + 'A'.repeat(43),
  recipientName: 'Alice Example',
};
const invitation: EnrolmentInvitation = { enrolUrl: 'http://localhost:3000/enrol/' + 'B'.repeat(43), expiresAt: new Date(now.getTime() + 10 * 60_000), recipientName: 'Alice Example' };
const webPush: DeviceTarget = { kind: 'web-push', subscription: { endpoint: 'https://push.example.net/send/abcdef', keys: { p256dh: 'p', auth: 'a' } } };
const fcm: DeviceTarget = { kind: 'fcm', registrationToken: 'fcm-registration-token-123456' };

describe('development inbox channels', () => {
  const inbox = new DevInbox({ now: () => now });

  it('email: keeps the real template’s subject, HTML and text parts, and the approval link', async () => {
    const channel = new DevInboxEmailChannel(inbox);
    expect({ kind: channel.kind, vendor: channel.vendor }).toEqual({ kind: 'email', vendor: 'dev-inbox' });
    expect(await channel.send('alice@example.com', notification)).toEqual({ kind: 'sent', providerMessageId: null });
    const rendered = renderEmail(notification, { now });
    expect(inbox.list()[0]).toMatchObject({ channel: 'email', about: 'approval', to: 'alice@example.com', subject: rendered.subject, html: rendered.html, text: rendered.text, links: [notification.approvalUrl] });
  });

  it('SMS: keeps the real SMS text', async () => {
    expect(await new DevInboxSmsChannel(inbox).send('+15555550100', notification)).toEqual({ kind: 'sent', providerMessageId: null });
    expect(inbox.list()[0]).toMatchObject({ channel: 'sms', about: 'approval', to: '+15555550100', subject: null, html: null, text: renderSmsText(notification), links: [notification.approvalUrl] });
  });

  it('device push: accepts Web Push and FCM devices and keeps the real payload, naming the device without its secrets', async () => {
    const channel = new DevInboxDevicePushChannel(inbox);
    expect(channel.accepts(webPush) && channel.accepts(fcm)).toBe(true);
    expect(await channel.send(webPush, notification)).toEqual({ kind: 'sent', providerMessageId: null });
    const payload = devicePushPayload(notification);
    expect(inbox.list()[0]).toMatchObject({ channel: 'device-push', about: 'approval', to: 'web-push subscription at push.example.net', subject: payload.title, text: payload.body, links: [payload.url] });
    expect(describeDevice(fcm)).toBe('FCM registration …123456');
  });

  it('enrolment links by email and SMS: the real enrolment templates, the link kept', async () => {
    expect(await new DevInboxEmailChannel(inbox).sendEnrolment('alice@example.com', invitation)).toEqual({ kind: 'sent', providerMessageId: null });
    const email = renderEnrolmentEmail(invitation, { now });
    expect(inbox.list()[0]).toMatchObject({ channel: 'email', about: 'enrolment', subject: email.subject, html: email.html, text: email.text, links: [invitation.enrolUrl] });
    expect(await new DevInboxSmsChannel(inbox).sendEnrolment('+15555550100', invitation)).toEqual({ kind: 'sent', providerMessageId: null });
    expect(inbox.list()[0]).toMatchObject({ channel: 'sms', about: 'enrolment', text: renderEnrolmentSmsText(invitation, { now }), links: [invitation.enrolUrl] });
  });

  it('a notification the template refuses (a javascript: link) is a permanent failure, and nothing is kept', async () => {
    const before = inbox.list().length;
    const outcome = await new DevInboxEmailChannel(inbox).send('alice@example.com', { ...notification, approvalUrl: 'javascript:alert(1)' });
    expect(outcome).toEqual({ kind: 'permanent', reason: 'invalid_notification' });
    expect(inbox.list()).toHaveLength(before);
  });
});

describe('allInOneChannels', () => {
  it('sends every kind to the inbox when no vendor is configured', () => {
    const { channels, inboxKinds } = allInOneChannels({}, new DevInbox());
    expect(channels.email?.vendor).toBe('dev-inbox');
    expect(channels.sms?.vendor).toBe('dev-inbox');
    expect(channels.devicePush.map((c) => c.vendor)).toEqual(['dev-inbox']);
    expect(inboxKinds).toEqual(['email', 'sms', 'device-push']);
  });

  it('uses the real adapter for a kind whose vendor is set, the inbox for the others', async () => {
    const { channels, inboxKinds } = allInOneChannels(
      { CIBA_EMAIL_VENDOR: 'smtp', CIBA_SMTP_HOST: '127.0.0.1', CIBA_SMTP_PORT: '2525', CIBA_SMTP_REQUIRE_TLS: 'false', CIBA_SMTP_FROM: 'CIBA <noreply@example.com>' },
      new DevInbox(),
    );
    expect(channels.email?.vendor).toBe('smtp');
    expect(channels.sms?.vendor).toBe('dev-inbox');
    expect(inboxKinds).toEqual(['sms', 'device-push']);
    await channels.email?.close?.();
  });

  it('refuses a broken vendor configuration as a configuration error', () => {
    expect(() => allInOneChannels({ CIBA_SMS_VENDOR: 'carrier-pigeon' }, new DevInbox())).toThrow(ConfigError);
  });
});
