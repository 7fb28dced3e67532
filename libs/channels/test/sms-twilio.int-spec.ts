import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TwilioPeer, type TwilioReply, twilioError } from '@ciba/testing';
import type { ApprovalNotification } from '../src/channel.js';
import { TwilioSmsChannel, twilioSmsOptionsFromEnv } from '../src/sms/twilio/twilio-sms.channel.js';

const accountSid = `AC${'1'.repeat(32)}`;
const authToken = 'tok_very_secret_0123';
const link = 'https://op.example.com/approve/abcdef012345';
const notification: ApprovalNotification = {
  requestId: 'req-twilio',
  clientName: 'Acme Bank',
  bindingMessage: 'Transfer 4711',
  scope: ['openid'],
  authorizationDetails: null,
  expiresAt: new Date(Date.now() + 60_000),
  approvalUrl: link,
  recipientName: null,
};

/** Twilio's documented test numbers for an invalid To, and stand-ins for a busy and a failing API. */
const SCRIPTED: Readonly<Record<string, TwilioReply>> = {
  '+15005550001': twilioError(400, 21211, "The 'To' number is not a valid phone number."),
  '+15005550429': { ...twilioError(429, 20429, 'Too Many Requests'), headers: { 'retry-after': '7' } },
  '+15005550500': twilioError(503, 20500, 'Internal Server Error'),
};

let twilioApi: TwilioPeer;
let cert: Buffer;
let apiBaseUrl: string;

beforeAll(async () => {
  twilioApi = await TwilioPeer.start({ accountSid, authToken, reply: (form) => SCRIPTED[form.get('To') ?? ''] });
  cert = twilioApi.ca;
  apiBaseUrl = twilioApi.origin;
});

afterAll(() => twilioApi.close());

async function sendWith(to: string, overrides: Partial<ConstructorParameters<typeof TwilioSmsChannel>[0]> = {}) {
  const channel = new TwilioSmsChannel({ accountSid, authToken, from: '+15005550006', apiBaseUrl, ca: cert, timeoutMs: 5_000, ...overrides });
  try {
    return await channel.send(to, notification);
  } finally {
    await channel.close();
  }
}

describe('TwilioSmsChannel against a local HTTPS stand-in for the Messages API', () => {
  it('POST /2010-04-01/Accounts/{sid}/Messages.json with Basic auth and To/From/Body; 201 → sent with the SM… sid', async () => {
    await expect(sendWith('+4915112345678')).resolves.toEqual({ kind: 'sent', providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
    const last = twilioApi.received.at(-1);
    expect(last?.method).toBe('POST');
    expect(last?.path).toBe(`/2010-04-01/Accounts/${accountSid}/Messages.json`);
    expect(last?.form.get('To')).toBe('+4915112345678');
    expect(last?.form.get('From')).toBe('+15005550006');
    expect(last?.form.get('Body')).toContain(link);
    expect(last?.form.get('Body')).toContain('Transfer 4711');
  });

  it('sendEnrolment posts the short enrolment text with the intact link; 201 → sent', async () => {
    const enrolUrl = 'https://op.example.com/enrol/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';
    const channel = new TwilioSmsChannel({ accountSid, authToken, from: '+15005550006', apiBaseUrl, ca: cert, timeoutMs: 5_000 });
    try {
      await expect(channel.sendEnrolment('+4915112345678', { enrolUrl, expiresAt: new Date(Date.now() + 15 * 60_000), recipientName: 'Alice' })).resolves.toMatchObject({ kind: 'sent' });
    } finally {
      await channel.close();
    }
    const body = twilioApi.received.at(-1)?.form.get('Body') ?? '';
    expect(body).toMatch(/^Get sign-in requests on this phone \(link valid 1[45] min\)\./);
    expect(body.endsWith(enrolUrl)).toBe(true);
  });

  it('uses MessagingServiceSid instead of From when configured', async () => {
    const messagingServiceSid = `MG${'2'.repeat(32)}`;
    await expect(sendWith('+4915112345678', { from: undefined, messagingServiceSid })).resolves.toMatchObject({ kind: 'sent' });
    expect(twilioApi.received.at(-1)?.form.get('MessagingServiceSid')).toBe(messagingServiceSid);
    expect(twilioApi.received.at(-1)?.form.has('From')).toBe(false);
  });

  it('400 with Twilio error 21211 (invalid To) → permanent', async () => {
    await expect(sendWith('+15005550001')).resolves.toEqual({ kind: 'permanent', reason: 'twilio_invalid_to' });
  });

  it('429 with Retry-After → retryable, honouring the delay', async () => {
    await expect(sendWith('+15005550429')).resolves.toEqual({ kind: 'retryable', reason: 'twilio_rate_limited', retryAfterMs: 7_000 });
  });

  it('5xx → retryable', async () => {
    await expect(sendWith('+15005550500')).resolves.toEqual({ kind: 'retryable', reason: 'twilio_server_error', retryAfterMs: null });
  });

  it('401 → permanent twilio_auth_failed', async () => {
    await expect(sendWith('+4915112345678', { authToken: 'wrong-token' })).resolves.toEqual({ kind: 'permanent', reason: 'twilio_auth_failed' });
  });

  it('untrusted certificate (no ca) → retryable network failure, never sent', async () => {
    await expect(sendWith('+4915112345678', { ca: undefined })).resolves.toMatchObject({ kind: 'retryable', reason: 'twilio_unreachable' });
  });

  it('fromEnv reads CIBA_TWILIO_* and never puts the auth token in errors', () => {
    expect(twilioSmsOptionsFromEnv({ CIBA_TWILIO_ACCOUNT_SID: accountSid, CIBA_TWILIO_AUTH_TOKEN: authToken, CIBA_TWILIO_FROM: '+15005550006', CIBA_TWILIO_MESSAGING_SERVICE_SID: '' })).toMatchObject({ accountSid, from: '+15005550006' });
    let message = '';
    try {
      twilioSmsOptionsFromEnv({ CIBA_TWILIO_ACCOUNT_SID: authToken, CIBA_TWILIO_AUTH_TOKEN: authToken });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/CIBA_TWILIO_ACCOUNT_SID.*CIBA_TWILIO_FROM/s);
    expect(message).not.toContain(authToken);
  });
});
