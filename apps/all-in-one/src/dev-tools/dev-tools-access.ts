import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How curl presents the start's key. */
export const DEV_TOOLS_KEY_HEADER = 'x-dev-tools-key';
/** How a browser presents it, once it opened a `?key=` URL. */
export const DEV_TOOLS_COOKIE = 'ciba_dev_tools';
/** The query parameter of the banner's URL, exchanged for the cookie. */
export const DEV_TOOLS_KEY_PARAM = 'key';

/**
 * Headers a reverse proxy adds. A proxy on this machine connects from a loopback address, so with
 * one of these present the peer address says nothing about the real caller.
 */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses (how a dual-stack socket reports IPv4 peers). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const unmapped = address.toLowerCase().startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return unmapped === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(unmapped);
}

/** A host name or address that only this machine reaches: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare.endsWith('.localhost') || isLoopbackAddress(bare);
}

export function isForwarded(headers: IncomingHttpHeaders): boolean {
  return FORWARDING_HEADERS.some((name) => headers[name] !== undefined);
}

/**
 * Whether the request was addressed (`Host`) to a loopback name. A web page the developer visits can
 * make its own host name resolve to 127.0.0.1 (DNS rebinding) and then read this machine's tools as
 * its own origin; its requests still carry its own host name.
 */
export function isAddressedToLoopback(headers: IncomingHttpHeaders): boolean {
  const host = headers.host;
  if (typeof host !== 'string' || host === '') return false;
  try {
    return isLoopbackHost(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/**
 * Who may use the development tools (/dev/inbox, /dev/device): a caller on this machine — a
 * loopback peer with no forwarding header, addressing a loopback name — or one presenting this
 * start's random key. The key
 * lives only in memory and in the start banner; a new start makes a new one.
 */
export class DevToolsAccess {
  private readonly digest: Buffer;

  private constructor(readonly key: string) {
    this.digest = sha256(key);
  }

  static generate(): DevToolsAccess {
    return new DevToolsAccess(randomBytes(32).toString('base64url'));
  }

  /** Whether `presented` is this start's key; compared in constant time (as digests, so its length leaks nothing either). */
  isKey(presented: string | null | undefined): boolean {
    return typeof presented === 'string' && presented !== '' && timingSafeEqual(sha256(presented), this.digest);
  }

  /** `cookieKey`: the value of the dev-tools cookie, if the request carried one. */
  allows(peerAddress: string | undefined, headers: IncomingHttpHeaders, cookieKey: string | null): boolean {
    if (isLoopbackAddress(peerAddress) && !isForwarded(headers) && isAddressedToLoopback(headers)) return true;
    const headerKey = headers[DEV_TOOLS_KEY_HEADER];
    return this.isKey(typeof headerKey === 'string' ? headerKey : null) || this.isKey(cookieKey);
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
