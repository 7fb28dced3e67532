import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { type DestinationStream, stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import { installedTracing } from '../tracing/flow-tracing.js';
import { serializeError } from './error-serializer.js';

export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * Paths pino removes from every log line: credentials, tokens, hints, codes, email addresses and
 * phone numbers. Request bodies and headers are never logged whole (see the serializers below).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.client_secret',
  '*.clientSecret',
  '*.client_assertion',
  '*.clientSecretSealed',
  '*.login_hint',
  '*.loginHint',
  '*.login_hint_token',
  '*.id_token_hint',
  '*.user_code',
  '*.binding_message',
  '*.client_notification_token',
  '*.clientNotificationToken',
  '*.auth_req_id',
  '*.authReqId',
  '*.access_token',
  '*.id_token',
  '*.refresh_token',
  // RFC 7591 / 7592: the registration access token (the initial access token only ever travels in Authorization).
  '*.registration_access_token',
  '*.registrationAccessToken',
  '*.decisionToken',
  '*.token',
  '*.email',
  '*.phone_number',
  '*.phoneNumber',
  '*.preferred_username',
  '*.preferredUsername',
  '*.username',
  '*.password',
  '*.encryptionKey',
  // Device push targets: a Web Push subscription or an FCM registration token reaches the user's device.
  '*.subscription',
  '*.registration_token',
  '*.registrationToken',
  '*.enrolUrl',
  // Passkey step-up: WebAuthn challenges, credentials (their ids identify the user's authenticator) and assertions.
  '*.challenge',
  '*.credential',
  '*.credentialId',
  '*.assertion',
];

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Path segments that are bearer secrets: the approval-link and enrolment-link tokens
 * (`/approve/<token>`, `/enrol/<token>`). The logged path keeps the route, never the token.
 */
const SECRET_PATH = /^\/(approve|enrol|enrol\/remove)\/[A-Za-z0-9_-]{16,}/;

/** The request path as logged: without query string, link tokens replaced. */
export function loggablePath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.replace(SECRET_PATH, (_match, route: string) => `/${route}/[redacted]`);
}

/** Take the caller's correlation id when it is well-formed, otherwise mint one. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && CORRELATION_ID.test(value) ? value : randomUUID();
}

/** `destination`: where the JSON lines go (stdout by default). */
export function pinoParams(service: string, level: string, destination?: DestinationStream): Params {
  const tracing = installedTracing();
  const options: Options = {
    level,
    base: { service },
    // With tracing on, each line written inside a span carries its `trace_id` and `span_id`.
    ...(tracing.enabled ? { mixin: () => tracing.logFields() ?? {} } : {}),
    // `"time":"2026-12-03T12:00:00.000Z"`: readable as it stands, and what log shippers parse.
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = correlationIdFrom(req.headers[CORRELATION_HEADER]);
      res.setHeader(CORRELATION_HEADER, id);
      return id;
    },
    customAttributeKeys: { reqId: 'correlationId' },
    serializers: {
      // Only what an operator needs; never headers, bodies or query strings.
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        path: loggablePath(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      // Never an error's bound SQL parameters, raw body or input-quoting message.
      err: serializeError,
    },
    autoLogging: { ignore: (req: IncomingMessage) => req.url === '/healthz' || req.url === '/readyz' },
  };
  return { pinoHttp: destination ? [options, destination] : options };
}
