import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/**
 * The browser's answers to a WebAuthn ceremony, as the page scripts send them (the JSON forms of
 * `PublicKeyCredential`, WebAuthn L3 §5.1.8), checked for shape before any lookup. Problems name
 * the field, never a value: these carry challenges and credential ids, which are never logged.
 */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Generous for attestation objects with certificate chains; the body parsers cap requests at 100 kB anyway. */
const MAX_FIELD_CHARS = 32_768;
/** WebAuthn §5.1: credential ids are at most 1023 bytes (1364 base64url characters). */
const MAX_CREDENTIAL_ID_CHARS = 1364;
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function base64url(value: unknown, maxChars = MAX_FIELD_CHARS): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxChars && BASE64URL.test(value);
}

/** The parts every public-key credential has: id = rawId, type public-key, and a response object. */
function credentialParts(input: unknown): Parsed<{ id: string; response: Record<string, unknown>; attachment: 'platform' | 'cross-platform' | undefined }> {
  const fields = asObject(input);
  if (!fields) return fail('the credential must be a JSON object');
  const { id, rawId, type, response, authenticatorAttachment } = fields;
  if (!base64url(id, MAX_CREDENTIAL_ID_CHARS) || rawId !== id) return fail('id and rawId must be the same base64url credential id');
  if (type !== 'public-key') return fail('type must be public-key');
  const parts = asObject(response);
  if (!parts) return fail('response must be an object');
  if (!base64url(parts['clientDataJSON'])) return fail('response.clientDataJSON must be base64url');
  const attachment = authenticatorAttachment === 'platform' || authenticatorAttachment === 'cross-platform' ? authenticatorAttachment : undefined;
  return ok({ id, response: parts, attachment });
}

/** `PublicKeyCredential.toJSON()` after `navigator.credentials.create()`. */
export function parseRegistrationResponse(input: unknown): Parsed<RegistrationResponseJSON> {
  const parts = credentialParts(input);
  if (!parts.ok) return parts;
  const { id, response, attachment } = parts.value;
  if (!base64url(response['attestationObject'])) return fail('response.attestationObject must be base64url');
  const transports = response['transports'] ?? [];
  if (!Array.isArray(transports) || transports.length > TRANSPORTS.size || !transports.every((t) => typeof t === 'string')) {
    return fail('response.transports must be a list of strings');
  }
  return ok({
    id,
    rawId: id,
    type: 'public-key',
    response: {
      clientDataJSON: response['clientDataJSON'] as string,
      attestationObject: response['attestationObject'],
      // Only the values WebAuthn defines are kept: they go back to browsers in allowCredentials.
      transports: transports.filter((t: string) => TRANSPORTS.has(t)),
    },
    ...(attachment ? { authenticatorAttachment: attachment } : {}),
    clientExtensionResults: {},
  });
}

/** `PublicKeyCredential.toJSON()` after `navigator.credentials.get()`. */
export function parseAuthenticationResponse(input: unknown): Parsed<AuthenticationResponseJSON> {
  const parts = credentialParts(input);
  if (!parts.ok) return parts;
  const { id, response, attachment } = parts.value;
  if (!base64url(response['authenticatorData'])) return fail('response.authenticatorData must be base64url');
  if (!base64url(response['signature'])) return fail('response.signature must be base64url');
  const userHandle = response['userHandle'];
  if (userHandle !== undefined && userHandle !== null && !base64url(userHandle, 128)) return fail('response.userHandle must be base64url');
  return ok({
    id,
    rawId: id,
    type: 'public-key',
    response: {
      clientDataJSON: response['clientDataJSON'] as string,
      authenticatorData: response['authenticatorData'],
      signature: response['signature'],
      ...(typeof userHandle === 'string' && userHandle !== '' ? { userHandle } : {}),
    },
    ...(attachment ? { authenticatorAttachment: attachment } : {}),
    clientExtensionResults: {},
  });
}

/**
 * The challenge the browser signed, read from `clientDataJSON` (WebAuthn §5.8.1), so the stored
 * challenge can be used up before the signature is checked. Null when it is not there. The
 * verification that follows checks clientDataJSON properly (type, origin, challenge).
 */
export function signedChallenge(clientDataJSON: string): string | null {
  try {
    const data: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    const challenge = asObject(data)?.['challenge'];
    return base64url(challenge, 512) ? challenge : null;
  } catch {
    return null;
  }
}
