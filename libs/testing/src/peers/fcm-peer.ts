import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import { awaitRecorded } from './await-recorded.js';
import { type HttpsPeer, type RecordedRequest, type TlsIdentity, replyJson, selfSignedCert, startHttpsPeer, temporaryFile } from './https-peer.js';

/** The OAuth scope the FCM HTTP v1 API requires. */
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The fields of a Google service-account key file that a sender reads. */
export interface ServiceAccountKey {
  readonly client_email: string;
  readonly private_key: string;
  readonly token_uri: string;
}

/** One messages:send request that carried a valid access token. */
export interface FcmSend {
  readonly request: RecordedRequest;
  readonly projectId: string;
  /** The body's `message` object (FCM v1 Message). */
  readonly message: Record<string, unknown>;
  /** The HTTP status it was answered with. */
  readonly status: number;
}

export interface FcmReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** An FCM v1 error body (google.rpc.Status with an FcmError detail). */
export function fcmError(code: number, status: string, errorCode: string): unknown {
  return { error: { code, status, message: errorCode, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] } };
}

export interface FcmPeerOptions {
  readonly projectId?: string;
  readonly tls?: TlsIdentity;
}

/**
 * Google's side of FCM on loopback HTTPS: an OAuth 2.0 token endpoint (`/token`) that grants access
 * tokens for an RFC 7523 §2.1 JWT bearer assertion signed with the service account's key, and the
 * FCM HTTP v1 `messages:send` API, which requires one of those tokens. The service account is made
 * at start (`serviceAccount`, and as a key file at `serviceAccountFile`).
 */
export class FcmPeer {
  readonly sends: FcmSend[] = [];
  /** Why assertions were refused. */
  readonly assertionErrors: string[] = [];
  tokensIssued = 0;
  private readonly validTokens = new Set<string>();
  private readonly script: FcmReply[] = [];

  private constructor(
    private readonly peer: HttpsPeer,
    /** The peer's certificate, for the sender's trusted CAs. */
    readonly ca: Buffer,
    readonly projectId: string,
    readonly serviceAccount: ServiceAccountKey,
    private readonly publicKey: KeyObject,
    private readonly keyFile: { readonly path: string; remove(): void },
  ) {}

  static async start(options: FcmPeerOptions = {}): Promise<FcmPeer> {
    const tls = options.tls ?? selfSignedCert();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const state: { fcm?: FcmPeer } = {};
    const peer = await startHttpsPeer(tls, (req, res) => state.fcm!.handle(req, res));
    const serviceAccount: ServiceAccountKey = {
      client_email: 'ciba-push@demo-project.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: `${peer.origin}/token`,
    };
    const keyFile = temporaryFile('service-account.json', JSON.stringify({ type: 'service_account', ...serviceAccount }));
    state.fcm = new FcmPeer(peer, tls.cert, options.projectId ?? 'demo-project', serviceAccount, publicKey, keyFile);
    return state.fcm;
  }

  /** The API origin, in place of `https://fcm.googleapis.com`. */
  get origin(): string {
    return this.peer.origin;
  }

  /** Every request, token requests included. */
  get requests(): readonly RecordedRequest[] {
    return this.peer.requests;
  }

  get serviceAccountFile(): string {
    return this.keyFile.path;
  }

  /** The next authorised sends are answered with these, in order (then 200 with a message name). */
  replyNext(...replies: FcmReply[]): void {
    this.script.push(...replies);
  }

  /** The first message delivered (200) to `registrationToken`, once it arrives. */
  messageTo(registrationToken: string, timeoutMs?: number): Promise<FcmSend> {
    return awaitRecorded(this.sends, (s) => s.message['token'] === registrationToken && s.status === 200, 'an FCM message', timeoutMs);
  }

  async close(): Promise<void> {
    await this.peer.close();
    this.keyFile.remove();
  }

  private handle(req: RecordedRequest, res: ServerResponse): void {
    if (req.url === '/token' && req.method === 'POST') {
      this.verifyAssertion(req).then(
        () => {
          const token = `ya29.token-${++this.tokensIssued}`;
          this.validTokens.add(token);
          replyJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3599 });
        },
        (error: Error) => {
          this.assertionErrors.push(error.message);
          replyJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
        },
      );
      return;
    }
    const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url);
    if (!send || req.method !== 'POST') return replyJson(res, 404, fcmError(404, 'NOT_FOUND', 'UNSPECIFIED_ERROR'));
    const bearer = /^Bearer (.+)$/.exec(String(req.headers['authorization'] ?? ''))?.[1];
    if (!bearer || !this.validTokens.has(bearer)) return replyJson(res, 401, fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'));
    if (send[1] !== this.projectId) return replyJson(res, 403, fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH'));
    let message: Record<string, unknown>;
    try {
      message = (JSON.parse(req.body.toString('utf8')) as { message: Record<string, unknown> }).message;
      if (typeof message !== 'object' || message === null) throw new Error('no message');
    } catch {
      return replyJson(res, 400, fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'));
    }
    const reply = this.script.shift() ?? { status: 200, body: { name: `projects/${this.projectId}/messages/0:${this.sends.length + 1}` } };
    this.sends.push({ request: req, projectId: send[1], message, status: reply.status });
    replyJson(res, reply.status, reply.body, reply.headers);
  }

  /** RFC 7523 §3: the assertion's signature, issuer, subject, audience, scope and lifetime. */
  private async verifyAssertion(req: RecordedRequest): Promise<void> {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== JWT_BEARER_GRANT) throw new Error('grant_type');
    const { client_email: email, token_uri: audience } = this.serviceAccount;
    const { payload } = await jwtVerify(form.get('assertion') ?? '', this.publicKey, { algorithms: ['RS256'], issuer: email, subject: email, audience });
    if (payload['scope'] !== FCM_SCOPE) throw new Error('scope');
    if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp - payload.iat > 3600) throw new Error('lifetime');
  }
}
