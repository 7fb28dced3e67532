import { DENIAL_REASONS, LIFECYCLE_EVENT_TYPES, PROMPT_LIMIT_KINDS } from '@ciba/domain';
import type { LifecycleEvent, LifecycleEventType } from '@ciba/domain';
import { MalformedMessage } from './errors.js';

/** Version 1 of the lifecycle event envelope; bump alongside `LifecycleEvent['version']`. */
export const LIFECYCLE_EVENT_VERSION = 1;

const ENVELOPE_STRINGS = ['eventId', 'requestId', 'clientId', 'subject', 'occurredAt'] as const;
/** Device events name a device instead of a request, and a client only when one took part. */
const DEVICE_ENVELOPE_STRINGS = ['eventId', 'deviceId', 'subject', 'occurredAt'] as const;
const DELIVERY_MODES: readonly unknown[] = ['poll', 'ping', 'push'];
const DEVICE_KINDS: readonly unknown[] = ['web-push', 'fcm'];
const DEVICE_REGISTRARS: readonly unknown[] = ['enrolment_link', 'client'];
const DEVICE_REVOKERS: readonly unknown[] = ['client', 'enrolment_link', 'removal_link', 'admin', 'provider'];
const DEVICE_REVOCATION_REASONS: readonly unknown[] = ['revoked', 'gone', 'replaced'];

type Json = Record<string, unknown>;

/** Bounds of the fields a downstream report brings from outside (the endpoint enforces tighter ones). */
const JTI_MAX = 256;
const DOWNSTREAM_TEXT_MAX = 1024;

/**
 * Validates a decoded message (or its JSON text) against the lifecycle event schema.
 * Unknown extra fields are kept: a newer producer may add optional fields within version 1.
 */
const CALLBACK_TRIGGERS: readonly unknown[] = ['approved', 'denied', 'expired'];

export function parseLifecycleEvent(json: unknown): LifecycleEvent {
  const value = typeof json === 'string' ? parseJson(json) : json;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MalformedMessage('lifecycle event must be a JSON object');
  }
  const event = value as Json;
  if (!isLifecycleEventType(event['type'])) {
    throw new MalformedMessage(`unknown lifecycle event type ${describe(event['type'])}`);
  }
  if (event['version'] !== LIFECYCLE_EVENT_VERSION) {
    throw new MalformedMessage(`unsupported lifecycle event version ${describe(event['version'])}`);
  }
  const device = event['type'] === 'device.registered' || event['type'] === 'device.revoked';
  for (const field of device ? DEVICE_ENVELOPE_STRINGS : ENVELOPE_STRINGS) requireString(event, field);
  if (!(typeof event['correlationId'] === 'string' || event['correlationId'] === null)) {
    throw new MalformedMessage('correlationId must be a string or null');
  }
  if (device) {
    require(event, 'clientId', event['clientId'] === null || (typeof event['clientId'] === 'string' && event['clientId'] !== ''), 'a non-empty string or null');
    require(event, 'kind', DEVICE_KINDS.includes(event['kind']), 'web-push or fcm');
    require(event, 'label', event['label'] === null || typeof event['label'] === 'string', 'a string or null');
  }
  switch (event['type']) {
    case 'auth_request.created':
      require(event, 'deliveryMode', DELIVERY_MODES.includes(event['deliveryMode']), 'poll, ping or push');
      require(event, 'scope', isStringArray(event['scope']), 'an array of strings');
      requireString(event, 'hintType');
      requireString(event, 'expiresAt');
      require(event, 'interval', event['interval'] === null || Number.isFinite(event['interval']), 'a number or null');
      require(event, 'hasBindingMessage', typeof event['hasBindingMessage'] === 'boolean', 'a boolean');
      // Optional within version 1: producers before RFC 9396 support do not send it.
      require(
        event,
        'authorizationDetailsTypes',
        event['authorizationDetailsTypes'] === undefined || isStringArray(event['authorizationDetailsTypes']),
        'an array of strings when present',
      );
      // Optional within version 1, for the audit evidence record: producers before it do not send them.
      for (const key of ['issuer', 'backchannelEndpoint', 'userHintHash']) {
        require(event, key, event[key] === undefined || (typeof event[key] === 'string' && event[key] !== ''), 'a non-empty string when present');
      }
      require(event, 'acrValues', event['acrValues'] === undefined || isStringArray(event['acrValues']), 'an array of strings when present');
      require(event, 'bindingMessage', event['bindingMessage'] === undefined || event['bindingMessage'] === null || typeof event['bindingMessage'] === 'string', 'a string or null when present');
      break;
    case 'auth_request.device_notified':
      requireString(event, 'channel');
      // Optional within version 1: the channels that did not deliver before this one.
      require(
        event,
        'tried',
        event['tried'] === undefined ||
          (Array.isArray(event['tried']) &&
            event['tried'].every((t: unknown) => typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>)['channel'] === 'string' && typeof (t as Record<string, unknown>)['outcome'] === 'string')),
        'an array of { channel, outcome } strings when present',
      );
      break;
    case 'auth_request.device_notification_failed':
      require(event, 'attempt', Number.isInteger(event['attempt']) && (event['attempt'] as number) >= 1, 'an integer of at least 1');
      require(
        event,
        'tried',
        Array.isArray(event['tried']) &&
          event['tried'].every((t: unknown) => typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>)['channel'] === 'string' && typeof (t as Record<string, unknown>)['outcome'] === 'string'),
        'an array of { channel, outcome } strings',
      );
      require(event, 'final', typeof event['final'] === 'boolean', 'a boolean');
      break;
    case 'auth_request.denied':
      require(event, 'reason', (DENIAL_REASONS as readonly unknown[]).includes(event['reason']), DENIAL_REASONS.join(' or '));
      // Optional within version 1: present when a prompt limit refused the request.
      require(event, 'limit', event['limit'] === undefined || (PROMPT_LIMIT_KINDS as readonly unknown[]).includes(event['limit']), `${PROMPT_LIMIT_KINDS.join(', ')} when present`);
      break;
    case 'auth_request.redeemed':
      require(event, 'tokens', isStringArray(event['tokens']), 'an array of strings');
      // Optional within version 1: producers before it (and push mode) do not send it.
      require(event, 'accessTokenJti', event['accessTokenJti'] === undefined || isBoundedString(event['accessTokenJti'], JTI_MAX), `a non-empty string of at most ${JTI_MAX} characters when present`);
      break;
    case 'auth_request.tokens_refreshed':
      require(event, 'accessTokenJti', isBoundedString(event['accessTokenJti'], JTI_MAX), `a non-empty string of at most ${JTI_MAX} characters`);
      require(event, 'scope', isStringArray(event['scope']), 'an array of strings');
      break;
    case 'auth_request.downstream_reported':
      require(event, 'jti', isBoundedString(event['jti'], JTI_MAX), `a non-empty string of at most ${JTI_MAX} characters`);
      require(event, 'outcome', event['outcome'] === 'allowed' || event['outcome'] === 'blocked', 'allowed or blocked');
      require(event, 'action', isBoundedString(event['action'], DOWNSTREAM_TEXT_MAX), `a non-empty string of at most ${DOWNSTREAM_TEXT_MAX} characters`);
      for (const key of ['resource', 'reason']) {
        require(event, key, event[key] === null || isBoundedString(event[key], DOWNSTREAM_TEXT_MAX), `a non-empty string of at most ${DOWNSTREAM_TEXT_MAX} characters, or null`);
      }
      requireString(event, 'reporterClientId');
      requireString(event, 'reportedAt');
      break;
    case 'auth_request.client_notified':
    case 'auth_request.client_notification_failed':
      require(event, 'mode', event['mode'] === 'ping' || event['mode'] === 'push', 'ping or push');
      require(event, 'trigger', CALLBACK_TRIGGERS.includes(event['trigger']), 'approved, denied or expired');
      require(event, 'attempts', Number.isInteger(event['attempts']), 'an integer');
      // Optional within version 1: the HTTP status of the last attempt.
      require(event, 'status', event['status'] === undefined || event['status'] === null || Number.isInteger(event['status']), 'an integer or null when present');
      if (event['type'] === 'auth_request.client_notification_failed') requireString(event, 'reason');
      break;
    case 'auth_request.client_notification_attempted':
      require(event, 'mode', event['mode'] === 'ping' || event['mode'] === 'push', 'ping or push');
      require(event, 'trigger', CALLBACK_TRIGGERS.includes(event['trigger']), 'approved, denied or expired');
      require(event, 'attempt', Number.isInteger(event['attempt']) && (event['attempt'] as number) >= 1, 'a positive integer');
      require(event, 'outcome', event['outcome'] === 'delivered' || event['outcome'] === 'retry' || event['outcome'] === 'failed', 'delivered, retry or failed');
      require(event, 'status', event['status'] === null || Number.isInteger(event['status']), 'an integer or null');
      require(event, 'reason', event['reason'] === null || typeof event['reason'] === 'string', 'a string or null');
      break;
    case 'auth_request.approved':
      // Optional within version 1: present only after a step-up.
      require(event, 'acr', event['acr'] === undefined || (typeof event['acr'] === 'string' && event['acr'] !== ''), 'a string when present');
      require(event, 'amr', event['amr'] === undefined || isStringArray(event['amr']), 'an array of strings when present');
      break;
    case 'auth_request.expired':
      break;
    case 'device.registered':
      require(event, 'via', DEVICE_REGISTRARS.includes(event['via']), 'enrolment_link or client');
      require(event, 'clientId', (event['via'] === 'client') === (event['clientId'] !== null), 'set exactly when via is client');
      requireString(event, 'expiresAt');
      break;
    case 'device.revoked':
      require(event, 'via', DEVICE_REVOKERS.includes(event['via']), DEVICE_REVOKERS.join(', '));
      require(event, 'clientId', (event['via'] === 'client') === (event['clientId'] !== null), 'set exactly when via is client');
      require(event, 'reason', DEVICE_REVOCATION_REASONS.includes(event['reason']), DEVICE_REVOCATION_REASONS.join(', '));
      break;
  }
  return event as unknown as LifecycleEvent;
}

/** Decodes message bytes (UTF-8 JSON) and validates them. */
export function decodeLifecycleEvent(data: Uint8Array): LifecycleEvent {
  return parseLifecycleEvent(parseJson(new TextDecoder().decode(data)));
}

export function encodeLifecycleEvent(event: LifecycleEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

export function isLifecycleEventType(value: unknown): value is LifecycleEventType {
  return typeof value === 'string' && (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedMessage('message is not valid JSON');
  }
}

function requireString(event: Json, field: string): void {
  require(event, field, typeof event[field] === 'string' && event[field] !== '', 'a non-empty string');
}

function require(event: Json, field: string, ok: boolean, expected: string): void {
  if (!ok) throw new MalformedMessage(`${String(event['type'])}: ${field} must be ${expected}`);
}

function isBoundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value !== '' && value.length <= max;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Short, safe rendering of an offending value for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 64));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return typeof value;
}
