import type { AddressInfo } from 'node:net';
import smpp from 'smpp';
import type { Pdu, Server, Session } from 'smpp';
import { awaitRecorded } from './await-recorded.js';
import { waitFor } from '../wait-for.js';

/** SMPP 3.4 §5.1.3 command_status values the peer answers binds with. */
const ESME_RINVPASWD = 0x0e;
const ESME_RINVSYSID = 0x0f;

/** One submit_sm as the SMSC received it, the text decoded as its data_coding says. */
export interface SubmittedSm {
  readonly sourceAddr: string;
  readonly destination: string;
  readonly destTon: number;
  readonly destNpi: number;
  readonly dataCoding: number;
  readonly text: string;
  /** The text came in the message_payload TLV rather than short_message. */
  readonly viaPayload: boolean;
  /** The command_status it was answered with. */
  readonly status: number;
}

export interface SmppPeerOptions {
  /** bind_transceiver succeeds with exactly these. */
  readonly systemId: string;
  readonly password: string;
  /** A scripted command_status for a destination (digits, no '+'); undefined answers ESME_ROK. */
  readonly submitStatus?: (destination: string) => number | undefined;
}

function messageText(field: unknown): string {
  if (typeof field === 'string') return field;
  if (field && typeof field === 'object' && 'message' in field) {
    const message = field.message;
    return Buffer.isBuffer(message) ? message.toString('latin1') : String(message);
  }
  return '';
}

/** A small SMSC on 127.0.0.1 built with the `smpp` package in server mode: binds, submit_sm, enquire_link, unbind. */
export class SmppPeer {
  readonly submitted: SubmittedSm[] = [];
  binds = 0;
  unbinds = 0;

  private constructor(
    private readonly server: Server,
    /** `smpp://127.0.0.1:<port>`. */
    readonly url: string,
    /** What bind_transceiver accepts. */
    readonly credentials: { readonly systemId: string; readonly password: string },
  ) {}

  static async start(options: SmppPeerOptions): Promise<SmppPeer> {
    const state: { peer?: SmppPeer } = {};
    const server = smpp.createServer({}, (session: Session) => {
      const peer = state.peer!;
      session.on('error', () => undefined);
      session.on('bind_transceiver', (pdu: Pdu) => {
        peer.binds += 1;
        if (pdu.system_id !== options.systemId) return session.send(pdu.response({ command_status: ESME_RINVSYSID }));
        if (pdu.password !== options.password) return session.send(pdu.response({ command_status: ESME_RINVPASWD }));
        return session.send(pdu.response({ system_id: 'test-smsc' }));
      });
      session.on('submit_sm', (pdu: Pdu) => {
        const destination = String(pdu.destination_addr);
        const status = options.submitStatus?.(destination) ?? 0;
        const payloadText = messageText(pdu.message_payload);
        peer.submitted.push({
          sourceAddr: String(pdu.source_addr),
          destination,
          destTon: Number(pdu.dest_addr_ton),
          destNpi: Number(pdu.dest_addr_npi),
          dataCoding: Number(pdu.data_coding),
          text: payloadText || messageText(pdu.short_message),
          viaPayload: payloadText !== '',
          status,
        });
        if (status !== 0) return session.send(pdu.response({ command_status: status }));
        return session.send(pdu.response({ message_id: `msg-${peer.submitted.length}` }));
      });
      session.on('enquire_link', (pdu: Pdu) => session.send(pdu.response()));
      session.on('unbind', (pdu: Pdu) => {
        peer.unbinds += 1;
        session.send(pdu.response());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.peer = new SmppPeer(server, `smpp://127.0.0.1:${(server.address() as AddressInfo).port}`, { systemId: options.systemId, password: options.password });
    return state.peer;
  }

  /** The first message accepted for `destination` (E.164 with or without '+'), once it arrives. */
  messageTo(destination: string, timeoutMs?: number): Promise<SubmittedSm> {
    const digits = destination.replace(/^\+/, '');
    return awaitRecorded(this.submitted, (s) => s.destination === digits && s.status === 0, `SMS to ${destination}`, timeoutMs);
  }

  /** Drops every bound session, as an SMSC restart would. */
  async dropSessions(): Promise<void> {
    for (const session of [...this.server.sessions]) session.destroy();
    await waitFor(() => this.server.sessions.length === 0, { description: 'SMPP sessions dropped' });
  }

  async close(): Promise<void> {
    for (const session of [...this.server.sessions]) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
