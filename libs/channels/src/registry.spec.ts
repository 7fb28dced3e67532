import { describe, expect, it } from '@jest/globals';
import { ChannelConfigError, DEVICE_PUSH_VENDORS, EMAIL_VENDORS, SMS_VENDORS, channelsFromEnv } from './registry.js';

describe('channel registry', () => {
  it('lists one adapter per vendor and kind', () => {
    expect(EMAIL_VENDORS.map((v) => v.vendor)).toEqual(['smtp']);
    expect(SMS_VENDORS.map((v) => v.vendor)).toEqual(['twilio', 'smpp']);
    expect(DEVICE_PUSH_VENDORS.map((v) => v.vendor)).toEqual(['web-push', 'fcm']);
  });

  it('enables nothing by default', () => {
    expect(channelsFromEnv({})).toEqual({ email: null, sms: null, devicePush: [] });
  });

  it('builds the chosen adapters from their variables', () => {
    const channels = channelsFromEnv({
      CIBA_EMAIL_VENDOR: 'smtp',
      CIBA_SMTP_HOST: '127.0.0.1',
      CIBA_SMTP_PORT: '2525',
      CIBA_SMTP_REQUIRE_TLS: 'false',
      CIBA_SMTP_FROM: 'CIBA <noreply@example.com>',
      CIBA_SMS_VENDOR: 'twilio',
      CIBA_TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      CIBA_TWILIO_AUTH_TOKEN: 'twilio-token-value',
      CIBA_TWILIO_FROM: '+15555550123',
    });
    expect(channels.email?.vendor).toBe('smtp');
    expect(channels.sms?.vendor).toBe('twilio');
  });

  it('reports every problem at once, naming variables, never secret values', () => {
    let message = '';
    let problems: readonly string[] = [];
    try {
      channelsFromEnv({ CIBA_EMAIL_VENDOR: 'carrier-pigeon', CIBA_SMS_VENDOR: 'twilio', CIBA_TWILIO_AUTH_TOKEN: 'super-secret-token', CIBA_DEVICE_PUSH_VENDORS: 'web-push' });
    } catch (err) {
      message = (err as Error).message;
      problems = err instanceof ChannelConfigError ? err.problems : [];
    }
    expect(problems).toHaveLength(3);
    expect(message).toMatch(/CIBA_EMAIL_VENDOR: unknown vendor "carrier-pigeon"/);
    expect(message).toMatch(/CIBA_TWILIO_ACCOUNT_SID/);
    expect(message).toMatch(/CIBA_WEB_PUSH_VAPID/);
    expect(message).not.toContain('super-secret-token');
  });
});
