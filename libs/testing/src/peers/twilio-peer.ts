import type { ServerResponse } from 'node:http';
import { awaitRecorded } from './await-recorded.js';
import { type HttpsPeer, type TlsIdentity, replyJson, selfSignedCert, startHttpsPeer } from './https-peer.js';

/** One request to the Messages API as the peer received it. */
export interface TwilioRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string;
  readonly form: URLSearchParams;
  /** The HTTP status it was answered with. */
  readonly status: number;
}

export interface TwilioReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** A Twilio REST error body (https://www.twilio.com/docs/api/errors). */
export function twilioError(status: number, code: number, message: string): TwilioReply {
  return { status, body: { code, message, status } };
}

export interface TwilioPeerOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** A scripted answer for an authenticated message create; undefined: 201 queued. */
  readonly reply?: (form: URLSearchParams) => TwilioReply | undefined;
  readonly tls?: TlsIdentity;
}

/**
 * Twilio's Programmable Messaging API on loopback HTTPS: `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * with HTTP Basic auth (account SID : auth token) and a form body, answered like Twilio (201 with an
 * `SM…` sid, 401 code 20003, 404 code 20404).
 */
export class TwilioPeer {
  readonly received: TwilioRequest[] = [];

  private constructor(
    private readonly peer: HttpsPeer,
    /** The peer's certificate, for the sender's trusted CAs. */
    readonly ca: Buffer,
  ) {}

  static async start(options: TwilioPeerOptions): Promise<TwilioPeer> {
    const tls = options.tls ?? selfSignedCert();
    const state: { twilio?: TwilioPeer } = {};
    const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
    const messagesPath = `/2010-04-01/Accounts/${options.accountSid}/Messages.json`;
    const peer = await startHttpsPeer(tls, (req, res) => {
      const form = new URLSearchParams(req.body.toString('utf8'));
      const answer = (reply: TwilioReply) => state.twilio!.answer(res, { method: req.method, path: req.url, authorization: String(req.headers['authorization'] ?? ''), form }, reply);
      if (req.headers['authorization'] !== expectedAuth) return answer(twilioError(401, 20003, 'Authenticate'));
      if (req.method !== 'POST' || req.url !== messagesPath) return answer(twilioError(404, 20404, 'Not found'));
      const to = form.get('To');
      const scripted = options.reply?.(form);
      if (scripted) return answer(scripted);
      const sid = `SM${String(state.twilio!.received.length + 1).padStart(32, '0')}`;
      return answer({
        status: 201,
        body: { sid, account_sid: options.accountSid, to, from: form.get('From'), messaging_service_sid: form.get('MessagingServiceSid'), body: form.get('Body'), status: 'queued', api_version: '2010-04-01' },
      });
    });
    state.twilio = new TwilioPeer(peer, tls.cert);
    return state.twilio;
  }

  /** The API origin, in place of `https://api.twilio.com`. */
  get origin(): string {
    return this.peer.origin;
  }

  /** The first message accepted (201) for `to`, once it arrives. */
  messageTo(to: string, timeoutMs?: number): Promise<TwilioRequest> {
    return awaitRecorded(this.received, (r) => r.form.get('To') === to && r.status === 201, `SMS to ${to}`, timeoutMs);
  }

  close(): Promise<void> {
    return this.peer.close();
  }

  private answer(res: ServerResponse, request: Omit<TwilioRequest, 'status'>, reply: TwilioReply): void {
    this.received.push({ ...request, status: reply.status });
    replyJson(res, reply.status, reply.body, reply.headers);
  }
}
