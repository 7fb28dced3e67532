import { X509Certificate, createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import ipaddr from 'ipaddr.js';
import type { MtlsCertEncoding, MtlsSettings, ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '../di/tokens.js';

/**
 * A client certificate forwarded by the TLS-terminating proxy (RFC 8705 §2, §3), as read from its
 * header: `thumbprint` is RFC 8705 §3.1 `x5t#S256`, the base64url SHA-256 of the DER certificate.
 * `chainVerified` is what the proxy's verify header said (`SUCCESS`), null when no such header is
 * configured (the proxy then forwards only certificates it verified).
 */
export interface PresentedCertificate {
  readonly certificate: X509Certificate;
  readonly thumbprint: string;
  readonly chainVerified: boolean | null;
}

/** What a request says about its client certificate. Only `present` may authenticate or bind anything. */
export type CertificateReading =
  | { readonly kind: 'absent' }
  /** The header came from a peer that is not a trusted proxy: ignored, as if it were not there. */
  | { readonly kind: 'untrusted_peer' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'present'; readonly presented: PresentedCertificate };

/** A leaf certificate fits in a few kilobytes; a header beyond this is refused unread. */
export const CLIENT_CERT_HEADER_MAX_LENGTH = 12_288;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/;

/**
 * The certificate in a header value, decoded as the proxy encodes it; a reason (safe to log, never
 * the value) when it is not exactly one well-formed certificate.
 */
export function decodeForwardedCertificate(value: string, encoding: MtlsCertEncoding): X509Certificate | { readonly reason: string } {
  if (value.length > CLIENT_CERT_HEADER_MAX_LENGTH) return { reason: 'oversized' };
  let der: Buffer | null;
  switch (encoding) {
    case 'url-encoded-pem':
      der = pemToDer(urlDecode(value.trim()));
      break;
    case 'base64-der':
      der = BASE64.test(value.trim()) ? Buffer.from(value.trim(), 'base64') : null;
      break;
    case 'xfcc': {
      const cert = xfccCert(value);
      if (typeof cert !== 'string') return cert;
      der = pemToDer(urlDecode(cert));
      break;
    }
  }
  if (der === null || der.length === 0) return { reason: 'not_a_certificate' };
  try {
    const certificate = new X509Certificate(der);
    // DER with bytes after the certificate is not one certificate.
    return certificate.raw.equals(der) ? certificate : { reason: 'trailing_data' };
  } catch {
    return { reason: 'not_a_certificate' };
  }
}

/** RFC 8705 §3.1: `x5t#S256`, the base64url SHA-256 of the DER certificate. */
export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

function urlDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** One PEM certificate (line breaks, spaces or tabs between the base64 lines, as proxies fold it) into DER. */
function pemToDer(pem: string | null): Buffer | null {
  if (pem === null) return null;
  const match = PEM.exec(pem.trim());
  if (!match) return null;
  const body = match[1].replace(/\s+/g, '');
  return BASE64.test(body) ? Buffer.from(body, 'base64') : null;
}

/**
 * Envoy's `x-forwarded-client-cert`: elements separated by `,`, each `key=value` pairs separated by
 * `;`, values with those characters in double quotes. Exactly one element is accepted (Envoy's
 * `SANITIZE_SET` leaves one: the certificate of the connection it terminated); its `Cert` is the
 * URL-encoded PEM.
 */
function xfccCert(value: string): string | { readonly reason: string } {
  const elements = splitOutsideQuotes(value, ',');
  if (elements === null) return { reason: 'malformed_xfcc' };
  if (elements.length !== 1) return { reason: 'several_xfcc_elements' };
  const pairs = splitOutsideQuotes(elements[0], ';');
  if (pairs === null) return { reason: 'malformed_xfcc' };
  const certs = pairs
    .map((pair) => pair.trim())
    .filter((pair) => pair.slice(0, pair.indexOf('=')).toLowerCase() === 'cert')
    .map((pair) => pair.slice(pair.indexOf('=') + 1));
  if (certs.length !== 1) return { reason: certs.length === 0 ? 'absent_xfcc_cert' : 'several_xfcc_certs' };
  const cert = certs[0];
  return cert.startsWith('"') && cert.endsWith('"') && cert.length >= 2 ? cert.slice(1, -1) : cert;
}

/** Null when a quote is left open. A quote inside a quoted value is escaped with a backslash. */
function splitOutsideQuotes(text: string, separator: string): string[] | null {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === separator && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return quoted ? null : parts;
}

/**
 * Reads the client certificate the TLS-terminating proxy forwards (RFC 8705 behind a proxy): from
 * `CIBA_MTLS_CLIENT_CERT_HEADER`, and only when the request's peer (the TCP connection, never a
 * forwarded-for header) is one of `CIBA_MTLS_TRUSTED_PROXIES`. From any other peer the header is
 * ignored, so a client that can reach the service directly cannot claim a certificate it does not
 * hold. A header sent twice is refused. Each request is read once.
 */
/** At most one warning this often about certificate headers from untrusted peers (each is ignored anyway). */
const UNTRUSTED_WARNING_INTERVAL_MS = 60_000;

@Injectable()
export class ClientCertificates {
  private readonly logger = new Logger(ClientCertificates.name);
  private readonly settings: MtlsSettings | null;
  private readonly trusted: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly readings = new WeakMap<Request, CertificateReading>();
  /** Untrusted-peer headers since the last warning: one warning a minute at most, so they cannot flood the log. */
  private untrustedSince = 0;
  private lastUntrustedWarningAt = Number.NEGATIVE_INFINITY;

  constructor(@Inject(PROVIDER_CONFIG) config: ProviderConfig) {
    this.settings = config.mtls ?? null;
    this.trusted = (this.settings?.trustedProxies ?? []).map((cidr) => unmappedCidr(ipaddr.parseCIDR(cidr)));
  }

  /** Whether mutual TLS is configured at all (RFC 8705 methods advertised and accepted). */
  get enabled(): boolean {
    return this.settings !== null;
  }

  read(req: Request): CertificateReading {
    let reading = this.readings.get(req);
    if (reading === undefined) {
      reading = this.readUncached(req);
      this.readings.set(req, reading);
    }
    return reading;
  }

  private readUncached(req: Request): CertificateReading {
    const settings = this.settings;
    if (settings === null) return { kind: 'absent' };
    const values = req.headersDistinct[settings.certHeader];
    if (values === undefined || values.length === 0 || (values.length === 1 && values[0].trim() === '')) return { kind: 'absent' };
    if (!this.fromTrustedProxy(req)) {
      this.warnUntrusted(settings.certHeader);
      return { kind: 'untrusted_peer' };
    }
    if (values.length > 1) return this.malformed('several_headers');
    const decoded = decodeForwardedCertificate(values[0], settings.encoding);
    if (!(decoded instanceof X509Certificate)) return this.malformed(decoded.reason);
    const verify = settings.verifyHeader === null ? undefined : req.headersDistinct[settings.verifyHeader];
    const chainVerified = verify === undefined ? (settings.verifyHeader === null ? null : false) : verify.length === 1 && verify[0] === 'SUCCESS';
    return { kind: 'present', presented: { certificate: decoded, thumbprint: certificateThumbprint(decoded), chainVerified } };
  }

  private warnUntrusted(header: string): void {
    this.untrustedSince++;
    const now = Date.now();
    if (now - this.lastUntrustedWarningAt < UNTRUSTED_WARNING_INTERVAL_MS) return;
    this.logger.warn({ header, count: this.untrustedSince }, 'client certificate header from a peer that is not a trusted proxy: ignored');
    this.lastUntrustedWarningAt = now;
    this.untrustedSince = 0;
  }

  private malformed(reason: string): CertificateReading {
    this.logger.debug({ reason }, 'client certificate header refused');
    return { kind: 'malformed', reason };
  }

  private fromTrustedProxy(req: Request): boolean {
    const peer = req.socket.remoteAddress;
    if (peer === undefined || !ipaddr.isValid(peer)) return false;
    const address = ipaddr.process(peer);
    return this.trusted.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
  }
}

/** An IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) means the IPv4 network, as peers are unmapped too. */
function unmappedCidr([network, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) return [(network as ipaddr.IPv6).toIPv4Address(), bits - 96];
  return [network, bits];
}
