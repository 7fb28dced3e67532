import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import smpp from 'smpp';
import type { Pdu, Server, Session } from 'smpp';
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

interface Submitted {
  destination: string;
  destTon: number;
  destNpi: number;
  dataCoding: number;
  text: string;
  viaPayload: boolean;
}

/** A tiny SMSC on loopback, built with the same package in server mode. */
let server: Server;
let url: string;
const submitted: Submitted[] = [];
let binds = 0;
let unbinds = 0;
const THROTTLED = '15550000058';
const INVALID = '15550000011';

function messageText(field: unknown): string {
  if (field && typeof field === 'object' && 'message' in field) {
    const message = field.message;
    return Buffer.isBuffer(message) ? message.toString('latin1') : String(message);
  }
  return '';
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeAll(async () => {
  server = smpp.createServer({}, (session: Session) => {
    session.on('error', () => undefined);
    session.on('bind_transceiver', (pdu: Pdu) => {
      binds += 1;
      if (pdu.system_id !== 'ciba') return session.send(pdu.response({ command_status: SmppStatus.ESME_RINVSYSID }));
      if (pdu.password !== 's3cret') return session.send(pdu.response({ command_status: SmppStatus.ESME_RINVPASWD }));
      return session.send(pdu.response({ system_id: 'test-smsc' }));
    });
    session.on('submit_sm', (pdu: Pdu) => {
      const payloadText = messageText(pdu.message_payload);
      submitted.push({
        destination: String(pdu.destination_addr),
        destTon: Number(pdu.dest_addr_ton),
        destNpi: Number(pdu.dest_addr_npi),
        dataCoding: Number(pdu.data_coding),
        text: payloadText || messageText(pdu.short_message),
        viaPayload: payloadText !== '',
      });
      if (pdu.destination_addr === THROTTLED) return session.send(pdu.response({ command_status: SmppStatus.ESME_RTHROTTLED }));
      if (pdu.destination_addr === INVALID) return session.send(pdu.response({ command_status: SmppStatus.ESME_RINVDSTADR }));
      return session.send(pdu.response({ message_id: `msg-${submitted.length}` }));
    });
    session.on('enquire_link', (pdu: Pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu: Pdu) => {
      unbinds += 1;
      session.send(pdu.response());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `smpp://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of [...server.sessions]) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

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
    const last = submitted.at(-1);
    expect(last).toMatchObject({ destination: '4915112345678', destTon: 1, destNpi: 1, dataCoding: 0, viaPayload: false });
    expect(last?.text).toContain(link);
    expect(last?.text).toContain('Transfer 4711');
  });

  it('keeps one bound session for several sends, and §4.2 unbind on close()', async () => {
    const c = channel();
    const before = binds;
    const unbindsBefore = unbinds;
    await expect(c.send('+4915100000001', notification())).resolves.toMatchObject({ kind: 'sent' });
    await expect(c.send('+4915100000002', notification())).resolves.toMatchObject({ kind: 'sent' });
    expect(binds - before).toBe(1);
    await c.close();
    await until(() => unbinds === unbindsBefore + 1);
  });

  it('re-binds after the SMSC drops the connection', async () => {
    const c = channel();
    const before = binds;
    await expect(c.send('+4915100000003', notification())).resolves.toMatchObject({ kind: 'sent' });
    for (const s of [...server.sessions]) s.destroy();
    await until(() => server.sessions.length === 0);
    // The loss may be noticed by this send (retryable) or before it; either way the following one re-binds.
    let outcome = await c.send('+4915100000004', notification());
    if (outcome.kind !== 'sent') outcome = await c.send('+4915100000004', notification());
    expect(outcome.kind).toBe('sent');
    expect(binds - before).toBe(2);
  });

  it('§5.2.19 data_coding 8: a Unicode binding message is sent as UCS-2, long text in the message_payload TLV (§5.3.2.32)', async () => {
    const c = channel();
    const binding = 'Zahlung 山田 😀';
    await expect(c.send('+819012345678', notification(binding))).resolves.toMatchObject({ kind: 'sent' });
    const last = submitted.at(-1);
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
    const closed = smpp.createServer({});
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
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
