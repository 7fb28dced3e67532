import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AddressPolicy } from './address-policy.js';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';

export interface EndpointPolicyOptions {
  /** Development setting: plain http:// is accepted, but only to loopback hosts (and loopback addresses are allowed). */
  readonly allowInsecureLoopback: boolean;
  /** CIDRs overriding the range ban, e.g. ['10.1.0.0/16', '127.0.0.1/32']. */
  readonly allowedCidrs: readonly string[];
  /** Resolves a host name to its addresses; defaults to the system resolver (every address). */
  readonly resolve?: (host: string) => Promise<string[]>;
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

async function systemResolve(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true });
  return answers.map(({ address }) => address);
}

/** URL.hostname keeps IPv6 literals in brackets and a trailing root dot; neither matters here. */
function bareHost(url: URL): string {
  const host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'ENOTFOUND';
}

/**
 * The rules for a client's `backchannel_client_notification_endpoint` (CIBA §4 registration,
 * §10.2 ping, §10.3 push), applied the same way at registration and before every delivery:
 * https only (plain http only to loopback, behind an explicit development setting), no user
 * information, no fragment, and a host that resolves only to allowed addresses (no loopback,
 * private, link-local, metadata, … unless allow-listed) so the provider cannot be used to reach
 * its own network (SSRF).
 */
export class EndpointPolicy {
  private readonly addresses: AddressPolicy;
  private readonly resolve: (host: string) => Promise<string[]>;

  constructor(private readonly options: EndpointPolicyOptions) {
    this.addresses = new AddressPolicy({ allowLoopback: options.allowInsecureLoopback, allowedCidrs: options.allowedCidrs });
    this.resolve = options.resolve ?? systemResolve;
  }

  /** Syntax rules only, no I/O. Throws `EndpointRejected`. */
  checkUrl(url: string): { url: URL } {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EndpointRejected('invalid_url');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new EndpointRejected('not_https');
    if (parsed.hostname === '') throw new EndpointRejected('invalid_url');
    if (parsed.protocol === 'http:' && !(this.options.allowInsecureLoopback && this.isLoopbackHost(parsed))) {
      throw new EndpointRejected('not_https');
    }
    if (parsed.username !== '' || parsed.password !== '') throw new EndpointRejected('has_credentials');
    // URL.hash is '' for an empty fragment ("…/cb#"); the serialization keeps the '#'.
    if (parsed.href.includes('#')) throw new EndpointRejected('has_fragment');
    return { url: parsed };
  }

  /**
   * Resolves the host (an IP literal is its own answer) and refuses the endpoint if any address
   * is not allowed: one bad answer in a round-robin set is enough to refuse. Throws
   * `EndpointRejected('forbidden_address')`, or `EndpointResolutionFailed` when DNS fails.
   */
  async resolveAllowed(url: URL): Promise<ResolvedAddress[]> {
    const host = bareHost(url);
    let answers: string[];
    if (isIP(host) !== 0) {
      answers = [host];
    } else {
      try {
        answers = await this.resolve(host);
      } catch (error) {
        throw new EndpointResolutionFailed(errorCode(error));
      }
    }
    if (answers.length === 0) throw new EndpointResolutionFailed('ENODATA');
    const resolved: ResolvedAddress[] = [];
    for (const address of new Set(answers)) {
      const verdict = this.addresses.verdict(address);
      if (!verdict.allowed) throw new EndpointRejected('forbidden_address');
      // Plain http is a development convenience for loopback only, whatever the allow-list says.
      if (url.protocol === 'http:') {
        if (!this.options.allowInsecureLoopback) throw new EndpointRejected('not_https');
        if (verdict.range !== 'loopback') throw new EndpointRejected('forbidden_address');
      }
      resolved.push({ address, family: isIP(address) === 6 ? 6 : 4 });
    }
    return resolved;
  }

  /** Registration-time check: the syntax rules, then the address rules. */
  async check(url: string): Promise<{ url: URL; addresses: ResolvedAddress[] }> {
    const { url: parsed } = this.checkUrl(url);
    return { url: parsed, addresses: await this.resolveAllowed(parsed) };
  }

  private isLoopbackHost(url: URL): boolean {
    const host = bareHost(url);
    if (host === 'localhost') return true;
    return isIP(host) !== 0 && this.addresses.verdict(host).range === 'loopback';
  }
}
