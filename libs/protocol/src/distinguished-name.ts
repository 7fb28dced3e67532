import { isUtf8 } from 'node:buffer';

/** One attribute of a relative distinguished name: its type (an OID, or an upper-case name the table below does not know) and value. */
export interface DnAttribute {
  readonly type: string;
  readonly value: string;
}

/**
 * A distinguished name as a sequence of RDNs in the certificate's (ASN.1) order, most significant
 * first (`C`, …, `CN`): the reverse of the RFC 4514 string, which starts with the last RDN.
 */
export type DistinguishedName = readonly (readonly DnAttribute[])[];

/** A registered DN longer than this is not a subject worth parsing. */
export const DISTINGUISHED_NAME_MAX_LENGTH = 2048;

/**
 * Attribute type names (RFC 4514 §3, and the short and long names OpenSSL prints) and the OIDs
 * they stand for, so `E=`, `emailAddress=` and `1.2.840.113549.1.9.1=` name one type.
 */
const TYPE_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  COMMONNAME: '2.5.4.3',
  SN: '2.5.4.4',
  SURNAME: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  COUNTRYNAME: '2.5.4.6',
  L: '2.5.4.7',
  LOCALITYNAME: '2.5.4.7',
  ST: '2.5.4.8',
  STATEORPROVINCENAME: '2.5.4.8',
  STREET: '2.5.4.9',
  STREETADDRESS: '2.5.4.9',
  O: '2.5.4.10',
  ORGANIZATIONNAME: '2.5.4.10',
  OU: '2.5.4.11',
  ORGANIZATIONALUNITNAME: '2.5.4.11',
  TITLE: '2.5.4.12',
  BUSINESSCATEGORY: '2.5.4.15',
  POSTALCODE: '2.5.4.17',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  DOMAINCOMPONENT: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  USERID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
  EMAIL: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
  JURISDICTIONC: '1.3.6.1.4.1.311.60.2.1.3',
  JURISDICTIONST: '1.3.6.1.4.1.311.60.2.1.2',
  JURISDICTIONL: '1.3.6.1.4.1.311.60.2.1.1',
};

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
const OID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
const HEX_STRING = /^#(?:[0-9A-Fa-f]{2})+$/;

/**
 * RFC 4514 §3: a DN string as registered (`CN=rp.example.com,O=Example Bank,C=GB`), into RDNs in
 * certificate order. Multi-valued RDNs are joined with `+`; `\,` `\+` `\"` `\\` `\;` `\<` `\>` `\=`,
 * a leading `\#` or `\ `, a trailing `\ ` and `\XX` hex pairs (UTF-8) are escapes; spaces around
 * separators are ignored. Null when it is not a DN.
 */
export function parseRfc4514(dn: string): DistinguishedName | null {
  if (dn.length === 0 || dn.length > DISTINGUISHED_NAME_MAX_LENGTH) return null;
  const rdns = splitUnescaped(dn, ',');
  const parsed = rdns.map(parseRdn);
  if (parsed.some((rdn) => rdn === null)) return null;
  return (parsed as DnAttribute[][]).reverse();
}

/**
 * The subject or issuer as Node's `X509Certificate` prints it: one RDN per line in certificate
 * order, multi-valued RDNs joined with ` + `, values escaped as RFC 2253 says (control characters as
 * `\XX`, other characters as UTF-8). Null when it cannot be read.
 */
export function parseCertificateName(text: string): DistinguishedName | null {
  if (text.length === 0) return null;
  const parsed = text.split('\n').map(parseRdn);
  if (parsed.some((rdn) => rdn === null)) return null;
  return parsed as DnAttribute[][];
}

/**
 * RFC 4517 distinguishedNameMatch as far as it matters here: the same RDNs in the same order, each
 * with the same attributes in any order; types compared by OID; string values compared after
 * Unicode NFKC, case folding and collapsing runs of white space (caseIgnoreMatch, which applies to
 * every naming attribute a client certificate carries); `#` hex values compared as bytes.
 */
export function sameDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  if (a.length !== b.length) return false;
  return a.every((rdn, i) => {
    const other = b[i];
    if (rdn.length !== other.length) return false;
    const left = rdn.map(comparable).sort();
    const right = other.map(comparable).sort();
    return left.every((value, j) => value === right[j]);
  });
}

/** The RFC 4514 string of a parsed DN (for messages and documentation: types as OIDs or upper-case names). */
export function formatDistinguishedName(dn: DistinguishedName): string {
  return [...dn]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${a.value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`)}`).join('+'))
    .join(',');
}

function comparable(attribute: DnAttribute): string {
  const value = attribute.value.startsWith('#') ? attribute.value.toLowerCase() : attribute.value.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  return `${attribute.type}=${value}`;
}

function parseRdn(text: string): DnAttribute[] | null {
  const attributes = splitUnescaped(text, '+').map(parseAttribute);
  return attributes.some((a) => a === null) ? null : (attributes as DnAttribute[]);
}

function parseAttribute(text: string): DnAttribute | null {
  const equals = text.indexOf('=');
  if (equals <= 0) return null;
  const rawType = text.slice(0, equals).trim();
  const type = canonicalType(rawType);
  if (type === null) return null;
  const rawValue = trimUnescaped(text.slice(equals + 1));
  // RFC 4514 §2.4: a value starting with an unescaped '#' is the hex of its BER encoding.
  if (rawValue.startsWith('#')) return HEX_STRING.test(rawValue) ? { type, value: rawValue.toLowerCase() } : null;
  const value = unescapeValue(rawValue);
  return value === null ? null : { type, value };
}

function canonicalType(raw: string): string | null {
  const oid = raw.toUpperCase().startsWith('OID.') ? raw.slice(4) : raw;
  if (OID.test(oid)) return oid;
  if (!TYPE_NAME.test(raw)) return null;
  const upper = raw.toUpperCase();
  return TYPE_OIDS[upper] ?? upper;
}

/** Splits at every `separator` not escaped by a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** Trims white space on both sides, keeping an escaped trailing space (`\ `). */
function trimUnescaped(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === ' ') {
    let backslashes = 0;
    while (end - 2 - backslashes >= 0 && text[end - 2 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return text.slice(0, end).trimStart();
}

function unescapeValue(text: string): string | null {
  // By code point, so a character outside the BMP is never split into its surrogate halves.
  const chars = Array.from(text);
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] !== '\\') {
      bytes.push(...Buffer.from(chars[i], 'utf8'));
      continue;
    }
    const pair = (chars[i + 1] ?? '') + (chars[i + 2] ?? '');
    if (HEX_PAIR.test(pair)) {
      bytes.push(parseInt(pair, 16));
      i += 2;
    } else if (i + 1 < chars.length) {
      bytes.push(...Buffer.from(chars[i + 1], 'utf8'));
      i++;
    } else return null;
  }
  const buffer = Buffer.from(bytes);
  return isUtf8(buffer) ? buffer.toString('utf8') : null;
}
