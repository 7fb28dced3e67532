import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SmppPeer, freePort, waitFor } from '@ciba/testing';
import type { ApprovalNotification } from '../src/channel.js';
import { SmppSmsChannel, SmppStatus, smppSmsOptionsFromEnv } from '../src/sms/smpp/smpp-sms.channel.js';

const link = 'https://op.example.com/approve/0a1b2c3d4e5f';
const notification = (bindingMessage: string | null = 'Transfer 4711'): ApprovalNotification => ({
  requestId: 'req-smpp',
  clientName: 'Acme Bank',
  bindingMessage,
  scope: ['openid'],
  authorizationDetails: null,
  expiresAt: new Date(Date.now() + 60_000),
  approvalUrl: link,
  recipientName: null,
});

const THROTTLED = '15550000058';
const INVALID = '15550000011';
const SUBMIT_STATUS: Readonly<Record<string, number>> = { [THROTTLED]: SmppStatus.ESME_RTHROTTLED, [INVALID]: SmppStatus.ESME_RINVDSTADR };

/** A tiny SMSC on loopback. */
let smsc: SmppPeer;
let url: string;

beforeAll(async () => {
  smsc = await SmppPeer.start({ systemId: 'ciba', password: 's3cret', submitStatus: (destination) => SUBMIT_STATUS[destination] });
  url = smsc.url;
});

afterAll(() => smsc.close());

const channels: SmppSmsChannel[] = [];
function channel(overrides: Partial<{ systemId: string; password: string; timeoutMs: number }> = {}): SmppSmsChannel {
  const c = new SmppSmsChannel({ url, systemId: 'ciba', password: 's3cret', sourceAddr: 'CIBA', timeoutMs: 3_000, ...overrides });
  channels.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
});

describe('SmppSmsChannel against a loopback SMSC (SMPP 3.4)', () => {
  it('§4.1.5 bind_transceiver then §4.4 submit_sm: GSM-7 text in short_message, TON 1/NPI 1 destination, ESME_ROK → sent with message_id', async () => {
    const c = channel();
    const outcome = await c.send('+4915112345678', notification());
    expect(outcome).toEqual({ kind: 'sent', providerMessageId: expect.stringMatching(/^msg-\d+$/) });
    const last = smsc.submitted.at(-1);
    expect(last).toMatchObject({ destination: '4915112345678', destTon: 1, destNpi: 1, dataCoding: 0, viaPayload: false });
    expect(last?.text).toContain(link);
    expect(last?.text).toContain('Transfer 4711');
  });

  it('sendEnrolment submits the enrolment text over the same session: GSM-7, the intact link last', async () => {
    const enrolUrl = 'https://op.example.com/enrol/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde';
    const c = channel();
    await expect(c.sendEnrolment('+4915112345678', { enrolUrl, expiresAt: new Date(Date.now() + 15 * 60_000), recipientName: null })).resolves.toMatchObject({ kind: 'sent' });
    const last = smsc.submitted.at(-1);
    expect(last).toMatchObject({ destination: '4915112345678', dataCoding: 0 });
    expect(last?.text.startsWith('Get sign-in requests on this phone')).toBe(true);
    expect(last?.text.endsWith(enrolUrl)).toBe(true);
    await expect(c.sendEnrolment('not-a-number', { enrolUrl, expiresAt: new Date(), recipientName: null })).resolves.toEqual({ kind: 'permanent', reason: 'smpp_invalid_destination' });
  });

  it('keeps one bound session for several sends, and §4.2 unbind on close()', async () => {
    const c = channel();
    const before = smsc.binds;
    const unbindsBefore = smsc.unbinds;
    await expect(c.send('+4915100000001', notification())).resolves.toMatchObject({ kind: 'sent' });
    await expect(c.send('+4915100000002', notification())).resolves.toMatchObject({ kind: 'sent' });
    expect(smsc.binds - before).toBe(1);
    await c.close();
    await waitFor(() => smsc.unbinds === unbindsBefore + 1, { description: 'unbind' });
  });

  it('re-binds after the SMSC drops the connection', async () => {
    const c = channel();
    const before = smsc.binds;
    await expect(c.send('+4915100000003', notification())).resolves.toMatchObject({ kind: 'sent' });
    await smsc.dropSessions();
    // The loss may be noticed by this send (retryable) or before it; either way the following one re-binds.
    let outcome = await c.send('+4915100000004', notification());
    if (outcome.kind !== 'sent') outcome = await c.send('+4915100000004', notification());
    expect(outcome.kind).toBe('sent');
    expect(smsc.binds - before).toBe(2);
  });

  it('§5.2.19 data_coding 8: a Unicode binding message is sent as UCS-2, long text in the message_payload TLV (§5.3.2.32)', async () => {
    const c = channel();
    const binding = 'Zahlung 山田 😀';
    await expect(c.send('+819012345678', notification(binding))).resolves.toMatchObject({ kind: 'sent' });
    const last = smsc.submitted.at(-1);
    expect(last).toMatchObject({ dataCoding: 8, viaPayload: true });
    expect(last?.text).toContain('"Zahlung 山田 😀"');
    expect(last?.text).toContain(link);
  });

  it('§5.1.3 command_status ESME_RTHROTTLED (0x58) → retryable', async () => {
    await expect(channel().send(`+${THROTTLED}`, notification())).resolves.toEqual({ kind: 'retryable', reason: 'smpp_throttled', retryAfterMs: null });
  });

  it('§5.1.3 command_status ESME_RINVDSTADR (0x0B) → permanent', async () => {
    await expect(channel().send(`+${INVALID}`, notification())).resolves.toEqual({ kind: 'permanent', reason: 'smpp_invalid_destination' });
  });

  it('§5.1.3 bind_transceiver_resp ESME_RINVPASWD (0x0E) / ESME_RINVSYSID (0x0F) → permanent smpp_bind_failed', async () => {
    await expect(channel({ password: 'wrong' }).send('+4915100000005', notification())).resolves.toEqual({ kind: 'permanent', reason: 'smpp_bind_failed' });
    await expect(channel({ systemId: 'nobody' }).send('+4915100000005', notification())).resolves.toEqual({ kind: 'permanent', reason: 'smpp_bind_failed' });
  });

  it('connection refused → retryable', async () => {
    const port = await freePort();
    const c = new SmppSmsChannel({ url: `smpp://127.0.0.1:${port}`, systemId: 'ciba', password: 's3cret', sourceAddr: 'CIBA', timeoutMs: 3_000 });
    channels.push(c);
    await expect(c.send('+4915100000006', notification())).resolves.toMatchObject({ kind: 'retryable', reason: 'smpp_unreachable' });
  });

  it('fromEnv reads CIBA_SMPP_* and never echoes the password', () => {
    expect(smppSmsOptionsFromEnv({ CIBA_SMPP_URL: url, CIBA_SMPP_SYSTEM_ID: 'ciba', CIBA_SMPP_PASSWORD: 's3cret', CIBA_SMPP_SOURCE_ADDR: 'CIBA' })).toMatchObject({ url, systemId: 'ciba' });
    expect(() => smppSmsOptionsFromEnv({ CIBA_SMPP_URL: 'http://x', CIBA_SMPP_PASSWORD: 'toolongsecret' })).toThrow(/CIBA_SMPP_URL.*CIBA_SMPP_PASSWORD/s);
    try {
      smppSmsOptionsFromEnv({ CIBA_SMPP_PASSWORD: 'toolongsecret' });
    } catch (error) {
      expect(String(error)).not.toContain('toolongsecret');
    }
  });
});
