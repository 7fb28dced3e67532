import type { Pdu, Session } from 'smpp';
import { z } from 'zod';
import { parseChannelOptions } from '../../channel-options.js';
import type { ApprovalNotification, DeviceAnnouncement, EnrolmentInvitation, SendOutcome, SmsChannel } from '../../channel.js';
import { encodeGsm7, encodeUcs2, isGsm7 } from '../gsm7.js';
import { renderDeviceAnnouncementSmsText, renderEnrolmentSmsText, renderSmsText } from '../sms-text.js';
import { lazySdk, preload } from '../../vendor-sdk.js';

const loadSmpp = lazySdk(() => import('smpp'));

/** SMPP 3.4 §5.1.3 command_status values this adapter distinguishes. */
export const SmppStatus = {
  ESME_ROK: 0x00,
  ESME_RSYSERR: 0x08,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
} as const;

/** SMPP 3.4 §5.2.19 data_coding. */
const DATA_CODING_SMSC_DEFAULT = 0x00;
const DATA_CODING_UCS2 = 0x08;
/** SMPP 3.4 §5.2.21: short_message holds at most 254 octets, but one GSM segment is 140 octets. */
const SINGLE_SEGMENT_OCTETS = 140;

const optionalNonEmpty = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());
const byte = z.number().int().min(0).max(255);

export const smppSmsOptionsSchema = z.object({
  url: z.string().regex(/^smpp:\/\/[^/:]+:\d+\/?$/, "must look like 'smpp://host:port'"),
  systemId: z.string().min(1, 'is required').max(15, 'is at most 15 characters (SMPP 3.4 §4.1.1)'),
  password: z.string().min(1, 'is required').max(8, 'is at most 8 characters (SMPP 3.4 §4.1.1)'),
  systemType: optionalNonEmpty,
  sourceAddr: z.string().min(1, 'is required').max(20),
  sourceAddrTon: byte.optional(),
  sourceAddrNpi: byte.optional(),
  enquireLinkMs: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  productName: z.string().min(1).optional(),
});

export type SmppSmsOptions = z.input<typeof smppSmsOptionsSchema>;
type ParsedOptions = z.output<typeof smppSmsOptionsSchema>;

const ENV_VARIABLES = { url: 'CIBA_SMPP_URL', systemId: 'CIBA_SMPP_SYSTEM_ID', password: 'CIBA_SMPP_PASSWORD', sourceAddr: 'CIBA_SMPP_SOURCE_ADDR' };

function parseOptions(input: unknown, variables: Readonly<Record<string, string>> = {}): ParsedOptions {
  return parseChannelOptions(smppSmsOptionsSchema, input, 'Invalid SMPP configuration', variables);
}

export function smppSmsOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): ParsedOptions {
  return parseOptions({
    url: env.CIBA_SMPP_URL,
    systemId: env.CIBA_SMPP_SYSTEM_ID,
    password: env.CIBA_SMPP_PASSWORD,
    sourceAddr: env.CIBA_SMPP_SOURCE_ADDR,
  }, ENV_VARIABLES);
}

class SmppFailure extends Error {
  constructor(readonly outcome: Exclude<SendOutcome, { kind: 'sent' }>) {
    super(outcome.reason);
  }
}

const retryable = (reason: string): SmppFailure => new SmppFailure({ kind: 'retryable', reason, retryAfterMs: null });
const permanent = (reason: string): SmppFailure => new SmppFailure({ kind: 'permanent', reason });

/**
 * SMS over SMPP 3.4 to an SMSC: one bound transceiver session (§4.1.5 bind_transceiver), opened on
 * first use and re-opened by the next send after it is lost; periodic enquire_link keeps NAT and the
 * SMSC's inactivity timer happy.
 *
 * Encoding: data_coding 0 (SMSC default alphabet, GSM 03.38 unpacked) when the text is GSM-7-safe,
 * otherwise 8 (UCS-2, UTF-16BE). A text longer than one segment (140 octets) goes in the
 * message_payload TLV (§5.3.2.32, up to 64 KB) with an empty short_message, rather than being split
 * into UDH-concatenated parts: one submit_sm, one message_id, one outcome to classify.
 */
export class SmppSmsChannel implements SmsChannel {
  readonly kind = 'sms' as const;
  readonly vendor = 'smpp';

  private readonly options: ParsedOptions;
  private session: Promise<Session> | null = null;
  private boundSession: Session | null = null;
  private readonly inFlight = new Set<(failure: SmppFailure) => void>();
  private closed = false;

  constructor(options: SmppSmsOptions) {
    this.options = parseOptions(options);
    preload(loadSmpp);
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>): SmppSmsChannel {
    return new SmppSmsChannel(smppSmsOptionsFromEnv(env));
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.deliver(to, () => renderSmsText(notification, { productName: this.options.productName }));
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return this.deliver(to, () => renderEnrolmentSmsText(invitation, { productName: this.options.productName }));
  }

  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome> {
    return this.deliver(to, () => renderDeviceAnnouncementSmsText(announcement, { productName: this.options.productName }));
  }

  private async deliver(to: string, render: () => string): Promise<SendOutcome> {
    if (this.closed) return { kind: 'permanent', reason: 'smpp_channel_closed' };
    const destination = to.replace(/^\+/, '');
    if (!/^[1-9]\d{1,14}$/.test(destination)) return { kind: 'permanent', reason: 'smpp_invalid_destination' };

    const text = render();
    const gsm = isGsm7(text);
    const encoded = gsm ? encodeGsm7(text) : encodeUcs2(text);
    const body = encoded.length <= SINGLE_SEGMENT_OCTETS ? { short_message: encoded } : { short_message: Buffer.alloc(0), message_payload: encoded };
    const alphanumericSource = /[^\d+]/.test(this.options.sourceAddr);

    try {
      const session = await this.bound();
      const resp = await this.request(session, (cb) =>
        session.submit_sm(
          {
            source_addr_ton: this.options.sourceAddrTon ?? (alphanumericSource ? 5 : 1),
            source_addr_npi: this.options.sourceAddrNpi ?? (alphanumericSource ? 0 : 1),
            source_addr: this.options.sourceAddr.replace(/^\+/, ''),
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: destination,
            data_coding: gsm ? DATA_CODING_SMSC_DEFAULT : DATA_CODING_UCS2,
            ...body,
          },
          cb,
        ),
      );
      return classifySubmit(resp);
    } catch (error) {
      if (error instanceof SmppFailure) return error.outcome;
      return { kind: 'retryable', reason: 'smpp_unreachable', retryAfterMs: null };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.session;
    this.session = null;
    this.boundSession = null;
    if (!pending) return;
    const session = await pending.catch(() => null);
    if (!session) return;
    await this.request(session, (cb) => session.unbind({}, cb)).catch(() => undefined);
    await new Promise<void>((resolve) => session.close(resolve));
  }

  /** The bound session, binding first if there is none (SMPP 3.4 §4.1.5). */
  private bound(): Promise<Session> {
    this.session ??= this.bind().catch((error: unknown) => {
      this.session = null;
      throw error;
    });
    return this.session;
  }

  private async bind(): Promise<Session> {
    const { default: smpp } = await loadSmpp();
    return new Promise<Session>((resolve, reject) => {
      const session = smpp.connect({ url: this.options.url, auto_enquire_link_period: this.options.enquireLinkMs ?? 30_000 });
      let settled = false;
      const fail = (failure: SmppFailure): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.destroy();
        reject(failure);
      };
      const timer = setTimeout(() => fail(retryable('smpp_timeout')), this.timeoutMs);

      session.on('error', () => fail(retryable('smpp_unreachable')));
      session.on('close', () => {
        fail(retryable('smpp_connection_lost'));
        this.dropSession(session);
      });
      // The SMSC may talk to us too: answer so it does not consider the link dead.
      session.on('enquire_link', (pdu: Pdu) => session.send(pdu.response()));
      session.on('deliver_sm', (pdu: Pdu) => session.send(pdu.response()));
      session.on('unbind', (pdu: Pdu) => {
        session.send(pdu.response());
        session.close();
      });

      session.on('connect', () => {
        session.bind_transceiver({ system_id: this.options.systemId, password: this.options.password, system_type: this.options.systemType ?? '' }, (resp) => {
          if (resp.command_status === SmppStatus.ESME_ROK) {
            settled = true;
            clearTimeout(timer);
            this.boundSession = session;
            resolve(session);
          } else {
            fail(classifyBind(resp.command_status));
          }
        });
      });
    });
  }

  /** Forgets a lost session and fails whatever was waiting on it, so the next send re-binds. */
  private dropSession(session: Session): void {
    if (this.boundSession !== session) return;
    this.boundSession = null;
    this.session = null;
    for (const reject of this.inFlight) reject(retryable('smpp_connection_lost'));
  }

  /** One request/response exchange with a deadline; a silent SMSC costs the session. */
  private request(session: Session, sendPdu: (callback: (pdu: Pdu) => void) => boolean): Promise<Pdu> {
    return new Promise<Pdu>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.inFlight.delete(onFailure);
      };
      const onFailure = (failure: SmppFailure): void => {
        finish();
        reject(failure);
      };
      const timer = setTimeout(() => {
        onFailure(retryable('smpp_timeout'));
        session.destroy();
      }, this.timeoutMs);
      this.inFlight.add(onFailure);
      const written = sendPdu((pdu) => {
        finish();
        resolve(pdu);
      });
      if (!written) {
        // The socket is already half-closed; do not wait for its 'close' event to forget it.
        onFailure(retryable('smpp_connection_lost'));
        this.dropSession(session);
        session.destroy();
      }
    });
  }
}

function hex(status: number): string {
  return `0x${status.toString(16).padStart(2, '0')}`;
}

function classifyBind(status: number): SmppFailure {
  if (status === SmppStatus.ESME_RTHROTTLED) return retryable('smpp_throttled');
  if (status === SmppStatus.ESME_RSYSERR) return retryable('smpp_system_error');
  return permanent('smpp_bind_failed');
}

/** SMPP 3.4 §4.4.2 submit_sm_resp, by §5.1.3 command_status. */
function classifySubmit(resp: Pdu): SendOutcome {
  switch (resp.command_status) {
    case SmppStatus.ESME_ROK:
      return { kind: 'sent', providerMessageId: typeof resp.message_id === 'string' && resp.message_id !== '' ? resp.message_id : null };
    case SmppStatus.ESME_RTHROTTLED:
      return { kind: 'retryable', reason: 'smpp_throttled', retryAfterMs: null };
    case SmppStatus.ESME_RMSGQFUL:
      return { kind: 'retryable', reason: 'smpp_queue_full', retryAfterMs: null };
    case SmppStatus.ESME_RSYSERR:
    case SmppStatus.ESME_RSUBMITFAIL:
      return { kind: 'retryable', reason: `smpp_status_${hex(resp.command_status)}`, retryAfterMs: null };
    case SmppStatus.ESME_RINVDSTADR:
      return { kind: 'permanent', reason: 'smpp_invalid_destination' };
    default:
      return { kind: 'permanent', reason: `smpp_status_${hex(resp.command_status)}` };
  }
}
