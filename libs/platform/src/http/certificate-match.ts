import type { X509Certificate } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { TlsClientAuthSubject } from '@ciba/domain';
import { parseCertificateName, parseRfc4514, sameDistinguishedName } from '@ciba/protocol';

/** A subjectAltName entry as Node prints it: `DNS`, `URI`, `IP Address`, `email`, … and its value. */
export interface SubjectAltName {
  readonly type: string;
  readonly value: string;
}

/**
 * RFC 8705 §2.1.2: whether the certificate carries the one subject the client registered — its
 * subject DN (RFC 4514, see `sameDistinguishedName`) or a subjectAltName entry of the registered
 * type: dNSName (case-insensitive, no wildcard expansion), uniformResourceIdentifier (exact),
 * iPAddress (the same address in any notation) or rfc822Name (the domain case-insensitive).
 * The chain was verified by the proxy; this checks only that it names this client.
 */
export function certificateNamesClient(certificate: X509Certificate, expected: TlsClientAuthSubject): boolean {
  if (expected.kind === 'subject_dn') {
    const registered = parseRfc4514(expected.value);
    const subject = parseCertificateName(certificate.subject);
    return registered !== null && subject !== null && sameDistinguishedName(registered, subject);
  }
  const names = parseSubjectAltNames(certificate.subjectAltName ?? '');
  if (names === null) return false;
  switch (expected.kind) {
    case 'san_dns':
      return names.some((n) => n.type === 'DNS' && n.value.toLowerCase() === expected.value.toLowerCase());
    case 'san_uri':
      return names.some((n) => n.type === 'URI' && n.value === expected.value);
    case 'san_ip':
      return names.some((n) => n.type === 'IP Address' && sameAddress(n.value, expected.value));
    case 'san_email':
      return names.some((n) => n.type === 'email' && sameEmail(n.value, expected.value));
  }
}

/**
 * RFC 8705 §2.2: whether the certificate is the `x5c[0]` of one of the keys (the client's
 * registered jwks, or the set at its jwks_uri). The certificate itself is compared, byte for byte,
 * not only its public key.
 */
export function certificateInKeys(certificate: X509Certificate, keys: readonly Readonly<Record<string, unknown>>[]): boolean {
  return keys.some((key) => {
    const x5c = key['x5c'];
    if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') return false;
    return Buffer.from(x5c[0], 'base64').equals(certificate.raw);
  });
}

/**
 * Node's `subjectAltName` text: `TYPE:value` entries joined with `, `; a value with characters that
 * could be confused with that syntax is a JSON string literal. Null when it cannot be read.
 */
export function parseSubjectAltNames(text: string): SubjectAltName[] | null {
  const names: SubjectAltName[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) return null;
    const type = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return null;
      end++;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        return null;
      }
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    names.push({ type, value });
    if (end === text.length) break;
    if (text.slice(end, end + 2) !== ', ') return null;
    i = end + 2;
  }
  return names;
}

function sameAddress(a: string, b: string): boolean {
  if (!ipaddr.isValid(a) || !ipaddr.isValid(b)) return false;
  const x = ipaddr.parse(a);
  const y = ipaddr.parse(b);
  return x.kind() === y.kind() && x.toNormalizedString() === y.toNormalizedString();
}

/** RFC 5321 §2.4: the local part is case-sensitive, the domain is not. */
function sameEmail(a: string, b: string): boolean {
  const at = a.lastIndexOf('@');
  const bt = b.lastIndexOf('@');
  if (at <= 0 || bt <= 0) return false;
  return a.slice(0, at) === b.slice(0, bt) && a.slice(at + 1).toLowerCase() === b.slice(bt + 1).toLowerCase();
}
