import { describe, expect, it } from '@jest/globals';
import { type JWK, exportJWK, generateKeyPair } from 'jose';
import { ClientJwksCache } from './client-jwks-cache.js';

const URI = 'https://rp.example/jwks';

async function publicJwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
}

function cacheServing(documents: () => unknown, clock: { t: number }) {
  const fetches: string[] = [];
  const cache = new ClientJwksCache({
    fetch: (uri) => {
      fetches.push(uri);
      return Promise.resolve(documents());
    },
    cacheMs: 600_000,
    refetchIntervalMs: 60_000,
    now: () => clock.t,
  });
  return { cache, fetches };
}

describe('ClientJwksCache', () => {
  it('RFC 7591 §2 fetches a jwks_uri once and serves its keys from memory', async () => {
    const k1 = await publicJwk('k1');
    const clock = { t: 0 };
    const { cache, fetches } = cacheServing(() => ({ keys: [k1] }), clock);
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    expect(fetches).toHaveLength(1);
  });

  it('fetches again for an unknown kid, at most once per interval, and concurrent lookups share one fetch', async () => {
    const k1 = await publicJwk('k1');
    const k2 = await publicJwk('k2');
    let served = [k1];
    const clock = { t: 0 };
    const { cache, fetches } = cacheServing(() => ({ keys: served }), clock);
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    served = [k1, k2];
    // Within the interval: a rotation is not seen yet, and a flood of unknown kids fetches nothing.
    const flood = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => cache.key(URI, { alg: 'ES256', kid: `unknown-${i}` })));
    expect(flood.every((r) => r.status === 'rejected')).toBe(true);
    expect(fetches).toHaveLength(1);
    clock.t += 60_001;
    const lookups = await Promise.allSettled([cache.key(URI, { alg: 'ES256', kid: 'k2' }), cache.key(URI, { alg: 'ES256', kid: 'k2' })]);
    expect(lookups.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(fetches).toHaveLength(2);
  });

  it('fetches again once the cached set is older than the cache time', async () => {
    const k1 = await publicJwk('k1');
    const clock = { t: 0 };
    const { cache, fetches } = cacheServing(() => ({ keys: [k1] }), clock);
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    clock.t += 600_001;
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    expect(fetches).toHaveLength(2);
  });

  it('keeps serving a set past its cache time while the jwks_uri cannot be reached', async () => {
    const k1 = await publicJwk('k1');
    const clock = { t: 0 };
    let up = true;
    const { cache, fetches } = cacheServing(() => (up ? { keys: [k1] } : Promise.reject(new Error('down'))), clock);
    await cache.key(URI, { alg: 'ES256', kid: 'k1' });
    up = false;
    clock.t += 600_001;
    await expect(cache.key(URI, { alg: 'ES256', kid: 'k1' })).resolves.toBeDefined();
    expect(fetches).toHaveLength(2);
  });

  it('RFC 7517 §5 refuses a fetched set holding private key material', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const leaked = { ...(await exportJWK(privateKey)), kid: 'k1' };
    const { cache } = cacheServing(() => ({ keys: [leaked] }), { t: 0 });
    await expect(cache.key(URI, { alg: 'ES256', kid: 'k1' })).rejects.toMatchObject({ reason: 'not_a_public_jwk_set' });
  });

  it('RFC 8705 §2.2 findKey finds a key by its members (x5c), fetching again for no match at most once per interval', async () => {
    const k1 = { ...(await publicJwk('k1')), x5c: ['Y2VydC0x'] };
    const k2 = { ...(await publicJwk('k2')), x5c: ['Y2VydC0y'] };
    let served = [k1];
    const clock = { t: 0 };
    const { cache, fetches } = cacheServing(() => ({ keys: served }), clock);
    const withCert = (cert: string) => (key: Readonly<Record<string, unknown>>) => Array.isArray(key['x5c']) && key['x5c'][0] === cert;
    expect(await cache.findKey(URI, withCert('Y2VydC0x'))).toMatchObject({ kid: 'k1' });
    served = [k1, k2];
    expect(await cache.findKey(URI, withCert('Y2VydC0y'))).toBeNull();
    expect(fetches).toHaveLength(1);
    clock.t += 60_001;
    expect(await cache.findKey(URI, withCert('Y2VydC0y'))).toMatchObject({ kid: 'k2' });
    expect(fetches).toHaveLength(2);
  });

  it('does not retry a failing jwks_uri more than once per interval', async () => {
    const clock = { t: 0 };
    const fetches: string[] = [];
    const cache = new ClientJwksCache({
      fetch: (uri) => {
        fetches.push(uri);
        return Promise.reject(Object.assign(new Error('down'), { reason: 'unreachable' }));
      },
      cacheMs: 600_000,
      refetchIntervalMs: 60_000,
      now: () => clock.t,
    });
    await expect(cache.key(URI, { alg: 'ES256', kid: 'k1' })).rejects.toMatchObject({ reason: 'unreachable' });
    await expect(cache.key(URI, { alg: 'ES256', kid: 'k1' })).rejects.toMatchObject({ reason: 'recently_failed' });
    expect(fetches).toHaveLength(1);
  });
});
