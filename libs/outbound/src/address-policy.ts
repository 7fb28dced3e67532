import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { IPv4, IPv6 } from 'ipaddr.js';

type Address = IPv4 | IPv6;
type Cidr = [Address, number];

/**
 * Cloud metadata and host-platform services reachable from inside a VM or container: AWS, GCP
 * and Azure IMDS (169.254.169.254), AWS ECS task metadata (169.254.170.2), AWS IMDS over IPv6
 * (fd00:ec2::254), Alibaba Cloud (100.100.100.200) and the Azure WireServer (168.63.129.16, a
 * public-looking address). Most sit inside ranges that are refused anyway; they are listed so a
 * broad allow-list entry (say 100.64.0.0/10 for a CGNAT overlay network) never exposes them.
 */
const METADATA_ADDRESSES: readonly Address[] = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '168.63.129.16'].map(
  (address) => ipaddr.parse(address),
);

/** IANA's IPv6 global unicast block; ipaddr.js calls e.g. ::7f00:1 (IPv4-compatible) "unicast" too. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

export interface AddressPolicyOptions {
  /** Development setting: loopback addresses are allowed (and nothing else extra). */
  readonly allowLoopback: boolean;
  /** CIDRs that override the range ban, e.g. a private network hosting trusted clients. */
  readonly allowedCidrs: readonly string[];
}

export type AddressVerdict =
  | { readonly allowed: true; readonly range: string }
  | { readonly allowed: false; readonly range: string };

/** Parses an allow-list once, at construction: a malformed entry fails fast with its value. */
export function parseAllowedCidrs(cidrs: readonly string[]): readonly Cidr[] {
  return cidrs.map((cidr) => {
    try {
      const [network, bits] = ipaddr.parseCIDR(cidr);
      // An IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) means the IPv4 network.
      if (network.kind() === 'ipv6' && (network as IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(network as IPv6).toIPv4Address(), bits - 96] as Cidr;
      }
      return [network, bits] as Cidr;
    } catch {
      throw new Error(`invalid CIDR in the outbound allow-list: ${JSON.stringify(cidr)}`);
    }
  });
}

function contains([network, bits]: Cidr, address: Address): boolean {
  return network.kind() === address.kind() && address.match(network, bits);
}

function sameAddress(a: Address, b: Address): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

/**
 * The ipaddr.js range name of an address, with IPv4-mapped IPv6 unwrapped (::ffff:127.0.0.1 is
 * loopback) and IPv6 outside 2000::/3 reported as 'reserved'. Throws on a non-address.
 */
export function addressRange(address: string): string {
  const ip = ipaddr.process(address);
  const range = ip.range();
  if (range === 'unicast' && ip.kind() === 'ipv6' && !contains(IPV6_GLOBAL_UNICAST, ip)) return 'reserved';
  return range;
}

/**
 * Decides whether outbound HTTP may connect to `address`. Only public unicast addresses pass by
 * default: every other ipaddr.js range (loopback, private, linkLocal, uniqueLocal, unspecified,
 * carrierGradeNat, reserved, multicast, broadcast, 6to4, teredo, rfc6052, …) is refused unless an
 * allow-listed CIDR contains it. Metadata addresses are refused even inside an allow-listed
 * network; only an allow-list entry naming that single address (/32, /128) admits one.
 */
export class AddressPolicy {
  private readonly allowed: readonly Cidr[];

  constructor(private readonly options: AddressPolicyOptions) {
    this.allowed = parseAllowedCidrs(options.allowedCidrs);
  }

  verdict(address: string): AddressVerdict {
    // Only the canonical forms Node connects to: ipaddr.js also parses shorthands like '127.1'.
    if (isIP(address) === 0) return { allowed: false, range: 'invalid' };
    const ip = ipaddr.process(address);
    if (METADATA_ADDRESSES.some((metadata) => sameAddress(metadata, ip))) {
      const named = this.allowed.some(([network, bits]) => bits === (ip.kind() === 'ipv4' ? 32 : 128) && sameAddress(network, ip));
      return { allowed: named, range: 'metadata' };
    }
    const range = addressRange(address);
    if (range === 'unicast') return { allowed: true, range };
    if (range === 'loopback' && this.options.allowLoopback) return { allowed: true, range };
    return { allowed: this.allowed.some((cidr) => contains(cidr, ip)), range };
  }
}
