import { KeyDecryptionError, type KeyEncryptor } from '@ciba/tokens';
import { checkpointKeys, verifyCheckpoint } from './audit-checkpoint.js';

/** The hash every chain starts from (seq 0); the same constant as the persistence lib's. */
export const GENESIS_HASH = '0'.repeat(64);

/** One stored entry, its hash recomputed from the row as stored now (the persistence lib's `TypeOrmAuditChain`). */
export interface VerifiableEntry {
  readonly seq: number;
  readonly eventId: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly recomputedHash: string;
}

export interface AuditChainSource {
  head(): Promise<{ seq: number; hash: string; unchainedRows: number; rowsOutsideChain: number }>;
  entries(afterSeq: number): AsyncIterable<VerifiableEntry>;
  checkpoints(): Promise<readonly { seq: number; hash: string; jws: string }[]>;
  /** How far retention pruned the chain (every row up to `seq` removed by the prune path); absent: never. */
  pruned?(): Promise<{ seq: number; at: Date | null }>;
  /** Public JWKs of every key that may have signed a checkpoint (see `withUnsealedKeys`). */
  verificationKeys(): Promise<Record<string, unknown>[]>;
}

/** The chain as the persistence lib's `TypeOrmAuditChain` reads it, signing keys still sealed. */
export interface SealedKeyChain extends Omit<AuditChainSource, 'verificationKeys'> {
  sealedSigningKeys(): Promise<readonly { kid: string; alg: string; encryptedPrivateJwk: string }[]>;
}

/**
 * The chain with the keys checkpoints are verified against: those whose private JWK unseals with the
 * key-encryption key (AES-256-GCM, bound to the kid), their public half. A key row planted in the
 * database without the key-encryption key does not unseal, so its signatures are not believed.
 */
export function withUnsealedKeys(chain: SealedKeyChain, encryptor: KeyEncryptor): AuditChainSource {
  return {
    head: () => chain.head(),
    entries: (afterSeq) => chain.entries(afterSeq),
    checkpoints: () => chain.checkpoints(),
    ...(chain.pruned ? { pruned: () => chain.pruned!() } : {}),
    verificationKeys: async () => {
      const keys: Record<string, unknown>[] = [];
      for (const sealed of await chain.sealedSigningKeys()) {
        try {
          const jwk = JSON.parse(encryptor.decrypt(sealed.encryptedPrivateJwk, sealed.kid)) as Record<string, unknown>;
          keys.push({ ...jwk, kid: sealed.kid, alg: sealed.alg });
        } catch (err) {
          if (!(err instanceof KeyDecryptionError) && !(err instanceof SyntaxError)) throw err;
        }
      }
      return keys;
    },
  };
}

/** The first broken link. Ids and sequence numbers only: never a payload. */
export type ChainBreak =
  /** The row's content no longer matches its hash: edited after it was appended. */
  | { readonly kind: 'edited'; readonly seq: number; readonly eventId: string }
  /** Sequence numbers jump (nextSeq null: rows missing at the end of the chain). */
  | { readonly kind: 'deleted'; readonly afterSeq: number; readonly nextSeq: number | null }
  /** The row does not follow the previous one (`prev_hash`): moved, reordered or inserted. */
  | { readonly kind: 'reordered'; readonly seq: number; readonly eventId: string }
  /** A checkpoint whose signature does not verify with any stored signing key. */
  | { readonly kind: 'checkpoint-signature'; readonly seq: number }
  /** A validly signed checkpoint disagrees with the recomputed chain: the chain was rewritten. */
  | { readonly kind: 'checkpoint-mismatch'; readonly seq: number }
  /** The chain head (last seq and hash, kept by appends) disagrees with the last entry: the end was rewritten. */
  | { readonly kind: 'head-mismatch'; readonly seq: number }
  /** Rows without a seq beyond those recorded before the chain began: inserted around it. */
  | { readonly kind: 'outside-chain'; readonly rows: number }
  /** `--from-checkpoint` names no stored checkpoint. */
  | { readonly kind: 'no-checkpoint'; readonly seq: number }
  /** `--from-checkpoint` names a checkpoint below the pruned prefix: its successors are gone by design. */
  | { readonly kind: 'pruned'; readonly seq: number; readonly prunedSeq: number }
  /** Rows were pruned up to `prunedSeq`, but no validly signed checkpoint at or after it is stored: nothing to start from. */
  | { readonly kind: 'unanchored'; readonly prunedSeq: number };

/** The pruned prefix a verification started after, and the signed checkpoint that vouches for it. */
export interface PrunedPrefix {
  /** Chained rows pruned (seq 1 to `rows`). */
  readonly rows: number;
  /** The oldest checkpoint at or after the prefix: the rows from `rows + 1` on must lead to its signed hash. */
  readonly checkpointSeq: number;
  /** When that checkpoint was signed (its `iat`), null when it carries none. */
  readonly signedAt: Date | null;
}

export type ChainVerification =
  | {
      readonly ok: true;
      readonly entries: number;
      readonly checkpoints: number;
      readonly fromSeq: number;
      readonly unchainedRows: number;
      /** Present once retention pruned the chain. */
      readonly pruned?: PrunedPrefix;
    }
  | { readonly ok: false; readonly entries: number; readonly broken: ChainBreak };

/** Times a verification starts again when a prune running meanwhile removed rows under it. */
const PRUNE_RACE_RETRIES = 3;

/**
 * Recomputes the audit hash chain from its start (or from the signed checkpoint at `fromCheckpoint`)
 * and stops at the first broken link. Every checkpoint's signature is checked; those in the walked
 * range must carry the recomputed hash at their seq.
 *
 * Once retention pruned the chain (`pruned()`: every row up to a seq removed by the prune path), it
 * starts after the pruned prefix instead of at seq 1: the rows from there must be gap-free and reach
 * the oldest signed checkpoint at or after the prefix with its hash, so a row deleted, edited or
 * moved above the prefix is still pinpointed; only the recorded prefix counts as pruned.
 *
 * The chain is verified up to the head as read at the start: entries appended while it runs (a
 * live provider) are left for the next run, never reported missing. The checkpoints are read before
 * the head, so each of them must lie within it: one past the head shows a head moved back. A gap
 * that a prune running meanwhile explains (the pruned mark moved past it) starts the run again.
 */
export async function verifyAuditChain(source: AuditChainSource, options: { fromCheckpoint?: number } = {}): Promise<ChainVerification> {
  for (let attempt = 0; ; attempt++) {
    const prunedBefore = (await source.pruned?.())?.seq ?? 0;
    const result = await verifyOnce(source, options, prunedBefore);
    if (result.ok || result.broken.kind !== 'deleted' || attempt >= PRUNE_RACE_RETRIES) return result;
    const prunedNow = (await source.pruned?.())?.seq ?? 0;
    if (prunedNow <= prunedBefore) return result;
  }
}

async function verifyOnce(source: AuditChainSource, options: { fromCheckpoint?: number }, prunedSeq: number): Promise<ChainVerification> {
  const checkpoints = await source.checkpoints();
  const head = await source.head();
  const keys = checkpointKeys(await source.verificationKeys());
  const signed = new Map<number, { hash: string; signedAt: Date | null }>();
  for (const checkpoint of checkpoints) {
    const claims = await verifyCheckpoint(checkpoint.jws, keys);
    if (claims === null) return { ok: false, entries: 0, broken: { kind: 'checkpoint-signature', seq: checkpoint.seq } };
    // The stored columns are a convenience; the signed claims are what counts.
    if (claims.seq !== checkpoint.seq || claims.hash !== checkpoint.hash) return { ok: false, entries: 0, broken: { kind: 'checkpoint-mismatch', seq: checkpoint.seq } };
    signed.set(claims.seq, { hash: claims.hash, signedAt: claims.signedAt });
  }

  // Where the walk starts: the previous entry's seq and hash; a null hash (the middle of a prune, the
  // predecessor removed) is vouched for by the checkpoint the walk must then reach.
  let prev: { seq: number; hash: string | null } = { seq: 0, hash: GENESIS_HASH };
  let pruned: PrunedPrefix | undefined;
  if (prunedSeq > 0) {
    let anchor: number | undefined;
    for (const seq of signed.keys()) if (seq >= prunedSeq && (anchor === undefined || seq < anchor)) anchor = seq;
    if (anchor === undefined) return { ok: false, entries: 0, broken: { kind: 'unanchored', prunedSeq } };
    pruned = { rows: prunedSeq, checkpointSeq: anchor, signedAt: signed.get(anchor)!.signedAt };
    prev = { seq: prunedSeq, hash: anchor === prunedSeq ? signed.get(anchor)!.hash : null };
  }
  if (options.fromCheckpoint !== undefined) {
    const checkpoint = signed.get(options.fromCheckpoint);
    if (checkpoint === undefined) return { ok: false, entries: 0, broken: { kind: 'no-checkpoint', seq: options.fromCheckpoint } };
    if (options.fromCheckpoint < prunedSeq) return { ok: false, entries: 0, broken: { kind: 'pruned', seq: options.fromCheckpoint, prunedSeq } };
    prev = { seq: options.fromCheckpoint, hash: checkpoint.hash };
  }
  const fromSeq = prev.seq;
  let entries = 0;
  let matched = prev.seq > 0 && prev.hash !== null ? 1 : 0;
  const fail = (broken: ChainBreak): ChainVerification => ({ ok: false, entries, broken });

  for await (const entry of source.entries(prev.seq)) {
    if (entry.seq > head.seq) break;
    if (entry.seq !== prev.seq + 1) return fail({ kind: 'deleted', afterSeq: prev.seq, nextSeq: entry.seq });
    if (prev.hash !== null && entry.prevHash !== prev.hash) return fail({ kind: 'reordered', seq: entry.seq, eventId: entry.eventId });
    if (entry.recomputedHash !== entry.hash) return fail({ kind: 'edited', seq: entry.seq, eventId: entry.eventId });
    const checkpoint = signed.get(entry.seq);
    if (checkpoint !== undefined) {
      if (checkpoint.hash !== entry.hash) return fail({ kind: 'checkpoint-mismatch', seq: entry.seq });
      matched++;
    }
    prev = { seq: entry.seq, hash: entry.hash };
    entries++;
  }

  // Rows cut from the end: the head, or a checkpoint, knows of entries past the last one found.
  let furthest = head.seq;
  for (const seq of signed.keys()) furthest = Math.max(furthest, seq);
  if (furthest > prev.seq) return fail({ kind: 'deleted', afterSeq: prev.seq, nextSeq: null });
  if (head.seq === prev.seq && head.hash !== prev.hash) return fail({ kind: 'head-mismatch', seq: head.seq });
  if (head.rowsOutsideChain > head.unchainedRows) return fail({ kind: 'outside-chain', rows: head.rowsOutsideChain - head.unchainedRows });
  return { ok: true, entries, checkpoints: matched, fromSeq, unchainedRows: head.unchainedRows, ...(pruned ? { pruned } : {}) };
}

/** One line for an operator: what broke, where, and which event (by id). */
export function describeChainBreak(broken: ChainBreak): string {
  switch (broken.kind) {
    case 'edited':
      return `audit chain broken at seq ${broken.seq} (event ${broken.eventId}): the row does not match its hash (edited)`;
    case 'deleted':
      return broken.nextSeq === null
        ? `audit chain broken after seq ${broken.afterSeq}: later entries are missing (deleted)`
        : `audit chain broken after seq ${broken.afterSeq}: next entry is seq ${broken.nextSeq} (deleted rows)`;
    case 'reordered':
      return `audit chain broken at seq ${broken.seq} (event ${broken.eventId}): prev_hash does not match the previous entry (reordered or inserted)`;
    case 'checkpoint-signature':
      return `audit checkpoint at seq ${broken.seq}: the signature does not verify with any stored signing key`;
    case 'checkpoint-mismatch':
      return `audit checkpoint at seq ${broken.seq}: the signed hash differs from the recomputed chain (rewritten)`;
    case 'head-mismatch':
      return `audit chain head at seq ${broken.seq} differs from the last entry's hash (rewritten)`;
    case 'outside-chain':
      return `${broken.rows} audit rows have no place in the chain (seq null) beyond those recorded before it began (inserted around it)`;
    case 'no-checkpoint':
      return `no audit checkpoint at seq ${broken.seq}`;
    case 'pruned':
      return `audit rows up to seq ${broken.prunedSeq} were pruned: verify from a checkpoint at or after it, not seq ${broken.seq}`;
    case 'unanchored':
      return `audit rows up to seq ${broken.prunedSeq} were pruned, but no signed checkpoint at or after it is stored (checkpoints deleted): the rest cannot be anchored`;
  }
}
