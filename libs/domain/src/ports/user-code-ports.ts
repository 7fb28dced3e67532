import type { UserHint } from './ports.js';

/** CIBA §7.1 user codes: how many verifications a user's code takes before it is locked. */
export interface UserCodeLimits {
  /** Verifications per key in one window; the next one locks the key. */
  readonly attemptLimit: number;
  readonly windowMs: number;
  /** How long a locked key answers `invalid_user_code` without any verification. */
  readonly lockMs: number;
}

/** The user a hint names, with their code's hash (null: no code set). */
export interface UserCodeHolder {
  readonly sub: string;
  readonly userCodeHash: string | null;
}

export interface UserCodeStore {
  /** The user a hint identifies (as bc-authorize resolves it) and their code's hash; null when it names nobody. */
  findHolder(hint: UserHint): Promise<UserCodeHolder | null>;
  /** Sets (a hash) or clears (null) a user's code; false when there is no such user. */
  setUserCodeHash(sub: string, userCodeHash: string | null): Promise<boolean>;
}

export interface UserCodeAttempts {
  /**
   * Counts one verification against `key` before it runs, in one atomic statement across replicas.
   * False when the key is locked, or when this attempt is over the window's limit (which locks it).
   */
  claim(key: string, now: Date, limits: UserCodeLimits): Promise<boolean>;
  /** A claimed verification matched (or never ran): it no longer counts against the key. */
  release(key: string): Promise<void>;
}
