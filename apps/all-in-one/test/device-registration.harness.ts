import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { type ConfiguredChannels, type WebPushSubscription, FcmChannel, WebPushChannel } from '@ciba/channels';
import { SmppPeer, SmtpPeer, type WebPushReceiver, awaitRecorded, mailParts, smppEnvironment, smtpEnvironment } from '@ciba/testing';
import { DeviceEnrolment, channelsFromEnvironment } from '@ciba/service-notifier';
import { CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

export const ENROL_LINK = /https?:\/\/[^\s"<>]+\/enrol\/[A-Za-z0-9_-]{43}/;
export const REMOVAL_LINK = /https?:\/\/[^\s"<>]+\/enrol\/remove\/[A-Za-z0-9_-]{43}/;

/** A throwaway Firebase service account: the FCM adapter is enabled but never called in these tests. */
function testServiceAccount() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return { client_email: 'ciba@test-project.iam.gserviceaccount.com', private_key: privateKey, token_uri: 'https://oauth2.googleapis.com/token' };
}

export const VAPID = WebPushChannel.generateVapidKeys();

/** The push service of the test subscriptions (`webPushSubscription`). */
export const TEST_PUSH_SERVICE = 'push.example.net';

/**
 * The Web Push adapter, sending to the local push service `pushService` (a real HTTPS receiver).
 * Trusting its certificate takes an agent, an adapter option with no variable; destroy it after.
 */
export function webPushTo(pushService: WebPushReceiver): { readonly webPush: WebPushChannel; readonly agent: Agent } {
  const agent = new Agent({ ca: pushService.ca, keepAlive: false });
  const webPush = new WebPushChannel({
    vapidSubject: 'mailto:ops@op.example.com',
    vapidPublicKey: VAPID.publicKey,
    vapidPrivateKey: VAPID.privateKey,
    agent,
    allowedEndpointHosts: [new URL(pushService.origin).host],
  });
  return { webPush, agent };
}

/**
 * Email through a real SMTP relay and SMS through a real SMSC (the SMTP and SMPP test peers), as an
 * operator configures them, plus both device-push adapters (Web Push, FCM) enabled.
 */
export function deviceRegistrationChannels(smtp: SmtpPeer, smsc: SmppPeer): ConfiguredChannels {
  const configured = channelsFromEnvironment({ ...smtpEnvironment(smtp), ...smppEnvironment(smsc) });
  return {
    ...configured,
    devicePush: [
      // The test subscriptions' push service; nothing is sent to it in these tests.
      new WebPushChannel({ vapidSubject: 'mailto:ops@op.example.com', vapidPublicKey: VAPID.publicKey, vapidPrivateKey: VAPID.privateKey, allowedEndpointHosts: [TEST_PUSH_SERVICE] }),
      new FcmChannel({ projectId: 'test-project', serviceAccount: testServiceAccount() }),
    ],
  };
}

/** The provider with `deviceRegistrationChannels` (or what `narrow` leaves of them), and its SMTP relay and SMSC. */
export interface DeviceRegistrationProvider {
  readonly op: TestProvider;
  readonly smtp: SmtpPeer;
  readonly smsc: SmppPeer;
  /** Closes the provider, then the SMSC and the relay. */
  close(): Promise<void>;
}

export async function startDeviceRegistrationProvider(
  narrow: (channels: ConfiguredChannels) => ConfiguredChannels = (channels) => channels,
  env: Record<string, string> = {},
): Promise<DeviceRegistrationProvider> {
  const smtp = await SmtpPeer.start();
  const smsc = await SmppPeer.start({ systemId: 'ciba', password: 's3cret' });
  const op = await startTestProvider(env, { channels: narrow(deviceRegistrationChannels(smtp, smsc)) });
  return {
    op,
    smtp,
    smsc,
    async close() {
      await op.close();
      await smsc.close();
      await smtp.close();
    },
  };
}

/**
 * The enrolment link in the text part of the next enrolment mail to `to` after the first `after` the
 * relay received (new-device announcements to the same address are passed over).
 */
export async function enrolLinkMailed(smtp: SmtpPeer, to: string, after: number): Promise<string> {
  const isEnrolment = (m: (typeof smtp.received)[number]) => ENROL_LINK.test(mailParts(m.raw).text ?? '');
  const mail = await awaitRecorded(smtp.received, (m) => smtp.received.indexOf(m) >= after && m.rcptTo.includes(to) && isEnrolment(m), `an enrolment email to ${to}`);
  const link = ENROL_LINK.exec(mailParts(mail.raw).text ?? '')?.[0];
  if (!link) throw new Error('the enrolment email carries no link');
  return link;
}

/** Sends `sub` an enrolment link by email through the provider and reads it out of the relay. */
export async function emailedEnrolLink(op: TestProvider, smtp: SmtpPeer, sub = 'alice', to = 'alice@example.com'): Promise<string> {
  const before = smtp.received.length;
  const sent = await op.app.get(DeviceEnrolment).sendLink(sub, 'email');
  if (sent.outcome.kind !== 'sent') throw new Error(`the enrolment email was not sent: ${JSON.stringify(sent.outcome)}`);
  return enrolLinkMailed(smtp, to, before);
}

/** A browser-like push subscription: a fresh P-256 key and auth secret, a unique https endpoint. */
export function webPushSubscription(endpoint = `https://push.example.net/send/${randomBytes(12).toString('base64url')}`): WebPushSubscription {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

/**
 * Real tokens for `sub`, issued to `client`, from a whole CIBA poll flow: bc-authorize, the device
 * emulator's notification, SUCCEED, token request.
 */
export async function tokensFor(op: TestProvider, sub: string, client: TestClient = CLIENTS.basic, scope = 'openid'): Promise<Record<string, unknown>> {
  const message = uniqueMessage('Devices');
  const { authReqId } = await op.authorize({ login_hint: sub, binding_message: message, scope }, client);
  const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
  const decided = await op.decide(decisionToken, 'SUCCEED');
  if (decided.status !== 200) throw new Error(`the device callback answered ${decided.status}`);
  const tokens = await op.token(authReqId, client);
  if (tokens.status !== 200 || typeof tokens.body['id_token'] !== 'string') throw new Error(`the token endpoint answered ${tokens.status}: ${JSON.stringify(tokens.body)}`);
  return tokens.body;
}

/** A real ID token for `sub`, issued to `client` (by default the basic console client) for an authentication just now. */
export async function idTokenFor(op: TestProvider, sub: string, client: TestClient = CLIENTS.basic): Promise<string> {
  return String((await tokensFor(op, sub, client))['id_token']);
}

/** `Authorization: Basic` for `client`: how every client authenticates to the device API, whatever it uses at the token endpoint. */
export function basicAuthorization(client: TestClient): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // HTML pages and empty bodies.
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface DeviceApiCall {
  /** Authenticates as this client (HTTP Basic). */
  readonly client?: TestClient;
  /** The user's ID token: in the `ID-Token-Hint` header (GET, DELETE; POST when asked), else as `id_token_hint` in a POST body. */
  readonly idToken?: string;
  readonly idTokenIn?: 'body' | 'header';
  /** `Authorization: Bearer` (an enrolment token). */
  readonly bearer?: string;
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

/** One call to the device API (`/ext/ciba/devices…`), as an app or client would make it. */
export async function deviceApi(op: TestProvider, method: string, path: string, call: DeviceApiCall = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}) };
  if (call.client) headers['authorization'] = basicAuthorization(call.client);
  if (call.bearer !== undefined) headers['authorization'] = `Bearer ${call.bearer}`;
  let body = call.body;
  if (call.idToken !== undefined) {
    const inBody = call.idTokenIn === 'body' || (call.idTokenIn === undefined && method === 'POST');
    if (inBody) body = { ...body, id_token_hint: call.idToken };
    else headers['id-token-hint'] = call.idToken;
  }
  Object.assign(headers, call.headers);
  return answer(await fetch(`${op.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

/** The removal link in the next new-device announcement mailed to `to` that names `label` (after the first `after` mails). */
export async function removalLinkMailed(smtp: SmtpPeer, to: string, label: string, after = 0): Promise<string> {
  const mail = await awaitRecorded(
    smtp.received,
    (m) => smtp.received.indexOf(m) >= after && m.rcptTo.includes(to) && REMOVAL_LINK.test(mailParts(m.raw).text ?? '') && (mailParts(m.raw).text ?? '').includes(`"${label}"`),
    `a new-device announcement to ${to} naming "${label}"`,
  );
  return REMOVAL_LINK.exec(mailParts(mail.raw).text ?? '')![0];
}

/** The enrolment page's CSRF pair: the `data-csrf` attribute and the cookie the GET set. */
export function enrolCsrfOf(html: string, setCookie: string | null): { header: string; cookie: string } {
  return { header: /data-csrf="([^"]+)"/.exec(html)?.[1] ?? '', cookie: /ciba_enrol_csrf=([^;]*)/.exec(setCookie ?? '')?.[1] ?? '' };
}

/** POSTs `body` to an enrolment link with the page's CSRF header and cookie, from its origin, as the page's script does; `headers` adds to them. */
export function postToEnrolLink(link: string, csrf: { header: string; cookie: string }, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf.header, cookie: `ciba_enrol_csrf=${csrf.cookie}`, origin: new URL(link).origin, ...headers },
    body: JSON.stringify(body),
  });
}
