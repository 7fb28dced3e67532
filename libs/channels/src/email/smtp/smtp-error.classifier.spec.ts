import { describe, expect, it } from '@jest/globals';
import { classifySmtpError } from './smtp-error.classifier.js';

function smtpError(fields: { code?: string; originalCode?: string; responseCode?: number; command?: string; message?: string }): Error {
  return Object.assign(new Error(fields.message ?? 'failed'), fields);
}

describe('classifySmtpError (RFC 5321 reply classes)', () => {
  it.each([
    [550, 'permanent'],
    [553, 'permanent'],
    [554, 'permanent'],
    [451, 'retryable'],
    [452, 'retryable'],
    [421, 'retryable'],
    [503, 'retryable'],
  ] as const)('reply %i on RCPT TO is %s', (responseCode, kind) => {
    const outcome = classifySmtpError(smtpError({ code: 'EENVELOPE', responseCode, command: 'RCPT TO' }));
    expect(outcome.kind).toBe(kind);
    expect(outcome).toMatchObject({ reason: `smtp_reply_${responseCode}` });
  });

  it('treats 535 as a permanent misconfiguration', () => {
    expect(classifySmtpError(smtpError({ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }))).toEqual({ kind: 'permanent', reason: 'smtp_auth_failed' });
  });

  it('treats 454 (temporary authentication failure, RFC 4954) as retryable', () => {
    expect(classifySmtpError(smtpError({ code: 'EAUTH', responseCode: 454, command: 'AUTH PLAIN' })).kind).toBe('retryable');
  });

  it('treats missing credentials as smtp_auth_failed', () => {
    expect(classifySmtpError(smtpError({ code: 'EAUTH', command: 'API' }))).toEqual({ kind: 'permanent', reason: 'smtp_auth_failed' });
  });

  it.each(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'EPROTOCOL'])('network-level %s is retryable', (code) => {
    expect(classifySmtpError(smtpError({ code })).kind).toBe('retryable');
  });

  it('treats an envelope refused before any reply as an invalid recipient', () => {
    expect(classifySmtpError(smtpError({ code: 'EENVELOPE', command: 'API' }))).toEqual({ kind: 'permanent', reason: 'invalid_recipient' });
  });

  it('RFC 3207: a refused STARTTLS is permanent tls_required, a 454 is retryable', () => {
    expect(classifySmtpError(smtpError({ code: 'ETLS', responseCode: 502, command: 'STARTTLS' }))).toEqual({ kind: 'permanent', reason: 'tls_required' });
    expect(classifySmtpError(smtpError({ code: 'ETLS', responseCode: 454, command: 'STARTTLS' })).kind).toBe('retryable');
  });

  it('a certificate that does not verify is permanent', () => {
    const err = smtpError({ code: 'ETLS', command: 'STARTTLS', message: 'Error initiating TLS - self-signed certificate' });
    expect(classifySmtpError(err)).toEqual({ kind: 'permanent', reason: 'tls_certificate_rejected' });
  });

  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED'])(
    'a TLS socket failing verification with %s is permanent',
    (originalCode) => {
      expect(classifySmtpError(smtpError({ code: 'ESOCKET', originalCode }))).toEqual({ kind: 'permanent', reason: 'tls_certificate_rejected' });
    },
  );

  it('a refused or reset connection stays retryable', () => {
    expect(classifySmtpError(smtpError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' })).kind).toBe('retryable');
    expect(classifySmtpError(smtpError({ code: 'ESOCKET', originalCode: 'ECONNRESET' })).kind).toBe('retryable');
  });

  it('never puts the address or reply text into the reason', () => {
    const outcome = classifySmtpError(smtpError({ code: 'EENVELOPE', responseCode: 550, message: '550 5.1.1 <alice@example.com> unknown' }));
    expect(JSON.stringify(outcome)).not.toContain('alice');
  });

  it('falls back to retryable for anything unknown', () => {
    expect(classifySmtpError('boom')).toEqual({ kind: 'retryable', reason: 'smtp_error', retryAfterMs: null });
  });
});
