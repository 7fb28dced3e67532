import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { MtlsSettings, ProviderConfig } from '@ciba/config';
import { certificateInKeys, certificateNamesClient, parseSubjectAltNames } from './certificate-match.js';
import { CLIENT_CERT_HEADER_MAX_LENGTH, ClientCertificates, decodeForwardedCertificate } from './client-certificate.js';

/** A self-signed certificate from the openssl CLI (`-subj` form subject, openssl SAN syntax). */
function certificate(subject: string, subjectAltNames: readonly string[] = []): X509Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'ciba-cert-spec-'));
  try {
    const san = subjectAltNames.length > 0 ? ['-addext', `subjectAltName=${subjectAltNames.join(',')}`] : [];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', subject, ...san,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate from an openssl configuration file (for SANs the command line cannot spell). */
function certificateFromConfig(lines: readonly string[]): X509Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'ciba-cert-spec-'));
  try {
    writeFileSync(join(dir, 'req.cnf'), `${lines.join('\n')}\n`);
    execFileSync('openssl', ['req', '-x509', '-config', join(dir, 'req.cnf'), '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RP = certificate('/C=GB/O=Example Bank/OU=Payments/CN=rp.example.com', ['DNS:rp.example.com', 'URI:https://rp.example.com/client', 'IP:10.1.2.3', 'IP:2001:db8::7', 'email:Ops@Example.com']);
const OTHER = certificate('/C=GB/O=Example Bank/OU=Payments/CN=other.example.com', ['DNS:other.example.com']);
const pem = RP.toString();
const thumbprint = createHash('sha256').update(RP.raw).digest('base64url');

const SETTINGS: MtlsSettings = { certHeader: 'x-ssl-client-cert', encoding: 'url-encoded-pem', trustedProxies: ['10.0.0.0/8', '::1/128'], verifyHeader: null };

function reader(settings: Partial<MtlsSettings> | null = {}): ClientCertificates {
  return new ClientCertificates({ mtls: settings === null ? null : { ...SETTINGS, ...settings } } as ProviderConfig);
}

function request(headers: Record<string, string[]>, remoteAddress = '10.9.8.7'): Request {
  return { headersDistinct: headers, socket: { remoteAddress } } as unknown as Request;
}

describe('forwarded client certificate (RFC 8705 behind a TLS-terminating proxy)', () => {
  it('reads nginx $ssl_client_escaped_cert: URL-encoded PEM', () => {
    const decoded = decodeForwardedCertificate(encodeURIComponent(pem), 'url-encoded-pem');
    expect(decoded).toBeInstanceOf(X509Certificate);
    expect((decoded as X509Certificate).raw.equals(RP.raw)).toBe(true);
  });

  it('reads a PEM whose lines the proxy folded with spaces or tabs', () => {
    const folded = pem.trim().split('\n').join('\n\t');
    expect(decodeForwardedCertificate(encodeURIComponent(folded), 'url-encoded-pem')).toBeInstanceOf(X509Certificate);
  });

  it('reads base64 DER (HAProxy ssl_c_der,base64)', () => {
    const decoded = decodeForwardedCertificate(RP.raw.toString('base64'), 'base64-der');
    expect((decoded as X509Certificate).raw.equals(RP.raw)).toBe(true);
  });

  it("reads Envoy's x-forwarded-client-cert Cert element, and refuses several elements or none", () => {
    const element = `By=spiffe://op.example/ns/ciba;Hash=abc;Cert="${encodeURIComponent(pem)}";Subject="CN=rp.example.com,O=Example Bank"`;
    expect(decodeForwardedCertificate(element, 'xfcc')).toBeInstanceOf(X509Certificate);
    expect(decodeForwardedCertificate(`${element},${element}`, 'xfcc')).toEqual({ reason: 'several_xfcc_elements' });
    expect(decodeForwardedCertificate('Hash=abc;Subject="CN=x"', 'xfcc')).toEqual({ reason: 'absent_xfcc_cert' });
    expect(decodeForwardedCertificate(`Cert="${encodeURIComponent(pem)}`, 'xfcc')).toEqual({ reason: 'malformed_xfcc' });
  });

  it('refuses garbage, a bad URL escape, two certificates, trailing bytes and a header over the size bound', () => {
    expect(decodeForwardedCertificate('garbage', 'url-encoded-pem')).toEqual({ reason: 'not_a_certificate' });
    expect(decodeForwardedCertificate('%E0%A4%A', 'url-encoded-pem')).toEqual({ reason: 'not_a_certificate' });
    expect(decodeForwardedCertificate(encodeURIComponent(pem + OTHER.toString()), 'url-encoded-pem')).toEqual({ reason: 'not_a_certificate' });
    expect(decodeForwardedCertificate('bm90IGEgY2VydGlmaWNhdGU=', 'base64-der')).toEqual({ reason: 'not_a_certificate' });
    expect(decodeForwardedCertificate('not base64!', 'base64-der')).toEqual({ reason: 'not_a_certificate' });
    expect(decodeForwardedCertificate(Buffer.concat([RP.raw, Buffer.from([0, 0])]).toString('base64'), 'base64-der')).toEqual({ reason: 'trailing_data' });
    expect(decodeForwardedCertificate('A'.repeat(CLIENT_CERT_HEADER_MAX_LENGTH + 1), 'base64-der')).toEqual({ reason: 'oversized' });
  });

  it('RFC 8705 §3.1 the thumbprint is the base64url SHA-256 of the DER certificate', () => {
    const reading = reader().read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem)] }));
    expect(reading).toMatchObject({ kind: 'present', presented: { thumbprint, chainVerified: null } });
  });

  it('ignores the header from a peer that is not a trusted proxy, whatever X-Forwarded-For says', () => {
    const headers = { 'x-ssl-client-cert': [encodeURIComponent(pem)], 'x-forwarded-for': ['10.9.8.7'] };
    expect(reader().read(request(headers, '192.0.2.10')).kind).toBe('untrusted_peer');
    expect(reader().read(request(headers, '::ffff:10.1.1.1')).kind).toBe('present');
    expect(reader().read(request(headers, '::1')).kind).toBe('present');
  });

  it('warns about headers from untrusted peers at most once a minute, with their count, so they cannot flood the log', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const certificates = reader();
      const headers = { 'x-ssl-client-cert': [encodeURIComponent(pem)] };
      for (let i = 0; i < 500; i++) expect(certificates.read(request(headers, '192.0.2.10')).kind).toBe('untrusted_peer');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toEqual({ header: 'x-ssl-client-cert', count: 1 });
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses the header sent twice, and reads nothing when mutual TLS is off or no header came', () => {
    expect(reader().read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem), encodeURIComponent(OTHER.toString())] }))).toEqual({ kind: 'malformed', reason: 'several_headers' });
    expect(reader(null).read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem)] })).kind).toBe('absent');
    expect(reader().read(request({})).kind).toBe('absent');
    expect(reader().enabled).toBe(true);
    expect(reader(null).enabled).toBe(false);
  });

  it("with a verify header, records whether the proxy verified the chain (nginx $ssl_client_verify)", () => {
    const certs = reader({ verifyHeader: 'x-ssl-client-verify' });
    const verified = certs.read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem)], 'x-ssl-client-verify': ['SUCCESS'] }));
    const failed = certs.read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem)], 'x-ssl-client-verify': ['FAILED:self signed certificate'] }));
    const missing = certs.read(request({ 'x-ssl-client-cert': [encodeURIComponent(pem)] }));
    expect(verified).toMatchObject({ presented: { chainVerified: true } });
    expect(failed).toMatchObject({ presented: { chainVerified: false } });
    expect(missing).toMatchObject({ presented: { chainVerified: false } });
  });
});

describe('the certificate names the client (RFC 8705 §2.1.2)', () => {
  it('tls_client_auth_subject_dn: the RFC 4514 string of the subject, in its reversed order', () => {
    expect(certificateNamesClient(RP, { kind: 'subject_dn', value: 'CN=rp.example.com,OU=Payments,O=Example Bank,C=GB' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'subject_dn', value: 'cn=RP.example.com, ou=payments, o=example bank, c=gb' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'subject_dn', value: 'CN=rp.example.com,O=Example Bank,C=GB' })).toBe(false);
    expect(certificateNamesClient(OTHER, { kind: 'subject_dn', value: 'CN=rp.example.com,OU=Payments,O=Example Bank,C=GB' })).toBe(false);
  });

  it('tls_client_auth_san_dns: a dNSName entry, case-insensitive', () => {
    expect(certificateNamesClient(RP, { kind: 'san_dns', value: 'RP.example.com' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'san_dns', value: 'example.com' })).toBe(false);
    // The subject's CN is not a dNSName entry.
    expect(certificateNamesClient(certificate('/CN=cn-only.example.com'), { kind: 'san_dns', value: 'cn-only.example.com' })).toBe(false);
  });

  it('tls_client_auth_san_uri: a URI entry, exactly; a dNSName with the same text is not one', () => {
    expect(certificateNamesClient(RP, { kind: 'san_uri', value: 'https://rp.example.com/client' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'san_uri', value: 'https://rp.example.com/CLIENT' })).toBe(false);
    expect(certificateNamesClient(RP, { kind: 'san_uri', value: 'rp.example.com' })).toBe(false);
  });

  it('tls_client_auth_san_ip: an iPAddress entry in any notation', () => {
    expect(certificateNamesClient(RP, { kind: 'san_ip', value: '10.1.2.3' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'san_ip', value: '2001:0db8:0:0::7' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'san_ip', value: '10.1.2.4' })).toBe(false);
  });

  it('tls_client_auth_san_email: an rfc822Name entry, the domain case-insensitive, the local part not', () => {
    expect(certificateNamesClient(RP, { kind: 'san_email', value: 'Ops@example.COM' })).toBe(true);
    expect(certificateNamesClient(RP, { kind: 'san_email', value: 'ops@example.com' })).toBe(false);
  });

  it("reads Node's subjectAltName text, JSON-quoted values included, and refuses what it cannot read", () => {
    expect(parseSubjectAltNames('DNS:a.example, URI:"https://x.example/a\\u002cb", IP Address:10.0.0.1')).toEqual([
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'https://x.example/a,b' },
      { type: 'IP Address', value: '10.0.0.1' },
    ]);
    expect(parseSubjectAltNames('DNS:"unterminated')).toBeNull();
    expect(parseSubjectAltNames('no colon here')).toBeNull();
  });

  it('a certificate with ", DNS:" inside a SAN URI cannot pose as a dNSName entry', () => {
    const tricky = certificateFromConfig(['[req]', 'distinguished_name=dn', 'x509_extensions=ext', 'prompt=no', '[dn]', 'CN=tricky', '[ext]', 'subjectAltName=@alt', '[alt]', 'URI.1=https://evil.example/x, DNS:rp.example.com']);
    expect(tricky.subjectAltName).toContain('URI:"https://evil.example/x');
    expect(certificateNamesClient(tricky, { kind: 'san_dns', value: 'rp.example.com' })).toBe(false);
  });
});

describe('the certificate is a registered key (RFC 8705 §2.2)', () => {
  it('matches the x5c[0] of a registered key, byte for byte, and nothing else', () => {
    const keys = [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, { kty: 'EC', x5c: [RP.raw.toString('base64')] }];
    expect(certificateInKeys(RP, keys)).toBe(true);
    expect(certificateInKeys(OTHER, keys)).toBe(false);
    expect(certificateInKeys(RP, [{ kty: 'EC', x5c: 'not-an-array' }, { kty: 'EC', x5c: [] }])).toBe(false);
  });
});
