import type { SendOutcome } from '../../channel.js';

/** The fields of a nodemailer error this classifier reads; everything else (message, response text) may hold an address. */
interface SmtpErrorLike {
  readonly code?: unknown;
  /** The Node.js code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …) nodemailer replaced with its own. */
  readonly originalCode?: unknown;
  readonly responseCode?: unknown;
  readonly command?: unknown;
  readonly message?: unknown;
}

type Failure = Exclude<SendOutcome, { kind: 'sent' }>;

const retryable = (reason: string): Failure => ({ kind: 'retryable', reason, retryAfterMs: null });
const permanent = (reason: string): Failure => ({ kind: 'permanent', reason });

/**
 * Maps a nodemailer failure to a SendOutcome. Reply classes follow RFC 5321 §4.2.1: 4yz is a transient
 * negative completion (retry later), 5yz a permanent one (the same message will be refused again), with
 * 503 (bad sequence) treated as transient since a fresh session can succeed. Reasons are short codes
 * that never carry the address or the server's reply text.
 */
export function classifySmtpError(error: unknown): Failure {
  const err: SmtpErrorLike = typeof error === 'object' && error !== null ? error : {};
  const code = typeof err.code === 'string' ? err.code : undefined;
  const reply = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const command = typeof err.command === 'string' ? err.command : undefined;
  const originalCode = typeof err.originalCode === 'string' ? err.originalCode : undefined;

  // A server certificate that does not verify against the configured CA (or does not match the host)
  // is a misconfiguration on one side or an attack: retrying will not fix it, someone has to look.
  if (originalCode !== undefined && TLS_CERTIFICATE_CODE.test(originalCode)) return permanent('tls_certificate_rejected');

  // RFC 4954 §6: 535 means the credentials were rejected. Retrying cannot help: this is a
  // misconfiguration of the provider (wrong user or password), so it goes straight to the dead letter
  // and shows up in alerts rather than silently burning retries. 454 is a temporary auth failure.
  if (reply === 535 || ((code === 'EAUTH' || code === 'ENOAUTH') && !isTransient(reply))) return permanent('smtp_auth_failed');

  // RFC 3207: the server refused or does not offer STARTTLS while we require it. Sending in plaintext
  // is not an option, and the server will not grow TLS support between retries: a misconfiguration.
  if (code === 'ETLS') {
    if (command === 'STARTTLS' && isTransient(reply)) return retryable('smtp_tls_unavailable');
    if (command === 'STARTTLS' && reply !== undefined) return permanent('tls_required');
    if (typeof err.message === 'string' && /certificate|cert_|altname/i.test(err.message)) return permanent('tls_certificate_rejected');
    return retryable('smtp_tls_failed');
  }

  if (reply !== undefined && reply >= 400 && reply < 600) {
    return isTransient(reply) ? retryable(`smtp_reply_${reply}`) : permanent(`smtp_reply_${reply}`);
  }

  switch (code ?? '') {
    case 'EENVELOPE':
      // Without a reply code nodemailer refused the envelope itself (an unparseable address).
      return permanent('invalid_recipient');
    case 'ECONNECTION':
    case 'ESOCKET':
      return retryable('smtp_connection_failed');
    case 'ETIMEDOUT':
      return retryable('smtp_timeout');
    case 'EDNS':
      return retryable('smtp_dns_failed');
    case 'EPROTOCOL':
      return retryable('smtp_protocol_error');
    case 'ECONFIG':
      return permanent('smtp_config_invalid');
    default:
      return retryable('smtp_error');
  }
}

/** Node.js / OpenSSL verification failure codes (tls.TLSSocket `authorizationError`, ERR_TLS_CERT_ALTNAME_INVALID). */
const TLS_CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function isTransient(reply: number | undefined): boolean {
  return reply !== undefined && ((reply >= 400 && reply < 500) || reply === 503);
}
