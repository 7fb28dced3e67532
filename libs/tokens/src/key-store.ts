import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type GenerateKeyPairOptions,
  type JWK,
  type JWTVerifyGetKey,
  type LocalJWKSet,
} from 'jose';
import type { Clock, SigningKeyRecord, SigningKeyRepository } from '@ciba/domain';
import type { SigningAlg } from '@ciba/protocol';
import type { KeyEncryptor } from './key-encryption.js';
import { type RotationSchedule, checkedSchedule, rotationDueAt } from './key-rotation-schedule.js';

export type { RotationSchedule } from './key-rotation-schedule.js';

export const SIGNING_KEY_LOCK = 'signing-keys';

/** JWK members that carry private key material (RFC 7518 §6); never published. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

export interface KeyStoreOptions {
  readonly repository: SigningKeyRepository;
  readonly encryptor: KeyEncryptor;
  readonly clock: Clock;
  /**
   * The algorithms with an active key, none repeated. The first is the default: it signs access
   * tokens, and the ID tokens of clients that registered no `id_token_signed_response_alg`.
   */
  readonly algs: readonly SigningAlg[];
  /**
   * When a token names a kid we do not know, reload from the repository (another process may have
   * rotated) at most this often. Defaults to 30 s.
   */
  readonly unknownKidRefreshIntervalMs?: number;
  /**
   * Publish before use: a new key is in the JWKS at once but signs only this long after it was
   * created, so every replica and every relying party's JWKS cache can know it before a token
   * carries its kid. Until then the previous key keeps signing. Defaults to 0 (sign at once).
   */
  readonly activationDelayMs?: number;
}

export interface RotatedKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** When it starts signing (see `activationDelayMs`). */
  readonly activatesAt: Date;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly key: CryptoKey;
}

export interface PublicJwks {
  keys: JWK[];
}

function generationOptions(alg: SigningAlg): GenerateKeyPairOptions {
  switch (alg) {
    case 'ES256':
      return { extractable: true };
    case 'RS256':
    case 'PS256':
      return { extractable: true, modulusLength: 2048 };
    case 'EdDSA':
      return { extractable: true, crv: 'Ed25519' };
  }
}

function publicJwkOf(record: SigningKeyRecord): JWK {
  const jwk: Record<string, unknown> = { ...record.publicJwk };
  for (const member of PRIVATE_JWK_MEMBERS) delete jwk[member];
  delete jwk['key_ops'];
  delete jwk['ext'];
  return { ...(jwk as JWK), kid: record.kid, alg: record.alg, use: 'sig' };
}

function isPublished(record: SigningKeyRecord, now: Date): boolean {
  return record.unpublishAfter === null || record.unpublishAfter.getTime() > now.getTime();
}

/**
 * The provider's signing keys: one active key per enabled algorithm signs, older keys stay published
 * until the tokens they signed have expired. Private JWKs are stored encrypted by `KeyEncryptor`.
 *
 * Other processes learn about a rotation on `refresh()` (call it periodically) or when they see a
 * token with an unknown kid. A process that has not refreshed yet keeps signing with the retired key,
 * so choose `rotate(maxTokenLifetime)` to cover the longest token lifetime plus the refresh period.
 */
export class KeyStore {
  private readonly repository: SigningKeyRepository;
  private readonly encryptor: KeyEncryptor;
  private readonly clock: Clock;
  /** Enabled algorithms, the default first. */
  readonly algs: readonly SigningAlg[];
  /** The algorithm of access tokens and of ID tokens for clients that registered none. */
  readonly defaultAlg: SigningAlg;
  private readonly unknownKidRefreshIntervalMs: number;
  private readonly activationDelayMs: number;

  private records: readonly SigningKeyRecord[] = [];
  /** The key that signs, per enabled algorithm. */
  private current = new Map<SigningAlg, SigningKey>();
  /** Imported private keys by kid, so a refresh does not decrypt and import again. */
  private readonly privateKeys = new Map<string, CryptoKey>();
  private keySet: { kids: string; set: LocalJWKSet } | null = null;
  private lastLoadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  constructor(options: KeyStoreOptions) {
    const [defaultAlg] = options.algs;
    if (defaultAlg === undefined || new Set(options.algs).size !== options.algs.length) {
      throw new RangeError(`algs must name at least one algorithm, none twice; got [${options.algs.join(', ')}]`);
    }
    this.defaultAlg = defaultAlg;
    this.repository = options.repository;
    this.encryptor = options.encryptor;
    this.clock = options.clock;
    this.algs = [...options.algs];
    this.unknownKidRefreshIntervalMs = options.unknownKidRefreshIntervalMs ?? 30_000;
    this.activationDelayMs = options.activationDelayMs ?? 0;
  }

  /** Ensures an active key for every enabled alg exists (generating missing ones under a cluster lock) and loads the keys. */
  async init(): Promise<void> {
    await this.repository.withLock(SIGNING_KEY_LOCK, async () => {
      const now = this.clock.now();
      const published = await this.repository.listPublished(now);
      for (const alg of this.algs) {
        const hasActive = published.some((record) => record.alg === alg && record.retiredAt === null && isPublished(record, now));
        if (!hasActive) await this.repository.insert(await this.generate(alg, now));
      }
    });
    await this.refresh();
  }

  /**
   * Generates a new signing key for every enabled alg and retires all the others (including keys of
   * algorithms no longer enabled), which stay published for `maxTokenLifetimeSeconds` so that tokens
   * they signed still verify.
   */
  async rotate(maxTokenLifetimeSeconds: number): Promise<RotatedKey[]> {
    if (!Number.isFinite(maxTokenLifetimeSeconds) || maxTokenLifetimeSeconds < 0) {
      throw new RangeError(`maxTokenLifetimeSeconds must be a non-negative number, got ${maxTokenLifetimeSeconds}`);
    }
    const rotated = await this.repository.withLock(SIGNING_KEY_LOCK, () => this.rotateLocked(this.clock.now(), maxTokenLifetimeSeconds));
    await this.refresh();
    return rotated;
  }

  /**
   * Scheduled rotation (OpenID Connect Core §10.1.1): rotates as `rotate` does when it is due (see
   * `rotationDueAt`), else does nothing and returns no key. The decision is taken again under the
   * cluster lock on the keys as stored, so of replicas calling this together exactly one rotates.
   */
  async rotateIfDue(schedule: RotationSchedule): Promise<RotatedKey[]> {
    const { rotateAfterMs, maxTokenLifetimeSeconds } = checkedSchedule(schedule, this.activationDelayMs);
    const rotated = await this.repository.withLock(SIGNING_KEY_LOCK, async () => {
      const now = this.clock.now();
      // Read again under the lock: another replica may have rotated since this one last loaded.
      const stored = await this.repository.listPublished(now);
      if (rotationDueAt(stored, this.algs, rotateAfterMs, now).getTime() > now.getTime()) return [];
      return this.rotateLocked(now, maxTokenLifetimeSeconds);
    });
    await this.refresh();
    return rotated;
  }

  /**
   * When the next scheduled rotation is due, from the keys as last loaded (no database round trip):
   * a cheap look before `rotateIfDue`, which decides again on the stored keys.
   */
  rotationDueAt(rotateAfterMs: number): Date {
    if (this.current.size === 0) throw new Error('KeyStore is not initialised: call init() first');
    return rotationDueAt(this.records, this.algs, rotateAfterMs, this.clock.now());
  }

  /** Generates the new keys and retires the others; the caller holds `SIGNING_KEY_LOCK`. */
  private async rotateLocked(now: Date, maxTokenLifetimeSeconds: number): Promise<RotatedKey[]> {
    const activatesAt = new Date(now.getTime() + this.activationDelayMs);
    const fresh: RotatedKey[] = [];
    for (const alg of this.algs) {
      const record = await this.generate(alg, now);
      await this.repository.insert(record);
      fresh.push({ kid: record.kid, alg, activatesAt });
    }
    // The retired keys may still sign during the activation delay, so they stay published that much longer.
    const unpublishAfter = new Date(now.getTime() + this.activationDelayMs + maxTokenLifetimeSeconds * 1000);
    await this.repository.retireOthers(
      fresh.map((key) => key.kid),
      now,
      unpublishAfter,
    );
    return fresh;
  }

  /** Reloads the published keys from the repository; concurrent calls share one load. */
  async refresh(): Promise<void> {
    if (this.loading === null) {
      this.loading = this.load().finally(() => {
        this.loading = null;
      });
    }
    return this.loading;
  }

  /** The key that signs new tokens with `alg` (by default the default alg). */
  signingKey(alg: SigningAlg = this.defaultAlg): SigningKey {
    if (this.current.size === 0) throw new Error('KeyStore is not initialised: call init() first');
    const key = this.current.get(alg);
    if (key === undefined) throw new Error(`no ${alg} signing key: the enabled algorithms are ${this.algs.join(', ')}`);
    return key;
  }

  /** Public JWKs of every published key (active and retired-but-still-published), for the jwks_uri. */
  jwks(): PublicJwks {
    return { keys: this.visibleRecords().map(publicJwkOf) };
  }

  /**
   * A jose key resolver over the published keys (of every algorithm), for verifying tokens this
   * provider issued. A token whose kid is unknown triggers (rate-limited) one reload, in case another
   * process rotated.
   */
  verificationKeySet(): JWTVerifyGetKey {
    return async (header, token) => {
      try {
        return await this.localKeySet()(header, token);
      } catch (err) {
        const unknownKid = typeof header.kid === 'string' && !this.records.some((record) => record.kid === header.kid);
        const mayReload = this.clock.now().getTime() - this.lastLoadedAt >= this.unknownKidRefreshIntervalMs;
        if (!(err instanceof errors.JWKSNoMatchingKey) || !unknownKid || !mayReload) throw err;
        await this.refresh();
        return this.localKeySet()(header, token);
      }
    };
  }

  private localKeySet(): LocalJWKSet {
    const visible = this.visibleRecords();
    const kids = visible.map((record) => record.kid).join(' ');
    if (this.keySet === null || this.keySet.kids !== kids) {
      this.keySet = { kids, set: createLocalJWKSet({ keys: visible.map(publicJwkOf) }) };
    }
    return this.keySet.set;
  }

  /** Published as of now: a key whose unpublishAfter passed disappears even before the next refresh. */
  private visibleRecords(): SigningKeyRecord[] {
    const now = this.clock.now();
    return this.records.filter((record) => isPublished(record, now));
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    const records = (await this.repository.listPublished(now)).filter((record) => isPublished(record, now));
    const current = new Map<SigningAlg, SigningKey>();
    for (const alg of this.algs) {
      const active = this.signerOf(records, alg, now);
      current.set(alg, { kid: active.kid, alg, key: await this.privateKey(active) });
    }
    this.records = records;
    this.current = current;
    const signing = new Set([...current.values()].map((key) => key.kid));
    for (const kid of this.privateKeys.keys()) {
      if (!signing.has(kid)) this.privateKeys.delete(kid);
    }
    this.lastLoadedAt = now.getTime();
  }

  /** Of the published keys of `alg`, the one that signs now. */
  private signerOf(records: readonly SigningKeyRecord[], alg: SigningAlg, now: Date): SigningKeyRecord {
    // The repository returns newest first; sort anyway so the choice of signing key does not depend on it.
    // Newest first; of keys created in the same instant, the active one first.
    const ofAlg = records
      .filter((record) => record.alg === alg)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || Number(a.retiredAt !== null) - Number(b.retiredAt !== null));
    const newestActive = ofAlg.find((record) => record.retiredAt === null);
    if (newestActive === undefined) {
      throw new Error(`no active ${alg} signing key is published: run KeyStore.init()`);
    }
    // Publish before use: the newest key whose activation delay has passed signs. When none has
    // (a rotation soon after the first start) the oldest keeps signing; a deployment's very first
    // key is the only one and signs at once.
    const activeSince = now.getTime() - this.activationDelayMs;
    return ofAlg.find((record) => record.createdAt.getTime() <= activeSince) ?? ofAlg[ofAlg.length - 1] ?? newestActive;
  }

  private async privateKey(record: SigningKeyRecord): Promise<CryptoKey> {
    const cached = this.privateKeys.get(record.kid);
    if (cached !== undefined) return cached;
    const jwk = JSON.parse(this.encryptor.decrypt(record.encryptedPrivateJwk, record.kid)) as JWK;
    if (typeof jwk.d !== 'string') throw new Error(`stored signing key ${record.kid} has no private key material`);
    const key = await importJWK(jwk, record.alg);
    if (key instanceof Uint8Array) throw new Error(`stored signing key ${record.kid} is not an asymmetric key`);
    this.privateKeys.set(record.kid, key);
    return key;
  }

  private async generate(alg: SigningAlg, now: Date): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair(alg, generationOptions(alg));
    const publicJwk = await exportJWK(publicKey);
    // RFC 7638 thumbprint: stable, derived from the key itself, so every process agrees on the kid.
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
    return {
      kid,
      alg,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
      encryptedPrivateJwk: this.encryptor.encrypt(JSON.stringify(privateJwk), kid),
      createdAt: now,
      retiredAt: null,
      unpublishAfter: null,
    };
  }
}
