import { type ECDH, createECDH, randomBytes, randomUUID } from 'node:crypto';
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { awaitRecorded } from './await-recorded.js';
import { type HttpsPeer, type RecordedRequest, type TlsIdentity, selfSignedCert, startHttpsPeer } from './https-peer.js';

/** What a browser's `PushSubscription.toJSON()` gives the application server. */
export interface BrowserSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** The application server's identity, as the push service verified it (RFC 8292). */
export interface VerifiedVapid {
  /** The `sub` claim: a mailto: or https: contact. */
  readonly subject: string;
  /** The `k` parameter: the application server's public key, base64url. */
  readonly publicKey: string;
  /** The `exp` claim, seconds since the epoch. */
  readonly expiresAt: number;
}

export interface ReceivedPush {
  readonly request: RecordedRequest;
  /** The endpoint the message was posted to. */
  readonly endpoint: string;
  readonly vapid: VerifiedVapid | null;
  /** The decrypted message (RFC 8291), as the browser's service worker would see it. */
  readonly plaintext: string | null;
  /** `plaintext` parsed as JSON, when it is JSON. */
  readonly payload: unknown;
  /** Why the push service refused the message, when it did before any scripted reply. */
  readonly problem: string | null;
  /** The HTTP status it was answered with. */
  readonly status: number;
}

export interface PushReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

interface Subscriber {
  readonly ecdh: ECDH;
  readonly authSecret: Buffer;
  readonly applicationServerKey: string | null;
}

/** RFC 8292 §2: a VAPID token is valid for at most 24 hours. */
const MAX_VAPID_LIFETIME_S = 24 * 3600;

/**
 * A push service (RFC 8030) on loopback HTTPS, and the browsers subscribed to it: `subscribe()` makes a
 * subscription with its own P-256 key pair and auth secret. Each message is checked as a push service
 * and a browser would: the VAPID JWT verified against `k` (RFC 8292: ES256, audience = this origin, at
 * most 24 h), the aes128gcm body decrypted (RFC 8291). A bad token is answered 401, a key other than
 * the subscription's applicationServerKey 403, an undecryptable body 400, an unknown endpoint 404;
 * otherwise `reply(...)` decides (default 201 with a Location).
 */
export class WebPushReceiver {
  readonly received: ReceivedPush[] = [];
  private readonly subscribers = new Map<string, Subscriber>();
  private replier: (push: ReceivedPush) => PushReply | undefined = () => undefined;

  private constructor(
    private readonly peer: HttpsPeer,
    /** The receiver's certificate, for the sender's trusted CAs. */
    readonly ca: Buffer,
  ) {}

  static async start(tls: TlsIdentity = selfSignedCert()): Promise<WebPushReceiver> {
    const state: { receiver?: WebPushReceiver } = {};
    const peer = await startHttpsPeer(tls, (req, res) => {
      const receiver = state.receiver!;
      void receiver.accept(req).then(({ push, reply }) => {
        receiver.received.push(push);
        res.writeHead(reply.status, reply.headers).end();
      });
    });
    state.receiver = new WebPushReceiver(peer, tls.cert);
    return state.receiver;
  }

  get origin(): string {
    return this.peer.origin;
  }

  /** A new browser subscription; with `applicationServerKey` it is restricted to that VAPID key. */
  subscribe(applicationServerKey: string | null = null): BrowserSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const endpoint = `${this.origin}/push/${randomUUID()}`;
    this.subscribers.set(new URL(endpoint).pathname, { ecdh, authSecret, applicationServerKey });
    return { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') } };
  }

  /** Scripts the answer to messages that passed the checks; undefined: 201 Created. */
  reply(replier: (push: ReceivedPush) => PushReply | undefined): void {
    this.replier = replier;
  }

  /** The first message accepted (2xx) for `subscription`, once it arrives. */
  pushTo(subscription: BrowserSubscription, timeoutMs?: number): Promise<ReceivedPush> {
    return awaitRecorded(this.received, (p) => p.endpoint === subscription.endpoint && p.status < 300, 'a push message', timeoutMs);
  }

  close(): Promise<void> {
    return this.peer.close();
  }

  private async accept(request: RecordedRequest): Promise<{ push: ReceivedPush; reply: PushReply }> {
    const endpoint = `${this.origin}${request.url}`;
    const refuse = (status: number, problem: string, vapid: VerifiedVapid | null = null) => ({
      push: { request, endpoint, vapid, plaintext: null, payload: null, problem, status },
      reply: { status },
    });
    const subscriber = this.subscribers.get(request.url);
    if (request.method !== 'POST' || !subscriber) return refuse(404, 'no such subscription');

    let vapid: VerifiedVapid;
    try {
      vapid = await this.verifyVapid(String(request.headers['authorization'] ?? ''));
    } catch (error) {
      return refuse(401, `VAPID: ${(error as Error).message}`);
    }
    if (subscriber.applicationServerKey !== null && subscriber.applicationServerKey !== vapid.publicKey) {
      return refuse(403, 'the VAPID key is not the applicationServerKey of the subscription', vapid);
    }
    if (request.headers['content-encoding'] !== 'aes128gcm') return refuse(400, 'content-encoding is not aes128gcm', vapid);
    let plaintext: string;
    try {
      plaintext = ece.decrypt(request.body, { version: 'aes128gcm', privateKey: subscriber.ecdh, authSecret: subscriber.authSecret }).toString('utf8');
    } catch (error) {
      return refuse(400, `cannot decrypt: ${(error as Error).message}`, vapid);
    }
    let payload: unknown = null;
    try {
      payload = JSON.parse(plaintext);
    } catch {
      payload = null;
    }
    const accepted = { request, endpoint, vapid, plaintext, payload, problem: null };
    const reply = this.replier({ ...accepted, status: 201 }) ?? { status: 201, headers: { location: `${this.origin}/message/${randomUUID()}` } };
    return { push: { ...accepted, status: reply.status }, reply };
  }

  /** RFC 8292 §2–3: `Authorization: vapid t=<JWT>, k=<public key>`, the JWT signed with k's private key. */
  private async verifyVapid(authorization: string): Promise<VerifiedVapid> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match) throw new Error('no vapid Authorization');
    const [, jwt, k] = match;
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 0x04) throw new Error('k is not an uncompressed P-256 point');
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, 'ES256');
    const { payload } = await jwtVerify(jwt, key, { algorithms: ['ES256'], audience: this.origin, requiredClaims: ['exp', 'sub'] });
    if (payload.exp! - Math.floor(Date.now() / 1000) > MAX_VAPID_LIFETIME_S) throw new Error('exp is more than 24 hours ahead');
    if (!/^(mailto:|https:)/.test(payload.sub!)) throw new Error('sub is neither mailto: nor https:');
    return { subject: payload.sub!, publicKey: k, expiresAt: payload.exp! };
  }
}
