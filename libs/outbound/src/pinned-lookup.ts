import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './endpoint-policy.js';

function lookupError(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`no pinned address for ${hostname}`), { code: 'ENOTFOUND', hostname });
}

function wantedFamily(options: LookupOptions): 4 | 6 | null {
  const family = options.family;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return null;
}

/**
 * A `net.connect` lookup that answers only with addresses the endpoint policy already checked,
 * and only for `host`: the connection cannot be steered elsewhere by a DNS answer that changed
 * since the check (DNS rebinding). It never consults DNS. Supports both callback shapes Node
 * uses (`all: true` for Happy Eyeballs, a single address otherwise).
 */
export function pinnedLookup(host: string, addresses: readonly ResolvedAddress[]): LookupFunction {
  const expected = host.toLowerCase();
  return (hostname, options, callback) => {
    const family = wantedFamily(options);
    const candidates = hostname.toLowerCase() === expected ? addresses.filter((entry) => family === null || entry.family === family) : [];
    process.nextTick(() => {
      const first = candidates[0];
      if (first === undefined) {
        callback(lookupError(hostname), options.all === true ? [] : '');
      } else if (options.all === true) {
        callback(null, candidates.map(({ address, family: entryFamily }): LookupAddress => ({ address, family: entryFamily })));
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}
