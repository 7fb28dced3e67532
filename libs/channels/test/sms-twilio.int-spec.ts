import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ApprovalNotification } from '../src/channel.js';
import { TwilioSmsChannel, twilioSmsOptionsFromEnv } from '../src/sms/twilio/twilio-sms.channel.js';
import { selfSignedCert } from './tls-peer.js';

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

interface Received {
  method: string;
  path: string;
  authorization: string;
  form: URLSearchParams;
}

let cert: string;
let server: Server;
let apiBaseUrl: string;
const received: Received[] = [];

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

beforeAll(async () => {
  const tls = selfSignedCert();
  cert = tls.cert.toString('utf8');
  server = createServer({ key: tls.key, cert }, (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      received.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? '', form });
      const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return reply(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
      if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) return reply(res, 404, { code: 20404, message: 'Not found', status: 404 });
      const to = form.get('To');
      if (to === '+15005550001') return reply(res, 400, { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 });
      if (to === '+15005550429') return reply(res, 429, { code: 20429, message: 'Too Many Requests', status: 429 }, { 'retry-after': '7' });
      if (to === '+15005550500') return reply(res, 503, { code: 20500, message: 'Internal Server Error', status: 503 });
      return reply(res, 201, { sid: `SM${'a'.repeat(32)}`, account_sid: accountSid, to, from: form.get('From'), messaging_service_sid: form.get('MessagingServiceSid'), body: form.get('Body'), status: 'queued', api_version: '2010-04-01' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiBaseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

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
    await expect(sendWith('+4915112345678')).resolves.toEqual({ kind: 'sent', providerMessageId: `SM${'a'.repeat(32)}` });
    const last = received.at(-1);
    expect(last?.method).toBe('POST');
    expect(last?.path).toBe(`/2010-04-01/Accounts/${accountSid}/Messages.json`);
    expect(last?.form.get('To')).toBe('+4915112345678');
    expect(last?.form.get('From')).toBe('+15005550006');
    expect(last?.form.get('Body')).toContain(link);
    expect(last?.form.get('Body')).toContain('Transfer 4711');
  });

  it('uses MessagingServiceSid instead of From when configured', async () => {
    const messagingServiceSid = `MG${'2'.repeat(32)}`;
    await expect(sendWith('+4915112345678', { from: undefined, messagingServiceSid })).resolves.toMatchObject({ kind: 'sent' });
    expect(received.at(-1)?.form.get('MessagingServiceSid')).toBe(messagingServiceSid);
    expect(received.at(-1)?.form.has('From')).toBe(false);
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
