import { describe, expect, it } from '@jest/globals';
import { formatDistinguishedName, parseCertificateName, parseRfc4514, sameDistinguishedName } from './distinguished-name.js';

/** RFC 4514 string on one side, Node's `X509Certificate#subject` text on the other. */
function matches(registered: string, certificate: string): boolean {
  const a = parseRfc4514(registered);
  const b = parseCertificateName(certificate);
  if (a === null || b === null) throw new Error('unparsable');
  return sameDistinguishedName(a, b);
}

describe('distinguished names (RFC 4514, RFC 8705 §2.1.2 tls_client_auth_subject_dn)', () => {
  it('RFC 4514 §2.1 reads the string from the last RDN to the first: it matches the certificate order reversed', () => {
    expect(matches('CN=rp.example.com,O=Example Bank,C=GB', 'C=GB\nO=Example Bank\nCN=rp.example.com')).toBe(true);
    expect(matches('C=GB,O=Example Bank,CN=rp.example.com', 'C=GB\nO=Example Bank\nCN=rp.example.com')).toBe(false);
  });

  it('RFC 4517 caseIgnoreMatch: case and runs of white space do not matter, spaces around separators neither', () => {
    expect(matches('cn=RP.Example.COM, o=Example   Bank , c=gb', 'C=GB\nO=Example Bank\nCN=rp.example.com')).toBe(true);
  });

  it('a different value, a missing or an extra RDN does not match', () => {
    expect(matches('CN=rp.example.com,O=Example Bank,C=GB', 'C=GB\nO=Other Bank\nCN=rp.example.com')).toBe(false);
    expect(matches('CN=rp.example.com,C=GB', 'C=GB\nO=Example Bank\nCN=rp.example.com')).toBe(false);
    expect(matches('CN=rp.example.com,OU=Payments,O=Example Bank,C=GB', 'C=GB\nO=Example Bank\nCN=rp.example.com')).toBe(false);
  });

  it('RFC 4514 §2.4 escapes: a comma or plus inside a value is one value, not a separator', () => {
    // Node prints `a, b +c` as `a\, b \+c` (RFC 2253 escaping).
    expect(matches('CN=a\\, b \\+c,C=US', 'C=US\nCN=a\\, b \\+c')).toBe(true);
    expect(matches('CN=a\\2C b \\2Bc,C=US', 'C=US\nCN=a\\, b \\+c')).toBe(true);
    expect(matches('CN=a,CN=b \\+c,C=US', 'C=US\nCN=a\\, b \\+c')).toBe(false);
  });

  it('RFC 4514 §2.2 multi-valued RDNs match in any order, and only as one RDN', () => {
    expect(matches('UID=x+CN=Alice,C=US', 'C=US\nCN=Alice + UID=x')).toBe(true);
    expect(matches('UID=x,CN=Alice,C=US', 'C=US\nCN=Alice + UID=x')).toBe(false);
  });

  it('attribute types by name or OID: E, emailAddress and 1.2.840.113549.1.9.1 are one type', () => {
    expect(matches('E=rp@example.com,C=US', 'C=US\nemailAddress=rp@example.com')).toBe(true);
    expect(matches('1.2.840.113549.1.9.1=rp@example.com,2.5.4.6=US', 'C=US\nemailAddress=rp@example.com')).toBe(true);
    expect(matches('2.5.4.97=PSDGB-FCA-123456,C=GB', 'C=GB\norganizationIdentifier=PSDGB-FCA-123456')).toBe(true);
  });

  it('UTF-8 values and hex-escaped UTF-8 are the same value; a control character is escaped in hex', () => {
    expect(matches('L=Z\\C3\\BCrich,C=CH', 'C=CH\nL=Zürich')).toBe(true);
    expect(matches('CN=line\\0Abreak', 'CN=line\\0Abreak')).toBe(true);
  });

  it('an escaped trailing space is part of the value', () => {
    const dn = parseRfc4514('CN=padded\\ ');
    expect(dn?.[0][0].value).toBe('padded ');
  });

  it('refuses what is not a DN: no type, a bad type, a dangling escape, invalid UTF-8, bad hex, empty or oversized', () => {
    for (const bad of ['', 'rp.example.com', '=x', 'C N=x', 'CN=x\\', 'CN=\\FF', 'CN=#zz', 'CN=x,', 'x'.repeat(3000)]) {
      expect(parseRfc4514(bad)).toBeNull();
    }
  });

  it('formats back to an RFC 4514 string with types as OIDs or names', () => {
    expect(formatDistinguishedName(parseRfc4514('CN=a\\,b,C=US') ?? [])).toBe('2.5.4.3=a\\,b,2.5.4.6=US');
  });
});
