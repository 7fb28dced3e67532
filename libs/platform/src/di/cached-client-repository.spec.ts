import { describe, expect, it } from '@jest/globals';
import type { Client, ClientRepository } from '@ciba/domain';
import { CachedClientRepository } from './cached-client-repository.js';

class CountingRepository implements ClientRepository {
  typeReads = 0;
  types = ['payment_initiation'];
  findById(): Promise<Client | null> {
    return Promise.resolve(null);
  }
  authorizationDetailsTypes(): Promise<string[]> {
    this.typeReads++;
    return Promise.resolve([...this.types]);
  }
}

describe('CachedClientRepository', () => {
  it('RFC 9396 §10 caches the registered authorization_details types for the client TTL', async () => {
    let now = 0;
    const inner = new CountingRepository();
    const cached = new CachedClientRepository(inner, 30_000, () => now);
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    inner.types = ['payment_initiation', 'tax_filing'];
    now = 29_999;
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    expect(inner.typeReads).toBe(1);
    now = 30_000;
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation', 'tax_filing']);
    expect(inner.typeReads).toBe(2);
  });

  it('hands out copies, and invalidate() forgets the types', async () => {
    const inner = new CountingRepository();
    const cached = new CachedClientRepository(inner, 30_000, () => 0);
    (await cached.authorizationDetailsTypes()).push('mutated');
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    cached.invalidate();
    await cached.authorizationDetailsTypes();
    expect(inner.typeReads).toBe(2);
  });
});
