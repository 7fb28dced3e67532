import { type JSONWebKeySet, type JWSHeaderParameters, createLocalJWKSet, errors } from 'jose';
import { publicJwkSetProblem } from '@ciba/protocol';

export interface ClientJwksCacheOptions {
  /** GETs a jwks_uri under the outbound policy (`JwksFetcher` in the outbound lib). */
  readonly fetch: (uri: string) => Promise<unknown>;
  /** How long a fetched key set is used before it is fetched again. */
  readonly cacheMs: number;
  /** An unknown kid fetches the set again at most this often per URI, so a flood of kids cannot hammer the client. */
  readonly refetchIntervalMs: number;
  readonly now?: () => number;
  /** Key sets kept at once; the least recently fetched is dropped first. */
  readonly maxEntries?: number;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
type ResolvedKey = Awaited<ReturnType<KeyResolver>>;

interface Entry {
  readonly resolve: KeyResolver;
  readonly fetchedAt: number;
  /** The set's keys as published (for matching a certificate to their x5c, RFC 8705 §2.2). */
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/** The key set at a jwks_uri cannot be used: unreachable, not a set of public keys, … (a short reason, safe to log). */
export class ClientJwksUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`client jwks_uri unusable: ${reason}`);
    this.name = 'ClientJwksUnavailable';
  }
}

/**
 * Clients' key sets published at a jwks_uri (RFC 7591 §2), fetched on first use and kept for
 * `cacheMs`. A kid not in the set fetches it again (the client may have rotated), but at most once
 * per `refetchIntervalMs` per URI, and concurrent lookups share one fetch. A fetched set holding
 * private key material is refused as a whole.
 */
export class ClientJwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();
  /** When each URI was last fetched (or tried), successful or not: the rate limit's memory. */
  private readonly lastAttempt = new Map<string, number>();
  /** Inline sets parsed once per client object (the client cache hands out the same object while it holds it). */
  private readonly inlineSets = new WeakMap<object, KeyResolver>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: ClientJwksCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 1_000;
  }

  /** The key for a JWS header from a key set registered inline (the client's `jwks`). */
  async inline(jwks: { readonly keys: readonly object[] }, header: JWSHeaderParameters): Promise<ResolvedKey> {
    let resolve = this.inlineSets.get(jwks);
    if (resolve === undefined) {
      // Checked at registration; checked again here, so a row edited by hand cannot slip a private key in.
      if (publicJwkSetProblem(jwks) !== null) throw new ClientJwksUnavailable('not_a_public_jwk_set');
      resolve = createLocalJWKSet(jwks as JSONWebKeySet);
      this.inlineSets.set(jwks, resolve);
    }
    return resolve(header);
  }

  /** The key for a JWS header from the set at `uri`; throws jose's JWKSNoMatchingKey or `ClientJwksUnavailable`. */
  async key(uri: string, header: JWSHeaderParameters): Promise<ResolvedKey> {
    const cached = this.entries.get(uri);
    const fresh = cached !== undefined && this.now() - cached.fetchedAt < this.options.cacheMs;
    // A set past its cache time still serves while the client's server cannot be reached.
    const entry = fresh ? cached : await this.fetchOrStale(uri, cached);
    try {
      return await entry.resolve(header);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || entry !== cached) throw error;
      const refetched = await this.fetchRateLimited(uri, entry);
      if (refetched === entry) throw error;
      return refetched.resolve(header);
    }
  }

  /**
   * The first key of the set at `uri` that `matches` (RFC 8705 §2.2: the key whose x5c is the
   * presented certificate), null when none does. No match in a cached set fetches it again under
   * the same rate limit as an unknown kid (the client may have rotated its certificate).
   */
  async findKey(uri: string, matches: (key: Readonly<Record<string, unknown>>) => boolean): Promise<Readonly<Record<string, unknown>> | null> {
    const cached = this.entries.get(uri);
    const fresh = cached !== undefined && this.now() - cached.fetchedAt < this.options.cacheMs;
    const entry = fresh ? cached : await this.fetchOrStale(uri, cached);
    const found = entry.keys.find(matches);
    if (found !== undefined || entry !== cached) return found ?? null;
    const refetched = await this.fetchRateLimited(uri, entry);
    return refetched === entry ? null : (refetched.keys.find(matches) ?? null);
  }

  private async fetchOrStale(uri: string, stale: Entry | undefined): Promise<Entry> {
    try {
      return await this.fetchRateLimited(uri, stale);
    } catch (error) {
      if (stale !== undefined) return stale;
      throw error;
    }
  }

  /** Fetches unless the URI was tried within the refetch interval, in which case what is cached (if anything) stands. */
  private async fetchRateLimited(uri: string, cached: Entry | undefined): Promise<Entry> {
    const pending = this.inFlight.get(uri);
    if (pending) return pending;
    const last = this.lastAttempt.get(uri);
    if (last !== undefined && this.now() - last < this.options.refetchIntervalMs) {
      if (cached) return cached;
      throw new ClientJwksUnavailable('recently_failed');
    }
    this.lastAttempt.set(uri, this.now());
    const fetching = this.fetch(uri).finally(() => this.inFlight.delete(uri));
    this.inFlight.set(uri, fetching);
    return fetching;
  }

  private async fetch(uri: string): Promise<Entry> {
    let document: unknown;
    try {
      document = await this.options.fetch(uri);
    } catch (error) {
      throw new ClientJwksUnavailable(error instanceof Error && 'reason' in error ? String(error.reason) : 'fetch_failed');
    }
    if (publicJwkSetProblem(document) !== null) throw new ClientJwksUnavailable('not_a_public_jwk_set');
    const entry: Entry = { resolve: createLocalJWKSet(document as JSONWebKeySet), fetchedAt: this.now(), keys: (document as JSONWebKeySet).keys };
    this.entries.delete(uri);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    if (this.lastAttempt.size >= this.maxEntries * 2) this.lastAttempt.delete(this.lastAttempt.keys().next().value as string);
    this.entries.set(uri, entry);
    return entry;
  }
}
