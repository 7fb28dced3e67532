import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate for a client's mutual TLS (RFC 8705), as a TLS-terminating proxy would see it. */
export interface ClientCertificate {
  readonly pem: string;
  readonly der: Buffer;
  /** RFC 8705 §3.1 `x5t#S256`. */
  readonly thumbprint: string;
  /** For an x5c member (RFC 7517 §4.7): standard base64 of the DER. */
  readonly x5c: string;
}

/** A certificate authority that issues client certificates (what a proxy's trust store would hold). */
export interface TestCertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function inTemporaryFolder<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ciba-client-cert-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function certificateOf(pem: string): ClientCertificate {
  const der = new X509Certificate(pem).raw;
  return { pem, der, thumbprint: createHash('sha256').update(der).digest('base64url'), x5c: der.toString('base64') };
}

export function testCertificateAuthority(subject = '/CN=CIBA Test Client CA'): TestCertificateAuthority {
  return inTemporaryFolder((dir) => {
    openssl(['req', '-x509', ...EC_KEY, '-days', '1', '-subj', subject, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
    return { certPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
}

/**
 * A client certificate made with the openssl CLI: `subject` in openssl's `-subj` form
 * (`/C=GB/O=Example Bank/CN=rp.example.com`), `subjectAltNames` as openssl writes them
 * (`DNS:rp.example.com`, `URI:https://rp.example.com`, `IP:10.0.0.1`, `email:rp@example.com`);
 * issued by `authority`, or self-signed without one.
 */
export function testClientCertificate(options: {
  readonly subject: string;
  readonly subjectAltNames?: readonly string[];
  readonly authority?: TestCertificateAuthority;
}): ClientCertificate {
  const san = options.subjectAltNames?.length ? ['-addext', `subjectAltName=${options.subjectAltNames.join(',')}`] : [];
  return inTemporaryFolder((dir) => {
    const out = join(dir, 'cert.pem');
    if (options.authority === undefined) {
      openssl(['req', '-x509', ...EC_KEY, '-days', '1', '-subj', options.subject, ...san, '-keyout', join(dir, 'key.pem'), '-out', out]);
    } else {
      writeAuthority(dir, options.authority);
      openssl(['req', '-new', ...EC_KEY, '-subj', options.subject, ...san, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'req.csr')]);
      openssl(['x509', '-req', '-in', join(dir, 'req.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '1', '-copy_extensions', 'copy', '-out', out]);
    }
    return certificateOf(readFileSync(out, 'utf8'));
  });
}

function writeAuthority(dir: string, authority: TestCertificateAuthority): void {
  writeFileSync(join(dir, 'ca.pem'), authority.certPem);
  writeFileSync(join(dir, 'ca.key'), authority.keyPem, { mode: 0o600 });
}

/**
 * The header value a TLS-terminating proxy sends for `certificate`: nginx `$ssl_client_escaped_cert`
 * (`url-encoded-pem`), HAProxy `ssl_c_der,base64` (`base64-der`) or Envoy's
 * `x-forwarded-client-cert` (`xfcc`).
 */
export function forwardedCertificateHeader(certificate: ClientCertificate, encoding: 'url-encoded-pem' | 'base64-der' | 'xfcc'): string {
  switch (encoding) {
    case 'url-encoded-pem':
      return encodeURIComponent(certificate.pem);
    case 'base64-der':
      return certificate.der.toString('base64');
    case 'xfcc':
      return `Hash=${createHash('sha256').update(certificate.der).digest('hex')};Cert="${encodeURIComponent(certificate.pem)}";Subject="CN=ignored"`;
  }
}
